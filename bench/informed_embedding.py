"""Would host-interference cancellation (informed embedding) help the pixel mark under codecs?

    nice -n 5 .venv/bin/python -m bench.informed_embedding [--attacks h264-crf30,h264-crf40] [--lam 0,0.5,1]

The detector reads each chip of the 32 x 32 tile from the clip's whitened mean luma folded
modulo the period. Without a mark that reading is the *host's* projection ``h`` on the
chip; with one it is ``h + g * s`` (``s`` the +/-1 chip, ``g`` the gain of the mask and the
whitening). Informed embedding (improved spread spectrum, Malvar & Florencio 2003) embeds
the cells ``s - lam * h / g`` instead, so the reading is the chip alone; the pattern is
renormalised, so under the PSNR cap the chips lose the amplitude the cancellation takes.

For each of the robustness benchmark's target clips (8 s, as ``bench.robustness``) and each
``lam``: embed, publish at H.264 CRF 17, attack, detect with the shipped detector; prints
PSNR, log10 p per attack, ``g`` and the host-to-mark ratio ``std(h) / g``. The variant is
swapped in for the shipped pattern function for the embed only (the shipped embedder is
not changed by this probe).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["host_cells", "target_segments", "publish", "main"]

KEY = b"informed-embedding-probe-key-032"
IDENT = bytes.fromhex("0123456789ab")


def target_segments(limit: int | None = None, only: str = "") -> list[dict]:
    """The robustness benchmark's target clips, 8 s each, as these probes use them: the
    ``only`` names (comma-separated) when given, else the first ``limit``."""
    from bench.robustness import real_sources, target_clip

    srcs = [s for s in real_sources(40, 8.0) if target_clip(s["info"])]
    return [s for s in srcs if s["name"] in only.split(",")] if only else srcs[:limit]


def publish(clip):
    """A marked clip as ``bench.robustness`` publishes it: H.264 CRF 17."""
    from detect.attacks.codecs import encode_decode

    return encode_decode(clip, "libx264", crf=17, preset="fast")


def host_cells(frames: np.ndarray) -> np.ndarray:
    """The 32 x 32 chip readings of ``frames`` at the embedder's own alignment (the tile
    anchored at the top-left pixel, scale 1), as the detector computes them."""
    from watermark.pixel import mean_luma
    from watermark.pixel.detect import whiten
    from watermark.pixel.pattern import PERIOD, read_cells

    res = whiten(mean_luma(frames))
    h, w = res.shape
    idx = ((np.arange(h) % PERIOD)[:, None] * PERIOD + (np.arange(w) % PERIOD)[None, :]).ravel()
    total = np.bincount(idx, weights=res.ravel().astype(np.float64), minlength=PERIOD * PERIOD)
    count = np.bincount(idx, minlength=PERIOD * PERIOD)
    return read_cells((total / np.maximum(count, 1)).reshape(PERIOD, PERIOD))


def _calibrate(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The chips ``s``, the host's readings ``h`` and the gain ``g`` of a shipped embed."""
    from watermark.ecc import encode_identifier
    from watermark.pixel.embed import embed_frames
    from watermark.pixel.pattern import KeyedTile

    s = KeyedTile.from_key(KEY).cells(encode_identifier(IDENT))
    h = host_cells(frames)
    g = float(np.sum((host_cells(embed_frames(frames, KEY, IDENT)) - h) * s) / np.sum(s * s))
    return s, h, g


def _embed(frames: np.ndarray, lam: float, calib) -> tuple[np.ndarray, dict]:
    import watermark.pixel.embed as E
    from watermark.pixel.pattern import PERIOD, render_cells

    if lam == 0:
        return E.embed_frames(frames, KEY, IDENT), {}
    s, h, g = calib
    px = render_cells(s - lam * h / g, PERIOD)
    px /= px.std()

    def informed(key, identifier, height, width):
        reps = (-(-height // PERIOD), -(-width // PERIOD))
        return np.tile(px, reps)[:height, :width].astype(np.float32)

    shipped = E.tiled_pattern
    E.tiled_pattern = informed
    try:
        return E.embed_frames(frames, KEY, IDENT), {"g": round(g, 4), "host_to_mark": round(float(np.std(h)) / g, 2)}
    finally:
        E.tiled_pattern = shipped


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attacks", default="h264-crf30,h264-crf40")
    p.add_argument("--lam", default="0,0.5,1", help="cancellation factors (0: the shipped embedding)")
    p.add_argument("--clips", type=int, default=6)
    a = p.parse_args(argv)

    from detect import footage
    from detect.attacks import get as get_attack
    from detect.quality import psnr
    from watermark.pixel import PixelWatermark

    attacks = a.attacks.split(",")
    alg = PixelWatermark(KEY)
    srcs = target_segments(a.clips)
    print("| clip | lam | PSNR dB | " + " | ".join(f"{x}: log10 p" for x in attacks) + " | g | host / mark |")
    print("|---|---|---|" + "---|" * len(attacks) + "---|---|")
    for src in srcs:
        clip = footage.load(src["path"], seconds=8.0, start_s=src["start"])
        calib = None
        for lam in (float(x) for x in a.lam.split(",")):
            t = time.time()
            if lam and calib is None:
                calib = _calibrate(clip.frames)
            marked, info = _embed(clip.frames, lam, calib)
            published = publish(clip.with_frames(marked))
            ps = [alg.extract(get_attack(x)(published)).extra["log10_p"] for x in attacks]
            print(f"| {src['name']} | {lam:g} | {psnr(marked, clip.frames):.1f} | " + " | ".join(f"{v:.1f}" for v in ps)
                  + f" | {info.get('g', '-')} | {info.get('host_to_mark', '-')} |", flush=True)
            print(f"{src['name']} lam {lam:g}: {time.time() - t:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
