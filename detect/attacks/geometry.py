"""Geometric attacks: crop, resize, rotate, flip, and the generic warp that the
screen and camcording attacks reuse.

Warps are vectorised: the sampling grid is computed once per clip and applied to
all frames with a bilinear gather (numpy fancy indexing), chunked over time to
bound memory. Resizing goes through PIL (area-correct antialiasing) frame by frame.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, chunks, fmt, to_uint8

__all__ = ["Crop", "Resize", "Rotate", "HFlip", "resize_frames", "warp_frames", "GEOMETRY_ATTACKS"]


def resize_frames(frames: np.ndarray, width: int, height: int, resample: str = "bicubic") -> np.ndarray:
    """Resize uint8 [T, H, W, 3] frames to ``width`` x ``height`` with PIL."""
    from PIL import Image

    width, height = max(1, int(width)), max(1, int(height))
    if frames.shape[2] == width and frames.shape[1] == height:
        return frames
    method = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "area": Image.BOX,
              "lanczos": Image.LANCZOS, "nearest": Image.NEAREST}[resample]
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for t, f in enumerate(frames):
        out[t] = np.asarray(Image.fromarray(f).resize((width, height), method))
    return out


def warp_frames(frames: np.ndarray, map_y: np.ndarray, map_x: np.ndarray, fill: float = 0.0,
                chunk: int = 16) -> np.ndarray:
    """Bilinear resampling: ``out[t, i, j] = frames[t, map_y[i, j], map_x[i, j]]``.

    Samples outside the frame get ``fill``. One grid for the whole clip (a static
    camera, a fixed rotation), gathered for ``chunk`` frames at a time.
    """
    T, H, W, _ = frames.shape
    y0 = np.floor(map_y).astype(np.int64)
    x0 = np.floor(map_x).astype(np.int64)
    wy = (map_y - y0).astype(np.float32)[..., None]
    wx = (map_x - x0).astype(np.float32)[..., None]
    inside = ((map_y >= -0.5) & (map_y <= H - 0.5) & (map_x >= -0.5) & (map_x <= W - 0.5))[..., None]
    y0c, y1c = np.clip(y0, 0, H - 1), np.clip(y0 + 1, 0, H - 1)
    x0c, x1c = np.clip(x0, 0, W - 1), np.clip(x0 + 1, 0, W - 1)
    i00, i01 = y0c * W + x0c, y0c * W + x1c
    i10, i11 = y1c * W + x0c, y1c * W + x1c
    w00, w01 = (1 - wy) * (1 - wx), (1 - wy) * wx
    w10, w11 = wy * (1 - wx), wy * wx
    out = np.empty((T,) + map_y.shape + (3,), dtype=np.uint8)
    for s in chunks(T, chunk):
        flat = frames[s].reshape(s.stop - s.start, H * W, 3).astype(np.float32)
        acc = (flat[:, i00] * w00 + flat[:, i01] * w01 + flat[:, i10] * w10 + flat[:, i11] * w11)
        out[s] = to_uint8(np.where(inside, acc, fill))
    return out


class Crop(Attack):
    """Keep ``keep`` of each side (area ``keep**2``), centred or off-centre
    (towards the bottom-right third, so the crop origin is not the tile grid's)."""

    group = "geometry"

    def __init__(self, keep: float, position: str = "centre") -> None:
        if not 0 < keep <= 1:
            raise ValueError("keep must be in (0, 1]")
        if position not in ("centre", "offcentre"):
            raise ValueError("position is 'centre' or 'offcentre'")
        super().__init__(f"crop-{fmt(keep)}" + ("-offcentre" if position == "offcentre" else ""),
                         keep=keep, position=position)
        self.keep, self.position = keep, position

    def apply(self, clip):
        H, W = clip.height, clip.width
        ch, cw = max(1, int(round(H * self.keep))), max(1, int(round(W * self.keep)))
        if self.position == "centre":
            y0, x0 = (H - ch) // 2, (W - cw) // 2
        else:
            y0, x0 = (H - ch) * 5 // 6, (W - cw) // 5
        return clip.with_frames(np.ascontiguousarray(clip.frames[:, y0:y0 + ch, x0:x0 + cw]))


class Resize(Attack):
    """Scale both sides by ``scale`` (bicubic; sizes rounded to even numbers)."""

    group = "geometry"

    def __init__(self, scale: float) -> None:
        super().__init__(f"resize-{fmt(scale)}", scale=scale)
        self.scale = scale

    def apply(self, clip):
        w = max(2, int(round(clip.width * self.scale / 2)) * 2)
        h = max(2, int(round(clip.height * self.scale / 2)) * 2)
        resample = "area" if self.scale < 1 else "bicubic"
        return clip.with_frames(resize_frames(clip.frames, w, h, resample))


class Rotate(Attack):
    """Rotate by ``degrees`` about the centre, same frame size, black corners."""

    group = "geometry"

    def __init__(self, degrees: float) -> None:
        super().__init__(f"rotate-{fmt(degrees)}", degrees=degrees)
        self.degrees = degrees

    def apply(self, clip):
        H, W = clip.height, clip.width
        a = np.deg2rad(self.degrees)
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        cy, cx = (H - 1) / 2, (W - 1) / 2
        # inverse map: where each output pixel comes from (counter-clockwise rotation of the image)
        sx = np.cos(a) * (xx - cx) - np.sin(a) * (yy - cy) + cx
        sy = np.sin(a) * (xx - cx) + np.cos(a) * (yy - cy) + cy
        return clip.with_frames(warp_frames(clip.frames, sy, sx))


class HFlip(Attack):
    group = "geometry"

    def __init__(self) -> None:
        super().__init__("hflip")

    def apply(self, clip):
        return clip.with_frames(np.ascontiguousarray(clip.frames[:, :, ::-1]))


def GEOMETRY_ATTACKS() -> list[Attack]:
    return [
        Crop(0.71), Crop(0.71, "offcentre"), Crop(0.55), Crop(0.55, "offcentre"),
        Resize(0.5), Resize(0.71), Resize(1.5),
        Rotate(5), Rotate(10),
        HFlip(),
    ]
