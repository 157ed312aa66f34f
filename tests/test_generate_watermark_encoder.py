"""The detection encoder: a resumable training run on the tiny model, shipped in a model
folder, picked by latent detection; the generator itself untouched."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from generate import watermark_encoder as W  # noqa: E402
from generate.model import TINY_CONFIG, build_pipeline, load_pipeline, model_info, save_pipeline  # noqa: E402
from provenance.errors import InputError  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_pipeline(TINY_CONFIG)


def test_training_resumes_and_only_the_encoder_moves(tiny, tmp_path):
    lines = []
    vae = W.train(tiny, tmp_path / "run", 2, pool_world=2, pool_sampled=1, crop=16, batch=2, log=lines.append)
    assert (tmp_path / "run" / "pool.pt").is_file() and (tmp_path / "run" / "encoder.pt").is_file()
    pool = torch.load(tmp_path / "run" / "pool.pt", weights_only=False)
    assert pool["pixels"].shape == (3, 5, 32, 32, 3) and pool["latents"].shape == (3, 4, 2, 8, 8)
    assert json.loads(lines[-1])["step"] == 2
    W.train(tiny, tmp_path / "run", 3, pool_world=2, pool_sampled=1, crop=16, batch=2, log=lines.append)
    assert json.loads(lines[-1])["step"] == 3            # continued, not restarted
    before, after = tiny.vae.state_dict(), vae.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))


def test_a_model_folder_ships_it_and_detection_uses_it(tiny, tmp_path):
    from generate.inversion import encode_frames

    folder = save_pipeline(tiny, tmp_path / "model")
    plain = load_pipeline(folder)
    assert plain.watermark_encoder is None and W.detection_vae(plain) is plain.vae
    trained = W.train(tiny, tmp_path / "run", 2, pool_world=2, pool_sampled=0, crop=16, batch=2, log=lambda m: None)
    path = W.save(trained, folder, {"steps": 2})
    assert path.stat().st_size < 2 * sum(p.numel() * 4 for n, p in trained.named_parameters() if n.startswith("encoder"))
    pipe = load_pipeline(folder)
    assert W.detection_vae(pipe) is pipe.watermark_encoder
    enc = {k: v for k, v in pipe.watermark_encoder.state_dict().items() if k.startswith("encoder.")}
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in enc.items())
    # the generator's weights, and so the hash a manifest carries, are those of the folder
    assert model_info(pipe)["weights_sha256"] == model_info(plain)["weights_sha256"]
    frames = (torch.rand(5, 32, 32, 3) * 255).byte().numpy()
    assert not torch.allclose(encode_frames(pipe, frames), encode_frames(plain, frames))


def test_an_encoder_for_another_vae_is_refused(tiny, tmp_path):
    from safetensors.torch import save_file

    folder = save_pipeline(tiny, tmp_path / "model")
    (folder / W.SUBDIR).mkdir()
    save_file({"something.else": torch.zeros(3)}, str(folder / W.SUBDIR / "encoder.safetensors"))
    with pytest.raises(InputError, match="not an encoder"):
        load_pipeline(folder)


def test_a_new_run_starts_from_the_model_folders_own_encoder(tiny, tmp_path):
    folder = save_pipeline(tiny, tmp_path / "model")
    shipped = W.train(tiny, tmp_path / "first", 2, pool_world=2, pool_sampled=0, crop=16, batch=2, log=lambda m: None)
    W.save(shipped, folder, {"steps": 2})
    pipe = load_pipeline(folder)
    lines = []
    # zero steps on from the shipped encoder: the run's encoder is exactly it
    again = W.train(pipe, tmp_path / "second", 0, pool_world=2, pool_sampled=0, crop=16, batch=2, log=lines.append)
    assert any("model folder's detection encoder" in m for m in lines)
    want = W._encoder_state(pipe.watermark_encoder)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in want.items())
