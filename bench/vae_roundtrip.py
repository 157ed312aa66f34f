"""The ceiling a VAE puts on the generator: the world's own renders of the held-out prompts,
encoded and decoded by the VAE alone (posterior mean, no diffusion), then scored by the
analyser as generated clips are. A shape the decoder cannot draw back from a perfect latent
is a shape no transformer trained on that latent space can produce.

    nice -n 10 .venv/bin/python -m bench.vae_roundtrip --vae generate/weights/framemark-tiny-t2v --vae runs/v4

``--vae`` takes a model folder (its ``vae/``) or a training run folder (its ``vae.pt`` and
``config.json``); several may be given and are measured on the same renders.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def load_vae(path: str | Path):
    """The VAE of a model folder or of a training run (eval mode, no gradients)."""
    from diffusers import AutoencoderKLWan

    from generate.train import load_run_vae, run_config
    from provenance.errors import InputError

    path = Path(path)
    if (path / "vae" / "config.json").is_file():
        vae = AutoencoderKLWan.from_pretrained(str(path), subfolder="vae", local_files_only=True)
    elif (path / "vae.pt").is_file() and (path / "config.json").is_file():
        vae = AutoencoderKLWan(**run_config(path).vae)
        load_run_vae(path, vae)
    else:
        raise InputError(f"{path}: neither a model folder (vae/) nor a training run (vae.pt, config.json)")
    return vae.eval().requires_grad_(False)


def roundtrip(vae, video: np.ndarray) -> np.ndarray:
    """[T, H, W, 3] uint8 through encode (posterior mean) and decode, back to uint8 as the
    pipeline outputs frames."""
    import torch

    from generate.watermark_encoder import decode_to_pixels

    x = torch.from_numpy(video).float().permute(3, 0, 1, 2)[None] / 127.5 - 1.0
    with torch.no_grad():
        z = vae.encode(x).latent_dist.mean
    return decode_to_pixels(vae, z)[0, : len(video)]


def measure(vae_path: str, n: int) -> dict:
    from generate import world
    from generate.analyser import score_clip, summarise

    vae = load_vae(vae_path)
    prompts = world.heldout_prompts(n)
    scores, err = [], []
    for p in prompts:
        video = world.render(p.spec, 17, 128, 128)
        back = roundtrip(vae, video)
        err.append(float(np.abs(back.astype(np.float32) - video).mean()))
        s = score_clip(back, p.spec)
        s.update(prompt=p.prompt, kind=p.kind)
        scores.append(s)
    summary = summarise(scores)
    return {"vae": str(vae_path), "n": n, "mean_abs_error_levels": round(float(np.mean(err)), 2),
            "colour": summary["colour"]["rate"], "shape": summary["shape"]["rate"],
            "motion": summary["motion"]["rate"], "found": summary["found"],
            "shapes_missed": sorted(f"{s['want']['shape']}->{s['shape']}" for s in scores if not s["shape_ok"]),
            "colours_missed": sorted(f"{s['want']['colour']}->{s['colour']}" for s in scores if not s["colour_ok"])}


def main(argv: list[str] | None = None) -> int:
    from provenance.errors import FramemarkError

    ap = argparse.ArgumentParser(prog="python -m bench.vae_roundtrip", description=__doc__.splitlines()[0])
    ap.add_argument("--vae", action="append", required=True, help="model folder or training run (repeatable)")
    ap.add_argument("-n", type=int, default=24, help="held-out prompts (default 24)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--force", action="store_true", help="overwrite --json")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    try:
        if a.json:  # before minutes of work, not after them
            from provenance.fileio import check_output_path

            check_output_path(a.json, a.force)
        rows = [measure(v, a.n) for v in a.vae]
    except FramemarkError as exc:
        print(f"vae_roundtrip: error: {exc}", file=sys.stderr)
        return 2
    print("| VAE | colour | shape | motion | mean abs error (levels) | colours missed | shapes missed |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['vae']} | {r['colour']:.0%} | {r['shape']:.0%} | {r['motion']:.0%} | "
              f"{r['mean_abs_error_levels']} | {', '.join(r['colours_missed']) or '-'} | "
              f"{', '.join(r['shapes_missed']) or '-'} |")
    if a.json:
        from provenance.fileio import atomic_output

        with atomic_output(Path(a.json), force=a.force) as tmp:
            Path(tmp).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
