"""Screen recording: the clip played in a player window on a desktop, captured by
a screen recorder.

What happens, in order: the player scales the clip into its video area (aspect
kept, black letterbox/pillarbox bars); the window (title bar, control bar with a
timeline) sits on a desktop (wallpaper, taskbar, a mouse pointer) of 1280x720 or
1920x1080; the capture path maps full-range RGB to limited range and back the
wrong way round, which leaves the picture washed out (levels 16..235) with a
display-gamma change; the recorder samples at its own frame rate; and it encodes
with x264 at screen-recorder settings (OBS "High Quality": veryfast, CRF 23,
zerolatency). The output is the desktop-size recording.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, fmt
from .codecs import encode_decode
from .geometry import resize_frames
from .temporal import resample_fps

__all__ = ["ScreenRecord", "SCREEN_ATTACKS", "desktop_layout"]


def desktop_layout(desk_w: int, desk_h: int, clip_w: int, clip_h: int, window_frac: float = 0.72):
    """Desktop background (uint8 [H, W, 3]) with the player window drawn on it, and
    the video rectangle (x, y, w, h) the scaled clip goes into."""
    yy, xx = np.mgrid[0:desk_h, 0:desk_w].astype(np.float32)
    bg = np.stack([40 + 60 * yy / desk_h, 70 + 50 * xx / desk_w, 120 + 60 * (1 - yy / desk_h)], -1)
    desk = bg.astype(np.uint8)
    s = desk_h / 720
    task = int(40 * s)
    desk[-task:] = (28, 30, 36)
    for i in range(6):  # taskbar icons
        x = int((12 + i * 48) * s)
        desk[-task + int(8 * s):-int(8 * s), x:x + int(24 * s)] = (90 + 20 * i, 140, 200 - 15 * i)
    title, controls = int(30 * s), int(48 * s)
    win_w = int(desk_w * window_frac)
    area_h_max = desk_h - task - title - controls - int(40 * s)
    area_w = win_w
    area_h = min(area_h_max, int(round(area_w * 9 / 16)))
    win_h = title + area_h + controls
    wx, wy = (desk_w - win_w) // 3, max(int(12 * s), (desk_h - task - win_h) // 2)
    desk[wy - 1:wy + win_h + 1, wx - 1:wx + win_w + 1] = (10, 10, 10)  # window border
    desk[wy:wy + title, wx:wx + win_w] = (232, 232, 236)               # title bar
    desk[wy + int(10 * s):wy + title - int(10 * s), wx + int(12 * s):wx + int(180 * s)] = (90, 90, 90)  # title text
    for i, c in enumerate([(230, 80, 70), (240, 190, 60), (90, 200, 90)]):
        x = wx + win_w - int((20 + 22 * i) * s)
        desk[wy + int(9 * s):wy + title - int(9 * s), x:x + int(12 * s)] = c
    ay = wy + title
    desk[ay:ay + area_h, wx:wx + win_w] = 0                           # video area, black bars
    cy = ay + area_h
    desk[cy:cy + controls, wx:wx + win_w] = (24, 24, 28)               # control bar
    desk[cy + int(10 * s):cy + int(14 * s), wx + int(60 * s):wx + win_w - int(20 * s)] = (110, 110, 110)
    desk[cy + int(10 * s):cy + int(14 * s), wx + int(60 * s):wx + int(60 * s) + win_w // 3] = (220, 40, 40)
    desk[cy + int(20 * s):cy + int(40 * s), wx + int(16 * s):wx + int(36 * s)] = (240, 240, 240)  # play button
    # the clip, fitted into the video area with its aspect ratio
    k = min(area_w / clip_w, area_h / clip_h)
    vw, vh = max(2, int(round(clip_w * k))), max(2, int(round(clip_h * k)))
    vx, vy = wx + (area_w - vw) // 2, ay + (area_h - vh) // 2
    # a mouse pointer resting on the desktop
    px, py = wx + win_w + int(30 * s), wy + int(60 * s)
    if px + int(16 * s) < desk_w:
        for r in range(int(18 * s)):
            desk[py + r, px:px + max(1, r * 2 // 3)] = 250
    return desk, (vx, vy, vw, vh)


class ScreenRecord(Attack):
    group = "screen"
    changes_fps = True

    def __init__(self, desktop: tuple[int, int] = (1280, 720), recorder_fps: float = 30, crf: int = 23,
                 gamma: float = 0.9, limited_range: bool = True) -> None:
        name = f"screen-{desktop[1]}p-{fmt(recorder_fps)}fps"
        super().__init__(name, desktop=list(desktop), recorder_fps=recorder_fps, crf=crf, gamma=gamma,
                         limited_range=limited_range)
        self.desktop, self.recorder_fps, self.crf = desktop, recorder_fps, crf
        self.gamma, self.limited_range = gamma, limited_range

    def apply(self, clip):
        dw, dh = self.desktop
        desk, (vx, vy, vw, vh) = desktop_layout(dw, dh, clip.width, clip.height)
        # colour path: full -> limited range (washed out), display gamma; one LUT for everything
        lev = np.arange(256, dtype=np.float32) / 255.0
        lev = lev ** self.gamma
        if self.limited_range:
            lev = (16 + 219 * lev) / 255.0
        lut = np.clip(np.rint(255 * lev), 0, 255).astype(np.uint8)
        src = resample_fps(clip.frames, clip.fps, self.recorder_fps)  # the recorder's clock
        # scale only the distinct source frames, then index (duplicated frames cost nothing)
        idx = np.minimum(np.floor(np.arange(src.shape[0]) * clip.fps / self.recorder_fps + 1e-6).astype(int),
                         clip.num_frames - 1)
        uniq, inv = np.unique(idx, return_inverse=True)
        scaled = resize_frames(clip.frames[uniq], vw, vh, "bilinear")
        out = np.empty((src.shape[0], dh, dw, 3), dtype=np.uint8)
        desk_l = lut[desk]
        for t in range(out.shape[0]):
            out[t] = desk_l
            out[t, vy:vy + vh, vx:vx + vw] = lut[scaled[inv[t]]]
        rec = clip.with_frames(out, fps=float(self.recorder_fps))
        return encode_decode(rec, "libx264", crf=self.crf, preset="veryfast", options={"tune": "zerolatency"})


def SCREEN_ATTACKS() -> list[Attack]:
    return [ScreenRecord((1280, 720), 30), ScreenRecord((1920, 1080), 30)]
