"""The service's one call into the detector, plus the page's thumbnails.

:func:`analyse` runs in a worker thread: the fused detector
(``detect.fuse.detect_file``) with the service's decode limits, then optionally a
few small JPEG thumbnails. Everything the page shows comes from the detector's
report; the service adds only ``upload`` facts and thumbnails.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Callable

from provenance.errors import InputError
from provenance.media import DecodeLimits

from .errors import ServiceError
from .settings import ServiceSettings

__all__ = ["analyse", "default_detector", "thumbnails"]

THUMB_SIDE = 160


def default_detector() -> Callable[..., dict]:
    """``detect.fuse.detect_file``, imported on first use (it pulls in torch and scikit-learn)."""
    from detect.fuse import detect_file

    return detect_file


def analyse(path: Path, settings: ServiceSettings, n_thumbnails: int = 0) -> dict:
    """The detect report for the file at ``path`` (blocking; call it off the event loop)."""
    detector = settings.detector or default_detector()
    limits = settings.decode_limits()
    t0 = time.perf_counter()
    report = detector(path, keys_dir=settings.keys_dir, limits=limits)
    if not isinstance(report, dict):
        raise TypeError(f"the detector returned {type(report).__name__}, not a dict")
    timings = {"detect_s": round(time.perf_counter() - t0, 4)}
    if n_thumbnails > 0:
        t1 = time.perf_counter()
        try:
            report["thumbnails"] = thumbnails(path, n_thumbnails, limits)
        except InputError:
            report["thumbnails"] = []  # the detector coped with the file; pictures are a nicety
        timings["thumbnails_s"] = round(time.perf_counter() - t1, 4)
    report.setdefault("service", {})["timings"] = timings
    return report


def thumbnails(path: Path, n: int, limits: DecodeLimits) -> list[dict]:
    """Up to ``n`` evenly spaced frames as small JPEG data URIs: ``[{frame, uri}]``.

    Decodes sequentially under the same limits as the detector (seeking is not
    reliable on damaged files) and keeps only the chosen frames, so memory stays at
    ``n`` small images.
    """
    import av
    from PIL import Image

    from provenance.media import probe

    facts = probe(path)
    w, h = facts.get("width") or 0, facts.get("height") or 0
    if w * h > limits.max_pixels:
        return []
    total = facts.get("frames") or 0
    if limits.max_frames:
        total = min(total, limits.max_frames) if total else limits.max_frames
    step = max(1, total // n) if total else 1
    wanted = {i * step + step // 2 for i in range(n)} if total else set(range(n))
    out: list[dict] = []
    started = time.monotonic()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if limits.max_frames and index >= limits.max_frames:
                    break
                if limits.max_seconds and time.monotonic() - started > limits.max_seconds:
                    break
                if index not in wanted:
                    continue
                img = frame.to_image()
                img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR)
                buf = io.BytesIO()
                img.save(buf, format="JPEG", quality=80)
                out.append({"frame": index, "time_s": round(index / (facts.get("fps") or 25.0), 3),
                            "uri": "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")})
                if len(out) >= n:
                    break
    except (av.error.FFmpegError, OSError, IndexError):
        pass  # keep what decoded
    return out
