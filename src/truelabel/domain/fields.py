"""Field kinds of a label schema: each one the complete unit of extension.

A field kind is a pydantic model of the field's settings whose class answers everything the
rest of truelabel asks about a field: how to check a value (``validate_value``), which item
keys it needs (``item_keys``), how its values encode for agreement and aggregation
(``categorical``, ``level``, ``encode``/``decode``), which agreement measures and aggregators
apply (registered names), its Arrow type for typed export (``arrow_type``/``to_arrow``), and
its UI element (``ui_element``, ``ui_module``). Kinds are registered in the plug-in registry
(:mod:`truelabel.domain.plugins`) under versioned names (``truelabel.choice.v1``) with their
short ``type`` as alias; docs/field-kinds.md is the authoring guide.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .errors import AnnotationInvalid
from .hotkeys import KeyStyle, assign_keys, step_keys
from .plugins import registry

_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"


class Option(BaseModel):
    """One choice or span label."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=200)
    title: str | None = None
    hotkey: str | None = Field(default=None, max_length=1)

    @property
    def display(self) -> str:
        return self.title or self.value


def _shown(values: list[str], most: int = 20) -> str:
    """A list for an error message, cut short: a field may have thousands of options."""
    if len(values) <= most:
        return str(values)
    return f"{values[:most]} … ({len(values):,} in all)"


def _coerce_options(v: Any) -> Any:
    if isinstance(v, list):
        return [{"value": o} if isinstance(o, str) else o for o in v]
    return v


def _arrow() -> Any:
    # pyarrow only when a typed export asks: it is large and most processes never need it
    import pyarrow as pa

    return pa


class FieldSpec(BaseModel):
    """Settings common to every field kind, and the kind's protocol (class attributes and
    methods a new kind overrides; see docs/field-kinds.md)."""

    model_config = ConfigDict(extra="forbid")

    #: The short name a schema writes as ``type`` (an alias of ``kind``).
    type_name: ClassVar[str] = ""
    #: The versioned registered name, e.g. ``truelabel.choice.v1``.
    kind: ClassVar[str] = ""
    #: Short description used in ``truelabel schema-types`` and errors.
    summary: ClassVar[str] = ""
    #: Whether checking a value needs the item (e.g. span offsets against its text).
    needs_item: ClassVar[bool] = False
    #: Values are categories (``encode`` gives a hashable label): scorecards, confusion
    #: matrices and hot spots include the field.
    categorical: ClassVar[bool] = False
    #: Measurement level of the encoded labels for agreement: nominal, ordinal or interval.
    level: ClassVar[Literal["nominal", "ordinal", "interval"]] = "nominal"
    #: Registered agreement measures that apply, the report's first.
    agreement: ClassVar[tuple[str, ...]] = ()
    #: Registered aggregators that apply, the one ``aggregate`` uses first.
    aggregators: ClassVar[tuple[str, ...]] = ()
    #: The custom element that edits a value, and the ES module (same-origin URL) defining
    #: it; the module also registers the kind's value renderer (see fields/registry.js).
    ui_element: ClassVar[str] = ""
    ui_module: ClassVar[str] = ""
    #: How options without a hotkey get keys (:mod:`truelabel.domain.hotkeys`): ``digits``
    #: (1-9, 0, then letters) or ``letters`` (span labels: digits belong to choices).
    key_style: ClassVar[KeyStyle] = "digits"

    name: str = Field(pattern=_NAME_PATTERN)
    type: str
    title: str | None = None
    required: bool = True
    help: str | None = None

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        """Check ``value``; return it normalised or raise :class:`AnnotationInvalid`."""
        raise NotImplementedError

    #: A label order given for one report (``with_order``), overriding the schema's.
    _given_order: list[Any] | None = PrivateAttr(default=None)

    def label_order(self) -> list[Any] | None:
        """For ordinal agreement: every label, lowest first (None: not ordinal)."""
        return self._given_order

    def agreement_level(self) -> Literal["nominal", "ordinal", "interval"]:
        """The measurement level agreement uses: ordinal when a label order is known."""
        return "ordinal" if self._given_order is not None else self.level

    def with_order(self, order: list[Any]) -> FieldSpec:
        """A copy whose agreement is ordinal in ``order`` (lowest first)."""
        copy = self.model_copy()
        copy._given_order = list(order)
        return copy

    def fail(self, message: str) -> AnnotationInvalid:
        return AnnotationInvalid(f"Field {self.name!r}: {message}", field=self.name)

    # -- the kind's protocol: defaults a kind overrides -----------------------------------
    def item_keys(self) -> tuple[str, ...]:
        """Item payload keys an item must have for this field (checked on import)."""
        return ()

    def encode(self, value: Any) -> Any:
        """The value as the agreement measures and aggregators of this kind take it
        (categorical kinds: a hashable label)."""
        return value

    def decode(self, label: Any) -> Any:
        """The field value for an aggregated label (inverse of :meth:`encode`)."""
        return label

    def arrow_type(self) -> Any:
        """The ``pyarrow.DataType`` of this field's column in a typed export.

        The default is the value as JSON text; a kind overrides it with its real type.
        """
        return _arrow().string()

    def to_arrow(self, value: Any) -> Any:
        """A Python value ``pyarrow.array(..., type=self.arrow_type())`` accepts."""
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def keyed_options(self) -> list[Option]:
        """The options (or labels) the page picks by key; their hotkeys are checked for
        collisions across the schema."""
        return []

    def ui_keys(self, taken: set[str]) -> list[str] | None:
        """The key of each option, label or step, shipped with the schema to the page
        (None: the kind uses no keys). ``taken``: every hotkey the schema names."""
        opts = self.keyed_options()
        return assign_keys(opts, taken=taken, style=self.key_style) if opts else None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The kind as JSON-able data (the UI and ``truelabel schema-types`` read it)."""
        return {
            "kind": cls.kind,
            "type": cls.type_name,
            "summary": cls.summary,
            "categorical": cls.categorical,
            "level": cls.level,
            "agreement": list(cls.agreement),
            "aggregators": list(cls.aggregators),
            "element": cls.ui_element,
            "module": cls.ui_module,
        }


class _OptionsField(FieldSpec):
    categorical: ClassVar[bool] = True
    agreement: ClassVar[tuple[str, ...]] = ("truelabel.krippendorff.v1",)
    aggregators: ClassVar[tuple[str, ...]] = ("truelabel.vote.v1",)

    options: list[Option] = Field(min_length=1)

    _coerce = field_validator("options", mode="before")(_coerce_options)

    @model_validator(mode="after")
    def _unique(self) -> _OptionsField:
        counts = Counter(o.value for o in self.options)  # linear: fields may hold 10,000
        if len(counts) != len(self.options):
            dupes = sorted(v for v, k in counts.items() if k > 1)
            raise ValueError(
                f"duplicate option values {_shown(dupes)}; each option needs its own value"
            )
        return self

    def option_values(self) -> list[str]:
        return [o.value for o in self.options]

    def keyed_options(self) -> list[Option]:
        return self.options

    @cached_property
    def _option_set(self) -> frozenset[str]:
        return frozenset(o.value for o in self.options)


class ChoiceField(_OptionsField):
    type_name: ClassVar[str] = "choice"
    kind: ClassVar[str] = "truelabel.choice.v1"
    summary: ClassVar[str] = "pick exactly one option"
    ui_element: ClassVar[str] = "tl-choice"
    ui_module: ClassVar[str] = "/static/js/fields/choice.js"
    type: Literal["choice"] = "choice"
    #: The options are ranked as listed (e.g. bad, ok, good): agreement is ordinal. (None, not
    #: False, when unset: a schema's stored form and digest stay as they were before it.)
    ordinal: bool | None = None

    def label_order(self) -> list[Any] | None:
        given = super().label_order()
        return given if given is not None else (self.option_values() if self.ordinal else None)

    def agreement_level(self) -> Literal["nominal", "ordinal", "interval"]:
        return "ordinal" if self.label_order() is not None else self.level

    def arrow_type(self) -> Any:
        return _arrow().string()

    def to_arrow(self, value: Any) -> Any:
        return value

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, str):
            raise self.fail(f"expected one option as a string, got {type(value).__name__}")
        if value not in self._option_set:
            raise self.fail(
                f"{value!r} is not an option; choose one of {_shown(self.option_values())}"
            )
        return value


class MultiChoiceField(_OptionsField):
    type_name: ClassVar[str] = "multi_choice"
    kind: ClassVar[str] = "truelabel.multi_choice.v1"
    summary: ClassVar[str] = "pick any number of options"
    ui_element: ClassVar[str] = "tl-multi-choice"
    ui_module: ClassVar[str] = "/static/js/fields/multi-choice.js"
    type: Literal["multi_choice"] = "multi_choice"
    min_selected: int = Field(default=0, ge=0)
    max_selected: int | None = Field(default=None, ge=1)

    def encode(self, value: Any) -> Hashable:
        """The options joined, ``'a|b'`` (none chosen: ``'(none)'``)."""
        return "|".join(value) if value else "(none)"

    def decode(self, label: Any) -> Any:
        return [] if label == "(none)" else str(label).split("|")

    def arrow_type(self) -> Any:
        pa = _arrow()
        return pa.list_(pa.string())

    def to_arrow(self, value: Any) -> Any:
        return value

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail("expected a list of option strings")
        options = self._option_set
        unknown = [v for v in value if v not in options]
        if unknown:
            raise self.fail(
                f"{_shown(unknown)} are not options; choose from {_shown(self.option_values())}"
            )
        if len(set(value)) != len(value):
            raise self.fail("an option is selected twice; list each option once")
        if len(value) < self.min_selected:
            raise self.fail(f"select at least {self.min_selected} options")
        if self.max_selected is not None and len(value) > self.max_selected:
            raise self.fail(f"select at most {self.max_selected} options")
        chosen = set(value)
        return [v for v in self.option_values() if v in chosen]


class SpansField(FieldSpec):
    """Named-entity spans over a text field of the item."""

    needs_item: ClassVar[bool] = True

    type_name: ClassVar[str] = "spans"
    kind: ClassVar[str] = "truelabel.spans.v1"
    summary: ClassVar[str] = "labelled character spans over a text field (NER)"
    agreement: ClassVar[tuple[str, ...]] = ("truelabel.span_f1.v1",)
    aggregators: ClassVar[tuple[str, ...]] = ("truelabel.span_vote.v1",)
    ui_element: ClassVar[str] = "tl-spans"
    ui_module: ClassVar[str] = "/static/js/fields/spans.js"
    type: Literal["spans"] = "spans"
    source: str = Field(default="text", description="item payload key holding the text")
    labels: list[Option] = Field(min_length=1)
    allow_overlap: bool = False

    _coerce = field_validator("labels", mode="before")(_coerce_options)

    key_style: ClassVar[KeyStyle] = "letters"

    def label_values(self) -> list[str]:
        return [o.value for o in self.labels]

    def keyed_options(self) -> list[Option]:
        return self.labels

    def item_keys(self) -> tuple[str, ...]:
        return (self.source,)

    def encode(self, value: Any) -> Any:
        """``[(start, end, label), …]``, what the span measures and span vote take."""
        return [(s["start"], s["end"], s["label"]) for s in value]

    def decode(self, label: Any) -> Any:
        return [{"start": s, "end": e, "label": lab} for s, e, lab in label]

    def arrow_type(self) -> Any:
        pa = _arrow()
        return pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()),
                                   ("label", pa.string()), ("text", pa.string())]))

    def to_arrow(self, value: Any) -> Any:
        return value

    @cached_property
    def _label_set(self) -> frozenset[str]:
        return frozenset(o.value for o in self.labels)

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, list):
            raise self.fail("expected a list of spans like {'start': 0, 'end': 4, 'label': 'ORG'}")
        text = None
        if item is not None:
            text = item.get(self.source)
            if not isinstance(text, str):
                raise self.fail(f"the item has no text field {self.source!r} to put spans on")
        out = []
        for i, span in enumerate(value):
            if not isinstance(span, dict):
                raise self.fail(f"span {i} is not an object")
            start, end, label = span.get("start"), span.get("end"), span.get("label")
            if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
                raise self.fail(f"span {i}: start and end must be integers")
            if not 0 <= start < end:
                raise self.fail(f"span {i}: need 0 <= start < end, got {start}..{end}")
            if text is not None and end > len(text):
                raise self.fail(f"span {i}: end {end} is past the text's length {len(text)}")
            if not isinstance(label, str) or label not in self._label_set:
                raise self.fail(
                    f"span {i}: label {label!r} unknown; use one of {_shown(self.label_values())}"
                )
            extra = set(span) - {"start", "end", "label", "text"}
            if extra:
                raise self.fail(f"span {i}: unexpected keys {sorted(extra)}")
            clean: dict[str, Any] = {"start": start, "end": end, "label": label}
            if text is not None:
                clean["text"] = text[start:end]
            out.append(clean)
        out.sort(key=lambda s: (s["start"], s["end"], s["label"]))
        if not self.allow_overlap:
            for a, b in zip(out, out[1:], strict=False):
                if b["start"] < a["end"]:
                    raise self.fail(
                        f"spans {a['start']}..{a['end']} and {b['start']}..{b['end']} overlap; "
                        "this field does not allow overlapping spans"
                    )
        return out


class TextField(FieldSpec):
    type_name: ClassVar[str] = "text"
    kind: ClassVar[str] = "truelabel.text.v1"
    summary: ClassVar[str] = "free text"
    ui_element: ClassVar[str] = "tl-text"
    ui_module: ClassVar[str] = "/static/js/fields/text.js"
    type: Literal["text"] = "text"
    max_length: int = Field(default=10_000, ge=1)
    multiline: bool = True

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {type(value).__name__}")
        if len(value) > self.max_length:
            raise self.fail(f"text is {len(value)} characters; the limit is {self.max_length}")
        return value

    def arrow_type(self) -> Any:
        return _arrow().string()

    def to_arrow(self, value: Any) -> Any:
        return value


class RatingField(FieldSpec):
    type_name: ClassVar[str] = "rating"
    kind: ClassVar[str] = "truelabel.rating.v1"
    summary: ClassVar[str] = "an integer rating 1..scale"
    categorical: ClassVar[bool] = True
    level: ClassVar[Literal["nominal", "ordinal", "interval"]] = "ordinal"
    agreement: ClassVar[tuple[str, ...]] = ("truelabel.krippendorff.v1",)
    aggregators: ClassVar[tuple[str, ...]] = ("truelabel.vote.v1",)
    ui_element: ClassVar[str] = "tl-rating"
    ui_module: ClassVar[str] = "/static/js/fields/rating.js"
    type: Literal["rating"] = "rating"
    scale: int = Field(default=5, ge=2, le=10)

    def ui_keys(self, taken: set[str]) -> list[str] | None:
        return step_keys(self.scale)
    def label_order(self) -> list[Any] | None:
        given = super().label_order()
        return given if given is not None else list(range(1, self.scale + 1))

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"expected an integer 1..{self.scale}, got {value!r}")
        if not 1 <= value <= self.scale:
            raise self.fail(f"rating {value} is outside 1..{self.scale}")
        return value

    def arrow_type(self) -> Any:
        return _arrow().int8()

    def to_arrow(self, value: Any) -> Any:
        return value


def register_field_type(cls: type[FieldSpec]) -> type[FieldSpec]:
    """Register a field kind class (usable as a decorator) under its ``kind`` (else
    ``type_name``), with ``type_name`` as its short alias. Entry points in the group
    ``truelabel.field_kinds`` do the same without code."""
    if not cls.type_name:
        raise ValueError(f"{cls.__name__} needs a type_name")
    registry.field_kinds.register(cls.kind or cls.type_name, cls, origin=cls.__module__)
    return cls


def field_kinds() -> dict[str, type[FieldSpec]]:
    """Every registered field kind by versioned name (plug-ins included)."""
    return registry.field_kinds.all()


def field_types() -> dict[str, type[FieldSpec]]:
    """Every registered field kind by its short ``type`` name (plug-ins included)."""
    return {cls.type_name: cls for cls in field_kinds().values()}


def field_class(name: str) -> type[FieldSpec]:
    """The field kind a schema's ``type`` names: a short name (``choice``) or a versioned
    one (``truelabel.choice.v1``). Unknown: :class:`UnknownComponent` listing the known."""
    cls: type[FieldSpec] = registry.field_kinds.get(name)
    return cls
