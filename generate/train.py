"""Train framemark-tiny-t2v on the procedural world: ``python -m generate.train --run runs/NAME``.

Two stages, both resumable (re-run the same command and it continues):

1. **vae**: the 3D VAE learns to reconstruct random world clips (L1 + MSE + a tiny KL),
   on random 5-frame, 48x48 crops, which is ~25x cheaper than whole clips and, the VAE
   being convolutional and causal, transfers to 17x128x128.
2. **dit**: a pool of world clips is encoded once with the frozen VAE (cached on disk,
   normalised per channel); the transformer learns rectified flow on those latents,
   with a fresh caption phrasing drawn every time a clip is used and 10% of prompts
   dropped to "" for classifier-free guidance. An EMA copy of the weights is exported.

Outputs under the run folder: ``vae.pt``, ``dit.pt`` (weights + optimiser + step),
``cache/`` (latents), ``loss.jsonl`` (one line per logged step), ``export/`` (a
loadable model folder, EMA weights). ``--init-from DIR`` starts from a saved model
folder (e.g. the shipped one), so training can continue from a committed model.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from provenance.errors import InputError, UsageError

__all__ = ["train", "main", "TrainSettings", "export_checkpoint", "run_config", "load_run_vae", "warm_start",
           "encode_world_clips", "latent_cover"]


class TrainSettings:
    """Hyper-parameters; the defaults are the recipe in docs/generator.md."""

    def __init__(self, **kw):
        self.vae_steps = 1200
        self.vae_batch = 4
        self.vae_lr = 2e-4
        self.decoder_steps = 0
        self.vae_crop = 48
        self.vae_frames = 17  # whole clips: a decoder trained on 9 failed past frame 8 (docs/generator.md)
        self.kl_weight = 1e-6
        self.latent_noise = 0.1
        # extra reconstruction weight on object pixels: objects cover a few % of a frame, so
        # an unweighted loss let a decoder that drew the background well turn yellow objects
        # orange (the 4x VAE: 3 of 24 held-out prompts). 0 = the recipe of the shipped VAE
        self.object_weight = 0.0
        # the same for the transformer, on the latent positions an object touches: 0.4.0,
        # trained unweighted, drew blobs of the right colour and motion but not the shape
        # (docs/generator.md), the shape being a few % of a loss spent mostly on textures
        self.dit_object_weight = 0.0
        self.pool = 800
        self.dit_steps = 20000
        self.batch = 16
        self.lr = 3e-4
        self.warmup = 200
        self.ema = 0.999
        self.prompt_dropout = 0.1
        self.checkpoint_every = 250
        self.export_every = 1000
        self.log_every = 10
        self.seed = 0
        for k, v in kw.items():
            if not hasattr(self, k):
                raise UsageError(f"unknown training setting {k!r}")
            setattr(self, k, v)


def _log(run: Path, record: dict) -> None:
    with open(run / "loss.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _render_batch(rng: np.random.Generator, n: int, cfg, frames: int, crop: int | None):
    """Random scenes, random time window and crop: the clips [n, 3, frames, h, w] in [-1, 1]
    and their objects' coverage [n, 1, frames, h, w] in [0, 1]."""
    import torch

    from . import world

    clips, covers = [], []
    for _ in range(n):
        spec = world.random_scene(rng, allow_heldout=True)  # the VAE may see everything
        video, masks = world.render_with_masks(spec, cfg.num_frames, cfg.height, cfg.width)
        cover = masks.max(0)
        t0 = int(rng.integers(0, cfg.num_frames - frames + 1))
        video, cover = video[t0:t0 + frames], cover[t0:t0 + frames]
        if crop:
            # centre the crop near the first object (at the window's middle frame): random crops
            # were mostly background texture and the decoder sat on predicting the mean colour
            t_mid = (t0 + frames // 2) / max(1, cfg.num_frames - 1)
            cx, cy, _, _ = world._trajectory(spec.objects[0], 0, len(spec.objects), t_mid)
            jx, jy = rng.uniform(-0.3, 0.3, size=2) * crop
            x0 = int(np.clip(cx * cfg.width - crop / 2 + jx, 0, cfg.width - crop))
            y0 = int(np.clip(cy * cfg.height - crop / 2 + jy, 0, cfg.height - crop))
            video, cover = video[:, y0:y0 + crop, x0:x0 + crop], cover[:, y0:y0 + crop, x0:x0 + crop]
        clips.append(video)
        covers.append(cover)
    x = torch.from_numpy(np.stack(clips)).float().permute(0, 4, 1, 2, 3) / 127.5 - 1.0
    return x, torch.from_numpy(np.stack(covers))[:, None]


def _train_vae(run: Path, pipe, cfg, s: TrainSettings, progress: bool, decoder_only: bool = False,
               finished: bool = False) -> None:
    """The VAE stage; with ``decoder_only`` the encoder is frozen, so the latent space (and the
    DiT trained on it, and its latent cache) stay valid while reconstructions improve.
    ``finished``: ``pipe.vae`` came from a saved model, so its VAE stage is done."""
    import torch
    from tqdm import tqdm

    ckpt = run / "vae.pt"
    vae = pipe.vae
    key, total = ("decoder_step", s.vae_steps + s.decoder_steps) if decoder_only else ("step", s.vae_steps)
    if decoder_only:
        vae.encoder.requires_grad_(False)
        vae.quant_conv.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.vae_lr, weight_decay=0.0)
    step = s.vae_steps if finished else 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        vae.load_state_dict(state["model"])
        if state.get("opt_key", "step") == key:
            opt.load_state_dict(state["opt"])
        step = state.get(key, state["step"])
    if decoder_only and step < s.vae_steps:
        raise UsageError("the decoder stage continues a finished VAE stage; run the vae stage first")
    if step >= total:
        return
    rng = np.random.default_rng([s.seed, 1, step])  # a resumed run draws fresh clips
    vae.train()
    bar = tqdm(total=total, initial=step, desc=key.split("_")[0] if decoder_only else "vae", disable=not progress,
               mininterval=20, file=sys.stderr)
    frames = min(s.vae_frames, cfg.num_frames)
    crop = s.vae_crop if s.vae_crop and s.vae_crop < min(cfg.height, cfg.width) else None
    t_last = time.time()
    while step < total:
        x, cover = _render_batch(rng, s.vae_batch, cfg, frames, crop)
        weight = 1.0 + s.object_weight * cover  # broadcast over the 3 colour channels
        post = vae.encode(x).latent_dist
        mu = post.mean
        # decode the posterior mean plus a little noise scaled to the latents' own spread.
        # Decoding post.sample() (unit noise at initialisation) buried the signal and the
        # decoder collapsed to the mean colour in a first run; the noise here still teaches
        # the decoder to tolerate the DiT's imprecise latents.
        z = mu + s.latent_noise * mu.detach().std() * torch.randn_like(mu)
        recon = vae.decode(z).sample
        err = recon - x
        l1 = (weight * err.abs()).mean() / weight.mean()
        # L1 alone sat on a plateau (predicting the median colour); the squared term gives the
        # large errors on small bright objects a stronger pull
        mse = (weight * err ** 2).mean() / weight.mean()
        kl = post.kl().mean()
        loss = l1 + mse + s.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        if step % s.log_every == 0 or step == total:
            now = time.time()
            _log(run, {"stage": "decoder" if decoder_only else "vae", "step": step, "loss": loss.item(), "l1": l1.item(), "kl": kl.item(),
                       "sec_per_step": (now - t_last) / s.log_every, "time": now})
            t_last = now
            bar.set_postfix(l1=f"{l1.item():.4f}")
        if step % min(100, s.checkpoint_every) == 0 or step == total:
            state = {"model": vae.state_dict(), "opt": opt.state_dict(), "opt_key": key,
                     "step": s.vae_steps if decoder_only else step}
            if decoder_only:
                state["decoder_step"] = step
            _atomic_save(state, ckpt)
    bar.close()
    vae.eval()


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _vae_fingerprint(vae) -> str:
    """Hash of the encoder side only: the cache stays valid when just the decoder is fine-tuned."""
    from .model import _weights_sha256

    return _weights_sha256([("encoder", vae.encoder), ("quant_conv", vae.quant_conv)])[:16]


def _build_cache(run: Path, pipe, cfg, s: TrainSettings, progress: bool):
    """Encode ``s.pool`` world clips with the frozen VAE, in resumable chunks of 100."""
    import torch
    from tqdm import tqdm

    from . import world

    cache = run / "cache"
    cache.mkdir(exist_ok=True)
    fp = _vae_fingerprint(pipe.vae)
    chunk = 100
    n_chunks = math.ceil(s.pool / chunk)
    vae = pipe.vae.eval()
    bar = tqdm(total=n_chunks * chunk, desc="encode", disable=not progress, mininterval=20, file=sys.stderr)
    mus, specs = [], []
    for c in range(n_chunks):
        path = cache / f"chunk{c:04d}.pt"
        data = torch.load(path, weights_only=False) if path.is_file() else None
        if data is None or data.get("vae") != fp:
            rng = np.random.default_rng([s.seed, 2, c])
            chunk_specs = [world.random_scene(rng) for _ in range(chunk)]
            mu = encode_world_clips(vae, chunk_specs, cfg, batch=10)
            data = {"vae": fp, "mu": mu.half(), "specs": [sp.to_dict() for sp in chunk_specs]}
            _atomic_save(data, path)
        mus.append(data["mu"].float())
        specs.extend(world.spec_from_dict(d) for d in data["specs"])
        bar.update(chunk)
    bar.close()
    mu = torch.cat(mus)
    mean, std = _set_latent_stats(pipe.vae, mu)
    z = (mu - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)
    return z, specs


def encode_world_clips(vae, specs, cfg, batch: int = 8) -> "torch.Tensor":
    """The world's renders of ``specs`` through the VAE's encoder: the raw posterior modes
    [N, C, T', H', W'] (not normalised), ``batch`` clips at a time."""
    import torch

    from . import world

    out = []
    with torch.no_grad():
        for i in range(0, len(specs), batch):
            video = np.stack([world.render(sp, cfg.num_frames, cfg.height, cfg.width) for sp in specs[i:i + batch]])
            x = torch.from_numpy(video).float().permute(0, 4, 1, 2, 3) / 127.5 - 1.0
            out.append(vae.encode(x).latent_dist.mode())
    return torch.cat(out)


def latent_cover(specs, cfg, factors: tuple[int, int]) -> "torch.Tensor":
    """Where the objects are, at latent resolution: [N, 1, T', H', W'] in {0, 1}.

    A latent position counts when any pixel of its 4x4 (or 8x8) cell, in any frame its
    latent frame encodes, is covered: the causal VAE's latent frame 0 holds frame 0 and
    latent frame j frames 4j-3 .. 4j. Max rather than mean, so that the outline, where the
    shape is, weighs as much as the inside."""
    import torch

    from . import world

    ft, fs = factors
    out = []
    for spec in specs:
        cover = world.object_masks(spec, cfg.num_frames, cfg.height, cfg.width).max(0)
        groups = [cover[:1]] + [cover[1 + ft * j:1 + ft * (j + 1)] for j in range((cfg.num_frames - 1) // ft)]
        t = np.stack([g.max(0) for g in groups])
        t = t.reshape(len(groups), cfg.height // fs, fs, cfg.width // fs, fs).max(axis=(2, 4))
        out.append((t > 0.05).astype(np.float32))
    return torch.from_numpy(np.stack(out))[:, None]


def _set_latent_stats(vae, mu):
    """Per-channel statistics: the DiT works on (z - mean) / std, and WanPipeline undoes it
    from the VAE config before decoding. Taken from the first 800 clips only, so that
    growing --pool in a later session does not shift the space the DiT already learned."""
    ref = mu[:800]
    mean = ref.mean(dim=(0, 2, 3, 4))
    std = ref.std(dim=(0, 2, 3, 4))
    vae.register_to_config(latents_mean=[float(v) for v in mean], latents_std=[float(v) for v in std])
    return mean, std


def warm_start(model, model_dir: str | Path) -> tuple[int, list[str]]:
    """Copy into ``model`` every transformer tensor of the model folder ``model_dir`` whose
    name and shape match; returns (tensors copied, names left at their initialisation).

    Why: a transformer for another latent space (the 4x VAE read in 4 x 4 patches) sees the
    same token grid as the shipped one; only the patch embedding and the output projection
    change shape. What the blocks learned (which token the prompt's object occupies, how
    it moves over time) is then a start, not thrown away."""
    import torch
    from safetensors.torch import load_file

    files = sorted((Path(model_dir) / "transformer").glob("*.safetensors"))
    if not files:
        raise InputError(f"{model_dir}: no transformer weights to start from")
    source: dict = {}
    for f in files:
        source.update(load_file(str(f)))
    own = model.state_dict()
    take = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    with torch.no_grad():
        model.load_state_dict(take, strict=False)
    return len(take), sorted(k for k in own if k not in take)


def _train_dit(run: Path, pipe, cfg, s: TrainSettings, progress: bool, dit_init_from=None) -> None:
    import torch
    from tqdm import tqdm

    from . import world
    from .model import encode_prompts, save_pipeline

    z, specs = _build_cache(run, pipe, cfg, s, progress)
    cover = None
    if s.dit_object_weight:
        cover = latent_cover(specs, cfg, (pipe.vae.config.scale_factor_temporal, pipe.vae.config.scale_factor_spatial))
    model = pipe.transformer
    ckpt = run / "dit.pt"
    if dit_init_from is not None and not ckpt.is_file():
        copied, fresh = warm_start(model, dit_init_from)
        _log(run, {"stage": "warm_start", "from": str(dit_init_from), "copied": copied, "fresh": fresh})
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=0.01, betas=(0.9, 0.99))
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    if step >= s.dit_steps:
        return
    rng = np.random.default_rng([s.seed, 3, step])
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    shift = cfg.scheduler_shift
    empty = encode_prompts([""], cfg.max_sequence_length)
    model.train()
    bar = tqdm(total=s.dit_steps, initial=step, desc="dit", disable=not progress, mininterval=30, file=sys.stderr)
    t_last, running = time.time(), []
    while step < s.dit_steps:
        idx = rng.integers(0, len(specs), size=s.batch)
        x0 = z[torch.from_numpy(idx)]
        prompts = [world.caption(specs[i], rng) for i in idx]
        emb = encode_prompts(prompts, cfg.max_sequence_length)
        drop = torch.from_numpy(rng.random(s.batch) < s.prompt_dropout)
        emb[drop] = empty
        # sigma drawn like the sampler's shifted schedule: more weight on high noise, where
        # layout and motion are decided
        u = torch.rand(s.batch, generator=gen)
        sigma = shift * u / (1 + (shift - 1) * u)
        noise = torch.randn(x0.shape, generator=gen)
        sv = sigma.view(-1, 1, 1, 1, 1)
        xt = (1 - sv) * x0 + sv * noise
        pred = model(hidden_states=xt, timestep=sigma * 1000, encoder_hidden_states=emb, return_dict=False)[0]
        err = (pred.float() - (noise - x0).float()) ** 2
        if cover is not None:
            weight = 1.0 + s.dit_object_weight * cover[torch.from_numpy(idx)]
            loss = (err * weight).sum() / (weight.expand_as(err).sum())
        else:
            loss = err.mean()
        lr = s.lr * min(1.0, (step + 1) / s.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(s.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        step += 1
        running.append(loss.item())
        bar.update(1)
        if step % s.log_every == 0:
            now = time.time()
            _log(run, {"stage": "dit", "step": step, "loss": float(np.mean(running)), "lr": lr,
                       "sec_per_step": (now - t_last) / s.log_every, "time": now})
            bar.set_postfix(loss=f"{np.mean(running):.4f}")
            t_last, running = now, []
        if step % s.checkpoint_every == 0 or step == s.dit_steps:
            _atomic_save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                          "step": step}, ckpt)
        if step % s.export_every == 0 or step == s.dit_steps:
            _export(run, pipe, ema, cfg, step)
    bar.close()


def run_config(run: str | Path):
    """The :class:`~generate.model.ModelConfig` a run was started with (its ``config.json``)."""
    from .model import ModelConfig

    return ModelConfig.from_dict(json.loads((Path(run) / "config.json").read_text())["model"])


def load_run_vae(run: str | Path, vae) -> int:
    """Load a run's trained VAE weights (``vae.pt``) into ``vae``; returns the steps they had."""
    import torch

    state = torch.load(Path(run) / "vae.pt", map_location="cpu", weights_only=False)
    vae.load_state_dict(state["model"])
    return state.get("step", -1)


def export_checkpoint(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Turn a run's latest checkpoints (vae.pt, cache statistics, dit.pt EMA) into a model folder.

    Used to ship weights between the periodic exports, without stopping training."""
    import torch

    from .model import build_pipeline

    run = Path(run_dir)
    if not (run / "config.json").is_file():
        raise InputError(f"{run}: no config.json (not a training run)")
    init = json.loads((run / "config.json").read_text()).get("init_from")
    if not (run / "dit.pt").is_file():
        if init and (run / "vae.pt").is_file():
            return _export_decoder_run(run, init, out_dir)
        raise InputError(f"{run}: no dit.pt (has the DiT stage started?)")
    cfg = run_config(run)
    pipe = build_pipeline(cfg, with_text_encoder=False)
    if (run / "vae.pt").is_file():
        load_run_vae(run, pipe.vae)
    elif init:
        from .model import load_pipeline

        pipe.vae.load_state_dict(load_pipeline(init).vae.state_dict())
    chunks = sorted((run / "cache").glob("chunk*.pt"))
    if not chunks:
        raise InputError(f"{run}: no latent cache")
    mu = torch.cat([torch.load(c, weights_only=False)["mu"].float() for c in chunks])
    _set_latent_stats(pipe.vae, mu)
    state = torch.load(run / "dit.pt", map_location="cpu", weights_only=False)
    pipe.transformer.load_state_dict(state["ema"])
    return _export_to(run, pipe, cfg, state["step"], out_dir)


def _export_to(run: Path, pipe, cfg, step: int, out_dir: str | Path) -> Path:
    """Write ``pipe`` as a model folder at ``out_dir`` (replaced), built beside the run first."""
    import shutil

    tmp_run = run / "export-ckpt.tmp"
    shutil.rmtree(tmp_run, ignore_errors=True)
    tmp_run.mkdir()
    _export(tmp_run, pipe, pipe.transformer, cfg, step)
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (tmp_run / "export").rename(out)
    shutil.rmtree(tmp_run, ignore_errors=True)
    return out


def _export_decoder_run(run: Path, init_from: str, out_dir: str | Path) -> Path:
    """A decoder stage run on a saved model (``--init-from``, no transformer stage): that
    model with the run's decoder. Its latent space is the model's own (the encoder was
    frozen), so its transformer and latent statistics stay as they are."""
    from .model import load_pipeline

    pipe = load_pipeline(init_from)
    load_run_vae(run, pipe.vae)
    meta = json.loads((Path(init_from) / "framemark.json").read_text())
    return _export_to(run, pipe, pipe.framemark_config, meta.get("trained_steps", -1), out_dir)


def _export(run: Path, pipe, ema, cfg, step: int) -> None:
    """Write a loadable model folder with the EMA transformer (run/export), atomically by rename."""
    import shutil

    from diffusers import WanPipeline

    from .model import save_pipeline

    tmp = run / "export.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    bare = WanPipeline(tokenizer=None, text_encoder=None, vae=pipe.vae, transformer=ema, scheduler=pipe.scheduler)
    save_pipeline(bare, tmp, cfg)
    meta = json.loads((tmp / "framemark.json").read_text())
    meta["trained_steps"] = step
    (tmp / "framemark.json").write_text(json.dumps(meta, indent=2) + "\n")
    final = run / "export"
    old = run / "export.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _recorded_init_from(run: Path) -> str | None:
    """The model folder a run was started from, as its config.json recorded it."""
    try:
        recorded = json.loads((run / "config.json").read_text()).get("init_from")
    except (OSError, ValueError, AttributeError):
        return None
    if recorded and not (Path(recorded) / "model_index.json").is_file():
        raise InputError(f"{run} was started from {recorded}, which is not a model folder any more; pass --init-from")
    return recorded or None


def train(run_dir: str | Path, config=None, stages: tuple[str, ...] = ("vae", "dit"), settings: TrainSettings | None = None,
          init_from: str | Path | None = None, threads: int = 2, progress: bool = True,
          dit_init_from: str | Path | None = None) -> Path:
    """Run (or resume) training in ``run_dir``; returns the export folder path.
    ``dit_init_from``: a model folder whose matching transformer tensors start the
    transformer stage (:func:`warm_start`; only when the run has no transformer checkpoint)."""
    import torch

    from .model import DEFAULT_CONFIG, build_pipeline, load_pipeline

    s = settings or TrainSettings()
    for st in stages:
        if st not in ("vae", "decoder", "dit"):
            raise UsageError(f"unknown stage {st!r} (vae, decoder, dit)")
    torch.set_num_threads(threads)
    torch.manual_seed(s.seed)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    if init_from is None:
        # resuming a run that started from a model folder: start from it again (a fresh,
        # random VAE here would silently re-encode the latent cache with noise)
        init_from = _recorded_init_from(run)
    if init_from is not None:
        if not (Path(init_from) / "model_index.json").is_file():
            raise InputError(f"{init_from}: not a model folder")
        pipe = load_pipeline(init_from)
        cfg = pipe.framemark_config
        # a loaded model's VAE is final: do not retrain it
        stages = tuple(st for st in stages if st != "vae")
    else:
        cfg = config or DEFAULT_CONFIG
        pipe = build_pipeline(cfg, with_text_encoder=False)
    (run / "config.json").write_text(json.dumps({"model": cfg.to_dict(), "settings": vars(s),
                                                 "init_from": str(init_from) if init_from else None,
                                                 "dit_init_from": str(dit_init_from) if dit_init_from else None},
                                                indent=2))
    if "vae" in stages:
        _train_vae(run, pipe, cfg, s, progress)
    if "decoder" in stages:
        _train_vae(run, pipe, cfg, s, progress, decoder_only=True, finished=init_from is not None)
    if "vae" not in stages and "decoder" not in stages and init_from is None and (run / "vae.pt").is_file():
        load_run_vae(run, pipe.vae)
    pipe.vae.eval().requires_grad_(False)
    if "dit" in stages and "vae" not in stages and init_from is None and not (run / "vae.pt").is_file():
        raise UsageError(f"{run}: no trained VAE to train the transformer on (run the vae stage, or pass --init-from)")
    if "dit" in stages:
        _train_dit(run, pipe, cfg, s, progress, dit_init_from)
    return run / "export"


def run_from_args(a) -> str:
    """Carry out parsed training options; returns the line to print. Raises FramemarkError."""
    from .model import DEFAULT_CONFIG, FINE_CONFIG, TINY_CONFIG

    if a.export_to:
        return f"exported: {export_checkpoint(a.run, a.export_to)}"
    kw = {k: v for k, v in dict(vae_steps=a.vae_steps, dit_steps=a.dit_steps, decoder_steps=a.decoder_steps,
                                pool=a.pool, batch=a.batch, lr=a.lr, export_every=a.export_every,
                                vae_frames=a.vae_frames).items()
          if v is not None}
    for k, v in kw.items():
        if v <= 0:
            raise UsageError(f"--{k.replace('_', '-')} must be positive, got {v}")
    if a.object_weight is not None:
        if a.object_weight < 0:
            raise UsageError(f"--object-weight must be 0 or more, got {a.object_weight}")
        kw["object_weight"] = a.object_weight
    if a.dit_object_weight is not None:
        if a.dit_object_weight < 0:
            raise UsageError(f"--dit-object-weight must be 0 or more, got {a.dit_object_weight}")
        kw["dit_object_weight"] = a.dit_object_weight
    stages = ("vae", "dit") if a.stage == "all" else (a.stage,)
    out = train(a.run, {"tiny": TINY_CONFIG, "fine": FINE_CONFIG}.get(a.config, DEFAULT_CONFIG), stages, TrainSettings(**kw),
                init_from=a.init_from, threads=a.threads, progress=not a.no_progress,
                dit_init_from=a.dit_init_from)
    if not (out / "model_index.json").is_file():  # a VAE or decoder stage alone exports nothing
        return f"done; VAE checkpoint: {Path(a.run) / 'vae.pt'} (the transformer stage writes the model folder)"
    return f"done; model folder: {out}"


def main(argv: list[str] | None = None) -> int:
    from provenance.errors import FramemarkError

    from .commands import add_train_arguments

    p = argparse.ArgumentParser(prog="python -m generate.train", description=__doc__.splitlines()[0])
    add_train_arguments(p)
    try:
        print(run_from_args(p.parse_args(argv)))
    except FramemarkError as exc:
        print(f"generate.train: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
