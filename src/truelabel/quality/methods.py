"""Truth-inference methods as registered components: one label per item from several answers.

Every method is a :class:`TruthMethod` registered in the ``truth_methods`` slot of
:data:`truelabel.plugins.registry` under a versioned name (``truelabel.dawid_skene.v2``) and a
short alias (``dawid_skene``), so the CLI, the Python API and a project's ``aggregate`` all
take the same names and a plug-in can add its own.

The protocol: ``fit(ratings, *, gold=None, answer_weights=None, max_iter=None, tol=None,
seed=0, warn=True)`` returns an :class:`~truelabel.quality.aggregate.AggregationResult`.
``max_iter``/``tol`` are ``None`` for the method's defaults (votes ignore them); ``gold`` is
item id → known label, which a method may use (the Dawid-Skene family clamps those items; the
majority vote ignores them). Callers decide what to pass: an answers file's gold goes only to
methods that need or choose by it (``needs_gold``/``uses_gold``), so that accuracy on gold
stays an honest check for the others; a project also passes its reviewed answers as known
answers.

A generative method also gives its ``answer_model(result, unit, annotator)``: for answers by
``annotator[j]`` on item ``unit[j]`` (codes of the fitted ratings), the array
``(n, n_classes_true, n_classes_answered)`` of P(answer = l | true class = k). With the item
posteriors it gives the likelihood of held-out answers, which is how methods are compared
without gold (``auto``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .aggregate import (
    AggregationResult,
    gold_accuracy,
    majority_vote,
    weighted_vote,
)
from .dawid_skene import dawid_skene
from .encode import RatingsLike, as_ratings
from .errors import InvalidInput

__all__ = [
    "BAYESIAN_DAWID_SKENE",
    "DAWID_SKENE",
    "GOLD_DAWID_SKENE",
    "MAJORITY",
    "ONE_COIN",
    "WEIGHTED",
    "TruthMethod",
    "shared_accuracy",
]

Fit = Callable[..., AggregationResult]
AnswerModel = Callable[[AggregationResult, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TruthMethod:
    """A registered truth-inference method.

    Attributes:
        name: Short name (the registry alias), e.g. ``"dawid_skene"``.
        fit: The fitting function (see the module docstring for its signature).
        needs_gold: The method cannot run without gold answers.
        uses_gold: The method uses gold answers when there are some (e.g. ``auto`` chooses by
            them), so callers should pass their gold even though it is not required.
        iterative: It runs an iterative fit (``max_iter``/``tol`` apply).
        summary: One line for listings and ``--help``.
        answer_model: P(answer | true class) per answer, for generative methods (see the
            module docstring); ``None`` for methods without an answer model.
    """

    name: str
    fit: Fit
    needs_gold: bool = False
    iterative: bool = False
    summary: str = ""
    answer_model: AnswerModel | None = None
    uses_gold: bool = False


def _iter_options(max_iter: int | None, tol: float | None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if max_iter is not None:
        opts["max_iter"] = max_iter
    if tol is not None:
        opts["tol"] = tol
    return opts


def _majority(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    return majority_vote(ratings, answer_weights=answer_weights, seed=seed)


def _weighted(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    """Each annotator's vote weighs their accuracy on gold (annotators without gold answers
    weigh the mean of the others')."""
    if not gold:
        raise InvalidInput("The weighted vote needs gold answers to weigh annotators; "
                           "pass gold=... or use majority.")
    r = as_ratings(ratings)
    acc = gold_accuracy(r, gold).accuracy
    known = acc[~np.isnan(acc)]
    default = float(known.mean()) if known.size else 1.0
    weights = np.where(np.isnan(acc), default, acc)
    res = weighted_vote(r, weights=weights, answer_weights=answer_weights, seed=seed)
    return replace(res, params={**res.params, "default_weight": default})


def _dawid_skene(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    return dawid_skene(ratings, gold=gold, answer_weights=answer_weights, warn=warn,
                       answered_only=True, **_iter_options(max_iter, tol))


def _gold_dawid_skene(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    if not gold:
        raise InvalidInput("gold_dawid_skene needs gold answers; pass gold=... or use "
                           "dawid_skene.")
    return dawid_skene(ratings, gold=gold, answer_weights=answer_weights, warn=warn,
                       answered_only=True, **_iter_options(max_iter, tol))


def _confusion_model(result: AggregationResult, unit: np.ndarray, annotator: np.ndarray
                     ) -> np.ndarray:
    """Dawid-Skene's answer model: the annotator's fitted confusion matrix."""
    if result.confusion is None:
        raise InvalidInput(f"{result.method} has no confusion matrices to score answers with.")
    model: np.ndarray = result.confusion[annotator]
    return model


def shared_accuracy(result: AggregationResult) -> float:
    """Majority vote's implicit model: the share of all answers (on labelled items) that
    equal their item's aggregated label, one accuracy shared by every annotator."""
    r = result.ratings
    code = result.codes[r.unit]
    ok = code >= 0
    return float((r.label[ok] == code[ok]).mean()) if ok.any() else 0.5


def _shared_accuracy_model(result: AggregationResult, unit: np.ndarray, annotator: np.ndarray
                           ) -> np.ndarray:
    """P(answer | true class) with one accuracy p for everyone; errors uniform."""
    k = len(result.classes)
    p = min(max(shared_accuracy(result), 1e-6), 1 - 1e-6) if k > 1 else 1.0
    one = np.full((k, k), (1 - p) / max(k - 1, 1))
    np.fill_diagonal(one, p)
    return np.broadcast_to(one, (unit.shape[0], k, k))


def _one_coin(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    return dawid_skene(ratings, model="one_coin", gold=gold, answer_weights=answer_weights,
                       warn=warn, answered_only=True, **_iter_options(max_iter, tol))


#: The Bayesian Dawid-Skene prior: add-one (Laplace) pseudo-counts on every confusion cell
#: and on the class prior, one setting for every data set (see docs/quality.md).
BAYES_PRIOR: dict[str, Any] = {"smoothing": 1.0, "diagonal": 0.0, "prior_smoothing": 1.0}


def _bayesian_dawid_skene(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    return dawid_skene(ratings, gold=gold, answer_weights=answer_weights, warn=warn,
                       **BAYES_PRIOR, answered_only=True, **_iter_options(max_iter, tol))


MAJORITY = TruthMethod("majority", _majority, summary="majority vote; confidence = vote share",
                       answer_model=_shared_accuracy_model)
WEIGHTED = TruthMethod("weighted", _weighted, needs_gold=True,
                       summary="vote weighted by each annotator's accuracy on gold")
DAWID_SKENE = TruthMethod("dawid_skene", _dawid_skene, iterative=True,
                          summary="Dawid-Skene EM, a confusion matrix per annotator",
                          answer_model=_confusion_model)
GOLD_DAWID_SKENE = TruthMethod("gold_dawid_skene", _gold_dawid_skene, needs_gold=True,
                               iterative=True, summary="Dawid-Skene anchored on gold items",
                               answer_model=_confusion_model)
ONE_COIN = TruthMethod("one_coin", _one_coin, iterative=True,
                       summary="one-coin Dawid-Skene: one accuracy per annotator",
                       answer_model=_confusion_model)
BAYESIAN_DAWID_SKENE = TruthMethod(
    "bayesian_dawid_skene", _bayesian_dawid_skene, iterative=True,
    summary="Dawid-Skene MAP with add-one Dirichlet priors (sparse annotators)",
    answer_model=_confusion_model)
