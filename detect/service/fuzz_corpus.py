"""Malformed inputs for fuzzing the upload service and the detector, reproducibly.

``generate_corpus(n, seed, fixtures_dir)`` returns ``n`` cases ``(name, bytes)``:
mutated seed files (the C2PA reference fixtures when present, plus small clips made
here), truncations, wrong types, and crafted MP4/PNG headers that declare huge
dimensions or sizes. The same (n, seed, seeds) gives the same corpus, so a failing
case can be rebuilt from its name.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Iterator

__all__ = ["generate_corpus", "seed_files", "MUTATORS"]

_FIXTURE_NAMES = ("video1.mp4", "legacy.mp4", "c.mov", "dashinit.mp4", "nested_moov_1000.mp4",
                  "video1_no_manifest.mp4", "C.jpg", "no_manifest.jpg")
_FIXTURE_MAX = 1_000_000  # keep the corpus small on disk and in memory


def _made_clips() -> dict[str, bytes]:
    """Small real clips encoded here: MP4 (H.264), MOV, WebM (VP9)."""
    import numpy as np

    from provenance.media import Clip, write_clip

    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (6, 48, 64, 3), dtype=np.uint8)
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="framemark-fuzz-") as d:
        for name, codec in (("made.mp4", "libx264"), ("made.mov", "libx264"), ("made.webm", "libvpx-vp9")):
            path = Path(d) / name
            try:
                write_clip(path, Clip(frames=frames, fps=10.0), codec=codec, crf=30,
                           preset="ultrafast" if codec == "libx264" else None)
            except Exception:  # noqa: BLE001 - an encoder missing from this FFmpeg build just is not a seed
                continue
            out[name] = path.read_bytes()
    return out


def _png(width: int, height: int, body: bytes | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(body if body is not None else b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def seed_files(fixtures_dir: str | Path | None = None) -> dict[str, bytes]:
    """The files mutations start from."""
    seeds = _made_clips()
    if fixtures_dir is not None and Path(fixtures_dir).is_dir():
        for name in _FIXTURE_NAMES:
            p = Path(fixtures_dir) / name
            if p.is_file() and p.stat().st_size <= _FIXTURE_MAX:
                seeds[name] = p.read_bytes()
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buf, format="PNG")
    seeds["made.png"] = buf.getvalue()
    return seeds


# ----------------------------------------------------------------------------- mutators
def _truncate(data: bytes, rnd: random.Random) -> bytes:
    cut = rnd.choice([0, 1, 4, 8, 12, 16, 32, 100, rnd.randrange(len(data) + 1), len(data) - 1, len(data) // 2])
    return data[: max(0, min(cut, len(data)))]


def _flip_bytes(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.choice([1, 2, 8, 64])):
        if b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    return bytes(b)


def _flip_head(data: bytes, rnd: random.Random) -> bytes:
    """Damage the first KiB, where the container's structure lives (keeps the sniffable magic
    half of the time, so the bytes reach the decoders)."""
    b = bytearray(data)
    lo = 12 if rnd.random() < 0.5 else 0
    for _ in range(rnd.choice([1, 4, 16])):
        if len(b) > lo:
            b[rnd.randrange(lo, min(len(b), 1024))] = rnd.randrange(256)
    return bytes(b)


def _overwrite_block(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    start = rnd.randrange(len(b))
    size = rnd.choice([16, 256, 4096])
    fill = rnd.choice([b"\x00", b"\xff", bytes([rnd.randrange(256)])])
    b[start:start + size] = fill * len(b[start:start + size])
    return bytes(b)


def _splice(data: bytes, rnd: random.Random) -> bytes:
    if len(data) < 2:
        return data + data
    a, z = sorted(rnd.randrange(len(data)) for _ in range(2))
    at = rnd.randrange(len(data))
    return data[:at] + data[a:z + 1] + data[at:]


def _box_positions(data: bytes, kind: bytes) -> list[int]:
    out, start = [], 0
    while (i := data.find(kind, start)) != -1 and len(out) < 64:
        out.append(i)
        start = i + 1
    return out


def _huge_box_size(data: bytes, rnd: random.Random) -> bytes:
    """An MP4 box that claims to be enormous (32-bit 0xFFFFFFFF or a 64-bit largesize)."""
    kinds = [k for k in (b"moov", b"mdat", b"trak", b"stsd", b"uuid", b"jumb", b"stsz", b"avcC") if k in data]
    if not kinds:
        return data + struct.pack(">I", 0xFFFFFFFF) + b"mdat"
    pos = rnd.choice(_box_positions(data, rnd.choice(kinds)))
    b = bytearray(data)
    if pos >= 4:
        b[pos - 4:pos] = struct.pack(">I", rnd.choice([0xFFFFFFFF, 1, 0, 7, 0x7FFFFFFF]))
        if b[pos - 4:pos] == b"\x00\x00\x00\x01" and pos + 12 <= len(b):
            b[pos + 4:pos + 12] = struct.pack(">Q", rnd.choice([2**63 - 1, 2**40, 16]))
    return bytes(b)


def _huge_dimensions(data: bytes, rnd: random.Random) -> bytes:
    """Declared width/height of 65535 (sample entry) and 65535.0 (tkhd) while the stream
    itself is small: the declared and decoded sizes disagree."""
    b = bytearray(data)
    w = rnd.choice([65535, 32768, 16384, 0, 1])
    for kind in (b"avc1", b"hvc1", b"vp09", b"mp4v"):
        for pos in _box_positions(data, kind):
            off = pos + 4 + 24
            if off + 4 <= len(b):
                b[off:off + 4] = struct.pack(">HH", w, w)
    for pos in _box_positions(data, b"tkhd"):
        off = pos + 4 + 76
        if off + 8 <= len(b):
            b[off:off + 8] = struct.pack(">II", w << 16, w << 16)
    return bytes(b)


def _huge_counts(data: bytes, rnd: random.Random) -> bytes:
    """Sample tables that claim billions of entries."""
    b = bytearray(data)
    for kind in (b"stsz", b"stco", b"stts", b"stsc", b"stss", b"ctts"):
        for pos in _box_positions(data, kind):
            off = pos + 4 + (8 if kind == b"stsz" else 4)
            if off + 4 <= len(b) and rnd.random() < 0.7:
                b[off:off + 4] = struct.pack(">I", rnd.choice([0xFFFFFFFF, 0x10000000, 0]))
    return bytes(b)


MUTATORS = {
    "truncate": _truncate, "flip": _flip_bytes, "head": _flip_head, "block": _overwrite_block,
    "splice": _splice, "hugebox": _huge_box_size, "hugedims": _huge_dimensions, "hugecount": _huge_counts,
}


def _crafted(rnd: random.Random) -> list[tuple[str, bytes]]:
    """Inputs that are not mutations of a seed: wrong types and hand-made headers."""
    ftyp = struct.pack(">I", 20) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isom"
    return [
        ("empty", b""),
        ("one-byte", b"\x00"),
        ("text", b"hello, this is not a video\n" * 10),
        ("html", b"<!doctype html><script>alert(1)</script>"),
        ("json", b'{"file": "video.mp4"}'),
        ("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF"),
        ("zip", b"PK\x03\x04" + bytes(60)),
        ("elf", b"\x7fELF\x02\x01\x01" + bytes(57)),
        ("random-4k", rnd.randbytes(4096)),
        ("png-huge-dims", _png(100_000, 100_000)),
        ("png-zero-dims", _png(0, 0)),
        ("png-bomb", _png(20_000, 20_000, b"\x00" * 2_000_000)),
        ("jpeg-head-only", b"\xff\xd8\xff\xe0" + bytes(16)),
        ("webm-magic-only", b"\x1a\x45\xdf\xa3" + bytes(28)),
        ("avi-magic-only", b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(20)),
        ("mp4-ftyp-only", ftyp),
        ("mp4-ftyp-huge-mdat", ftyp + struct.pack(">I", 0xFFFFFFF0) + b"mdat" + bytes(64)),
        ("mp4-ftyp-largesize", ftyp + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 2**62) + bytes(32)),
        ("mp4-zero-box", ftyp + bytes(8) + b"moov"),
        ("mp4-nested-moov", ftyp + b"".join(struct.pack(">I", 8 * (200 - i)) + b"moov" for i in range(200))),
        ("mp4-moov-garbage", ftyp + struct.pack(">I", 1000) + b"moov" + rnd.randbytes(992)),
        ("mp4-uuid-c2pa-garbage", ftyp + struct.pack(">I", 40) + b"uuid" + bytes.fromhex("d8fec3d61b0e483c92975828877ec481") + rnd.randbytes(16)),
    ]


def generate_corpus(n: int = 1000, seed: int = 1234, fixtures_dir: str | Path | None = None,
                    seeds: dict[str, bytes] | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield ``n`` fuzz cases, deterministic in (n, seed, seeds); lazily, since 1,000
    mutated clips would hold hundreds of MB."""
    rnd = random.Random(seed)
    seeds = seeds if seeds is not None else seed_files(fixtures_dir)
    names = sorted(seeds)
    mutators = sorted(MUTATORS)
    made = 0
    for case in _crafted(rnd):
        if made >= n:
            return
        yield case
        made += 1
    i = 0
    while made < n:
        base = names[i % len(names)]
        # one to three stacked mutations
        data = seeds[base]
        applied = []
        for _ in range(rnd.choice([1, 1, 2, 3])):
            m = rnd.choice(mutators)
            data = MUTATORS[m](data, rnd)
            applied.append(m)
        yield f"{i:04d}-{base}-{'+'.join(applied)}", data
        made += 1
        i += 1
