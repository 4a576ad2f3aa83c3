"""Per-process caches of rows that never change, forgotten whenever a `Database` is opened.

A cache here must only hold what cannot change while the database exists (an account's id,
a parsed rule version). Opening a `Database` clears them all, so a process that is pointed at
another database (tests do this for every test) never sees another database's rows.
"""

from __future__ import annotations

from collections.abc import Callable

_CLEARERS: list[Callable[[], None]] = []


def register(clear: Callable[[], None]) -> None:
    _CLEARERS.append(clear)


def forget_all() -> None:
    for clear in _CLEARERS:
        clear()
