"""Attacks on video: small uniform objects with readable names (``h264-crf30``,
``crop-0.71-offcentre``), a ``group`` and ``__call__(clip) -> clip``, in a registry.

Families: :mod:`.codecs`, :mod:`.geometry`, :mod:`.photometric`, :mod:`.temporal`,
:mod:`.screen`, :mod:`.camcord`, :mod:`.combined`. Importing this package loads
nothing but the base class; the registry imports the families on first lookup
(numpy, PIL and scipy only; PyAV when a codec attack runs).
"""

from .base import GROUPS, Attack

__all__ = ["Attack", "GROUPS", "get", "by_group", "resolve", "names", "groups", "all_attacks", "register"]


def __getattr__(name):
    if name in ("get", "by_group", "resolve", "names", "groups", "all_attacks", "register"):
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
