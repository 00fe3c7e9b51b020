"""Truth inference by registered method name, for answers files and projects alike.

The one place core turns a method name into a fitted
:class:`~truelabel.quality.aggregate.AggregationResult`: the name is looked up in
``registry.truth_methods`` (aliases and versioned names, plug-ins included), the iteration
options are checked, and engine errors become :class:`~truelabel.domain.errors.InvalidInput`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from truelabel import quality as q
from truelabel.domain.errors import InvalidInput, UnknownComponent
from truelabel.domain.plugins import registry
from truelabel.quality.aggregate import choose
from truelabel.quality.dawid_skene import check_iter_options
from truelabel.quality.methods import TruthMethod

__all__ = ["DEFAULT_METHOD", "fit_report", "resolve_method", "run_method",
           "truth_method_names"]

#: The method ``truelabel aggregate`` and a project's aggregate use unless told otherwise.
DEFAULT_METHOD = "auto"


def truth_method_names() -> list[str]:
    """Every registered truth-inference method by its short name (alias), plug-ins included;
    a method without an alias by its registered name."""
    slot = registry.truth_methods
    aliased = set(slot.aliases().values())
    return sorted(set(slot.aliases()) | {n for n in slot.names() if n not in aliased})


def resolve_method(name: str) -> TruthMethod:
    """The registered method called ``name``.

    Raises:
        InvalidInput: no such method (the message lists the known ones).
    """
    try:
        tm: TruthMethod = registry.truth_methods.get(name)
    except UnknownComponent:
        known = truth_method_names()
        raise InvalidInput(f"Unknown aggregation method {name!r}; known: {', '.join(known)}.",
                           field="method", known=known) from None
    return tm


def run_method(
    method: str, ratings: q.Ratings, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    max_iter: int | None = None, tol: float | None = None, seed: int = 0,
    tie: str = "lowest",
) -> q.AggregationResult:
    """Fit the registered ``method`` on ``ratings``.

    ``max_iter``/``tol`` (``None``: the method's defaults) apply to iterative methods;
    ``tie="random"`` draws among tied top labels with ``seed`` (any method).

    Raises:
        InvalidInput: unknown method, bad ``max_iter``/``tol``, a method that needs gold
            without it, or data the method cannot use.
    """
    tm = resolve_method(method)
    check_iter_options(100 if max_iter is None else max_iter, 0.0 if tol is None else tol)
    if tm.needs_gold and not gold:
        raise InvalidInput(f"Method {method} needs known answers (gold); add gold, or use "
                           "majority, dawid_skene or auto.", field="method")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", q.QualityWarning)  # reported in the result
            res = tm.fit(ratings, gold=gold, answer_weights=answer_weights, max_iter=max_iter,
                         tol=tol, seed=seed, warn=False)
    except q.QualityError as exc:
        raise InvalidInput(str(exc)) from None
    if tie == "random":
        codes, tied = choose(res.posterior, tie="random", seed=seed)
        confidence = np.full(codes.shape[0], np.nan)
        ok = codes >= 0
        confidence[ok] = res.posterior[ok, codes[ok]]
        res = replace(res, codes=codes, tied=tied, confidence=confidence)
    return res


def fit_report(res: q.AggregationResult) -> dict[str, Any]:
    """How the fit went, JSON-able: iterations, convergence, the final objective and its
    trace, and (``auto``) which method was chosen with every candidate's score."""
    trace = [float(v) for v in res.objective_trace]
    out: dict[str, Any] = {
        "iterations": res.n_iter,
        "converged": res.converged,
        "objective": trace[-1] if trace else None,
        "objective_trace": trace,
    }
    if "objective" in res.params:
        out["objective_name"] = res.params["objective"]
    if "auto" in res.params:
        out["auto"] = res.params["auto"]
    return out
