"""Chains of attacks, applied left to right; the name joins the parts with ``+``
(e.g. ``h264-crf40+crop-0.71+brightness-0.5``)."""

from __future__ import annotations

from .base import Attack

__all__ = ["Chain", "COMBINED_ATTACKS"]


class Chain(Attack):
    group = "combined"

    def __init__(self, *parts: Attack) -> None:
        if not parts:
            raise ValueError("a chain needs at least one attack")
        super().__init__("+".join(p.name for p in parts), parts=[p.name for p in parts])
        self.parts = parts
        self.changes_fps = any(p.changes_fps for p in parts)

    def apply(self, clip):
        for p in self.parts:
            clip = p(clip)
        return clip


def COMBINED_ATTACKS() -> list[Attack]:
    from .codecs import Codec
    from .geometry import Crop, Resize
    from .photometric import Brightness
    from .temporal import FrameRate

    return [
        Chain(Codec("libx264", 40), Crop(0.71), Brightness(0.5)),
        Chain(Crop(0.71, "offcentre"), Resize(0.5), Codec("libx264", 30)),
        Chain(FrameRate(30, 24), Brightness(1.5), Codec("libx265", 30)),
    ]
