"""`framemark generate` / `framemark train-generator` from the command line."""

from __future__ import annotations

import json

import pytest

from cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "a.mp4"
    code, _, err = _run(capsys, "generate", "a red circle", "-o", str(out), "--size", "12by12")
    assert code == 2 and err.count("\n") == 1 and "WIDTHxHEIGHT" in err
    code, _, err = _run(capsys, "generate", "  ", "-o", str(out))
    assert code == 2 and "prompt is empty" in err
    out.write_bytes(b"keep me")
    code, _, err = _run(capsys, "generate", "a red circle", "-o", str(out))
    assert code == 2 and "already exists" in err and out.read_bytes() == b"keep me"
    code, _, err = _run(capsys, "generate", "a red circle", "-o", str(tmp_path / "no" / "b.mp4"))
    assert code == 2 and "does not exist" in err
    code, _, err = _run(capsys, "generate", "a red circle", "-o", str(tmp_path / "c.mp4"),
                        "--model", str(tmp_path))
    assert code == 2 and "model_index.json" in err
    assert not list(tmp_path.glob("*.part*"))


def test_parse_size():
    from generate.commands import parse_size
    from provenance.errors import UsageError

    assert parse_size("128x96") == (128, 96) and parse_size(" 64X64 ") == (64, 64)
    for bad in ("", "128", "x", "-1x4", "1.5x2"):
        with pytest.raises(UsageError):
            parse_size(bad)


def test_train_generator_rejects_bad_settings(tmp_path, capsys):
    code, _, err = _run(capsys, "train-generator", "--run", str(tmp_path / "run"), "--config", "tiny",
                        "--dit-steps", "0")
    assert code == 2 and "--dit-steps must be positive" in err
    code, _, err = _run(capsys, "train-generator", "--run", str(tmp_path / "run"), "--config", "tiny",
                        "--object-weight", "-1")
    assert code == 2 and "--object-weight must be 0 or more" in err
    code, _, err = _run(capsys, "train-generator", "--run", str(tmp_path / "run"), "--config", "tiny",
                        "--dit-object-weight", "-0.5")
    assert code == 2 and "--dit-object-weight must be 0 or more" in err
    code, _, err = _run(capsys, "train-generator", "--run", str(tmp_path / "run2"), "--init-from", str(tmp_path))
    assert code == 2 and "not a model folder" in err


def test_a_vae_stage_alone_names_its_checkpoint_not_a_model_folder(tmp_path, capsys):
    code, out, err = _run(capsys, "train-generator", "--run", str(tmp_path / "run"), "--config", "tiny",
                          "--stage", "vae", "--vae-steps", "1", "--no-progress")
    assert code == 0, err
    assert "VAE checkpoint" in out and str(tmp_path / "run" / "vae.pt") in out and "model folder:" not in out
    assert (tmp_path / "run" / "vae.pt").is_file() and not (tmp_path / "run" / "export").exists()


@pytest.fixture
def tiny_model_dir(tmp_path_factory):
    import dataclasses

    import torch

    from generate.model import TINY_CONFIG, build_pipeline, save_pipeline

    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY_CONFIG, height=32, width=32, num_frames=5, steps=2)
    return save_pipeline(build_pipeline(cfg, with_text_encoder=False), tmp_path_factory.mktemp("m") / "tiny", cfg)


def test_generate_then_verify_from_the_cli(tmp_path, capsys, tiny_model_dir, keys_dir):
    keys = keys_dir
    out = tmp_path / "gen.mp4"
    code, stdout, err = _run(capsys, "generate", "a red circle moving left", "-o", str(out), "--model",
                             str(tiny_model_dir), "--keys", str(keys), "--frames", "6", "--json", "--no-progress")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["frames"] == 5 and "1+4k" in err and out.is_file()
    code, stdout, err = _run(capsys, "verify", str(out), "--keys", str(keys), "--json")
    assert code == 0 and json.loads(stdout)["state"] == "trusted"
