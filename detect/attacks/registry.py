"""The attack registry: every attack by name, grouped by family.

``get("h264-crf30")`` returns one attack; ``by_group("codec")`` a family;
``resolve(["codec", "crop-0.71"])`` turns a command line's mix of names and group
names into a de-duplicated list in registry order. Chains that are not
pre-registered can be asked for by joining names with ``+``
(``resolve(["h264-crf30+hflip"])``).
"""

from __future__ import annotations

from typing import Iterable

from .base import GROUPS, Attack, Identity

__all__ = ["all_attacks", "names", "groups", "get", "by_group", "resolve", "register", "GROUPS"]

_ATTACKS: dict[str, Attack] | None = None


def _load() -> dict[str, Attack]:
    global _ATTACKS
    if _ATTACKS is None:
        from .camcord import CAMCORD_ATTACKS
        from .codecs import CODEC_ATTACKS
        from .combined import COMBINED_ATTACKS
        from .geometry import GEOMETRY_ATTACKS
        from .photometric import PHOTOMETRIC_ATTACKS
        from .removal import REMOVAL_ATTACKS
        from .screen import SCREEN_ATTACKS
        from .temporal import TEMPORAL_ATTACKS

        table: dict[str, Attack] = {}
        for family in ([Identity()], CODEC_ATTACKS(), GEOMETRY_ATTACKS(), PHOTOMETRIC_ATTACKS(),
                       TEMPORAL_ATTACKS(), SCREEN_ATTACKS(), CAMCORD_ATTACKS(), REMOVAL_ATTACKS(), COMBINED_ATTACKS()):
            for a in family:
                assert a.name not in table, a.name
                table[a.name] = a
        _ATTACKS = table
    return _ATTACKS


def register(attack: Attack, *, replace: bool = False) -> None:
    """Add an attack (e.g. a new strength) under its name."""
    from provenance.errors import UsageError

    table = _load()
    if attack.name in table and not replace:
        raise UsageError(f"attack {attack.name} is already registered")
    table[attack.name] = attack


def all_attacks() -> list[Attack]:
    return list(_load().values())


def names() -> list[str]:
    return list(_load())


def groups() -> list[str]:
    present = {a.group for a in _load().values()}
    return [g for g in GROUPS if g in present]


def _unknown(name: str):
    from provenance.errors import UsageError

    import difflib

    close = difflib.get_close_matches(name, names() + groups(), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return UsageError(f"unknown attack or attack group {name!r}{hint}; groups: {', '.join(groups())}")


def get(name: str) -> Attack:
    """The attack called ``name``; ``a+b+c`` builds a chain of registered attacks."""
    table = _load()
    if name in table:
        return table[name]
    if "+" in name:
        from .combined import Chain

        return Chain(*(get(part) for part in name.split("+")))
    raise _unknown(name)


def by_group(group: str) -> list[Attack]:
    if group not in groups():
        raise _unknown(group)
    return [a for a in _load().values() if a.group == group]


def resolve(selectors: Iterable[str] | None) -> list[Attack]:
    """Names and group names -> attacks (``None`` or empty: all of them; ``all`` too).
    ``none`` (the baseline) is always first."""
    sel = list(selectors or [])
    if not sel or "all" in sel:
        return all_attacks()
    chosen: dict[str, Attack] = {"none": _load()["none"]}
    for s in sel:
        s = s.strip()
        if s in groups() and s not in _load():
            for a in by_group(s):
                chosen.setdefault(a.name, a)
        else:
            a = get(s)
            chosen.setdefault(a.name, a)
    return list(chosen.values())
