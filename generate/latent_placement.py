"""Where an upload sat in the generated frame: the geometric hypotheses latent detection tries.

Latent detection VAE-encodes the upload *at the generation size*. An upload of any other
size is normally scaled to it, which undoes a resize. A crop is different: it keeps the
generator's pixel scale and cuts the frame, so scaling it back stretches the latent and
its signs no longer line up with the noise (0 of 16 crops detected that way).

So an upload no larger than the generation size in either direction is also tried
*unscaled*, placed in a canvas of the generation size (edge-padded) at a few positions:
the centre, where aspect-ratio crops and most platform crops sit, and the four corners.
Only the latent cells the picture covers entirely are counted.

Every hypothesis is paid for with a Bonferroni factor (``searched`` in
:func:`generate.latent_watermark.decode_noise`). The positions depend on the upload's size
alone, never on its pixels or signs, so the p-value stays exact under no watermark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Placement", "RESIZE", "placements", "place_frames", "covered_cells", "MIN_AREA"]

#: an upload covering less of the generated frame than this is not tried as a crop (too
#: few latent cells left to carry evidence)
MIN_AREA = 0.2


@dataclass(frozen=True)
class Placement:
    """``y0, x0``: the upload's top-left corner in the generated frame; None: scale it."""

    y0: int | None = None
    x0: int | None = None

    @property
    def resize(self) -> bool:
        return self.y0 is None

    @property
    def label(self) -> str:
        return "resized to the generation size" if self.resize else f"unscaled at y={self.y0}, x={self.x0}"


RESIZE = Placement()


def placements(upload_hw: tuple[int, int], size_hw: tuple[int, int]) -> list[Placement]:
    """The hypotheses for an upload of ``upload_hw`` from a model generating ``size_hw``:
    always the resize, plus centre and corner placements when it may be a crop."""
    h, w = upload_hw
    H, W = size_hw
    if h > H or w > W or (h, w) == (H, W) or h * w < MIN_AREA * H * W:
        return [RESIZE]
    out = [RESIZE, Placement((H - h) // 2, (W - w) // 2)]
    for y0 in (0, H - h):
        for x0 in (0, W - w):
            p = Placement(y0, x0)
            if p not in out:
                out.append(p)
    return out


def place_frames(frames: np.ndarray, p: Placement, size_hw: tuple[int, int]) -> np.ndarray:
    """uint8 [T, h, w, 3] -> [T, H, W, 3] with the upload at ``p``, the rest edge-padded (a
    flat fill would put a hard edge into the VAE's receptive field)."""
    H, W = size_hw
    t, h, w, _ = frames.shape
    return np.pad(frames, ((0, 0), (p.y0, H - h - p.y0), (p.x0, W - w - p.x0), (0, 0)), mode="edge")


def covered_cells(p: Placement, upload_hw: tuple[int, int], size_hw: tuple[int, int], factor: int) -> np.ndarray:
    """bool [H / factor, W / factor]: latent cells the placed upload covers entirely."""
    H, W = size_hw
    h, w = upload_hw
    keep = np.zeros((H // factor, W // factor), dtype=bool)
    y_lo, y_hi = -(-p.y0 // factor), (p.y0 + h) // factor
    x_lo, x_hi = -(-p.x0 // factor), (p.x0 + w) // factor
    keep[y_lo:y_hi, x_lo:x_hi] = True
    return keep
