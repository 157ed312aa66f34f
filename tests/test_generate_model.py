"""The tiny Wan model: build from a config, save without the text encoder, load offline."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from generate import model as M  # noqa: E402
from provenance.errors import InputError  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return M.build_pipeline(M.TINY_CONFIG)


def _sample(pipe, prompt="a red circle moving left", seed=0):
    cfg = M.TINY_CONFIG
    g = torch.Generator().manual_seed(seed)
    return pipe(prompt=prompt, height=cfg.height, width=cfg.width, num_frames=cfg.num_frames,
                num_inference_steps=2, guidance_scale=3.0, max_sequence_length=cfg.max_sequence_length,
                generator=g, output_type="np").frames


def test_tiny_pipeline_generates_frames(tiny):
    out = _sample(tiny)
    assert out.shape == (1, 5, 32, 32, 3)
    assert np.isfinite(out).all()


def test_save_then_load_offline_round_trip(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = M.save_pipeline(tiny, tmp_path / "m")
    index = json.loads((folder / "model_index.json").read_text())
    assert index["text_encoder"] == [None, None]  # the encoder comes from its package, not the folder
    assert index["transformer"] == ["generate.model", "FramemarkWanTransformer3DModel"]
    assert list(folder.rglob("*.safetensors"))
    loaded = M.load_pipeline(folder)
    assert type(loaded.transformer) is M.FramemarkWanTransformer3DModel
    assert M.model_info(loaded)["weights_sha256"] == M.model_info(tiny)["weights_sha256"]
    np.testing.assert_allclose(_sample(loaded), _sample(tiny), atol=1e-4)


def test_model_info_names_the_model_and_hashes_weights(tiny):
    info = M.model_info(tiny)
    assert info["name"] == M.MODEL_NAME
    assert len(info["weights_sha256"]) == 64
    other = M.build_pipeline(M.TINY_CONFIG, with_text_encoder=False)
    assert M.model_info(other)["weights_sha256"] != info["weights_sha256"]


def test_training_text_cache_matches_the_pipeline_encoder(tiny):
    prompts = ["a blue star moving up", ""]
    ours = M.encode_prompts(prompts, 16)
    theirs, _ = tiny.encode_prompt(prompts, do_classifier_free_guidance=False, max_sequence_length=16)
    torch.testing.assert_close(ours, theirs)


def test_pooled_conditioning_starts_as_a_no_op_and_is_trainable(tiny):
    emb = tiny.transformer.condition_embedder.pooled_embedder
    assert float(emb[2].weight.detach().abs().sum()) == 0.0
    assert all(p.requires_grad for p in emb.parameters())


def test_missing_model_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        M.load_pipeline(tmp_path / "nowhere")


def test_default_config_is_wan_with_8x_vae_and_minilm_text():
    c = M.DEFAULT_CONFIG
    assert c.vae["scale_factor_spatial"] == 8 and c.vae["scale_factor_temporal"] == 4
    assert c.height // 8 == 16 and c.num_frames == 17 and c.transformer["text_dim"] == 384
    assert c.height >= 128 and c.fps >= 8


def test_fine_config_keeps_the_token_grid_with_a_4x_vae():
    d, f = M.DEFAULT_CONFIG, M.FINE_CONFIG
    assert f.vae["scale_factor_spatial"] == 4 and len(f.vae["dim_mult"]) == len(f.vae["temperal_downsample"]) + 1
    tokens = [(c.height // c.vae["scale_factor_spatial"] // c.transformer["patch_size"][1]) for c in (d, f)]
    assert tokens[0] == tokens[1] == 8


def test_shipped_model_loads_offline_and_generates(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if not (M.DEFAULT_MODEL_DIR / "model_index.json").is_file():
        pytest.skip("no shipped weights in this checkout")
    pipe = M.load_pipeline()
    info = M.model_info(pipe)
    assert info["name"] == M.MODEL_NAME and len(info["weights_sha256"]) == 64
    g = torch.Generator().manual_seed(0)
    out = pipe(prompt="a red circle moving left", height=64, width=64, num_frames=5, num_inference_steps=2,
               guidance_scale=3.0, max_sequence_length=pipe.framemark_config.max_sequence_length,
               generator=g, output_type="np").frames
    assert out.shape == (1, 5, 64, 64, 3) and np.isfinite(out).all()
