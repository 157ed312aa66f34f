"""Speed of ``framemark generate`` on the default clip: generated, watermarked (latent +
pixel), encoded and signed, end to end, with the cost split by step.

    nice -n 5 .venv/bin/python -m bench.generate_speed [--reps 3] [--json PATH]

The model loads once (its load time is reported on its own: a service or a batch pays it
once). One warm-up clip, then ``--reps`` timed clips of the default prompt and settings
into a temporary keys folder. The machine is shared, so the same run also times a fixed
reference workload (a 1024 x 1024 float32 matmul repeated 50 times on the same threads):
a slow figure next to a slow reference is the machine, not the code.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]

PROMPT = "a red circle moving from left to right"


def _reference_s() -> float:
    import torch

    a = torch.randn(1024, 1024)
    t0 = time.perf_counter()
    for _ in range(50):
        a @ a
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.generate_speed", description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model", help="model folder (default: the built-in model)")
    ap.add_argument("--json", help="write the raw figures here")
    args = ap.parse_args(argv)

    import torch

    from generate.pipeline import generate_clip, load_model
    from provenance.keys import init_identity

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    pipe = load_model(args.model)
    load_s = time.perf_counter() - t0
    runs, refs = [], []
    with tempfile.TemporaryDirectory(prefix="framemark-bench-gen-") as tmp:
        keys = Path(tmp) / "keys"
        init_identity(keys)
        for i in range(args.reps + 1):
            refs.append(_reference_s())
            t0 = time.perf_counter()
            res = generate_clip(pipe, PROMPT, Path(tmp) / f"clip{i}.mp4", seed=i, keys_dir=keys)
            total = time.perf_counter() - t0
            if i:  # the first clip warms caches and allocators
                runs.append({"total_s": total, **res.timings})
            print(f"clip {i}: {total:.2f} s {'(warm-up)' if not i else ''}", file=sys.stderr)
        cfg = res.settings
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    report = {"model_load_s": load_s, "clip": f"{cfg.width}x{cfg.height}, {cfg.frames} frames, {cfg.steps} steps",
              "reps": args.reps, "median": med, "runs": runs, "reference_matmul_s": statistics.median(refs),
              "target_s": 15.0, "met": med["total_s"] <= 15.0}
    print(f"default clip ({report['clip']}): median {med['total_s']:.2f} s end to end (target <= 15 s: "
          f"{'met' if report['met'] else 'missed'}); " +
          ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in med.items() if k != "total_s") +
          f"; model load {load_s:.2f} s once; reference matmul {report['reference_matmul_s']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
