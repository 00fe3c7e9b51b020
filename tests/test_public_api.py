"""The public surface: ``truelabel.__all__`` and the one error hierarchy in truelabel.errors."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from http import HTTPStatus

import truelabel
import truelabel.errors as errors
from truelabel.errors import TruelabelError


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return r.stdout.strip()


def test_every_public_name_resolves() -> None:
    for name in truelabel.__all__:
        assert getattr(truelabel, name) is not None, name
    assert truelabel.Workspace.__name__ == "Workspace"
    assert truelabel.errors is errors and truelabel.TruelabelError is TruelabelError
    assert sorted(truelabel.__all__) == truelabel.__all__  # one place to look, in order


def test_star_import_gives_exactly_all() -> None:
    got = _run(
        "before = set(globals())\n"
        "from truelabel import *\n"
        "import truelabel\n"
        "new = set(globals()) - before - {'before', 'truelabel'}\n"
        "print(sorted(new) == sorted(truelabel.__all__), sorted(new))"
    )
    assert got.startswith("True"), got


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        truelabel.Projekt  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "Projekt" in str(exc)
    else:
        raise AssertionError("truelabel.Projekt resolved")


def _every_module() -> None:
    for info in pkgutil.walk_packages(truelabel.__path__, "truelabel."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)


def _subclasses(cls: type[TruelabelError]) -> set[type[TruelabelError]]:
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _subclasses(sub)
    return out


def test_every_error_class_is_in_truelabel_errors() -> None:
    _every_module()  # so a class defined anywhere in truelabel is among the subclasses
    exported = {getattr(errors, n) for n in errors.__all__}
    mine = {c for c in _subclasses(TruelabelError) if c.__module__.startswith("truelabel.")}
    missing = sorted(c.__qualname__ for c in mine - exported)
    assert not missing, f"error classes not exported by truelabel.errors: {missing}"
    assert set(errors.error_classes()) >= mine


def test_codes_are_unique_and_each_maps_to_one_status() -> None:
    classes = errors.error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    for cls in classes:
        assert cls.code.isidentifier() and cls.code == cls.code.lower(), cls
        assert HTTPStatus(cls.status) and 400 <= cls.status <= 599, cls
        # a one-line docstring of its own, for the generated error-code table
        doc = cls.__dict__.get("__doc__") or ""
        assert doc.strip() and "\n" not in doc.strip(), f"{cls.__name__} needs a one-line doc"
        assert isinstance(cls("x").to_dict()["error"], str)


def test_quality_errors_stay_value_errors_and_importable_where_they_were() -> None:
    from truelabel import quality
    from truelabel.quality import errors as quality_errors

    for name in ("InvalidInput", "UnknownLabel", "DuplicateRatings", "NotEnoughData",
                 "NoVariation", "QualityError"):
        cls = getattr(quality_errors, name)
        assert cls is getattr(quality, name)
        assert issubclass(cls, ValueError) and issubclass(cls, TruelabelError), name
    assert issubclass(quality_errors.InvalidInput, errors.InvalidInput)
    assert quality_errors.InvalidInput is errors.InvalidQualityInput
    assert issubclass(quality_errors.ConvergenceWarning, UserWarning)


def test_the_edges_own_codes_are_listed_and_distinct_from_the_classes() -> None:
    """Every literal code the server answers with (``error(status, "code", …)``) is in
    ``server.errors.EDGE_CODES`` or is a class's code, with the same status."""
    import re
    from pathlib import Path

    from truelabel.server.errors import EDGE_CODES

    by_class = {c.code: c.status for c in errors.error_classes()}
    assert not set(EDGE_CODES) & set(by_class), "an edge code shadows a class's code"
    server = Path(truelabel.__file__).parent / "server"
    used = set()
    for path in server.rglob("*.py"):
        text = path.read_text("utf-8")
        used |= set(re.findall(r'\berror\(\s*(\d{3}),\s*"([a-z_]+)"', text))
        used |= {("", m) for m in re.findall(r'"error":\s*"([a-z_]+)"', text)}
        used |= {("", m) for m in re.findall(r'\d{3}: "([a-z_]+)"', text)}
        used |= {("", m) for m in re.findall(r'status_code, "([a-z_]+)"\)', text)}
    assert used, "the scan found nothing: it no longer matches the code"
    for status, code in used:
        listed = EDGE_CODES.get(code, (by_class.get(code), ""))[0]
        assert listed is not None, f"{code!r} is answered but not listed in EDGE_CODES"
        if status:
            assert int(status) == listed, (code, status, listed)
