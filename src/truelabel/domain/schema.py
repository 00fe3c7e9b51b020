"""Label schemas: the fields an annotation has, parsed from YAML, JSON or Label Studio XML."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Literal, get_args

import yaml
from defusedxml import ElementTree as SafeET
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import AnnotationInvalid, EmptyAnnotation, SchemaError, UnknownComponent
from .fields import FieldSpec, field_class, field_types
from .hotkeys import check_hotkeys
from .limits import (
    MAX_FIELDS,
    MAX_HELP_CHARS,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_SCHEMA_BYTES,
    MAX_TITLE_CHARS,
    MAX_TOTAL_OPTIONS,
)

#: What a submit with no field filled in does: the page asks first (``confirm``), the server
#: refuses it (``refuse``), or it counts like any other (``allow``).
EmptyPolicy = Literal["confirm", "refuse", "allow"]
EMPTY_POLICIES: tuple[str, ...] = get_args(EmptyPolicy)
_TOP_KEYS = ("title", "fields", "empty_submissions")


class LabelSchema(BaseModel):
    """A versioned set of fields. ``fields`` holds the registered field-type models."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    title: str = ""
    fields: list[FieldSpec] = Field(default_factory=list)
    empty_submissions: EmptyPolicy = "confirm"

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, check_limits: bool = True) -> LabelSchema:
        """Build a schema from a plain mapping, checking every field against its type.

        ``check_limits`` applies the size limits of :mod:`truelabel.domain.limits` (every
        schema a user sends); a version already stored is loaded without them, so a project
        made before a limit existed keeps working.
        """
        if not isinstance(data, dict):
            raise SchemaError("A label schema must be a mapping with a 'fields' list.")
        unknown_keys = set(data) - set(_TOP_KEYS)
        if unknown_keys:
            raise SchemaError(
                f"Unknown schema keys {sorted(unknown_keys)}; a schema has {list(_TOP_KEYS)}."
            )
        empty = data.get("empty_submissions", "confirm")
        if empty not in EMPTY_POLICIES:
            raise SchemaError(
                f"empty_submissions is {str(empty)[:40]!r}; use one of {list(EMPTY_POLICIES)} "
                "(confirm: the page asks before sending an empty answer; refuse: the server "
                "refuses it; allow: it counts as labelled)."
            )
        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise SchemaError("A label schema needs a non-empty 'fields' list.")
        title = data.get("title")
        if isinstance(title, list | dict):
            raise SchemaError("The schema's 'title' must be text, not a list or mapping.")
        if check_limits:
            check_schema_limits(title, raw_fields)
        fields: list[FieldSpec] = []
        for i, raw in enumerate(raw_fields):
            if not isinstance(raw, dict) or "type" not in raw:
                raise SchemaError(f"Field {i} needs a 'type'. Known types: {sorted(field_types())}")
            cls_ = field_class(str(raw["type"]))
            if raw["type"] != cls_.type_name:  # a versioned name: stored as the short one
                raw = {**raw, "type": cls_.type_name}
            if "keys" in raw:  # computed keys of a schema the API served: made afresh
                raw = {k: v for k, v in raw.items() if k != "keys"}
            try:
                fields.append(cls_.model_validate(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise SchemaError(
                    f"Field {raw.get('name', i)!r} ({raw['type']}): {where}: {first['msg']}",
                    field=raw.get("name"),
                ) from None
        dupes = sorted(n for n, k in Counter(f.name for f in fields).items() if k > 1)
        if dupes:
            raise SchemaError(f"Field names must be unique; repeated: {dupes}")
        if check_limits:  # a stored version made before the rule keeps working
            check_hotkeys(
                (f"{f.name}.{o.value}", o.hotkey, f.key_style)
                for f in fields for o in f.keyed_options() if o.hotkey
            )
        return cls(title=str(title or ""), fields=fields, empty_submissions=empty)

    @classmethod
    def parse(cls, text: str, *, filename: str = "") -> LabelSchema:
        """Parse YAML, JSON or a Label Studio XML labeling config (detected from content).

        YAML anchors and aliases are refused (a few hundred bytes of aliases can expand to
        gigabytes), and so is text past ``limits.MAX_SCHEMA_BYTES``.
        """
        if len(text) > MAX_SCHEMA_BYTES or len(text.encode("utf-8", "replace")) > MAX_SCHEMA_BYTES:
            where = f" {filename}" if filename else ""
            raise SchemaError(
                f"The schema{where} is larger than {MAX_SCHEMA_BYTES >> 20} MiB, the most a "
                "label schema may be. Shorten its option lists, titles and help texts.",
                limit=MAX_SCHEMA_BYTES,
            )
        stripped = text.lstrip()
        if stripped.startswith("<"):
            return cls.from_dict(label_studio_to_dict(text))
        return cls.from_dict(_load_yaml(text, filename))

    # -- use ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "fields": [f.model_dump(exclude_none=True, serialize_as_any=True) for f in self.fields],
        }
        if self.empty_submissions != "confirm":  # the default: older digests stay the same
            out["empty_submissions"] = self.empty_submissions
        return out

    def ui_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` plus, for the pages, each field's ``keys`` (one per option, label
        or rating step; :mod:`truelabel.domain.hotkeys`) and the ``empty_submissions``
        policy. ``from_dict`` takes it back (the keys are computed afresh)."""
        out = self.to_dict()
        out["empty_submissions"] = self.empty_submissions
        taken = {o.hotkey.lower() for f in self.fields for o in f.keyed_options() if o.hotkey}
        for f, d in zip(self.fields, out["fields"], strict=True):
            keys = f.ui_keys(taken)
            if keys is not None:
                d["keys"] = keys
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def digest(self) -> str:
        """A stable hash of the schema content (same content → same version)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise AnnotationInvalid(
            f"Unknown field {name!r}; this schema has {[f.name for f in self.fields]}", field=name
        )

    @property
    def needs_item(self) -> bool:
        """Whether checking an annotation needs its item (see ``FieldSpec.needs_item``)."""
        return any(f.needs_item for f in self.fields)

    def validate_annotation(self, value: Any, item: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check an annotation (a mapping field name → value) and return it normalised."""
        if not isinstance(value, dict):
            raise AnnotationInvalid(
                "An annotation is an object mapping field names to values, "
                f"e.g. {{{self.fields[0].name!r}: ...}}"
            )
        out: dict[str, Any] = {}
        for name in value:
            self.field(name)  # raises on unknown names
        for f in self.fields:
            if f.name not in value or value[f.name] is None:
                if f.required:
                    raise AnnotationInvalid(
                        f"Field {f.name!r} is required; give it a value.", field=f.name
                    )
                continue
            out[f.name] = f.validate_value(value[f.name], item)
            _check_numbers(out[f.name], f.name)
        if self.empty_submissions == "refuse" and all(v in ("", []) for v in out.values()):
            raise EmptyAnnotation(  # no field, or only empty lists and texts
                "This annotation has no value in any field, and this project refuses empty "
                "answers. Fill in at least one field, or skip the item."
            )
        return out


_INT_LIMIT = 2**53  # integers JSON readers everywhere round-trip exactly


def _check_numbers(value: Any, field: str) -> None:
    """Refuse integers no JSON consumer can hold exactly (and the database cannot store)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not -_INT_LIMIT <= value <= _INT_LIMIT:
            raise AnnotationInvalid(f"Field {field!r}: the number {value} is too large.",
                                    field=field)
    elif isinstance(value, list):
        for v in value:
            _check_numbers(v, field)
    elif isinstance(value, dict):
        for v in value.values():
            _check_numbers(v, field)


def _load_yaml(text: str, filename: str) -> Any:
    """YAML (or JSON) without anchors and aliases: refused at the first one, before loading."""
    where = f" {filename}" if filename else ""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise SchemaError(
                    f"The schema{where} uses a YAML anchor or alias (&name / *name) on line "
                    f"{event.start_mark.line + 1}; label schemas may not use them. Write the "
                    "values out in full.",
                    line=event.start_mark.line + 1,
                )
        safe = loader(text)  # the C or Python *safe* loader: plain data only
        try:
            return safe.get_single_data()
        finally:
            safe.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" on line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise SchemaError(
            f"Cannot read the schema{where}: the YAML is malformed{at} ({what}). Fix it there "
            "(a missing bracket, quote or indent is the usual cause) and load it again.",
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise SchemaError(f"Cannot read the schema{where}: {exc}. Fix the YAML and load it "
                          "again.") from None


def _too_long(what: str, n: int, limit: int, field: Any = None) -> SchemaError:
    return SchemaError(
        f"{what} is {n:,} characters long; the limit is {limit:,}. Shorten it.",
        field=field,
        limit=limit,
    )


def check_schema_limits(title: Any, raw_fields: list[Any]) -> None:
    """Refuse a schema past the limits of :mod:`truelabel.domain.limits` (one linear pass
    over the raw mapping, before any field is validated)."""
    if isinstance(title, str) and len(title) > MAX_TITLE_CHARS:
        raise _too_long("The schema's title", len(title), MAX_TITLE_CHARS)
    if len(raw_fields) > MAX_FIELDS:
        raise SchemaError(
            f"The schema has {len(raw_fields):,} fields; the limit is {MAX_FIELDS}. "
            "Split the work into several projects.",
            limit=MAX_FIELDS,
        )
    n_options = 0
    text = len(title) if isinstance(title, str) else 0
    for i, raw in enumerate(raw_fields):
        if not isinstance(raw, dict):
            continue
        name = raw.get("name", i)
        shown = repr(name)[:80]
        for key, limit in (("title", MAX_TITLE_CHARS), ("help", MAX_HELP_CHARS),
                           ("source", MAX_TITLE_CHARS)):
            v = raw.get(key)
            if isinstance(v, str):
                if len(v) > limit:
                    raise _too_long(f"Field {shown}: {key!r}", len(v), limit, field=name)
                text += len(v)
        for key in ("options", "labels"):
            opts = raw.get(key)
            if not isinstance(opts, list):
                continue
            if len(opts) > MAX_OPTIONS:
                raise SchemaError(
                    f"Field {shown} has {len(opts):,} {key}; the limit is {MAX_OPTIONS:,}. "
                    "Use a text field, or split the list into several fields.",
                    field=name,
                    limit=MAX_OPTIONS,
                )
            n_options += len(opts)
            if n_options > MAX_TOTAL_OPTIONS:
                raise SchemaError(
                    f"The schema has more than {MAX_TOTAL_OPTIONS:,} options and labels in all "
                    f"(field {shown} passes it). Use fewer or shorter lists.",
                    field=name,
                    limit=MAX_TOTAL_OPTIONS,
                )
            for j, o in enumerate(opts):
                for part in (o,) if isinstance(o, str) else (
                    (o.get("value"), o.get("title")) if isinstance(o, dict) else ()
                ):
                    if isinstance(part, str):
                        if len(part) > MAX_OPTION_CHARS:
                            raise _too_long(f"Field {shown}: {key[:-1]} {j}", len(part),
                                            MAX_OPTION_CHARS, field=name)
                        text += len(part)
        if text > MAX_SCHEMA_BYTES:
            raise SchemaError(
                f"The schema holds more than {MAX_SCHEMA_BYTES >> 20} MiB of text (field "
                f"{shown} passes it); shorten its titles, help and options.",
                field=name,
                limit=MAX_SCHEMA_BYTES,
            )


def schema_json_schema() -> dict[str, Any]:
    """JSON Schema of the schema file format, one entry per registered field type."""
    variants = [cls.model_json_schema() for cls in field_types().values()]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "truelabel label schema",
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
            "fields": {"type": "array", "minItems": 1, "maxItems": MAX_FIELDS,
                       "items": {"anyOf": variants}},
            "empty_submissions": {
                "enum": list(EMPTY_POLICIES), "default": "confirm",
                "description": "a submit with no field filled in: the page asks first "
                "(confirm), the server refuses it (refuse) or it counts (allow)",
            },
        },
        "required": ["fields"],
        "additionalProperties": False,
    }


# -- Label Studio labeling configs -------------------------------------------------------

_LS_TAGS = {"Choices", "Labels", "TextArea", "Rating"}


def label_studio_to_dict(xml_text: str) -> dict[str, Any]:
    """Translate a Label Studio labeling config (XML) into a truelabel schema mapping.

    Supports ``<Choices>`` (single or multiple), ``<Labels>`` over a ``<Text>``, ``<TextArea>``
    and ``<Rating>``. Entities and DTDs are refused (defusedxml).
    """
    try:
        root = SafeET.fromstring(xml_text)
    except Exception as exc:  # defusedxml raises several types
        raise SchemaError(f"Cannot read the Label Studio config: {exc}") from None
    sources: dict[str, str] = {}
    for el in root.iter():
        if el.tag in {"Text", "HyperText", "Paragraphs"} and el.get("name"):
            sources[el.get("name", "")] = (el.get("value") or "").lstrip("$") or el.get("name", "")
    ignored = {
        "View",
        "Header",
        "Text",
        "Choice",
        "Label",
        "HyperText",
        "Style",
        "Paragraphs",
        "Filter",
    }
    unsupported = sorted(
        {el.tag for el in root.iter() if el.tag not in _LS_TAGS and el.tag not in ignored}
    )
    if unsupported:
        raise UnknownComponent(
            f"Label Studio tags {unsupported} have no truelabel field type yet. "
            f"Supported tags: {sorted(_LS_TAGS)}; known field types: {sorted(field_types())}.",
            tags=unsupported,
        )
    fields: list[dict[str, Any]] = []
    for el in root.iter():
        if el.tag not in _LS_TAGS:
            continue
        name = el.get("name") or f"field{len(fields) + 1}"
        required = el.get("required", "false").lower() == "true"
        if el.tag == "Choices":
            options = [
                {k: v for k, v in (("value", c.get("value")), ("hotkey", c.get("hotkey"))) if v}
                for c in el.findall("Choice")
            ]
            multiple = el.get("choice", "single") == "multiple"
            fields.append(
                {
                    "name": name,
                    "type": "multi_choice" if multiple else "choice",
                    "options": options,
                    "required": required,
                }
            )
        elif el.tag == "Labels":
            labels = [
                {k: v for k, v in (("value", c.get("value")), ("hotkey", c.get("hotkey"))) if v}
                for c in el.findall("Label")
            ]
            source = sources.get(el.get("toName", ""), el.get("toName", "text"))
            fields.append(
                {
                    "name": name,
                    "type": "spans",
                    "source": source,
                    "labels": labels,
                    "required": False,
                }
            )
        elif el.tag == "TextArea":
            fields.append({"name": name, "type": "text", "required": required})
        elif el.tag == "Rating":
            raw_scale = el.get("maxRating", "5")
            try:
                scale = int(raw_scale)
            except ValueError:
                raise SchemaError(
                    f"Rating {name!r}: maxRating={raw_scale[:40]!r} is not a whole number; "
                    "give the number of stars, from 2 to 10.",
                    field=name,
                ) from None
            fields.append({"name": name, "type": "rating", "scale": scale, "required": required})
    if not fields:
        raise SchemaError("The Label Studio config has no Choices, Labels, TextArea or Rating tag.")
    return {"title": "", "fields": fields}
