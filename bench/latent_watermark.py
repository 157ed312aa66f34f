"""Benchmark the latent watermark: bit accuracy and detection at p <= 1e-6, per attack.

    nice -n 10 .venv/bin/python -m bench.latent_watermark --model DIR --clips 8
    nice -n 10 .venv/bin/python -m bench.latent_watermark --tiny --vae-run RUN --clips 8

For each clip: a random 48-bit identifier, sampled from the marked noise, then for each
attack (none, H.264 CRF 23 / 30, resize to half, crop keeping 71 %) the detector
VAE-encodes, inverts the sampler with the empty prompt and decodes. Two detections are
reported: the blind decode (its p-value pays for all 2^48 identifiers) and the one
``framemark detect`` makes with a manifest store (here 1,000 identifiers, the true one
among them: p = 2 x min(blind, store match), detect.fuse._latent_store_test).
Unmarked clips (another key's noise, same model), whole and cropped, give the
false-positive control.
Prints a markdown table and writes JSON (``--json PATH``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["ATTACKS", "main"]


#: attacks from the suite's registry (detect.attacks); the detector scales a clip back to the
#: model's size, and tries one no larger than it unscaled at a few placements as well
#: (generate.latent_placement). "as generated" is the file framemark generate writes (H.264 at
#: generate.pipeline.OUTPUT_CRF): what a clip straight from the generator gives the detector
AS_GENERATED = "as generated"
ATTACKS = ["none", AS_GENERATED, "h264-crf23", "h264-crf30", "resize-0.5", "crop-0.71", "crop-0.71-offcentre"]
#: identifiers in the simulated manifest store (the true one among them)
STORE_SIZE = 1000


def _load(args):
    import torch

    from generate.model import TINY_CONFIG, build_pipeline
    from generate.pipeline import load_model

    if not args.tiny:
        return load_model(args.model), (args.model or "built-in")
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY_CONFIG, height=64, width=64, num_frames=17, steps=args.steps or 10)
    pipe = build_pipeline(cfg)
    label = "tiny random-weight Wan"
    if args.vae_run:
        from generate.train import load_run_vae

        label += f" + VAE trained {load_run_vae(args.vae_run, pipe.vae)} steps ({args.vae_run})"
    pipe.vae.eval()
    return pipe, label


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the built-in model)")
    p.add_argument("--tiny", action="store_true", help="the tiny test architecture instead of a model folder")
    p.add_argument("--vae-run", help="with --tiny: a training run folder whose vae.pt to load")
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--steps", type=int, help="sampling (and inversion) steps")
    p.add_argument("--prompt", default="a red circle moving from left to right")
    p.add_argument("--json", help="write the raw results here")
    args = p.parse_args(argv)

    import torch

    from detect.attacks import get as get_attack
    from detect.attacks.codecs import Codec
    from generate.latent_watermark import LatentWatermark, match_hypotheses
    from generate.pipeline import OUTPUT_CRF, check_inputs, sample_marked
    from provenance.media import Clip
    
    torch.set_num_threads(2)
    pipe, label = _load(args)
    key = os.urandom(32)
    s = check_inputs(pipe, args.prompt, steps=args.steps)
    det = LatentWatermark(pipe, key, steps=s.steps, size=(s.width, s.height), frames=s.frames)
    attacks = {name: Codec("libx264", OUTPUT_CRF) if name == AS_GENERATED else get_attack(name) for name in ATTACKS}
    rows = {name: [] for name in ATTACKS}
    control = []
    store = [os.urandom(6) for _ in range(STORE_SIZE - 1)]

    def store_p(d, info, candidates):
        m = match_hypotheses(info["hypothesis_votes"], candidates)
        p_store = 10.0 ** m.log10_p if m is not None else 1.0
        return min(1.0, 2.0 * min(d.p_value, p_store)), (m.identifier if m is not None else None)

    t_start = time.time()
    for i in range(args.clips):
        ident = os.urandom(6)
        st = dataclasses.replace(s, seed=1000 + i, prompt=args.prompt)
        clip = Clip(frames=sample_marked(pipe, st, ident, key), fps=s.fps)
        for name in ATTACKS:
            d, info = det.decode(attacks[name](clip))
            p, found = store_p(d, info, store + [ident])
            rows[name].append({"bit_accuracy": d.bit_accuracy(ident), "detected": d.detected and d.payload == ident,
                               "log10_p": d.log10_p, "agreement": d.agreement,
                               "store_detected": p <= 1e-6 and found == ident, "store_log10_p": float(np.log10(max(p, 1e-300)))})
        # control: the same model from an unmarked noise (another key's stream is independent)
        # (whole, and cropped: a crop is tried under several placements, which the p-value pays for)
        other = Clip(frames=sample_marked(pipe, st, ident, os.urandom(32)), fps=s.fps)
        for shown in (other, attacks["crop-0.71"](other)):
            d, info = det.decode(shown)
            p, _ = store_p(d, info, store + [ident])
            control.append({"detected": d.detected, "log10_p": d.log10_p, "store_detected": p <= 1e-6,
                            "store_log10_p": float(np.log10(max(p, 1e-300))), "placements": info["placements_tried"]})
        print(f"clip {i + 1}/{args.clips} done ({time.time() - t_start:.0f} s)", file=sys.stderr)

    print(f"model: {label}; {s.width}x{s.height}, {s.frames} frames, {s.steps} steps, guidance {s.guidance:g}, "
          f"{args.clips} clips")
    print(f"({AS_GENERATED}: H.264 CRF {OUTPUT_CRF}, the file framemark generate writes)")
    print("| attack | bit accuracy (mean) | blind: detected at p <= 1e-6 | blind: median log10 p | sign agreement "
          f"| with a {STORE_SIZE}-id store: detected | with store: median log10 p |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {np.mean([x['bit_accuracy'] for x in r]):.3f} | "
              f"{sum(x['detected'] for x in r)}/{len(r)} | {np.median([x['log10_p'] for x in r]):.1f} | "
              f"{np.mean([x['agreement'] for x in r]):.3f} | {sum(x['store_detected'] for x in r)}/{len(r)} | "
              f"{np.median([x['store_log10_p'] for x in r]):.1f} |")
    print(f"| unmarked control | - | {sum(c['detected'] for c in control)}/{len(control)} false positives | "
          f"{np.median([c['log10_p'] for c in control]):.1f} | - | "
          f"{sum(c['store_detected'] for c in control)}/{len(control)} false positives | "
          f"{np.median([c['store_log10_p'] for c in control]):.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": label, "rows": rows, "control": control}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
