"""The public plug-in registry (see :mod:`truelabel.domain.plugins` and docs/field-kinds.md).

``registry.field_kinds``, ``registry.readers``, ``registry.writers``,
``registry.agreement_measures``, ``registry.aggregators``, ``registry.static`` and the slots
later features fill (``prep_steps``, ``model_backends``, ``sampling_strategies``,
``export_formats``). Third parties register through entry points in the group
``truelabel.<slot>``; :meth:`Slot.register` does the same from code.
"""

from __future__ import annotations

from truelabel.domain.plugins import GROUP_PREFIX, Registry, Slot, registry, resolve

__all__ = ["GROUP_PREFIX", "Registry", "Slot", "registry", "resolve"]
