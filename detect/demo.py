"""``framemark demo``: the main job, end to end, on the built-in model.

1. generate a clip from a prompt: latent + pixel watermark, C2PA-signed, recorded;
2. verify it: trusted, AI-generated;
3. strip its credentials the way a platform does, by re-encoding it;
4. verify the stripped copy: no manifest left;
5. detect the stripped copy: the watermark is found and the manifest is recovered
   from the manifest store (C2PA soft binding), reported as *recovered*.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run_demo", "DEMO_PROMPT"]

DEMO_PROMPT = "a red circle moving from left to right"
GENERATED_NAME = "generated.mp4"
STRIPPED_NAME = "stripped.mp4"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="the main job: generate a signed clip, verify it, strip it, detect and recover it",
        description="Generate a watermarked, C2PA-signed clip with the built-in model, verify it, strip its "
                    "credentials by re-encoding, and show `detect` recovering them through the watermark.")
    p.add_argument("-o", "--output", metavar="DIR", default="framemark-demo", help="output folder")
    p.add_argument("--prompt", default=DEMO_PROMPT, help=f"what to generate (default: {DEMO_PROMPT!r})")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model", metavar="DIR", help="a diffusers text-to-video folder (default: the built-in model)")
    p.add_argument("--keys", metavar="DIR",
                   help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark; an identity is created if none)")
    p.add_argument("--force", action="store_true", help="overwrite earlier demo files")
    p.add_argument("--json", action="store_true", help="print one JSON summary instead of the cards")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    return run_demo(args.output, prompt=args.prompt, seed=args.seed, model=args.model, keys_dir=args.keys,
                    force=args.force, as_json=args.json)


def _say(as_json: bool, text: str = "") -> None:
    if not as_json:
        print(text, flush=True)


def run_demo(out_dir, *, prompt: str = DEMO_PROMPT, seed: int = 7, model=None, keys_dir=None,
             force: bool = False, as_json: bool = False) -> int:
    from provenance.errors import UsageError
    from provenance.fileio import atomic_output, check_output_path
    from provenance.keys import ensure_identity
    from provenance.media import read_clip, write_clip
    from provenance.report import render_card
    from provenance.verify import verify_file

    from .card import render_card as render_detect_card

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    generated, stripped = out_dir / GENERATED_NAME, out_dir / STRIPPED_NAME
    for p in (generated, stripped):
        check_output_path(p, force)  # fail before any work
    identity, created = ensure_identity(keys_dir)
    kd = identity.keys_dir
    if created:
        _say(as_json, f"created a signing identity in {kd}")

    # 1. generate (marks and signs; there is no way to skip either)
    import torch

    from generate.pipeline import generate_clip, load_model

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 8)))
    _say(as_json, f"1. generate  {prompt!r} -> {generated}")
    pipe = load_model(model)
    gen = generate_clip(pipe, prompt, generated, seed=seed, keys_dir=kd, force=force, progress=not as_json)
    _say(as_json, f"   identifier {gen.identifier.hex()}  manifest {gen.manifest_id}")

    # 2. verify the signed clip
    signed_report = verify_file(generated, keys_dir=kd).to_dict()
    _say(as_json, "\n2. verify the generated clip")
    _say(as_json, render_card(signed_report))

    # 3. strip: a plain re-encode, as an upload pipeline would do
    with atomic_output(stripped, force=force) as tmp:
        write_clip(tmp, read_clip(generated), crf=23, preset="medium")
    stripped_report = verify_file(stripped, keys_dir=kd).to_dict()
    _say(as_json, f"\n3. re-encode (H.264 CRF 23) -> {stripped}: C2PA state {stripped_report['state']}")

    # 4. detect the stripped copy: watermark evidence + credentials recovered through it
    from .fuse import detect_file

    detected = detect_file(stripped, keys_dir=kd, model=None, generator=pipe)  # the latent mark of the model used
    _say(as_json, "\n4. detect the stripped clip")
    _say(as_json, render_detect_card(detected))

    recovered = bool(detected.get("recovery", {}).get("recovered"))
    ok = (signed_report["state"] == "trusted" and signed_report["ai_generated"] is True
          and stripped_report["state"] == "absent" and recovered
          and detected["verdict"] in ("ai-generated-watermarked", "ai-generated-signed"))
    if as_json:
        print(json.dumps({"generated": str(generated), "stripped": str(stripped), "keys_dir": str(kd),
                          "identity_created": created, "identifier": gen.identifier.hex(),
                          "manifest_id": gen.manifest_id, "verify_generated": signed_report,
                          "verify_stripped": stripped_report, "detect_stripped": detected, "ok": ok},
                         indent=2, default=str))
    elif not ok:
        print("framemark: demo: the stripped clip was not traced back to its credentials", file=sys.stderr)
    return 0 if ok else 1
