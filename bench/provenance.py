"""Sign/verify cost: framemark vs bare c2pa-python vs one hashlib.sha256 pass, in one run.

    .venv/bin/python -m bench.provenance [--small-reps 30] [--big-reps 7] [--big-mb 20] [--json out.json]

Media is made at run time in a temp folder: a 2 s 128x128 30 fps H.264 clip, and a
~20 MB MP4 (10 s of noisy 480x480 at a fixed bitrate, so its size is predictable).
For each file, median wall time over the repetitions, in-process, after one warm-up:

- framemark sign: ``provenance.sign.sign_file`` (identity re-check, manifest build,
  atomic no-clobber output; the same c2pa settings as a user gets);
- bare sign: ``Signer.from_info`` + ``Builder(same manifest).sign(signer, mime, src, dst)``;
- framemark verify: ``provenance.verify.verify_file(...).to_dict()`` with the local root as anchor;
- bare verify: ``Reader(mime, stream, context=anchor ctx)`` + ``json()`` + ``get_validation_state()``;
- sha256: ``hashlib.sha256`` over the file, 1 MiB chunks (the floor any verifier pays).

Overhead = framemark / bare - 1 (target: at most 10%).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "run_bench"]


def _median_time(fn, reps: int) -> float:
    fn()  # warm-up (page cache, lazy imports, c2pa's shared context)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _make_media(d: Path, big_mb: float) -> dict[str, Path]:
    from provenance.media import Clip, write_clip

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128]
    # moving gradients plus per-frame grain: a ~0.2 MB clip, like a short real one
    small = np.stack([np.stack([(xx + 4 * t) % 256, (yy + 2 * t) % 256, np.full_like(xx, 90)], -1)
                      + rng.integers(0, 40, (128, 128, 3)) for t in range(60)]).clip(0, 255).astype(np.uint8)
    write_clip(d / "small.mp4", Clip(small, 30.0), crf=18, preset="fast")
    # noise at a fixed bitrate: the file lands near big_mb whatever the machine
    seconds, fps = 10, 25
    frames = rng.integers(0, 256, (seconds * fps, 480, 480, 3), dtype=np.uint8)
    bitrate = int(big_mb * 8_000_000 / seconds)
    write_clip(d / "big.mp4", Clip(frames, float(fps)), crf=None, bitrate=bitrate, preset="ultrafast",
               options={"maxrate": str(bitrate), "minrate": str(bitrate), "bufsize": str(bitrate)})
    return {"2s clip": d / "small.mp4", "big MP4": d / "big.mp4"}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_bench(small_reps: int = 30, big_reps: int = 7, big_mb: float = 20.0) -> dict:
    import c2pa

    from provenance.keys import init_identity
    from provenance.sign import build_manifest, sign_file
    from provenance.verify import verify_file

    results = {"c2pa_python": c2pa.__version__ if hasattr(c2pa, "__version__") else "?",
               "c2pa_rs": c2pa.sdk_version(), "files": {}}
    with tempfile.TemporaryDirectory(prefix="framemark-bench-") as tmp:
        d = Path(tmp)
        ident = init_identity(d / "keys", common_name="bench signer")
        media = _make_media(d, big_mb)
        key_pem = ident.key_path.read_bytes()
        anchor_ctx = c2pa.Context.from_dict({"trust": {"trust_anchors": ident.root_pem.decode()}})
        for name, src in media.items():
            reps = small_reps if name == "2s clip" else big_reps
            fm_out, bare_out = d / f"fm-{src.name}", d / f"bare-{src.name}"
            manifest = build_manifest(title=fm_out.name, mime_type="video/mp4")

            def fm_sign():
                sign_file(src, fm_out, ident, force=True)

            def bare_sign():
                signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", ident.chain_pem, key_pem, None))
                with open(src, "rb") as fi, open(bare_out, "w+b") as fo:
                    c2pa.Builder(manifest).sign(signer, "video/mp4", fi, fo)
                signer.close()

            def fm_verify():
                rep = verify_file(fm_out, keys_dir=d / "keys").to_dict()
                assert rep["state"] == "trusted", rep["failures"]

            def bare_verify():
                with open(bare_out, "rb") as fh:
                    r = c2pa.Reader("video/mp4", fh, None, anchor_ctx)
                    r.json()
                    assert r.get_validation_state() == "Trusted"
                    r.close()

            row = {"bytes": src.stat().st_size}
            row["sha256_s"] = _median_time(lambda: _sha256(src), reps)
            # interleave the pairs so that background load hits both alike
            row["framemark_sign_s"] = _median_time(fm_sign, reps)
            row["bare_sign_s"] = _median_time(bare_sign, reps)
            row["framemark_verify_s"] = _median_time(fm_verify, reps)
            row["bare_verify_s"] = _median_time(bare_verify, reps)
            row["framemark_sign_s"] = min(row["framemark_sign_s"], _median_time(fm_sign, reps))
            row["bare_sign_s"] = min(row["bare_sign_s"], _median_time(bare_sign, reps))
            row["framemark_verify_s"] = min(row["framemark_verify_s"], _median_time(fm_verify, reps))
            row["bare_verify_s"] = min(row["bare_verify_s"], _median_time(bare_verify, reps))
            row["sign_overhead"] = row["framemark_sign_s"] / row["bare_sign_s"] - 1
            row["verify_overhead"] = row["framemark_verify_s"] / row["bare_verify_s"] - 1
            row["reps"] = reps
            results["files"][name] = row
    return results


def _table(res: dict) -> str:
    lines = [f"c2pa-python {res['c2pa_python']} (c2pa-rs {res['c2pa_rs']})",
             f"{'file':<10} {'MB':>6} {'sha256':>9} {'sign fm':>9} {'sign bare':>10} {'ovh':>6} "
             f"{'verify fm':>10} {'verify bare':>12} {'ovh':>6}"]
    for name, r in res["files"].items():
        ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
        lines.append(f"{name:<10} {r['bytes'] / 1e6:>6.2f} {ms(r['sha256_s']):>9} {ms(r['framemark_sign_s']):>9} "
                     f"{ms(r['bare_sign_s']):>10} {r['sign_overhead'] * 100:>5.1f}% {ms(r['framemark_verify_s']):>10} "
                     f"{ms(r['bare_verify_s']):>12} {r['verify_overhead'] * 100:>5.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.provenance", description=__doc__.splitlines()[0])
    p.add_argument("--small-reps", type=int, default=30)
    p.add_argument("--big-reps", type=int, default=7)
    p.add_argument("--big-mb", type=float, default=20.0)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    a = p.parse_args(argv)
    res = run_bench(a.small_reps, a.big_reps, a.big_mb)
    print(_table(res))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
    worst = max(max(r["sign_overhead"], r["verify_overhead"]) for r in res["files"].values())
    print(f"worst framemark overhead over bare c2pa-python: {worst * 100:.1f}% (target <= 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
