"""Ground-truth aggregation by voting, and the result type shared by every aggregator.

Inputs are :class:`~truelabel.quality.encode.Ratings` (build them with
:func:`~truelabel.quality.encode.encode_ratings`). Repeated answers of one annotator on one item
all count, as they do in crowd-kit. Items that are known but have no answers come back with
code ``-1``, label ``None`` and confidence ``NaN``; they never make an aggregator fail.

Tie rule: by default a tie goes to the label with the lowest code, i.e. the first in sorted
label order (``tie="lowest"``), which is deterministic; ``tie="random"`` picks uniformly among
the tied labels with a seeded generator. ``AggregationResult.tied`` flags every tied item.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .encode import Ratings, RatingsLike, as_ratings
from .errors import InvalidInput, NotEnoughData, UnknownLabel

__all__ = [
    "AggregationResult",
    "GoldScores",
    "gold_accuracy",
    "majority_vote",
    "weighted_vote",
]

TieRule = Literal["lowest", "random"]


@dataclass(frozen=True, eq=False)
class AggregationResult:
    """Aggregated labels with their confidence and provenance.

    Attributes:
        method: Name of the aggregator, e.g. ``"majority_vote"`` or ``"dawid_skene"``.
        items: Item ids (object array), one row per item.
        codes: Aggregated class code per item; -1 when the item has no answers.
        confidence: Posterior probability (vote share for votes) of the chosen label; ``NaN``
            for items without answers.
        posterior: ``(n_items, n_classes)`` label distribution per item; all-zero rows for
            items without answers.
        classes: Class values; ``classes[code]`` is the label.
        annotators: Annotator ids (object array).
        annotator_accuracy: Estimated probability that each annotator answers correctly (for
            votes: share of their answers equal to the aggregated label).
        n_answers: Answers per item.
        tied: True where two or more labels shared the top score.
        ratings: The input ratings (used by :meth:`contributions`).
        confusion: ``(n_annotators, true, answered)`` confusion matrices, rows summing to 1
            (Dawid-Skene only).
        prior: Estimated class prior (Dawid-Skene only).
        n_iter: EM iterations run (0 for votes).
        converged: Whether EM met its tolerance before ``max_iter``.
        objective_trace: The monitored objective (log-likelihood or evidence lower bound,
            per answer) after each EM iteration; empty for votes.
        params: Method-specific fitted parameters (e.g. GLAD's annotator abilities and item
            difficulties), by name, for :attr:`TruthMethod.answer_model
            <truelabel.quality.methods.TruthMethod.answer_model>` and for reports.
    """

    method: str
    items: np.ndarray
    codes: np.ndarray
    confidence: np.ndarray
    posterior: np.ndarray
    classes: tuple[Hashable, ...]
    annotators: np.ndarray
    annotator_accuracy: np.ndarray
    n_answers: np.ndarray
    tied: np.ndarray
    ratings: Ratings = field(repr=False)
    confusion: np.ndarray | None = field(default=None, repr=False)
    prior: np.ndarray | None = None
    n_iter: int = 0
    converged: bool = True
    objective_trace: tuple[float, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> np.ndarray:
        """Aggregated label per item (object array), ``None`` for items without answers."""
        out = np.empty(self.codes.shape[0], dtype=object)
        classes = np.empty(len(self.classes), dtype=object)
        classes[:] = list(self.classes)
        ok = self.codes >= 0
        out[ok] = classes[self.codes[ok]]
        return out

    def as_dict(self) -> dict[Hashable, Hashable]:
        """Item id → aggregated label, for items that have one."""
        return {
            item: label
            for item, label, code in zip(
                self.items.tolist(), self.labels.tolist(), self.codes.tolist(), strict=True
            )
            if code >= 0
        }

    def contributions(self, item: Hashable) -> list[tuple[Hashable, Hashable]]:
        """The ``(annotator, label)`` answers that went into one item's label.

        Raises:
            InvalidInput: the item is unknown.
        """
        try:
            code = self.items.tolist().index(item)
        except ValueError:
            raise InvalidInput(
                f"Unknown item {item!r}; it was not among the aggregated items."
            ) from None
        rows = np.flatnonzero(self.ratings.unit == code)
        return [
            (self.annotators[self.ratings.annotator[r]], self.classes[self.ratings.label[r]])
            for r in rows.tolist()
        ]


def _check_tie(tie: str) -> None:
    if tie not in ("lowest", "random"):
        raise InvalidInput(f"tie must be 'lowest' or 'random'; got {tie!r}.")


def choose(
    scores: np.ndarray, *, tie: TieRule = "lowest", seed: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the top-scoring class per row: ``(codes, tied)``; -1 for all-zero rows."""
    _check_tie(tie)
    top = scores.max(axis=1) if scores.shape[1] else np.zeros(scores.shape[0])
    is_top = scores >= top[:, None] - 1e-12 * np.abs(top[:, None])
    has = scores.sum(axis=1) > 0
    tied = (is_top.sum(axis=1) > 1) & has
    if tie == "lowest":
        codes = np.argmax(is_top, axis=1)
    else:
        rng = np.random.default_rng(seed)
        codes = np.argmax(np.where(is_top, rng.random(scores.shape), -1.0), axis=1)
    codes = np.where(has, codes, -1).astype(np.int64)
    return codes, tied


def require_answers(r: Ratings, method: str) -> None:
    """Fail with :class:`NotEnoughData` when there is no answer with a label to aggregate."""
    if r.n_ratings == 0 or r.n_classes == 0:
        where = f" on {r.n_units} item(s)" if r.n_units else ""
        raise NotEnoughData(
            f"The {method} needs answers with a label; got none{where} (every label empty or "
            "missing). Check the label column (--label-col) or collect labels first."
        )


def _vote_result(
    method: str, r: Ratings, scores: np.ndarray, tie: TieRule, seed: Any,
    params: Mapping[str, Any] | None = None,
) -> AggregationResult:
    n_answers = np.bincount(r.unit, minlength=r.n_units)
    total = scores.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        posterior = np.where(total[:, None] > 0, scores / np.where(total > 0, total, 1)[:, None],
                             0.0)
    codes, tied = choose(scores, tie=tie, seed=seed)
    confidence = np.full(r.n_units, np.nan)
    ok = codes >= 0
    confidence[ok] = posterior[ok, codes[ok]]
    agree = np.bincount(
        r.annotator, weights=(r.label == codes[r.unit]).astype(float), minlength=r.n_annotators
    )
    given = np.bincount(r.annotator, minlength=r.n_annotators)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(given > 0, agree / np.maximum(given, 1), np.nan)
    return AggregationResult(
        method=method, items=r.units, codes=codes, confidence=confidence, posterior=posterior,
        classes=r.classes, annotators=r.annotators, annotator_accuracy=accuracy,
        n_answers=n_answers, tied=tied, ratings=r, params=dict(params or {}),
    )


def checked_answer_weights(
    r: Ratings, weights: Sequence[float] | np.ndarray | None
) -> np.ndarray | None:
    """Check per-answer weights (one per row of ``r``, e.g. a reviewed answer's extra
    weight): finite, non-negative, aligned with ``r.unit``. None stays None."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float)
    if w.shape != r.unit.shape:
        raise InvalidInput(
            f"answer_weights needs one value per answer ({r.unit.shape[0]}); got shape "
            f"{w.shape}. Align them with the encoded ratings' rows."
        )
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise InvalidInput("Answer weights must be finite and non-negative; clip them first.")
    return w


def majority_vote(
    ratings: RatingsLike, *, tie: TieRule = "lowest", seed: int | np.random.Generator | None = 0,
    answer_weights: Sequence[float] | np.ndarray | None = None,
) -> AggregationResult:
    """Majority vote per item; confidence is the winner's vote share.

    Works with any number of annotators, including one.

    Args:
        ratings: :class:`Ratings` (or a reliability matrix).
        tie: ``"lowest"``: the tied label first in sorted order; ``"random"``: uniform among
            the tied labels, drawn from ``seed``.
        seed: Seed or generator for ``tie="random"``.
        answer_weights: One weight per answer (row of ``ratings``): each answer counts that
            many votes (default 1 each), e.g. more for a reviewer-accepted answer.

    Example:
        >>> from truelabel.quality.encode import encode_ratings
        >>> r = encode_ratings([1, 1, 1, 2], ["a", "b", "c", "a"], ["x", "y", "y", "x"])
        >>> res = majority_vote(r)
        >>> res.labels.tolist(), res.confidence.round(2).tolist()
        (['y', 'x'], [0.67, 1.0])

    Raises:
        NotEnoughData: no answer has a label (nothing to vote on).
    """
    r = as_ratings(ratings)
    require_answers(r, "majority vote")
    scores = _tally(r, checked_answer_weights(r, answer_weights))
    return _vote_result("majority_vote", r, scores, tie, seed)


def annotator_weights(
    r: Ratings,
    weights: Sequence[float] | np.ndarray | Mapping[Any, float],
    default: float | None,
) -> np.ndarray:
    """Resolve per-annotator weights aligned with ``r.annotators``."""
    if isinstance(weights, Mapping):
        missing = [a for a in r.annotators.tolist() if a not in weights]
        if missing and default is None:
            raise InvalidInput(
                f"No weight for {len(missing)} annotator(s), e.g. {missing[:5]!r}. Give every "
                "annotator a weight or pass default_weight=..."
            )
        w = np.array(
            [weights.get(a, default) for a in r.annotators.tolist()], dtype=float
        )
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (r.n_annotators,):
            raise InvalidInput(
                f"weights needs one value per annotator ({r.n_annotators}); got shape "
                f"{w.shape}. Pass a mapping annotator id → weight instead."
            )
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise InvalidInput(
            "Annotator weights must be finite and non-negative; got "
            f"min={np.nanmin(w) if w.size else 'n/a'}. Clip or fill them before voting."
        )
    return w


def weighted_vote(
    ratings: RatingsLike,
    *,
    weights: Sequence[float] | np.ndarray | Mapping[Any, float],
    default_weight: float | None = None,
    tie: TieRule = "lowest",
    seed: int | np.random.Generator | None = 0,
    answer_weights: Sequence[float] | np.ndarray | None = None,
) -> AggregationResult:
    """Vote where each annotator's answer counts with their weight.

    Typical weights are gold accuracy, or its log-odds ``log((K-1) acc / (1 - acc))``, which
    is the optimal weighting when each annotator errs uniformly (one-coin model).

    Args:
        ratings: :class:`Ratings` (or a reliability matrix).
        weights: One non-negative weight per annotator (aligned with ``ratings.annotators``),
            or a mapping annotator id → weight.
        default_weight: Weight of annotators missing from a ``weights`` mapping.
        tie: Tie rule, as in :func:`majority_vote`.
        seed: Seed or generator for ``tie="random"``.
        answer_weights: Per-answer factors on top of the annotator's weight (as in
            :func:`majority_vote`).

    An item whose answers all weigh 0 (e.g. every one of its annotators scored 0 on gold)
    falls back to the unweighted vote of its answers rather than going unlabelled: zero
    weights carry no information about which of its answers is right, and the unweighted
    vote (answer_weights still apply) is the estimate that assumes nothing more. Such items
    are flagged in ``result.params["unweighted_fallback"]`` (a bool per item); their
    confidence is the plain vote share.

    Raises:
        NotEnoughData: no answer has a label (nothing to vote on).
    """
    r = as_ratings(ratings)
    require_answers(r, "weighted vote")
    w = annotator_weights(r, weights, default_weight)
    per_answer = w[r.annotator]
    extra = checked_answer_weights(r, answer_weights)
    if extra is not None:
        per_answer = per_answer * extra
    scores = _tally(r, per_answer)
    answered = np.bincount(r.unit, minlength=r.n_units) > 0
    fallback = answered & (scores.sum(axis=1) <= 0)
    if fallback.any():
        scores[fallback] = _tally(r, extra)[fallback]
        # Answer factors of 0 too: every answer counts once.
        still = fallback & (scores.sum(axis=1) <= 0)
        scores[still] = _tally(r, None)[still]
    return _vote_result("weighted_vote", r, scores, tie, seed,
                        params={"unweighted_fallback": fallback})


def _tally(r: Ratings, per_answer: np.ndarray | None) -> np.ndarray:
    """Summed answer weights per item and class (answer counts without weights)."""
    k = max(r.n_classes, 1)
    scores = np.bincount(r.unit * k + r.label, weights=per_answer, minlength=r.n_units * k)
    return scores.reshape(r.n_units, k)[:, : r.n_classes].astype(float)


def gold_codes(r: Ratings, gold: Mapping[Any, Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Encode gold answers as (item codes, class codes); items not in ``r`` are skipped.

    Raises:
        UnknownLabel: a gold label is not one of ``r.classes``.
    """
    unit_index = {u: i for i, u in enumerate(r.units.tolist())}
    class_index = {c: i for i, c in enumerate(r.classes)}
    items: list[int] = []
    labels: list[int] = []
    bad: list[Hashable] = []
    for item, label in gold.items():
        i = unit_index.get(item)
        if i is None:
            continue
        c = class_index.get(label)
        if c is None:
            bad.append(label)
            continue
        items.append(i)
        labels.append(c)
    if bad:
        raise UnknownLabel(
            f"{len(bad)} gold label(s) are not among the classes, e.g. {bad[:5]!r}; classes: "
            f"{list(r.classes)[:20]!r}. Pass classes=... to encode_ratings so every gold label "
            "has a code."
        )
    return np.asarray(items, dtype=np.int64), np.asarray(labels, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class GoldScores:
    """Per-annotator accuracy on gold items.

    Attributes:
        annotators: Annotator ids.
        n_gold: Answers each annotator gave on gold items.
        n_correct: Of those, answers equal to the gold label.
        accuracy: ``n_correct / n_gold``; ``NaN`` for annotators without gold answers.
    """

    annotators: np.ndarray
    n_gold: np.ndarray
    n_correct: np.ndarray
    accuracy: np.ndarray


def gold_accuracy(ratings: RatingsLike, gold: Mapping[Any, Hashable]) -> GoldScores:
    """Score every annotator against known answers.

    Args:
        ratings: :class:`Ratings`.
        gold: Item id → true label. Items nobody answered are ignored.
    """
    r = as_ratings(ratings)
    g_items, g_labels = gold_codes(r, gold)
    truth = np.full(r.n_units, -1, dtype=np.int64)
    truth[g_items] = g_labels
    on_gold = truth[r.unit] >= 0
    n_gold = np.bincount(r.annotator[on_gold], minlength=r.n_annotators)
    correct = on_gold & (r.label == truth[r.unit])
    n_correct = np.bincount(r.annotator[correct], minlength=r.n_annotators)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(n_gold > 0, n_correct / np.maximum(n_gold, 1), np.nan)
    return GoldScores(r.annotators, n_gold, n_correct, accuracy)
