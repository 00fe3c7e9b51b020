"""Keyboard keys of a label schema: the labeling page's own keys, collisions refused when a
schema is loaded, and the key every option, span label and rating step gets.

The keys are computed here once, on the server, and shipped with the schema the pages read
(``LabelSchema.ui_dict``: a ``keys`` list beside each field's options, labels or steps), so
the page, the shortcuts panel and this check agree on one list. docs/field-kinds.md ("Keys")
states the rules:

- the page keeps :data:`PAGE_KEYS` (``s`` skip, ``?`` shortcuts, space ticks the focused
  box, a backtick switches span selection between words and characters) and the named keys
  of :data:`PAGE_NAMED_KEYS`; no hotkey may use them;
- a ``hotkey`` given in the schema belongs to one option or label of the whole schema;
- span labels take letters: digits pick choice options and rating steps;
- an option without a hotkey gets the next free key by position, ``1``–``9``, ``0``, then
  free letters (span labels: a free letter of the label's name first); a field with more
  such options than free keys gives each of them a sequence of two (or more) keys from the
  same list, typed one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, product
from typing import Literal, Protocol

from .errors import HotkeyCollision

#: Single characters the labeling page keeps for itself, and what they do there.
PAGE_KEYS: dict[str, str] = {
    "s": "skip the item",
    "?": "show or hide the shortcuts",
    " ": "tick the focused box or radio button",
    "`": "switch span selection between words and single characters",
}
#: Keys that are not characters, kept by the page (no hotkey can name them; for the docs).
PAGE_NAMED_KEYS: dict[str, str] = {
    "Enter": "submit",
    "Tab": "next or previous field",
    "Escape": "drop a selection",
    "Delete": "clear a value or remove a span",
    "Backspace": "clear a value or remove a span",
    "Arrow keys": "move inside the focused field",
    "Home / End": "first / last token of a text",
}
DIGITS = "1234567890"
LETTERS = "abcdefghijklmnopqrstuvwxyz"

KeyStyle = Literal["digits", "letters"]


class _Keyed(Protocol):
    value: str
    hotkey: str | None


def _shown(key: str) -> str:
    return "space" if key == " " else repr(key)


def check_hotkeys(owners: Iterable[tuple[str, str, KeyStyle]]) -> None:
    """Refuse clashing hotkeys. ``owners``: (``field.option`` name, hotkey, key style) for
    every option or label that names a hotkey in the schema.

    Raises :class:`HotkeyCollision` naming the key and every clashing name.
    """
    by_key: dict[str, list[str]] = {}
    for name, key, style in owners:
        k = key.lower()
        if k in PAGE_KEYS:
            raise HotkeyCollision(
                f"Hotkey {_shown(k)} of {name} is the labeling page's key to {PAGE_KEYS[k]}. "
                f"Give {name} another hotkey, or none (it then gets a free key); the page "
                f"keeps {', '.join(_shown(p) for p in PAGE_KEYS)}.",
                key=k, names=[name], field=name.split(".", 1)[0],
            )
        if style == "letters" and k in DIGITS:
            raise HotkeyCollision(
                f"Hotkey {_shown(k)} of span label {name}: digits pick choice options and "
                "rating steps. Give the label a letter, or no hotkey (it then gets a free "
                "letter).",
                key=k, names=[name], field=name.split(".", 1)[0],
            )
        by_key.setdefault(k, []).append(name)
    for k, names in by_key.items():
        if len(names) > 1:
            raise HotkeyCollision(
                f"Hotkey {_shown(k)} is given to {len(names)} options and labels: "
                f"{', '.join(names)}. Each needs its own key: change or remove the hotkey of "
                "all but one (an option without a hotkey gets a free key).",
                key=k, names=names, field=names[0].split(".", 1)[0],
            )


def assign_keys(options: Sequence[_Keyed], *, taken: set[str], style: KeyStyle) -> list[str]:
    """The key of each option: its hotkey, else a free key by position (see the module).

    ``taken``: every hotkey the schema names (lower case), kept out of the free keys. Every
    option gets a key; past the free single keys, unkeyed options get equal-length
    sequences, so no sequence starts with another option's key.
    """
    explicit = [o.hotkey.lower() if o.hotkey else None for o in options]
    base = DIGITS + LETTERS if style == "digits" else LETTERS
    pool = [c for c in base if c not in PAGE_KEYS and c not in taken]
    unkeyed = sum(1 for k in explicit if k is None)
    if not unkeyed:
        return [k for k in explicit if k is not None]
    length = 1
    while len(pool) ** length < unkeyed:
        length += 1
    free: Iterator[str] = ("".join(p) for p in product(pool, repeat=length))
    out: list[str] = []
    if length == 1 and style == "letters":  # a letter of the label's name when free
        left = list(pool)
        for o, k in zip(options, explicit, strict=True):
            if k is None:
                k = next((c for c in o.value.lower() if c in left), left[0])
                left.remove(k)
            out.append(k)
        return out
    codes = list(islice(free, unkeyed))
    it = iter(codes)
    return [k if k is not None else next(it) for k in explicit]


def step_keys(steps: int) -> list[str]:
    """Keys of a rating's steps 1..``steps``: ``1``–``9`` and ``0`` for the tenth."""
    return list(DIGITS[:steps])
