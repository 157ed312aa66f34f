"""The generation flow: input checks, any diffusers video pipeline, marked sampling, signing."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from provenance.errors import InputError, UsageError

KEY = bytes(range(32, 64))
PAYLOAD = bytes.fromhex("0123456789ab")


@pytest.fixture(scope="module")
def tiny_wan():
    import torch

    from generate.model import TINY_CONFIG, build_pipeline

    torch.manual_seed(0)
    return build_pipeline(dataclasses.replace(TINY_CONFIG, height=32, width=32, num_frames=5, steps=2))


def _save_wan(path):
    """A stock WanPipeline with random tiny parts and no text encoder (prompt_embeds stand in)."""
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

    torch.manual_seed(1)
    vae = AutoencoderKLWan(base_dim=8, z_dim=4, dim_mult=[1, 2, 2], num_res_blocks=1, attn_scales=[],
                           temperal_downsample=[True, True], scale_factor_temporal=4, scale_factor_spatial=4,
                           latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    tr = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                               out_channels=4, text_dim=384, freq_dim=32, ffn_dim=64, num_layers=1,
                               cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=64)
    WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=tr,
                scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0)).save_pretrained(str(path))
    return path


def _save_cogvideox(path):
    """A CogVideoXPipeline with random tiny parts, v-prediction DDIM, no T5 (prompt_embeds stand in)."""
    import torch
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline,
                           CogVideoXTransformer3DModel)

    torch.manual_seed(2)
    vae = AutoencoderKLCogVideoX(block_out_channels=(16, 32, 32), down_block_types=("CogVideoXDownBlock3D",) * 3,
                                 up_block_types=("CogVideoXUpBlock3D",) * 3, latent_channels=4, layers_per_block=1,
                                 norm_num_groups=8, temporal_compression_ratio=4, sample_height=32, sample_width=32)
    tr = CogVideoXTransformer3DModel(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
                                     time_embed_dim=32, text_embed_dim=384, num_layers=1, sample_width=16,
                                     sample_height=16, sample_frames=9, patch_size=2, temporal_compression_ratio=4,
                                     max_text_seq_length=16)
    sched = CogVideoXDDIMScheduler(prediction_type="v_prediction", timestep_spacing="trailing",
                                   rescale_betas_zero_snr=True, snr_shift_scale=1.0, clip_sample=False,
                                   beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=tr,
                      scheduler=sched).save_pretrained(str(path))
    return path


# ----------------------------------------------------------------------------- check_inputs

def test_check_inputs_rejects_and_normalises(tiny_wan):
    from generate.pipeline import check_inputs

    with pytest.raises(UsageError, match="prompt is empty"):
        check_inputs(tiny_wan, "   ")
    with pytest.raises(UsageError, match="multiple of 16"):
        check_inputs(tiny_wan, "a red circle", size=(40, 32))
    with pytest.raises(UsageError, match="--steps"):
        check_inputs(tiny_wan, "a red circle", steps=0)
    with pytest.raises(UsageError, match="--seed"):
        check_inputs(tiny_wan, "a red circle", seed=-1)
    with pytest.raises(UsageError, match="--guidance"):
        check_inputs(tiny_wan, "a red circle", guidance=float("nan"))
    s = check_inputs(tiny_wan, "a  red\ncircle", frames=7, size=(48, 32))
    assert (s.prompt, s.frames, s.width, s.height) == ("a red circle", 9, 48, 32)
    assert any("1+4k" in n and "using 9" in n for n in s.notes)
    long = check_inputs(tiny_wan, "a red circle moving left " * 10)
    assert any("only the first 16" in n for n in long.notes)
    assert s.manifest_dict(include_prompt=False).get("prompt") is None
    assert s.manifest_dict(include_prompt=True)["prompt"] == "a red circle"


def test_sampling_starts_from_the_marked_noise(tiny_wan):
    from generate.pipeline import check_inputs, sample_marked

    s = check_inputs(tiny_wan, "a blue square", seed=4)
    a = sample_marked(tiny_wan, s, PAYLOAD, KEY)
    assert a.shape == (5, 32, 32, 3) and a.dtype == np.uint8
    # the same identifier, key and seed give the same clip; another identifier does not
    assert np.array_equal(a, sample_marked(tiny_wan, s, PAYLOAD, KEY))
    assert not np.array_equal(a, sample_marked(tiny_wan, s, bytes(6), KEY))


# ----------------------------------------------------------------------------- any diffusers pipeline

@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_any_saved_diffusers_pipeline_loads_samples_and_inverts(tmp_path, family):
    import torch

    from generate.inversion import invert_latents, latent_layout
    from generate.latent_watermark import decode_noise, make_noise_tensor
    from generate.pipeline import check_inputs, latent_shape, load_model, sample_marked, text_inputs

    folder = (_save_wan if family == "wan" else _save_cogvideox)(tmp_path / family)
    pipe = load_model(folder)                     # the same path `--model DIR` takes
    assert pipe.text_encoder is None
    assert family in pipe.framemark_meta["name"].lower().replace("cogvideox", "cogvideox")
    s = check_inputs(pipe, "a green triangle", seed=2, size=(32, 32), frames=9, steps=4, guidance=3.0)
    video = sample_marked(pipe, s, PAYLOAD, KEY)
    assert video.shape == (9, 32, 32, 3) and video.dtype == np.uint8
    # inversion through this family's own __call__ recovers the payload from the sampled latent
    shape = latent_shape(pipe, 9, 32, 32)
    z = make_noise_tensor(shape, PAYLOAD, KEY, seed=2)
    with torch.no_grad():
        x0 = pipe(**text_inputs(pipe, "a green triangle", guidance=3.0), latents=z, num_frames=9, height=32,
                  width=32, num_inference_steps=8, guidance_scale=3.0, output_type="latent").frames
    recovered = invert_latents(pipe, x0, steps=8, frames=9, height=32, width=32)
    d = decode_noise(recovered, KEY, time_axis=latent_layout(pipe)["time_axis"])
    assert d.detected and d.payload == PAYLOAD


def test_load_model_errors(tmp_path):
    from generate.pipeline import load_model

    with pytest.raises(InputError, match="no model_index.json"):
        load_model(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "vae": ["diffusers", "X"]}))
    with pytest.raises(InputError, match="cannot load"):
        load_model(tmp_path)


# ----------------------------------------------------------------------------- the whole flow

def test_generate_clip_marks_signs_and_records(tmp_path, tiny_wan, keys_dir):
    from generate.pipeline import generate_clip
    from provenance.media import read_clip
    from provenance.verify import verify_file

    out = tmp_path / "clip.mp4"
    res = generate_clip(tiny_wan, "a red circle moving left", out, seed=1, keys_dir=keys_dir,
                        prompt_in_manifest=False)
    assert out.is_file() and len(res.identifier) == 6
    assert read_clip(out).frames.shape == (5, 32, 32, 3)
    report = verify_file(out).to_dict()
    assert report["state"] == "trusted" and report["ai_generated"] is True
    text = json.dumps(report["manifest"])
    assert "a red circle" not in text and "org.framemark.latent.1" in text and "weights_sha256" in text
    with pytest.raises(Exception, match="exists"):
        generate_clip(tiny_wan, "again", out, keys_dir=keys_dir)
    assert not [p for p in os.listdir(tmp_path) if ".part" in p]
