"""The attack interface: a small object with a readable ``name``, its strength
parameters, a ``group`` and ``__call__(clip) -> clip``.

Attacks take and return :class:`provenance.media.Clip` (``uint8 [T, H, W, 3]`` RGB).
They keep the frame rate unless changing it is the point of the attack (frame-rate
change, screen recording), and they are deterministic: any randomness is drawn
from a seed that is one of the attack's parameters, so a robustness run can be
reproduced case by case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from provenance.media import Clip

__all__ = ["Attack", "GROUPS", "fmt"]

#: the attack families, in report order
GROUPS = ("none", "codec", "geometry", "photometric", "temporal", "screen", "camcord", "removal", "combined")


def fmt(x: float) -> str:
    """Strength as it appears in a name: ``0.71``, ``30``, ``1.5`` (no trailing zeros)."""
    return f"{x:g}"


class Attack:
    """Base class. Subclasses set ``group``, build ``name`` and ``params`` in
    ``__init__`` and implement :meth:`apply`."""

    group: str = "none"
    #: True when the attack changes the frame rate on purpose
    changes_fps: bool = False

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name
        self.params = dict(params)

    def apply(self, clip: "Clip") -> "Clip":  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, clip: "Clip") -> "Clip":
        from provenance.errors import UsageError

        if clip.num_frames == 0:
            raise UsageError(f"attack {self.name}: the clip has no frames")
        out = self.apply(clip)
        f = out.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3 or f.shape[0] == 0:
            raise AssertionError(f"attack {self.name} produced {f.dtype} {f.shape}")  # a bug, not user error
        out.meta = dict(clip.meta)
        out.meta.setdefault("attacks", [])
        out.meta["attacks"] = list(clip.meta.get("attacks", [])) + [self.name]
        return out

    def describe(self) -> dict:
        return {"name": self.name, "group": self.group, "params": dict(self.params)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Identity(Attack):
    """No attack: the baseline row of every report."""

    group = "none"

    def __init__(self) -> None:
        super().__init__("none")

    def apply(self, clip: "Clip") -> "Clip":
        return clip.with_frames(clip.frames)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip a float array into uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def luma(frames: np.ndarray) -> np.ndarray:
    """BT.601 luma of uint8 RGB frames, float32, same leading shape."""
    f = frames.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def chunks(n: int, size: int):
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))
