"""The marked-and-signed generation flow, for the built-in model and any diffusers
text-to-video pipeline whose ``__call__`` takes ``latents=``.

``generate_clip(pipe, prompt, ...)``:

0. check the inputs and the output path, load the signing identity and watermark key,
   all before any expensive work;
1. sample from the latent-watermarked initial noise (``org.framemark.latent.1``);
2. add the pixel watermark (``org.framemark.video.1``) with the same 48-bit identifier;
3. encode H.264 MP4;
4. sign a C2PA manifest (``c2pa.created`` / ``trainedAlgorithmicMedia``, the model, the
   settings, the prompt unless asked not to, soft bindings for both marks,
   ``c2pa.watermarked``), written atomically to the output;
5. record the manifest in the manifest store.

There is deliberately no way to skip the marking.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from provenance.errors import InputError, UsageError

__all__ = ["GenerationSettings", "GenerationResult", "check_inputs", "check_pipeline_folder", "load_model",
           "text_inputs", "latent_shape", "sample_marked", "generate_clip", "PIXEL_ALG_ID", "CLAIM_GENERATOR"]

PIXEL_ALG_ID = "org.framemark.video.1"
CLAIM_GENERATOR = "framemark generate"
MAX_SIDE = 1024          # a CPU tool: bigger is a typo, not a request
MAX_FRAMES = 257
MAX_STEPS = 500
#: H.264 rate factor of the generated master file: near-lossless, because the latent mark is
#: read back through the decoded pixels and every coding loss costs it (0.4.0, 16 clips: found
#: in 15 from the raw frames, 13 from this file, 8 after CRF 23; bench.latent_watermark).
#: A 128 x 128 x 17 clip is ~34 KB at CRF 12 against ~17 KB at 18
OUTPUT_CRF = 12


@dataclass
class GenerationSettings:
    """Checked, normalised settings (what the manifest records)."""

    prompt: str
    seed: int
    frames: int
    steps: int
    guidance: float
    width: int
    height: int
    fps: float
    max_sequence_length: int
    notes: list[str] = field(default_factory=list)   # warnings for the user (rounding, truncation)

    def manifest_dict(self, include_prompt: bool) -> dict:
        d = {"seed": self.seed, "frames": self.frames, "steps": self.steps, "guidance": self.guidance,
             "width": self.width, "height": self.height, "fps": self.fps,
             "max_sequence_length": self.max_sequence_length}
        if include_prompt:
            d["prompt"] = self.prompt
        return d


@dataclass
class GenerationResult:
    path: Path
    identifier: bytes
    settings: GenerationSettings
    manifest_id: str | None
    model: dict
    timings: dict


# ----------------------------------------------------------------------------- model loading

def check_pipeline_folder(model_dir: str | Path) -> Path:
    """``model_dir`` as a Path if it holds a diffusers pipeline (its ``model_index.json``);
    cheap (no diffusers, no weights), so a command can refuse a bad folder before any work."""
    path = Path(model_dir)
    if not (path / "model_index.json").is_file():
        raise InputError(f"{path}: not a diffusers pipeline folder (no model_index.json)")
    return path


def load_model(model_dir: str | Path | None = None):
    """The built-in model (default, or a framemark model folder), or any local diffusers
    text-to-video pipeline folder. Offline only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_model_libraries()
    from . import model as fm

    path = Path(model_dir) if model_dir is not None else fm.DEFAULT_MODEL_DIR
    if model_dir is None and not (path / "model_index.json").is_file():
        raise InputError(f"the built-in model is not installed at {path}; pass --model DIR")
    check_pipeline_folder(path)
    pipe = fm.load_pipeline(path) if (path / fm.META_FILE).is_file() else _load_diffusers_pipeline(path)
    from .latent_watermark import register_latent_algorithm

    register_latent_algorithm()
    return pipe


def _quiet_model_libraries() -> None:
    """diffusers and transformers log load reports, type warnings and progress bars meant for
    model developers; a user of `framemark generate` sees framemark's own progress instead."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    for lib in (dlog, tlog):
        lib.set_verbosity_error()
        lib.disable_progress_bar()


def _load_diffusers_pipeline(path: Path):
    from diffusers import DiffusionPipeline

    index = json.loads((path / "model_index.json").read_text())
    # components saved as None (e.g. a text encoder that cannot be shipped) must be passed as None
    missing = {k: None for k, v in index.items() if not k.startswith("_") and v in ([None, None], None)}
    try:
        pipe = DiffusionPipeline.from_pretrained(str(path), local_files_only=True, **missing)
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise InputError(f"{path}: cannot load the pipeline ({str(exc).splitlines()[0][:160]})") from None
    if "latents" not in inspect.signature(pipe.__call__).parameters:
        raise UsageError(f"{path}: {type(pipe).__name__}.__call__ takes no latents=, so its noise cannot be marked")
    if not hasattr(pipe, "prepare_latents") or getattr(pipe, "transformer", None) is None:
        raise UsageError(f"{path}: {type(pipe).__name__} is not a transformer text-to-video pipeline")
    pipe.framemark_meta = {"name": f"{path.name} ({type(pipe).__name__})",
                           "version": str(index.get("_diffusers_version", "unknown"))}
    pipe.set_progress_bar_config(disable=True)
    return pipe


# ----------------------------------------------------------------------------- text

def _text_dim(pipe) -> int | None:
    c = pipe.transformer.config
    for key in ("text_dim", "text_embed_dim", "caption_channels", "joint_attention_dim", "cross_attention_dim"):
        if c.get(key):
            return int(c[key])
    return None


def _max_tokens(pipe) -> int:
    cfg = getattr(pipe, "framemark_config", None)
    if cfg is not None:
        return int(cfg.max_sequence_length)
    fixed = pipe.transformer.config.get("max_text_seq_length")
    if fixed:
        return int(fixed)
    default = inspect.signature(pipe.__call__).parameters.get("max_sequence_length")
    return int(default.default) if default is not None and isinstance(default.default, int) else 226


def _tokenizer(pipe):
    if getattr(pipe, "tokenizer", None) is not None:
        return pipe.tokenizer
    from .model import load_text_encoder

    return load_text_encoder()[0]


def text_inputs(pipe, prompt: str, *, guidance: float, negative: str = "") -> dict:
    """Keyword arguments that feed ``prompt`` to ``pipe``.

    With its own text encoder the pipeline encodes the prompt itself. Without one (a
    component that cannot be built offline, saved as None), all-MiniLM-L6-v2 token
    states stand in as ``prompt_embeds`` when the transformer's text width is 384.
    """
    length = _max_tokens(pipe)
    kwargs = {"max_sequence_length": length}
    if getattr(pipe, "text_encoder", None) is not None:
        return {**kwargs, "prompt": prompt, "negative_prompt": negative}
    dim = _text_dim(pipe)
    if dim != 384:
        raise UsageError(f"{type(pipe).__name__} has no text encoder and its text width is {dim}, "
                         "not 384: no offline stand-in encoder fits")
    from .model import encode_prompts

    emb = encode_prompts([prompt, negative], max_sequence_length=length).to(pipe.transformer.dtype)
    kwargs.update(prompt_embeds=emb[:1], negative_prompt_embeds=emb[1:])
    if "prompt_attention_mask" in inspect.signature(pipe.__call__).parameters:
        mask = (emb.abs().sum(-1) > 0).long()
        kwargs.update(prompt_attention_mask=mask[:1], negative_prompt_attention_mask=mask[1:])
    return kwargs


# ----------------------------------------------------------------------------- checks

def _factors(pipe) -> tuple[int, int]:
    """(pixel multiple for width/height, temporal factor) of a pipeline."""
    spatial = int(getattr(pipe, "vae_scale_factor_spatial", 0) or getattr(pipe, "vae_spatial_compression_ratio", 8))
    temporal = int(getattr(pipe, "vae_scale_factor_temporal", 0) or getattr(pipe, "vae_temporal_compression_ratio", 4))
    patch = pipe.transformer.config.get("patch_size", 1)
    patch = int(patch[-1]) if isinstance(patch, (list, tuple)) else int(patch or 1)
    multiple = spatial * patch
    if type(pipe).__name__ == "WanPipeline":
        multiple = math.lcm(multiple, 16)   # WanPipeline.check_inputs insists on 16
    return multiple, temporal


def check_inputs(pipe, prompt, *, seed=0, frames=None, steps=None, guidance=None, size=None, fps=None) -> GenerationSettings:
    """Validate and normalise generation settings; precise UsageErrors, notes for roundings."""
    cfg = getattr(pipe, "framemark_config", None)
    notes: list[str] = []
    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError("the prompt is empty")
    prompt = " ".join(prompt.split())
    length = _max_tokens(pipe)
    n_tokens = len(_tokenizer(pipe)(prompt, add_special_tokens=True, truncation=False).input_ids)
    if n_tokens > length:
        notes.append(f"the prompt is {n_tokens} tokens; the text encoder reads only the first {length}: "
                     "the rest is ignored")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise UsageError(f"--seed must be an integer in [0, 2^63), got {seed!r}")
    multiple, temporal = _factors(pipe)
    if size is None:
        width, height = (cfg.width, cfg.height) if cfg else (multiple * 4, multiple * 4)
    else:
        width, height = size
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or v <= 0:
            raise UsageError(f"the {name} must be a positive integer, got {v!r}")
        if v % multiple:
            raise UsageError(f"--size {width}x{height}: the {name} must be a multiple of {multiple} "
                             f"(the VAE's downsampling times the transformer's patch)")
        if v > MAX_SIDE:
            raise UsageError(f"--size {width}x{height}: at most {MAX_SIDE} pixels a side")
    frames = frames if frames is not None else (cfg.num_frames if cfg else 1 + 4 * temporal)
    if not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
        raise UsageError(f"--frames must be an integer from 1 to {MAX_FRAMES}, got {frames!r}")
    if (frames - 1) % temporal:
        rounded = 1 + temporal * max(0, round((frames - 1) / temporal))
        notes.append(f"--frames {frames} is not 1+{temporal}k (the VAE's time compression); using {rounded}")
        frames = rounded
    steps = steps if steps is not None else (cfg.steps if cfg else 25)
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}")
    guidance = float(guidance if guidance is not None else (cfg.guidance if cfg else 5.0))
    if not math.isfinite(guidance) or not 0.0 <= guidance <= 50.0:
        raise UsageError(f"--guidance must be between 0 and 50, got {guidance}")
    fps = float(fps or (cfg.fps if cfg else 8.0))
    return GenerationSettings(prompt=prompt, seed=seed, frames=frames, steps=steps, guidance=guidance,
                              width=width, height=height, fps=fps, max_sequence_length=length, notes=notes)


# ----------------------------------------------------------------------------- sampling

def latent_shape(pipe, frames: int, height: int, width: int) -> tuple[int, ...]:
    """The initial-noise shape, asked of the pipeline's own ``prepare_latents`` (so each
    family's layout, packing and compression are its own)."""
    import torch

    params = inspect.signature(pipe.prepare_latents).parameters
    kw = dict(batch_size=1, num_channels_latents=pipe.transformer.config.in_channels, height=height, width=width,
              num_frames=frames, dtype=torch.float32, device=torch.device("cpu"),
              generator=torch.Generator().manual_seed(0), latents=None)
    out = pipe.prepare_latents(**{k: v for k, v in kw.items() if k in params})
    out = out[0] if isinstance(out, tuple) else out
    return tuple(out.shape)


_LOCKS_GUARD = threading.Lock()


def pipeline_lock(pipe) -> threading.RLock:
    """The lock every call into ``pipe`` holds. A diffusers pipeline is not re-entrant: its
    ``__call__`` keeps per-call state on the object (timesteps, guidance, the scheduler's step
    index), the Wan VAE caches features on itself while encoding, and latent-watermark
    detection swaps the scheduler, so the service's worker threads, which share one loaded
    model, must take turns. Re-entrant: detection holds it around encode + inversion."""
    with _LOCKS_GUARD:
        lock = getattr(pipe, "_framemark_lock", None)
        if lock is None:
            lock = threading.RLock()
            pipe._framemark_lock = lock
        return lock


def sample_marked(pipe, settings: GenerationSettings, identifier: bytes, key: bytes, *, progress: bool = False):
    """Step 1: run the pipeline from the latent-watermarked noise; uint8 [T, H, W, 3]."""
    from .latent_watermark import make_noise_tensor

    shape = latent_shape(pipe, settings.frames, settings.height, settings.width)
    noise = make_noise_tensor(shape, identifier, key, seed=settings.seed, dtype=pipe.transformer.dtype)
    with pipeline_lock(pipe):
        out = _call_sampler(pipe, settings, noise, progress)
    video = out.frames[0] if isinstance(out.frames, (list, tuple)) or np.ndim(out.frames) == 5 else out.frames
    video = np.asarray(video.cpu().float().numpy() if hasattr(video, "cpu") else video)
    return (np.clip(video, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _call_sampler(pipe, settings: GenerationSettings, noise, progress: bool):
    import torch

    pipe.set_progress_bar_config(disable=not progress, desc="sampling", leave=False)
    try:
        with torch.no_grad():
            return pipe(**text_inputs(pipe, settings.prompt, guidance=settings.guidance), latents=noise,
                       num_frames=settings.frames, height=settings.height, width=settings.width,
                       num_inference_steps=settings.steps, guidance_scale=settings.guidance,
                       generator=torch.Generator().manual_seed(settings.seed), output_type="np")
    except ValueError as exc:   # a pipeline's own check_inputs
        raise UsageError(f"{type(pipe).__name__}: {str(exc).splitlines()[0][:200]}") from None
    finally:
        pipe.set_progress_bar_config(disable=True)


# ----------------------------------------------------------------------------- the flow

def _model_info(pipe) -> dict:
    from .model import model_info

    info = model_info(pipe)
    info["pipeline"] = type(pipe).__name__
    return info


def generate_clip(pipe, prompt: str, out: str | Path, *, seed: int = 0, frames: int | None = None,
                  steps: int | None = None, guidance: float | None = None, size: tuple[int, int] | None = None,
                  keys_dir=None, force: bool = False, prompt_in_manifest: bool = True,
                  progress: bool = False) -> GenerationResult:
    """Generate, watermark (latent + pixel), encode, sign and record one clip at ``out``."""
    import base64

    from provenance.fileio import check_output_path
    from provenance.keys import load_identity, load_watermark_key, resolve_keys_dir
    from provenance.media import Clip, write_clip
    from provenance.sign import SoftBinding, sign_file

    from .latent_watermark import ALG_ID as LATENT_ALG_ID

    # 0. everything that can fail cheaply fails first
    out = check_output_path(out, force)
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise UsageError(f"{out}: the output must be an .mp4 file")
    settings = check_inputs(pipe, prompt, seed=seed, frames=frames, steps=steps, guidance=guidance, size=size)
    keys_dir = resolve_keys_dir(keys_dir)
    identity = load_identity(keys_dir)
    key = load_watermark_key(keys_dir)
    pixel_alg = _pixel_watermark(key)
    model = _model_info(pipe)
    identifier = os.urandom(6)
    timings = {}

    # 1. sample from the watermarked noise
    t0 = time.perf_counter()
    video = sample_marked(pipe, settings, identifier, key, progress=progress)
    timings["sample_s"] = time.perf_counter() - t0

    # 2. the pixel watermark, same identifier
    t0 = time.perf_counter()
    clip = pixel_alg.embed(Clip(frames=video, fps=settings.fps), identifier)
    timings["pixel_watermark_s"] = time.perf_counter() - t0

    value = base64.b64encode(identifier).decode()
    bindings = [SoftBinding(alg=PIXEL_ALG_ID, value=value), SoftBinding(alg=LATENT_ALG_ID, value=value)]
    assertions = [{
        "label": "org.framemark.generation",
        "data": {"model": model, "settings": settings.manifest_dict(prompt_in_manifest),
                 "prompt_in_manifest": bool(prompt_in_manifest),
                 "watermarks": [PIXEL_ALG_ID, LATENT_ALG_ID]},
    }]
    with tempfile.TemporaryDirectory(prefix="framemark-gen-") as tmp:
        # 3. encode; the unsigned file lives only in a private temp folder
        t0 = time.perf_counter()
        raw = Path(tmp) / "unsigned.mp4"
        write_clip(raw, clip, crf=OUTPUT_CRF)
        timings["encode_s"] = time.perf_counter() - t0
        # 4. sign straight onto the output (sign_file writes atomically, refuses to clobber)
        t0 = time.perf_counter()
        signed = sign_file(raw, out, identity, source_type="trainedAlgorithmicMedia",
                           title=out.name, assertions=assertions, soft_bindings=bindings, force=force)
        timings["sign_s"] = time.perf_counter() - t0
    # 5. the manifest store maps both soft bindings back to this manifest
    manifest_id = _record(keys_dir, signed, bindings, out)
    return GenerationResult(path=out, identifier=identifier, settings=settings, manifest_id=manifest_id,
                            model=model, timings=timings)


def _pixel_watermark(key: bytes):
    from watermark.registry import get_algorithm

    return get_algorithm(PIXEL_ALG_ID, key=key)


def _record(keys_dir, signed, bindings, path: Path) -> str | None:
    import hashlib

    from provenance.store import ManifestStore

    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    store = ManifestStore(keys_dir)
    for b in bindings:
        store.add(alg=b.alg, value=b.value, manifest_bytes=signed.manifest_bytes,
                  manifest_id=signed.manifest_id, asset_sha256=sha)
    return signed.manifest_id
