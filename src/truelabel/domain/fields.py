"""Field types of a label schema, registered by name.

A field type is a pydantic model describing the field's settings plus a ``validate_value``
method that checks one annotation value. Later modalities (boxes, audio segments, rankings)
register their own with :func:`register_field_type`; an unknown name lists the known ones.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import AnnotationInvalid, UnknownComponent

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


class FieldSpec(BaseModel):
    """Settings common to every field type."""

    model_config = ConfigDict(extra="forbid")

    type_name: ClassVar[str] = ""
    #: Short description used in ``truelabel schema types`` and errors.
    summary: ClassVar[str] = ""
    #: Whether checking a value needs the item (e.g. span offsets against its text).
    needs_item: ClassVar[bool] = False

    name: str = Field(pattern=_NAME_PATTERN)
    type: str
    title: str | None = None
    required: bool = True
    help: str | None = None

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        """Check ``value``; return it normalised or raise :class:`AnnotationInvalid`."""
        raise NotImplementedError

    def fail(self, message: str) -> AnnotationInvalid:
        return AnnotationInvalid(f"Field {self.name!r}: {message}", field=self.name)


class _OptionsField(FieldSpec):
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

    @cached_property
    def _option_set(self) -> frozenset[str]:
        return frozenset(o.value for o in self.options)


class ChoiceField(_OptionsField):
    type_name: ClassVar[str] = "choice"
    summary: ClassVar[str] = "pick exactly one option"
    type: Literal["choice"] = "choice"

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
    summary: ClassVar[str] = "pick any number of options"
    type: Literal["multi_choice"] = "multi_choice"
    min_selected: int = Field(default=0, ge=0)
    max_selected: int | None = Field(default=None, ge=1)

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
    summary: ClassVar[str] = "labelled character spans over a text field (NER)"
    type: Literal["spans"] = "spans"
    source: str = Field(default="text", description="item payload key holding the text")
    labels: list[Option] = Field(min_length=1)
    allow_overlap: bool = False

    _coerce = field_validator("labels", mode="before")(_coerce_options)

    def label_values(self) -> list[str]:
        return [o.value for o in self.labels]

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
    summary: ClassVar[str] = "free text"
    type: Literal["text"] = "text"
    max_length: int = Field(default=10_000, ge=1)
    multiline: bool = True

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {type(value).__name__}")
        if len(value) > self.max_length:
            raise self.fail(f"text is {len(value)} characters; the limit is {self.max_length}")
        return value


class RatingField(FieldSpec):
    type_name: ClassVar[str] = "rating"
    summary: ClassVar[str] = "an integer rating 1..scale"
    type: Literal["rating"] = "rating"
    scale: int = Field(default=5, ge=2, le=10)

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"expected an integer 1..{self.scale}, got {value!r}")
        if not 1 <= value <= self.scale:
            raise self.fail(f"rating {value} is outside 1..{self.scale}")
        return value


_REGISTRY: dict[str, type[FieldSpec]] = {}


def register_field_type(cls: type[FieldSpec]) -> type[FieldSpec]:
    """Register a field type class under its ``type_name`` (usable as a decorator)."""
    if not cls.type_name:
        raise ValueError(f"{cls.__name__} needs a type_name")
    _REGISTRY[cls.type_name] = cls
    return cls


def field_types() -> dict[str, type[FieldSpec]]:
    """The registered field types by name."""
    return dict(_REGISTRY)


def field_class(name: str) -> type[FieldSpec]:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownComponent(
            f"Unknown field type {name!r}. Known field types: {known}.",
            known=sorted(_REGISTRY),
        ) from None


for _cls in (ChoiceField, MultiChoiceField, SpansField, TextField, RatingField):
    register_field_type(_cls)
