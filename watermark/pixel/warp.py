"""Alignment beyond a similarity: the perspective and lens distortion of a camcorded clip.

A phone filming a screen sees the frame through a homography (the screen plane at an
angle) and through its lens's barrel distortion. The similarity search (scale, angle,
offset) then locks onto a part of the frame only: with the geometry taken away, the same
camcorded clips are detected at log10 p -26 to -47; with it, at -0.1 to -11.

:func:`refine_warp` climbs from the similarity alignment in seven more parameters: an
affine correction (4), the projective terms (2) and a radial term (1), each in units of
the frame's half-diagonal so that one step moves the frame's corner by the same number
of pixels. Each point is scored as the similarity search scores one (fold, FFT
correlation with the search chips, set A); the test chips never enter, so the p-value at
the chosen alignment stays exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .threads import thread_map

__all__ = ["Warp", "warp_coords", "refine_warp"]

N_PARAMS = 7  # a, b, c, d (affine), g, h (projective), k1 (radial)
#: corner displacements, in pixels, of the climb's steps (coarse to fine)
STEPS_PX = (8.0, 4.0, 2.0, 1.0)
MAX_SWEEPS = 6  # per step size: bounds the cost on an unmarked frame
#: the starting grid: barrel distortion and projective tilt (corner moves of 0-6 % and
#: 0-8 % of the half-diagonal: a phone's lens, a screen filmed up to ~10 degrees off axis)
GRID_K1 = (-0.06, -0.03, 0.0)
GRID_TILT = (-0.04, 0.0, 0.04)


@dataclass(frozen=True)
class Warp:
    """Observed pixel (x, y), relative to the frame centre, to the similarity frame:
    radial ``(x, y) (1 + k1 r^2)`` with r in half-diagonals, then
    ``((1 + a) x + b y, c x + (1 + d) y) / (1 + g x + h y)`` (in half-diagonals)."""

    params: tuple[float, ...]
    radius: float  # the half-diagonal, in pixels, that the parameters are measured in


def warp_coords(ys: np.ndarray, xs: np.ndarray, warp: Warp) -> tuple[np.ndarray, np.ndarray]:
    """Full (Y, X) float32 arrays in the similarity frame for centred pixel coordinates."""
    a, b, c, d, g, h, k1 = (np.float32(p) for p in warp.params)
    r = np.float32(warp.radius)
    y = (ys / r)[:, None]
    x = (xs / r)[None, :]
    f = np.float32(1) + k1 * (x * x + y * y)
    x1, y1 = x * f, y * f
    den = r / (np.float32(1) + g * x1 + h * y1)
    return (c * x1 + (1 + d) * y1) * den, ((1 + a) * x1 + b * y1) * den


def refine_warp(grid, coarse_grid, corr, start):
    """The best alignment reachable from the similarity alignment ``start`` by the warp,
    scored on ``coarse_grid`` (a 2 x 2 block-averaged copy, for speed) and returned at
    full resolution on ``grid``, with its ``warp`` set (only ``start``'s scale and angle
    are used). It may score below the similarity alignment: the caller keeps the higher."""
    from .detect import _mirror, fold_warped

    radius = 0.5 * grid.extent * math.sqrt(2.0)

    def score(params: tuple[float, ...], g=coarse_grid):
        Y, X = warp_coords(g.ys, g.xs, Warp(params, radius))
        tile = fold_warped(g.values, Y, X, start.scale, start.angle)
        # both mirror images: a weak start's own flip is a coin toss
        return max((corr(_mirror(tile) if flip else tile) + (flip,) for flip in (False, True)),
                   key=lambda r: r[0]) + (tile,)

    # the climb alone stalls when the similarity lock is a small part of the frame (the
    # score is flat around it): a coarse grid over the lens and the screen's tilt first
    none = (0.0,) * N_PARAMS
    grid_points = [none] + [p for p in ((0.0, 0.0, 0.0, 0.0, gx, gy, k1) for k1 in GRID_K1
                                        for gx in GRID_TILT for gy in GRID_TILT) if p != none]
    scores = thread_map(lambda m: score(m)[0], grid_points)
    i = int(np.argmax(scores))  # the first of equals: no warp when nothing beats it
    best, best_score = grid_points[i], scores[i]
    for step_px in STEPS_PX:
        delta = step_px / radius
        for _ in range(MAX_SWEEPS):
            moves = [tuple(p + sign * delta * (i == j) for j, p in enumerate(best))
                     for i in range(N_PARAMS) for sign in (1.0, -1.0)]
            scores = thread_map(lambda m: score(m)[0], moves)
            i = int(np.argmax(scores))
            if scores[i] <= best_score:
                break
            best, best_score = moves[i], scores[i]
    sc, shift, flip, tile = score(best, grid)
    return replace(start, flip=flip, shift=shift, score=sc, tile=tile, warp=Warp(best, radius))
