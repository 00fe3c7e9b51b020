"""The plug-in registry: every kind of component truelabel looks up by name.

One :class:`Slot` per kind of component (field kinds, readers, writers, agreement measures,
aggregators, and the slots later features fill). An entry is a name bound to an object or to
a lazy ``"module:attr"`` reference, resolved on first use. Built-ins are registered the same
way as third-party plug-ins; third parties add theirs through entry points, one group per
slot (``truelabel.field_kinds``, ``truelabel.writers`` …), read on first need::

    [project.entry-points."truelabel.field_kinds"]
    "acme.color.v1" = "acme_color:ColorField"

Nothing happens at import time: the entry points are read the first time a name is not
found among the registered ones, or a slot is listed. Names are versioned
(``truelabel.choice.v1``); a slot may also know short aliases (``choice``). An unknown name
raises :class:`~truelabel.domain.errors.UnknownComponent` listing the known ones.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownComponent

#: Entry-point group of a slot: ``truelabel.<slot name>``.
GROUP_PREFIX = "truelabel."


def resolve(ref: str) -> Any:
    """The object a ``"package.module:attr"`` reference names (imported now)."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass
class Slot:
    """Named components of one kind, resolved lazily.

    ``aliases_of`` tells the short names an entry also answers to (field kinds: the
    ``type`` a schema writes); ``check`` refuses an object that is not of the slot's kind.
    """

    name: str
    what: str
    aliases_of: Callable[[Any], Iterable[str]] | None = None
    check: Callable[[str, Any], None] | None = None
    _refs: dict[str, Any] = field(default_factory=dict)
    _objs: dict[str, Any] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _origin: dict[str, str] = field(default_factory=dict)
    _scanned: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def group(self) -> str:
        return GROUP_PREFIX + self.name

    def register(
        self, name: str, obj: Any, *, aliases: Iterable[str] = (), origin: str = "truelabel"
    ) -> None:
        """Bind ``name`` to ``obj`` (an object, or a ``"module:attr"`` string, loaded on use).

        Registering a name again replaces it (a plug-in may override a built-in on purpose).
        """
        with self._lock:
            self._objs.pop(name, None)
            self._refs[name] = obj
            self._origin[name] = origin
            for a in aliases:
                self._alias(a, name)
            if not isinstance(obj, str):
                self._loaded(name, obj)

    def _alias(self, alias: str, name: str) -> None:
        taken = self._aliases.get(alias)
        if alias in self._refs and alias != name or taken not in (None, name):
            raise ValueError(
                f"{self.what} {name!r} wants the short name {alias!r}, which "
                f"{taken or alias!r} has; use the versioned name or choose another alias"
            )
        self._aliases[alias] = name

    def _loaded(self, name: str, obj: Any) -> Any:
        if self.check is not None:
            self.check(name, obj)
        self._objs[name] = obj
        if self.aliases_of is not None:
            for a in self.aliases_of(obj):
                if a != name:
                    self._alias(a, name)
        return obj

    def _load(self, name: str) -> Any:
        obj = self._objs.get(name)
        if obj is not None:
            return obj
        with self._lock:
            ref = self._refs[name]
            return self._loaded(name, resolve(ref) if isinstance(ref, str) else ref)

    def scan(self) -> None:
        """Read this slot's entry points (once). A broken plug-in fails here, named."""
        if self._scanned:
            return
        from importlib.metadata import entry_points

        with self._lock:
            if self._scanned:
                return
            self._scanned = True
            for ep in entry_points(group=self.group):
                if ep.name not in self._refs:
                    dist = ep.dist.name if ep.dist is not None else "?"
                    self.register(ep.name, ep.value, origin=dist)
            if self.aliases_of is not None:  # aliases are known once the entries are loaded
                for n in list(self._refs):
                    self._load(n)

    def refresh(self) -> None:
        """Read the entry points again (a distribution was installed or put on the path)."""
        with self._lock:
            self._scanned = False
        self.scan()

    def forget(self, *, origin: str) -> None:
        """Drop every entry ``origin`` (a distribution name) registered."""
        with self._lock:
            gone = {n for n, o in self._origin.items() if o == origin}
            for n in gone:
                self._refs.pop(n, None)
                self._objs.pop(n, None)
                self._origin.pop(n, None)
            for a in [a for a, n in self._aliases.items() if n in gone]:
                del self._aliases[a]
            self._scanned = False

    def canonical(self, name: str) -> str:
        """The registered (versioned) name ``name`` stands for."""
        if name in self._refs:
            return name
        if name in self._aliases:
            return self._aliases[name]
        self.scan()
        if name in self._refs:
            return name
        if name in self._aliases:
            return self._aliases[name]
        known = self.names()
        shown = sorted({*known, *self._aliases})
        raise UnknownComponent(
            f"Unknown {self.what} {name!r}. Known {self.what}s: {', '.join(shown) or 'none'}.",
            known=shown,
        )

    def get(self, name: str) -> Any:
        """The component called ``name`` (or one of its aliases), loaded."""
        obj = self._objs.get(name)
        if obj is not None:
            return obj
        alias = self._aliases.get(name)
        if alias is not None and alias in self._objs:
            return self._objs[alias]
        return self._load(self.canonical(name))

    def names(self) -> list[str]:
        """Every registered name (entry points included), sorted."""
        self.scan()
        return sorted(self._refs)

    def aliases(self) -> dict[str, str]:
        """Short name -> registered name, for every entry loaded so far (after a scan: all)."""
        self.scan()
        return dict(self._aliases)

    def all(self) -> dict[str, Any]:
        """Every component of this slot, loaded, by registered name."""
        return {n: self._load(n) for n in self.names()}

    def origin(self, name: str) -> str:
        """Which distribution registered ``name`` (``truelabel`` for built-ins)."""
        return self._origin[self.canonical(name)]


def _check_field_kind(name: str, obj: Any) -> None:
    from .fields import FieldSpec

    if not (isinstance(obj, type) and issubclass(obj, FieldSpec)):
        raise TypeError(f"field kind {name!r} is {obj!r}, not a FieldSpec subclass")
    if not obj.type_name:
        raise TypeError(f"field kind {name!r} ({obj.__name__}) needs a type_name")


def _field_aliases(obj: Any) -> Iterable[str]:
    return (obj.type_name,)


class Registry:
    """Every slot, by name. :data:`registry` is the process's one instance."""

    def __init__(self) -> None:
        self.field_kinds = Slot("field_kinds", "field type", aliases_of=_field_aliases,
                                check=_check_field_kind)
        self.readers = Slot("readers", "import format")
        self.writers = Slot("writers", "export format")
        self.agreement_measures = Slot("agreement_measures", "agreement measure")
        self.aggregators = Slot("aggregators", "aggregator")
        self.truth_methods = Slot("truth_methods", "truth-inference method")
        self.static = Slot("static", "plug-in asset folder")
        # filled by later features
        self.prep_steps = Slot("prep_steps", "preparation step")
        self.model_backends = Slot("model_backends", "model backend")
        self.sampling_strategies = Slot("sampling_strategies", "sampling strategy")
        self.export_formats = Slot("export_formats", "dataset export format")
        for slot, entries in _BUILTINS.items():
            s = self.slot(slot)
            for name, (ref, aliases) in entries.items():
                s.register(name, ref, aliases=aliases)

    def slot(self, name: str) -> Slot:
        s = getattr(self, name, None)
        if not isinstance(s, Slot):
            raise UnknownComponent(
                f"Unknown plug-in slot {name!r}. Known slots: {', '.join(self.slots())}.",
                known=self.slots(),
            )
        return s

    def slots(self) -> list[str]:
        return sorted(k for k, v in vars(self).items() if isinstance(v, Slot))

    def refresh(self) -> None:
        """Read every slot's entry points again."""
        for name in self.slots():
            self.slot(name).refresh()

    def forget(self, *, origin: str) -> None:
        """Drop what distribution ``origin`` registered, in every slot."""
        for name in self.slots():
            self.slot(name).forget(origin=origin)


# The built-ins, as lazy references: registering them imports nothing.
_BUILTINS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "field_kinds": {
        "truelabel.choice.v1": ("truelabel.domain.fields:ChoiceField", ("choice",)),
        "truelabel.multi_choice.v1": ("truelabel.domain.fields:MultiChoiceField",
                                      ("multi_choice",)),
        "truelabel.spans.v1": ("truelabel.domain.fields:SpansField", ("spans",)),
        "truelabel.text.v1": ("truelabel.domain.fields:TextField", ("text",)),
        "truelabel.rating.v1": ("truelabel.domain.fields:RatingField", ("rating",)),
    },
    "readers": {
        "truelabel.jsonl.v1": ("truelabel.formats.readers:read_jsonl", ("jsonl",)),
        "truelabel.csv.v1": ("truelabel.formats.readers:read_csv", ("csv",)),
        "truelabel.parquet.v1": ("truelabel.formats.readers:read_parquet", ("parquet",)),
        "truelabel.text.v1": ("truelabel.formats.readers:read_text", ("text",)),
    },
    "writers": {
        "truelabel.jsonl.v1": ("truelabel.formats.writers:JsonlWriter", ("jsonl",)),
        "truelabel.parquet.v1": ("truelabel.formats.writers:ParquetWriter", ("parquet",)),
        "truelabel.answers.v1": ("truelabel.formats.writers:AnswersWriter", ("answers",)),
    },
    "agreement_measures": {
        "truelabel.krippendorff.v1": ("truelabel.core.report:categorical_agreement", ()),
        "truelabel.span_f1.v1": ("truelabel.core.report:span_agreement", ()),
    },
    "aggregators": {
        "truelabel.vote.v1": ("truelabel.core.truth:aggregate_categorical", ()),
        "truelabel.span_vote.v1": ("truelabel.core.truth:aggregate_spans", ()),
    },
    "truth_methods": {  # quality.methods.TruthMethod: one label per item from several answers
        "truelabel.majority.v1": ("truelabel.quality.methods:MAJORITY", ("majority",)),
        "truelabel.weighted.v1": ("truelabel.quality.methods:WEIGHTED", ("weighted",)),
        "truelabel.dawid_skene.v2": ("truelabel.quality.methods:DAWID_SKENE", ("dawid_skene",)),
        "truelabel.gold_dawid_skene.v2": ("truelabel.quality.methods:GOLD_DAWID_SKENE",
                                          ("gold_dawid_skene",)),
        "truelabel.one_coin.v1": ("truelabel.quality.methods:ONE_COIN", ("one_coin",)),
        "truelabel.bayesian_dawid_skene.v1": ("truelabel.quality.methods:BAYESIAN_DAWID_SKENE",
                                              ("bayesian_dawid_skene",)),
        "truelabel.auto.v1": ("truelabel.quality.auto:AUTO", ("auto",)),
        "truelabel.glad.v1": ("truelabel.quality.glad:GLAD", ("glad",)),
        "truelabel.mace.v1": ("truelabel.quality.mace:MACE", ("mace",)),
    },
    "sampling_strategies": {  # claim orders: core.claim_order.ClaimOrder
        "truelabel.id_order.v1": ("truelabel.core.claim_order:ItemIdOrder", ("id",)),
        "truelabel.random_order.v1": ("truelabel.core.claim_order:RandomOrder", ("random",)),
    },
}

registry = Registry()
