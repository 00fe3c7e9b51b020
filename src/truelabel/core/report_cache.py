"""A small cache of derived results (the quality report), each kept with the change token it
was computed at and used while the token is unchanged: the dashboard's charts and tables read
one computation instead of one each."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class ResultCache:
    """At most ``size`` results, least recently used out first; thread-safe. Two threads
    asking for the same missing key compute it once."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = self.misses = 0

    def get(self, key: Hashable, token: Hashable, compute: Callable[[], Any]) -> Any:
        """The value cached for ``key`` at ``token``, else ``compute()`` (then cached)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] == token:
                self._items.move_to_end(key)
                self.hits += 1
                return found[1]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._items.get(key)
                if found is not None and found[0] == token:
                    self.hits += 1
                    return found[1]
                self.misses += 1
            value = compute()
            with self._lock:
                self._items[key] = (token, value)
                self._items.move_to_end(key)
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
                self._computing.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
