"""A detection-side VAE encoder trained to invert the shipped decoder.

Latent-watermark detection VAE-encodes a clip and runs the sampler backwards. Inverting
the sampled latent itself recovers ~77 % of the noise signs; going through pixels
(decode, then the VAE's own encoder) leaves ~53 %: the encoder was trained on the
world's renders, and the decoder's output for a *sampled* latent is not a render, so
``E(D(z))`` misses ``z`` by just enough for the inversion to amplify it.

This module trains a copy of the encoder, for detection only, to read back the latent a
clip was decoded from: ``E_wm(D(z)) ~ z`` over latents the model produces (the world's
encoded clips jittered off the training manifold, and latents the transformer sampled),
with the distortions uploads go through (H.264, downscaling and back). The generator is
untouched: its decoder, transformer and output are those of the model folder, and so is
the weights hash in every manifest. The encoder ships in the model folder as
``watermark_encoder/encoder.safetensors`` (encoder and quant_conv only, ~4 MB);
:func:`attach` puts it on a loaded pipeline and :func:`detection_vae` picks it.

Train: ``python -m generate.watermark_encoder --run runs/wenc --steps 1500`` (resumable),
then ``--write-to MODEL_DIR``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

from provenance.errors import FramemarkError, InputError, UsageError

__all__ = ["SUBDIR", "attach", "detection_vae", "save", "decode_to_pixels", "train", "main"]

SUBDIR = "watermark_encoder"
WEIGHTS = "encoder.safetensors"
_PREFIXES = ("encoder.", "quant_conv.")


def _encoder_state(vae) -> dict:
    return {k: v.detach().contiguous() for k, v in vae.state_dict().items() if k.startswith(_PREFIXES)}


def attach(pipe, model_dir: str | Path) -> None:
    """Set ``pipe.watermark_encoder`` from ``model_dir`` (None when the folder has none)."""
    path = Path(model_dir) / SUBDIR / WEIGHTS
    pipe.watermark_encoder = None
    if not path.is_file():
        return
    from safetensors.torch import load_file

    state = load_file(str(path))
    vae = copy.deepcopy(pipe.vae)
    missing, unexpected = vae.load_state_dict(state, strict=False)
    if unexpected or any(k.startswith(_PREFIXES) for k in missing):
        raise InputError(f"{path}: not an encoder for this model's VAE")
    pipe.watermark_encoder = vae.eval().requires_grad_(False)


def detection_vae(pipe):
    """The VAE whose encoder latent detection uses: the trained one when the model has it."""
    return getattr(pipe, "watermark_encoder", None) or pipe.vae


def save(vae, model_dir: str | Path, meta: dict | None = None) -> Path:
    """Write ``vae``'s encoder into ``model_dir/watermark_encoder`` (atomically)."""
    from safetensors.torch import save_file

    out = Path(model_dir) / SUBDIR
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (WEIGHTS + ".tmp")
    save_file(_encoder_state(vae), str(tmp))
    tmp.replace(out / WEIGHTS)
    (out / "training.json").write_text(json.dumps(meta or {}, indent=2) + "\n")
    return out / WEIGHTS


# ----------------------------------------------------------------------------- training data

def decode_to_pixels(vae, z_raw):
    """Decode raw latents [B, C, T, h, w] to uint8 [B, T, H, W, 3], as the pipeline outputs them."""
    import torch

    with torch.no_grad():
        x = vae.decode(z_raw).sample
    x = ((x.clamp(-1, 1) + 1.0) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).numpy()


def _distort(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What uploads go through: nothing, an H.264 round trip, or half size and back."""
    kind = rng.choice(["none", "h264", "h264", "resize"])
    if kind == "none":
        return frames
    from provenance.media import Clip

    clip = Clip(frames=frames, fps=8.0)
    if kind == "h264":
        from detect.attacks.codecs import Codec

        return Codec("libx264", crf=int(rng.integers(18, 33))).apply(clip).frames
    from .inversion import _resize

    h, w = frames.shape[1:3]
    return _resize(_resize(frames, w // 2, h // 2), w, h)


def build_pool(pipe, n_world: int, n_sampled: int, seed: int = 0, jitter: float = 0.3, progress=None) -> dict:
    """Pairs (distorted pixels, normalised latent they were decoded from)."""
    import torch

    from . import world
    from .inversion import encode_frames, latent_stats
    from .pipeline import text_inputs

    cfg = pipe.framemark_config
    vae = pipe.vae
    mean, std = latent_stats(vae)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    pixels, latents = [], []
    for i in range(n_world + n_sampled):
        if i < n_world:
            spec = world.random_scene(rng, allow_heldout=True)
            z = encode_frames(pipe, world.render(spec, cfg.num_frames, cfg.height, cfg.width))
            # off the encoder's manifold, as sampled latents are
            z = z + jitter * torch.randn(z.shape, generator=gen)
        else:
            spec = world.random_scene(rng)
            with torch.no_grad():
                z = pipe(**text_inputs(pipe, world.caption(spec, rng), guidance=cfg.guidance),
                         num_frames=cfg.num_frames, height=cfg.height, width=cfg.width,
                         num_inference_steps=cfg.steps, guidance_scale=cfg.guidance, generator=gen,
                         output_type="latent").frames.float()
        frames = decode_to_pixels(vae, z * std + mean)[0]
        pixels.append(_distort(frames, rng))
        latents.append(z[0].half())
        if progress:
            progress(i + 1)
    return {"pixels": torch.from_numpy(np.stack(pixels)), "latents": torch.stack(latents)}


# ----------------------------------------------------------------------------- training

def train(pipe, run: str | Path, steps: int, *, pool_world: int = 240, pool_sampled: int = 40, batch: int = 4,
          crop: int = 64, lr: float = 1e-4, seed: int = 0, log=print) -> object:
    """Train (or resume) the detection encoder in ``run``; returns the trained VAE copy."""
    import torch

    from .inversion import latent_stats

    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    pool_path = run / "pool.pt"
    if pool_path.is_file():
        pool = torch.load(pool_path, weights_only=False)
    else:
        t0 = time.time()
        pool = build_pool(pipe, pool_world, pool_sampled, seed,
                          progress=lambda k: k % 20 == 0 and log(f"pool {k}/{pool_world + pool_sampled} "
                                                                  f"({time.time() - t0:.0f} s)"))
        torch.save(pool, run / "pool.pt.tmp")
        (run / "pool.pt.tmp").replace(pool_path)
    vae = copy.deepcopy(pipe.vae).train()
    params = [p for n, p in vae.named_parameters() if n.startswith(_PREFIXES)]
    for n, p in vae.named_parameters():
        p.requires_grad_(n.startswith(_PREFIXES))
    opt = torch.optim.Adam(params, lr=lr)
    step = 0
    ckpt = run / "encoder.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        vae.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        step = state["step"]
    elif getattr(pipe, "watermark_encoder", None) is not None:
        # the model folder's own detection encoder: trained on a decoder that, for a model
        # whose decoder alone was fine-tuned, differs little from this one
        vae.load_state_dict(_encoder_state(pipe.watermark_encoder), strict=False)
        log("starting from the model folder's detection encoder")
    mean, std = latent_stats(vae)
    f = int(pipe.vae_scale_factor_spatial)
    n, _, H, W, _ = pool["pixels"].shape
    rng = np.random.default_rng([seed, step])
    running = []
    while step < steps:
        idx = rng.integers(0, n, batch)
        y0s = rng.integers(0, (H - crop) // f + 1, batch) * f
        x0s = rng.integers(0, (W - crop) // f + 1, batch) * f
        x = torch.stack([pool["pixels"][i, :, y:y + crop, x_:x_ + crop] for i, y, x_ in zip(idx, y0s, x0s)])
        x = x.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        target = torch.stack([pool["latents"][i, :, :, y // f:(y + crop) // f, x_ // f:(x_ + crop) // f]
                              for i, y, x_ in zip(idx, y0s, x0s)]).float()
        pred = (vae.encode(x).latent_dist.mean - mean) / std
        # the crop's outer latent ring sees padding, not the frame around it: left out
        loss = torch.nn.functional.mse_loss(pred[..., 1:-1, 1:-1], target[..., 1:-1, 1:-1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        running.append(loss.item())
        if step % 25 == 0 or step == steps:
            log(json.dumps({"step": step, "loss": round(float(np.mean(running)), 5)}))
            running = []
        if step % 100 == 0 or step == steps:
            torch.save({"model": _encoder_state(vae), "opt": opt.state_dict(), "step": step}, run / "encoder.pt.tmp")
            (run / "encoder.pt.tmp").replace(ckpt)
    return vae.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generate.watermark_encoder", description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the built-in one)")
    p.add_argument("--run", required=True, help="run folder (pool.pt, encoder.pt)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--pool-world", type=int, default=240, help="world clips in the training pool")
    p.add_argument("--pool-sampled", type=int, default=40, help="clips the transformer samples for the pool")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write-to", help="write the run's encoder into this model folder instead of training")
    a = p.parse_args(argv)
    try:
        import torch

        from .pipeline import load_model

        torch.set_num_threads(a.threads)
        if min(a.steps, a.pool_world + a.pool_sampled) <= 0 or min(a.pool_world, a.pool_sampled) < 0:
            raise UsageError("--steps and the pool must be positive")
        pipe = load_model(a.model)
        if a.write_to:
            ckpt = Path(a.run) / "encoder.pt"
            if not ckpt.is_file():
                raise InputError(f"{a.run}: no trained encoder (encoder.pt)")
            state = torch.load(ckpt, weights_only=False)
            vae = copy.deepcopy(pipe.vae)
            vae.load_state_dict(state["model"], strict=False)
            print(f"written: {save(vae, a.write_to, {'steps': state['step'], 'run': str(a.run)})}")
            return 0
        train(pipe, a.run, a.steps, pool_world=a.pool_world, pool_sampled=a.pool_sampled,
              log=lambda m: print(m, flush=True))
        print("done")
    except FramemarkError as exc:
        print(f"generate.watermark_encoder: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
