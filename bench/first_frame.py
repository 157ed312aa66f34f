"""Why a generated clip's first frames look worse than the rest: per latent frame, how far the
sampled latents spread against the VAE's own latents of world clips, and how much the decoder
turns a fixed latent error into pixel error.

The causal VAE encodes frame 0 alone into latent frame 0 and frames 4j-3 .. 4j into latent
frame j. One per-channel normalisation (the VAE config's ``latents_mean`` / ``latents_std``)
serves all latent frames, so latent frame 0, whose values spread less, is where the same
transformer error weighs most.

    nice -n 10 .venv/bin/python -m bench.first_frame [--model DIR] [--clips 16] [--json out.json]
"""

from __future__ import annotations

import sys

import numpy as np

#: the latent perturbation (normalised units) whose pixel effect is measured
PERTURBATION = 0.3


def _spread(z) -> list[float]:
    """Per latent frame: the standard deviation over clips and positions, averaged over channels."""
    return [float(z[:, :, t].std(dim=(0, 2, 3)).mean()) for t in range(z.shape[2])]


def measure(model_dir=None, clips: int = 16, seed: int = 0, threads: int = 2) -> dict:
    import torch

    from generate import world
    from generate.inversion import latent_stats
    from generate.model import load_pipeline, model_info
    from generate.train import encode_world_clips

    torch.set_num_threads(threads)
    pipe = load_pipeline(model_dir)
    cfg = pipe.framemark_config
    vae = pipe.vae.eval()
    rng = np.random.default_rng([seed, 9])
    specs = [world.random_scene(rng) for _ in range(clips)]
    mean, std = latent_stats(vae)
    z = (encode_world_clips(vae, specs, cfg) - mean) / std
    generated = {}
    captions = [world.caption(sp, rng) for sp in specs]
    for guidance in (cfg.guidance, 1.0):
        gens = [torch.Generator().manual_seed(seed + i) for i in range(clips)]
        lat = pipe(prompt=captions, height=cfg.height, width=cfg.width, num_frames=cfg.num_frames,
                   num_inference_steps=cfg.steps, guidance_scale=guidance, max_sequence_length=cfg.max_sequence_length,
                   generator=gens, output_type="latent").frames
        generated[guidance] = _spread(lat)
    ft = vae.config.scale_factor_temporal
    frames_of = [[0]] + [list(range(1 + ft * (j - 1), 1 + ft * j)) for j in range(1, z.shape[2])]
    noise = torch.Generator().manual_seed(seed)
    sensitivity = []
    with torch.no_grad():
        base = vae.decode(z * std + mean).sample
        for t in range(z.shape[2]):
            zp = z.clone()
            zp[:, :, t] += PERTURBATION * torch.randn(zp[:, :, t].shape, generator=noise)
            change = (vae.decode(zp * std + mean).sample - base).abs() * 127.5  # levels of 0..255
            sensitivity.append(float(change[:, :, frames_of[t]].mean()))
    data_spread = _spread(z)
    rows = [{"latent_frame": t, "video_frames": f"{frames_of[t][0]}-{frames_of[t][-1]}" if len(frames_of[t]) > 1
             else str(frames_of[t][0]), "data_spread": data_spread[t],
             "generated_spread": generated[cfg.guidance][t], "generated_spread_no_guidance": generated[1.0][t],
             "pixel_change_levels": sensitivity[t]} for t in range(z.shape[2])]
    return {"model": model_info(pipe), "clips": clips, "seed": seed, "guidance": cfg.guidance,
            "perturbation": PERTURBATION, "rows": rows}


def table(report: dict) -> str:
    g = report["guidance"]
    out = [f"| latent frame | video frames | spread: world clips | sampled, guidance {g:g} | sampled, no guidance | "
           f"decoded change from a {report['perturbation']:g} latent error (levels) |",
           "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        out.append(f"| {r['latent_frame']} | {r['video_frames']} | {r['data_spread']:.2f} | {r['generated_spread']:.2f} | "
                   f"{r['generated_spread_no_guidance']:.2f} | {r['pixel_change_levels']:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from bench.model_report import run

    return run("bench.first_frame", __doc__, 16, lambda a: measure(a.model, a.clips, a.seed), table, argv)


if __name__ == "__main__":
    sys.exit(main())
