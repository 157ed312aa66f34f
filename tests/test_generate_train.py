"""Training: a few steps of both stages on the tiny config, resume, and a loadable export."""

import json

import pytest

pytest.importorskip("torch")

from generate import train as T  # noqa: E402
from generate.model import TINY_CONFIG, load_pipeline  # noqa: E402
from provenance.errors import InputError, UsageError  # noqa: E402


def _settings(**kw):
    base = dict(vae_steps=2, dit_steps=2, pool=20, batch=2, vae_batch=1, checkpoint_every=1, export_every=2, log_every=1)
    return T.TrainSettings(**{**base, **kw})


def test_two_step_smoke_run_resumes_and_exports(tmp_path):
    run = tmp_path / "run"
    out = T.train(run, TINY_CONFIG, settings=_settings(), progress=False)
    log = [json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["vae", "vae", "dit", "dit"]
    assert all(r["loss"] > 0 for r in log)
    assert (run / "vae.pt").is_file() and (run / "dit.pt").is_file()
    pipe = load_pipeline(out)
    assert pipe.vae.config.latents_std != [1.0] * 4  # statistics of the cached latents
    # resuming continues from step 2 instead of starting again
    T.train(run, TINY_CONFIG, settings=_settings(vae_steps=2, dit_steps=3), progress=False)
    log = [json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["stage"] == "dit"] == [1, 2, 3]
    assert json.loads((out / "framemark.json").read_text())["trained_steps"] == 3


def test_init_from_a_saved_model_skips_the_vae(tmp_path):
    first = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    T.train(tmp_path / "b", settings=_settings(dit_steps=1, export_every=1), init_from=first, progress=False)
    assert not (tmp_path / "b" / "vae.pt").exists()
    assert (tmp_path / "b" / "export" / "model_index.json").is_file()
    # resuming without --init-from starts from the recorded model again: the cached
    # latents stay those of its encoder (a fresh random VAE would re-encode them)
    before = sorted(p.stat().st_mtime_ns for p in (tmp_path / "b" / "cache").iterdir())
    T.train(tmp_path / "b", stages=("dit",), settings=_settings(dit_steps=2, export_every=1), progress=False)
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "b" / "cache").iterdir()) == before
    assert json.loads((tmp_path / "b" / "config.json").read_text())["init_from"] == str(first)
    assert json.loads((tmp_path / "b" / "export" / "framemark.json").read_text())["trained_steps"] == 2


def test_the_transformer_stage_needs_a_trained_vae(tmp_path):
    with pytest.raises(UsageError, match="no trained VAE"):
        T.train(tmp_path / "r", TINY_CONFIG, stages=("dit",), settings=_settings(), progress=False)


def test_bad_arguments_are_framemark_errors(tmp_path):
    with pytest.raises(UsageError):
        T.TrainSettings(nonsense=1)
    with pytest.raises(UsageError):
        T.train(tmp_path / "r", TINY_CONFIG, stages=("gan",), settings=_settings(), progress=False)
    with pytest.raises(InputError):
        T.train(tmp_path / "r", settings=_settings(), init_from=tmp_path / "missing", progress=False)


def test_export_checkpoint_writes_a_loadable_folder(tmp_path):
    run = tmp_path / "run"
    T.train(run, TINY_CONFIG, settings=_settings(export_every=100), progress=False)
    out = T.export_checkpoint(run, tmp_path / "shipped")
    pipe = load_pipeline(out)
    assert json.loads((out / "framemark.json").read_text())["trained_steps"] == 2
    assert pipe.vae.config.latents_std == load_pipeline(run / "export").vae.config.latents_std
    with pytest.raises(InputError):
        T.export_checkpoint(tmp_path / "empty", tmp_path / "x")


def test_decoder_stage_keeps_the_encoder_and_the_latent_cache(tmp_path):
    import torch

    run = tmp_path / "run"
    T.train(run, TINY_CONFIG, settings=_settings(), progress=False)
    before = torch.load(run / "vae.pt", weights_only=False)["model"]
    cache = sorted((run / "cache").glob("*.pt"))[0]
    stamp = cache.stat().st_mtime_ns
    T.train(run, TINY_CONFIG, stages=("decoder", "dit"), settings=_settings(decoder_steps=2, dit_steps=3),
            progress=False)
    after = torch.load(run / "vae.pt", weights_only=False)
    assert after["decoder_step"] == 4
    assert all(torch.equal(before[k], after["model"][k]) for k in before if k.startswith("encoder."))
    assert any(not torch.equal(before[k], after["model"][k]) for k in before if k.startswith("decoder."))
    assert cache.stat().st_mtime_ns == stamp  # the encoder did not change: no re-encoding


def test_the_vae_batch_carries_its_objects_coverage():
    """The object weight lands on the objects: covered pixels carry an object colour (the
    world's objects are saturated; its backgrounds dark and desaturated)."""
    import numpy as np

    from generate.model import FINE_CONFIG

    x, cover = T._render_batch(np.random.default_rng(3), 3, FINE_CONFIG, 9, 48)
    assert x.shape[0] == cover.shape[0] == 3 and cover.shape[1] == 1 and x.shape[2:] == cover.shape[2:]
    rgb = (x.permute(0, 2, 3, 4, 1) + 1) * 127.5  # [n, t, h, w, 3]
    on, off = cover[:, 0] > 0.99, cover[:, 0] < 0.01
    assert on.any() and off.any()
    chroma = rgb.max(-1).values - rgb.min(-1).values
    assert chroma[on].median() > 100 > chroma[off].median()


@pytest.mark.parametrize("stage, checkpoint, setting, steps, logged", [
    ("decoder", "vae.pt", "object_weight", dict(decoder_steps=2), [3, 4]),
    ("dit", "dit.pt", "dit_object_weight", dict(dit_steps=4), [1, 2, 3, 4]),
])
def test_object_weights_are_recorded_and_train_their_stage(tmp_path, stage, checkpoint, setting, steps, logged):
    import torch

    run = tmp_path / "run"
    T.train(run, TINY_CONFIG, settings=_settings(), progress=False)
    before = torch.load(run / checkpoint, weights_only=False)["model"]
    T.train(run, TINY_CONFIG, stages=(stage,), settings=_settings(**steps, **{setting: 4.0}), progress=False)
    after = torch.load(run / checkpoint, weights_only=False)["model"]
    assert json.loads((run / "config.json").read_text())["settings"][setting] == 4.0
    trained = [k for k in before if stage == "dit" or k.startswith("decoder.")]
    assert any(not torch.equal(before[k], after[k]) for k in trained)
    log = [json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["stage"] == stage] == logged
    assert all(r["loss"] > 0 and r["loss"] == r["loss"] for r in log if r["stage"] == stage)


def test_latent_cover_marks_the_latent_cells_an_object_touches():
    """Latent frame 0 is frame 0 alone, latent frame j frames 4j-3 .. 4j; a cell counts when
    any of its pixels is covered, so a moving object's cells are the union of its positions."""
    import numpy as np

    from generate import world
    from generate.model import FINE_CONFIG

    spec = world.random_scene(np.random.default_rng(5))
    cover = T.latent_cover([spec], FINE_CONFIG, (4, 4))
    assert cover.shape == (1, 1, 5, 32, 32)
    masks = world.object_masks(spec, 17, 128, 128).max(0) > 0.05
    for j, frames in enumerate([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]):
        pixels = masks[frames].any(0)
        cells = pixels.reshape(32, 4, 32, 4).any(axis=(1, 3))
        assert np.array_equal(cover[0, 0, j].numpy() > 0, cells)
    assert 0 < float(cover.mean()) < 0.5


def test_warm_start_copies_the_blocks_a_new_patch_size_can_keep(tmp_path):
    import dataclasses

    import torch

    from generate.model import build_pipeline

    first = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    fine = dataclasses.replace(TINY_CONFIG, transformer={**TINY_CONFIG.transformer, "patch_size": [1, 4, 4]})
    model = build_pipeline(fine, with_text_encoder=False).transformer
    copied, fresh = T.warm_start(model, first)
    shipped = load_pipeline(first).transformer.state_dict()
    own = model.state_dict()
    # only the tensors that touch the patch size start afresh
    assert set(fresh) == {"patch_embedding.weight", "proj_out.weight", "proj_out.bias"}
    assert copied == len(own) - len(fresh)
    assert all(torch.equal(own[k], shipped[k]) for k in own if k not in fresh)
    # through train(): logged once, recorded in the run's config, not repeated on resume
    T.train(tmp_path / "b", fine, settings=_settings(), progress=False, dit_init_from=first)
    log = [json.loads(line) for line in (tmp_path / "b" / "loss.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log].count("warm_start") == 1
    assert json.loads((tmp_path / "b" / "config.json").read_text())["dit_init_from"] == str(first)
    T.train(tmp_path / "b", fine, settings=_settings(dit_steps=3), progress=False, dit_init_from=first)
    log = [json.loads(line) for line in (tmp_path / "b" / "loss.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log].count("warm_start") == 1
    with pytest.raises(InputError):
        T.warm_start(model, tmp_path / "nowhere")


def test_vae_roundtrip_reads_a_model_folder_and_a_run(tmp_path, capsys):
    from bench import vae_roundtrip

    out = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    report = tmp_path / "rt.json"
    assert vae_roundtrip.main(["--vae", str(out), "--vae", str(tmp_path / "a"), "-n", "2", "--json", str(report)]) == 0
    rows = json.loads(report.read_text())
    assert [r["vae"] for r in rows] == [str(out), str(tmp_path / "a")]
    # the export carries the run's VAE: the same reconstructions, the same scores
    assert rows[0]["mean_abs_error_levels"] == rows[1]["mean_abs_error_levels"] > 0
    assert all(0.0 <= r["shape"] <= 1.0 and isinstance(r["colours_missed"], list) for r in rows)
    assert "| VAE | colour | shape |" in capsys.readouterr().out
    assert vae_roundtrip.main(["--vae", str(tmp_path / "nothing-here")]) == 2


def test_vae_roundtrip_refuses_an_existing_report_before_any_work(tmp_path, capsys):
    from bench import vae_roundtrip

    report = tmp_path / "rt.json"
    report.write_text("earlier results")
    # a VAE path that would fail to load: the existing report is caught first
    assert vae_roundtrip.main(["--vae", str(tmp_path / "nothing-here"), "--json", str(report)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and err.count("\n") == 1
    assert report.read_text() == "earlier results"


def test_a_decoder_stage_on_a_saved_model_exports_that_model_with_the_new_decoder(tmp_path):
    import torch

    first = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    run = tmp_path / "dec"
    T.train(run, stages=("decoder",), settings=_settings(decoder_steps=2, vae_frames=5), init_from=first, progress=False)
    log = [json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["decoder", "decoder"]
    out = T.export_checkpoint(run, tmp_path / "shipped")
    base, new = load_pipeline(first), load_pipeline(out)
    b, n = base.vae.state_dict(), new.vae.state_dict()
    assert all(torch.equal(b[k], n[k]) for k in b if k.startswith(("encoder.", "quant_conv.")))  # same latent space
    assert any(not torch.equal(b[k], n[k]) for k in b if k.startswith("decoder."))
    bt, nt = base.transformer.state_dict(), new.transformer.state_dict()
    assert all(torch.equal(bt[k], nt[k]) for k in bt)
    assert new.vae.config.latents_std == base.vae.config.latents_std
    assert json.loads((out / "framemark.json").read_text())["trained_steps"] == 2


def test_caption_swap_changes_one_attribute_and_reports_every_sigma(tmp_path, capsys):
    import numpy as np

    from bench import caption_swap
    from generate import world

    spec = world.random_scene(np.random.default_rng(2), two_object_prob=1.0)
    for attr in ("shape", "colour", "motion"):
        other = caption_swap.swapped(spec, attr)
        for a, b in zip(spec.objects, other.objects):
            assert getattr(a, attr) != getattr(b, attr)
            assert {k: v for k, v in vars(a).items() if k != attr} == {k: v for k, v in vars(b).items() if k != attr}
    out = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    report = tmp_path / "cs.json"
    assert caption_swap.main(["--model", str(out), "--clips", "3", "--json", str(report)]) == 0
    assert "text_probe_accuracy" not in json.loads(report.read_text())
    rows = json.loads(report.read_text())["rows"]
    assert [r["sigma"] for r in rows] == list(caption_swap.SIGMAS)
    assert all(r["object_error"] > 0 and np.isfinite(r["shape_increase_pct"]) for r in rows)
    assert "| sigma | object x0 error | wrong shape |" in capsys.readouterr().out
    assert caption_swap.main(["--model", str(out), "--clips", "3", "--json", str(report)]) == 2  # no --force
    assert caption_swap.main(["--model", str(out), "--clips", "0"]) == 2
    assert caption_swap.main(["--model", str(out), "--clips", "2", "--size", "large", "--json", str(report),
                              "--force"]) == 0
    assert json.loads(report.read_text())["size"] == "large"



def test_caption_swap_paths_separate_pooled_and_cross_attention(tmp_path):
    """A fresh model's pooled path starts at zero (its last layer is zero-initialised): the
    caption through cross-attention alone is the whole effect, through the pooled path alone none."""
    import torch

    from bench import caption_swap
    from generate.model import PooledTimeTextEmbedding, build_pipeline, save_pipeline

    torch.manual_seed(0)
    folder = save_pipeline(build_pipeline(TINY_CONFIG, with_text_encoder=False), tmp_path / "m", TINY_CONFIG)
    before = PooledTimeTextEmbedding.forward
    both, pooled, cross = (caption_swap.measure(folder, 2, 0, path=p)["rows"] for p in ("both", "pooled", "cross"))
    assert PooledTimeTextEmbedding.forward is before  # restored
    assert both == cross and both[0]["no caption_increase_pct"] != 0.0
    assert all(r[k] == 0.0 for r in pooled for k in r if k.endswith("_increase_pct"))


def test_the_text_probe_reads_each_attribute_from_the_pooled_prompt():
    from bench import caption_swap

    acc = caption_swap.text_probe(captions=150)
    assert set(acc) == {"shape", "colour", "motion"}
    assert acc["colour"] > 0.8 and acc["shape"] > 0.8  # chance: 1/8 and 1/5


def test_first_frame_bench_reports_every_latent_frame(tmp_path, capsys):
    from bench import first_frame

    out = T.train(tmp_path / "a", TINY_CONFIG, settings=_settings(), progress=False)
    report = tmp_path / "ff.json"
    assert first_frame.main(["--model", str(out), "--clips", "2", "--json", str(report)]) == 0
    rows = json.loads(report.read_text())["rows"]
    # 5 frames, 4x in time: latent frame 0 is video frame 0, latent frame 1 frames 1-4
    assert [r["video_frames"] for r in rows] == ["0", "1-4"]
    assert all(r["data_spread"] > 0 and r["generated_spread"] > 0 and r["pixel_change_levels"] > 0 for r in rows)
    assert "| latent frame | video frames |" in capsys.readouterr().out
    assert first_frame.main(["--model", str(out), "--json", str(report)]) == 2  # exists, no --force
