"""Recover a clip's initial noise: VAE-encode it, then run the sampler backwards.

The inverse samplers are diffusers schedulers, so inversion runs *through the pipeline's
own ``__call__``* with ``latents=`` set to the clean latent and the scheduler swapped:
whatever a pipeline does around its transformer (CFG plumbing, RoPE, packing, timestep
scaling) is reused as it is, and one code path serves every family.

- :class:`FlowMatchEulerInverseScheduler`: flow matching (Wan, LTX, HunyuanVideo, ...).
  The forward Euler step is ``x <- x + (sigma_next - sigma) * v(x, sigma)``; walking the
  same sigma list backwards (0 -> 1) with the same update is its inversion.
- :func:`ddim_inverse_scheduler`: DDIM-family schedulers (CogVideoX, classic DDIM), epsilon
  or v prediction, using the forward scheduler's own ``alphas_cumprod``.

Detection does not know the prompt, so it inverts with the empty prompt and no CFG.
"""

from __future__ import annotations

import numpy as np

from provenance.errors import UsageError

__all__ = ["FlowMatchEulerInverseScheduler", "ddim_inverse_scheduler", "inverse_scheduler_for",
           "latent_stats", "encode_frames", "invert_latents", "recover_noise", "latent_layout"]


def _flow_match_inverse_class():
    from diffusers import FlowMatchEulerDiscreteScheduler

    class FlowMatchEulerInverseScheduler(FlowMatchEulerDiscreteScheduler):
        """The forward scheduler's sigmas, reversed: timesteps go from clean (0) to noise."""

        def set_timesteps(self, *args, **kwargs):
            super().set_timesteps(*args, **kwargs)
            rev = self.sigmas.flip(0)                     # [0, s_{N-1}, ..., s_0]
            self.sigmas = rev
            self.timesteps = rev[:-1] * self.config.num_train_timesteps
            self._inv_index = 0

        def step(self, model_output, timestep, sample, return_dict=True, **kwargs):
            i = self._inv_index
            prev = sample.float() + (self.sigmas[i + 1] - self.sigmas[i]) * model_output.float()
            self._inv_index += 1
            prev = prev.to(model_output.dtype)
            return (prev,) if not return_dict else type("Out", (), {"prev_sample": prev})()

    return FlowMatchEulerInverseScheduler


def __getattr__(name):  # lazy class: importing this module must not import diffusers
    if name == "FlowMatchEulerInverseScheduler":
        return _flow_match_inverse_class()
    raise AttributeError(name)


def ddim_inverse_scheduler(forward):
    """An inverse of a DDIM-style scheduler (``alphas_cumprod`` + epsilon/v prediction),
    as a subclass of the forward class, so pipelines that check the type still work."""
    import torch

    base = type(forward)

    class _Inverse(base):
        def set_timesteps(self, *args, **kwargs):
            super().set_timesteps(*args, **kwargs)
            fwd = self.timesteps.clone()                    # descending t_0 > ... > t_{N-1}
            self.timesteps = fwd.flip(0)                    # ascending
            # noise level each inverse step starts from: the clean end, then the previous t
            start = [None] + [int(t) for t in self.timesteps[:-1]]
            self._inv_levels = list(zip(start, [int(t) for t in self.timesteps]))
            self._inv_index = 0

        def _alpha(self, t):
            return self.final_alpha_cumprod if t is None else self.alphas_cumprod[t]

        def step(self, model_output, timestep, sample, *args, return_dict=True, **kwargs):
            cur, nxt = self._inv_levels[self._inv_index]
            self._inv_index += 1
            a, a_next = self._alpha(cur), self._alpha(nxt)
            x, out = sample.float(), model_output.float()
            if self.config.prediction_type == "v_prediction":
                x0 = a.sqrt() * x - (1 - a).sqrt() * out
                eps = a.sqrt() * out + (1 - a).sqrt() * x
            elif self.config.prediction_type == "epsilon":
                x0 = (x - (1 - a).sqrt() * out) / a.sqrt()
                eps = out
            else:
                raise UsageError(f"DDIM inversion does not support prediction_type {self.config.prediction_type!r}")
            prev = (a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps).to(model_output.dtype)
            if not return_dict:
                return (prev,) if base.__name__ != "CogVideoXDPMScheduler" else (prev, x0)
            return type("Out", (), {"prev_sample": prev, "pred_original_sample": x0})()

    _Inverse.__name__ = f"Inverse{base.__name__}"
    inv = _Inverse.from_config(forward.config)
    inv.final_alpha_cumprod = torch.as_tensor(getattr(forward, "final_alpha_cumprod", inv.alphas_cumprod[0]))
    return inv


def inverse_scheduler_for(pipe):
    """The inverse of ``pipe.scheduler``; UsageError when we have none for its kind."""
    sched = pipe.scheduler
    names = {c.__name__ for c in type(sched).__mro__}
    if "FlowMatchEulerDiscreteScheduler" in names:
        return _flow_match_inverse_class().from_config(sched.config)
    if hasattr(sched, "alphas_cumprod") and getattr(sched.config, "prediction_type", None) in ("epsilon", "v_prediction"):
        return ddim_inverse_scheduler(sched)
    raise UsageError(f"no sampler inversion for {type(sched).__name__}: latent-watermark detection needs a "
                     "flow-matching or DDIM-family scheduler")


# ----------------------------------------------------------------------------- VAE side

def latent_layout(pipe) -> dict:
    """How a pipeline family lays out its latents: the time axis and the VAE factors."""
    vae = type(pipe.vae).__name__
    if vae == "AutoencoderKLWan":
        return {"family": "wan", "time_axis": 2, "temporal_factor": int(pipe.vae_scale_factor_temporal),
                "spatial_factor": int(pipe.vae_scale_factor_spatial)}
    if vae == "AutoencoderKLCogVideoX":
        return {"family": "cogvideox", "time_axis": 1, "temporal_factor": int(pipe.vae_scale_factor_temporal),
                "spatial_factor": int(pipe.vae_scale_factor_spatial)}
    raise UsageError(f"latent-watermark detection does not know the latent layout of {vae} yet "
                     "(supported: AutoencoderKLWan, AutoencoderKLCogVideoX)")


def latent_stats(vae):
    """A Wan VAE's per-channel latent mean and std, shaped [1, C, 1, 1, 1]: WanPipeline
    decodes ``latents * std + mean``, so a raw VAE latent ``z`` normalises as ``(z - mean) / std``."""
    import torch

    return (torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1),
            torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1))


def encode_frames(pipe, frames: np.ndarray):
    """uint8 [T, H, W, 3] -> the latent the pipeline samples in (normalised, its layout).

    Uses the posterior mean, not a sample: detection wants the deterministic estimate;
    and the model's detection encoder when it ships one (:mod:`.watermark_encoder`).
    """
    import torch

    from .watermark_encoder import detection_vae

    layout = latent_layout(pipe)
    vae = detection_vae(pipe)
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div(127.5).sub(1.0)
    x = x.permute(3, 0, 1, 2).unsqueeze(0).to(vae.dtype)          # [1, 3, T, H, W]
    with torch.no_grad():
        mean = vae.encode(x).latent_dist.mean.float()
    cfg = pipe.vae.config
    if layout["family"] == "wan":
        m, s = latent_stats(pipe.vae)
        return (mean - m) / s
    # CogVideoX decodes latents / scaling_factor, laid out [B, T, C, H, W]
    return (mean * cfg.scaling_factor).permute(0, 2, 1, 3, 4)


def invert_latents(pipe, latents, *, steps: int, frames: int, height: int, width: int, prompt: str = ""):
    """Run the pipeline with its inverse scheduler from the clean ``latents`` to noise
    (detection knows no prompt: ``prompt`` is for measuring what that costs)."""
    import torch

    from .pipeline import pipeline_lock, text_inputs

    with pipeline_lock(pipe):  # the scheduler swap below must not meet another thread's call
        inverse = inverse_scheduler_for(pipe)
        forward = pipe.scheduler
        pipe.scheduler = inverse
        try:
            with torch.no_grad():
                out = pipe(**text_inputs(pipe, prompt, guidance=1.0), latents=latents.to(pipe.transformer.dtype),
                           num_frames=frames, height=height, width=width, num_inference_steps=steps,
                           guidance_scale=1.0, output_type="latent")
        finally:
            pipe.scheduler = forward
    return out.frames


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.BICUBIC)) for f in frames])


def recover_noise(pipe, clip, *, steps: int | None = None, size: tuple[int, int] | None = None,
                  frames: int | None = None):
    """The estimate of ``clip``'s initial noise and facts about how it was made.

    ``size`` (width, height): the generation size; a resized upload is scaled back to it.
    ``frames``: the generation length; defaults to the longest 1+4k prefix of the clip.
    """
    layout = latent_layout(pipe)
    cfg = getattr(pipe, "framemark_config", None)
    steps = int(steps or getattr(cfg, "steps", 25))
    width, height = size or (clip.width, clip.height)
    factor = layout["temporal_factor"]
    avail = (clip.num_frames - 1) // factor * factor + 1
    n = min(frames or avail, avail)
    if n < 1:
        raise UsageError("the clip has no frames to decode")
    pixels = clip.frames[:n]
    resized = (pixels.shape[2], pixels.shape[1]) != (width, height)
    if resized:
        pixels = _resize(pixels, width, height)
    from .pipeline import pipeline_lock

    with pipeline_lock(pipe):  # encoding uses the VAE's feature cache: one thread at a time
        clean = encode_frames(pipe, pixels)
        noise = invert_latents(pipe, clean, steps=steps, frames=n, height=height, width=width)
    return noise, {"time_axis": layout["time_axis"], "frames_used": n, "temporal_factor": factor,
                   "inversion_steps": steps, "resized_to": [width, height] if resized else None,
                   "family": layout["family"]}
