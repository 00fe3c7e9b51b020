"""The public surface of truelabel.quality: exports, signatures, docstrings, layering."""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import sys
from pathlib import Path

import pytest

import truelabel.quality as quality

PACKAGE = Path(quality.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_all_is_complete_and_sorted() -> None:
    assert sorted(quality.__all__) == quality.__all__
    for name in quality.__all__:
        assert hasattr(quality, name), name
    public = {n for n in vars(quality) if not n.startswith("_")} - set(MODULES)
    assert public <= set(quality.__all__) | {"annotations"}


def test_public_functions_are_documented_and_keyword_only() -> None:
    for name in quality.__all__:
        obj = getattr(quality, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        for param in sig.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name})"
            if param.default is not inspect.Parameter.empty:
                assert param.kind is inspect.Parameter.KEYWORD_ONLY, (
                    f"{name}: option {param.name!r} should be keyword-only"
                )
        assert sig.return_annotation is not inspect.Signature.empty, name


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(f"truelabel.quality.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("module", MODULES)
def test_imports_stay_in_layer(module: str) -> None:
    """Only the standard library, numpy and truelabel.domain (plus siblings)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "truelabel":
                assert name.startswith(("truelabel.quality", "truelabel.domain")), name
            else:
                assert top == "numpy" or top in sys.stdlib_module_names, name


def test_errors_are_value_errors() -> None:
    for name in ("InvalidInput", "NotEnoughData", "NoVariation", "DuplicateRatings",
                 "UnknownLabel"):
        assert issubclass(getattr(quality, name), quality.QualityError)
        assert issubclass(getattr(quality, name), ValueError)
    assert issubclass(quality.ConvergenceWarning, UserWarning)
