"""Watermark algorithms by C2PA soft-binding alg id.

A factory takes the 32-byte watermark key (plus algorithm-specific keyword arguments)
and returns a :class:`~watermark.base.WatermarkAlgorithm`. Factories may be given as
``"module:callable"`` strings so that registering an algorithm imports nothing heavy
(the latent watermark needs torch and the generator, only when it is used).
"""

from __future__ import annotations

import importlib
from typing import Callable, Union

from provenance.errors import UsageError

__all__ = ["register", "get_algorithm", "algorithms", "PIXEL_ALG_ID", "LATENT_ALG_ID"]

PIXEL_ALG_ID = "org.framemark.video.1"
LATENT_ALG_ID = "org.framemark.latent.1"

Factory = Union[Callable[..., object], str]
_REGISTRY: dict[str, Factory] = {
    PIXEL_ALG_ID: "watermark.pixel:PixelWatermark",
}


def register(alg_id: str, factory: Factory, *, replace: bool = False) -> None:
    """Add an algorithm. ``factory(key, **kwargs)`` must return an object with ``alg_id``,
    ``embed(clip, payload)`` and ``extract(clip)``."""
    if alg_id in _REGISTRY and not replace:
        raise UsageError(f"watermark algorithm {alg_id} is already registered")
    _REGISTRY[alg_id] = factory


def _resolve(factory: Factory) -> Callable[..., object]:
    if isinstance(factory, str):
        module, _, name = factory.partition(":")
        return getattr(importlib.import_module(module), name)
    return factory


def get_algorithm(alg_id: str, key: bytes, **kwargs):
    """An instance of the algorithm ``alg_id`` keyed with ``key``."""
    try:
        factory = _REGISTRY[alg_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(f"unknown watermark algorithm {alg_id!r} (known: {known})") from None
    return _resolve(factory)(key, **kwargs)


def algorithms() -> list[str]:
    """The registered alg ids."""
    return sorted(_REGISTRY)
