"""Decoding and encoding video with PyAV, with limits on what an input may cost.

A clip in memory is a :class:`Clip`: RGB frames as ``uint8 [T, H, W, 3]`` and a
frame rate. Everything in framemark (watermarks, attacks, the generator, the
detector) passes clips around in this one form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import InputError, LimitExceededError, UsageError
from .fileio import check_input_file

__all__ = ["Clip", "DecodeLimits", "read_clip", "write_clip", "probe", "sniff_media_type"]


@dataclass
class Clip:
    """Decoded video: ``frames`` is ``uint8 [T, H, W, 3]`` RGB, ``fps`` frames per second."""

    frames: np.ndarray
    fps: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = self.frames
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8:
            raise UsageError(f"a clip needs uint8 frames [T, H, W, 3], got {f.dtype} {f.shape}")
        if not (self.fps > 0):
            raise UsageError(f"a clip needs a positive frame rate, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def with_frames(self, frames: np.ndarray, fps: float | None = None) -> "Clip":
        return Clip(frames=frames, fps=self.fps if fps is None else fps, meta=dict(self.meta))


@dataclass(frozen=True)
class DecodeLimits:
    """What one decode may cost. Defaults suit a CLI; the service passes tighter ones."""

    max_frames: int | None = 20_000
    max_pixels: int = 4096 * 2304
    max_seconds: float | None = None  # wall-clock decode budget
    min_side: int = 16


def sniff_media_type(head: bytes) -> str | None:
    """MIME type from the first bytes of a file, never from its name."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"uuid", b"styp"):
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


def _open_container(path: Path):
    import av

    check_input_file(path)
    try:
        return av.open(str(path), mode="r", options={"probesize": "5000000"})
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable video ({_short(exc)})") from None


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise InputError(f"{path}: has no video stream")
    vs = container.streams.video[0]
    if vs.codec_context is None:  # a mangled sample entry (found by fuzzing): PyAV gives no codec
        raise InputError(f"{path}: video stream has no decodable codec")
    return vs


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def probe(path: str | Path) -> dict:
    """Stream facts without decoding: width, height, fps, frame count estimate, duration, codec."""
    path = Path(path)
    with _open_container(path) as container:
        vs = _video_stream(container, path)
        fps = float(vs.average_rate or vs.guessed_rate or 0) or None
        duration = None
        if vs.duration is not None and vs.time_base is not None:
            duration = float(vs.duration * vs.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        frames = vs.frames or (int(round(duration * fps)) if duration and fps else None)
        return {
            "width": vs.codec_context.width,
            "height": vs.codec_context.height,
            "fps": fps,
            "frames": frames,
            "duration": duration,
            "codec": vs.codec_context.name,
            "has_audio": bool(container.streams.audio),
        }


def read_clip(
    path: str | Path,
    limits: DecodeLimits | None = None,
    max_frames: int | None = None,
    start_frame: int = 0,
) -> Clip:
    """Decode a whole video file (or its first ``max_frames`` frames) into a :class:`Clip`.

    Raises :class:`InputError` for anything unreadable and :class:`LimitExceededError`
    when the input is bigger or slower to decode than ``limits`` allow.
    """
    import av

    path = Path(path)
    limits = limits or DecodeLimits()
    started = time.monotonic()
    frames: list[np.ndarray] = []
    with _open_container(path) as container:
        vs = _video_stream(container, path)
        vs.thread_type = "AUTO"
        w, h = vs.codec_context.width, vs.codec_context.height
        if w and h:
            _check_dims(path, w, h, limits)
        fps = float(vs.average_rate or vs.guessed_rate or 0) or 25.0
        index = -1
        try:
            for frame in container.decode(vs):
                index += 1
                if index < start_frame:
                    continue
                if not frames:
                    _check_dims(path, frame.width, frame.height, limits)
                if max_frames is not None and len(frames) >= max_frames:
                    break
                if limits.max_frames is not None and len(frames) >= limits.max_frames:
                    raise LimitExceededError(f"{path}: more than {limits.max_frames} frames")
                frames.append(frame.to_ndarray(format="rgb24"))
                if limits.max_seconds is not None and time.monotonic() - started > limits.max_seconds:
                    raise LimitExceededError(f"{path}: decoding took longer than {limits.max_seconds:g} s")
        except av.error.FFmpegError as exc:
            if not frames:
                raise InputError(f"{path}: cannot decode video ({_short(exc)})") from None
            # a truncated tail: keep what decoded, and say so in the clip's metadata
            truncated = _short(exc)
        else:
            truncated = None
    if not frames:
        raise InputError(f"{path}: no decodable video frames")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise InputError(f"{path}: frame size changes mid-stream ({sorted(shapes)[:3]})")
    meta = {"source": str(path)}
    if truncated:
        meta["decode_error"] = truncated
    return Clip(frames=np.stack(frames), fps=fps, meta=meta)


def _check_dims(path: Path, w: int, h: int, limits: DecodeLimits) -> None:
    if w * h > limits.max_pixels:
        raise LimitExceededError(f"{path}: {w}x{h} exceeds the pixel limit ({limits.max_pixels} pixels a frame)")
    if min(w, h) < limits.min_side:
        raise InputError(f"{path}: {w}x{h} is too small to analyse (needs at least {limits.min_side} px a side)")


def write_clip(
    path: str | Path,
    clip: Clip,
    codec: str = "libx264",
    crf: int | None = 18,
    bitrate: int | None = None,
    preset: str | None = "medium",
    pix_fmt: str = "yuv420p",
    options: dict | None = None,
    audio_from: str | Path | None = None,
    container_format: str | None = None,
) -> Path:
    """Encode ``clip`` to ``path`` (callers wrap this in ``atomic_output``).

    yuv420p needs even dimensions; an odd width or height is padded by one
    replicated row or column rather than failing. ``audio_from`` copies the audio
    stream of another file without re-encoding it.
    """
    import av

    path = Path(path)
    frames = clip.frames
    if frames.shape[0] == 0:
        raise UsageError("cannot encode a clip with no frames")
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pix_fmt.startswith("yuv420") and (pad_h or pad_w):
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rate = Fraction(clip.fps).limit_denominator(1001)
    opts = dict(options or {})
    if crf is not None and bitrate is None:
        key = "crf"
        opts.setdefault(key, str(crf))
    if preset and codec in ("libx264", "libx265"):
        opts.setdefault("preset", preset)
    if codec == "libx265":
        opts.setdefault("x265-params", "log-level=error")
    src = av.open(str(audio_from)) if audio_from else None
    try:
        with av.open(str(path), mode="w", format=container_format) as out:
            vs = out.add_stream(codec, rate=rate, options=opts)
            vs.width, vs.height = frames.shape[2], frames.shape[1]
            vs.pix_fmt = pix_fmt
            if bitrate is not None:
                vs.bit_rate = int(bitrate)
            a_in = a_out = None
            if src is not None and src.streams.audio:
                a_in = src.streams.audio[0]
                a_out = out.add_stream_from_template(a_in)
            for arr in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
                for packet in vs.encode(frame):
                    out.mux(packet)
            for packet in vs.encode():
                out.mux(packet)
            if a_in is not None:
                for packet in src.demux(a_in):
                    if packet.dts is None:
                        continue
                    packet.stream = a_out
                    out.mux(packet)
    finally:
        if src is not None:
            src.close()
    return path
