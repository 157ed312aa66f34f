"""``framemark generate`` and ``framemark train-generator``.

Nothing heavy at module level: torch and diffusers load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from provenance.errors import UsageError

__all__ = ["register", "parse_size"]


def parse_size(text: str) -> tuple[int, int]:
    """``"128x96"`` -> (128, 96); UsageError for anything else."""
    m = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text or "")
    if not m:
        raise UsageError(f"--size must look like WIDTHxHEIGHT (e.g. 128x128), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="generate a watermarked (latent + pixel), C2PA-signed video from a prompt",
        description="Generate a clip with the built-in model (or any local diffusers text-to-video pipeline "
                    "folder), mark it with the latent and pixel watermarks, sign a C2PA manifest and record it. "
                    "Marking cannot be turned off.")
    p.add_argument("prompt", help="what to generate")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, help="frame count (1+4k; others are rounded)")
    p.add_argument("--steps", type=int, help="sampling steps")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (1 = off)")
    p.add_argument("--size", help="WIDTHxHEIGHT, multiples of the VAE factor")
    p.add_argument("--model", help="model folder (default: the built-in framemark-tiny-t2v)")
    p.add_argument("--keys", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    p.add_argument("--force", action="store_true", help="overwrite the output")
    p.add_argument("--no-prompt-in-manifest", action="store_true", help="keep the prompt out of the manifest")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_generate)

    t = subparsers.add_parser(
        "train-generator", help="train (or resume training) the built-in text-to-video model",
        description="Train framemark-tiny-t2v on the procedural world; re-run the same command to resume.")
    add_train_arguments(t)
    t.set_defaults(func=_train)


def add_train_arguments(p) -> None:
    """The training options, shared by ``python -m generate.train`` and ``framemark train-generator``
    (here, not in generate.train, so that building the CLI imports neither numpy nor torch)."""
    p.add_argument("--run", required=True, help="run folder (checkpoints, cache, loss.jsonl, export/)")
    p.add_argument("--stage", choices=["vae", "decoder", "dit", "all"], default="all",
                   help="all = vae then dit; decoder = fine-tune only the VAE decoder (--decoder-steps more steps)")
    p.add_argument("--config", choices=["default", "fine", "tiny"], default="default",
                   help="fine: the 4x-spatial VAE candidate (generate.model.FINE_CONFIG)")
    p.add_argument("--init-from", help="start from a saved model folder (skips the VAE stage)")
    p.add_argument("--dit-init-from", help="start the transformer from a model folder's matching tensors "
                                           "(e.g. the shipped model's blocks under --config fine)")
    p.add_argument("--vae-steps", type=int)
    p.add_argument("--dit-steps", type=int)
    p.add_argument("--decoder-steps", type=int)
    p.add_argument("--vae-frames", type=int,
                   help="VAE stages: frames a training clip (default 17, the whole clip; the shipped VAEs had 9, "
                        "see docs/generator.md)")
    p.add_argument("--object-weight", type=float,
                   help="VAE stages: extra reconstruction weight on object pixels (default 0)")
    p.add_argument("--dit-object-weight", type=float,
                   help="transformer stage: extra loss weight on the latent positions an object touches (default 0)")
    p.add_argument("--pool", type=int, help="number of clips in the latent cache")
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--export-every", type=int)
    # on a shared 2-core machine, 1 thread was 10x faster than 2 (no OpenMP spin-waiting
    # against other engineers' processes); use 2 only when the machine is yours
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export-to", help="only write the run's latest checkpoint as a model folder here")


def _generate(args: argparse.Namespace) -> int:
    from provenance.fileio import check_output_path

    # cheap checks before loading torch and the model
    check_output_path(args.output, args.force)
    if not args.prompt.strip():
        raise UsageError("the prompt is empty")
    size = parse_size(args.size) if args.size is not None else None

    import torch

    from .pipeline import check_inputs, generate_clip, load_model

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 8)))
    pipe = load_model(args.model)
    settings = check_inputs(pipe, args.prompt, seed=args.seed, frames=args.frames, steps=args.steps,
                            guidance=args.guidance, size=size)
    for note in settings.notes:
        print(f"framemark: warning: {note}", file=sys.stderr)
    result = generate_clip(pipe, args.prompt, args.output, seed=args.seed, frames=args.frames, steps=args.steps,
                           guidance=args.guidance, size=size, keys_dir=args.keys, force=args.force,
                           prompt_in_manifest=not args.no_prompt_in_manifest, progress=not args.no_progress)
    s = result.settings
    summary = {
        "output": str(result.path), "identifier": result.identifier.hex(), "manifest_id": result.manifest_id,
        "model": {k: result.model[k] for k in ("name", "version", "weights_sha256")},
        "frames": s.frames, "size": f"{s.width}x{s.height}", "fps": s.fps, "seed": s.seed, "steps": s.steps,
        "guidance": s.guidance, "watermarks": ["org.framemark.latent.1", "org.framemark.video.1"],
        "seconds": {k: round(v, 3) for k, v in result.timings.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{result.path}: {s.frames} frames {s.width}x{s.height} @ {s.fps:g} fps, seed {s.seed}, "
              f"{s.steps} steps, guidance {s.guidance:g}")
        print(f"  model       {summary['model']['name']} {summary['model']['version']}")
        print(f"  identifier  {summary['identifier']} (latent + pixel watermark)")
        print(f"  manifest    {result.manifest_id} (signed, recorded in the manifest store)")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .train import run_from_args

    print(run_from_args(args))
    return 0
