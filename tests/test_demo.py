"""`framemark demo`: the README's main job, end to end, on a tiny model built in code."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cli import main


@pytest.fixture(scope="module")
def tiny_model_128(tmp_path_factory):
    import torch

    from generate.model import TINY_CONFIG, build_pipeline, save_pipeline

    torch.manual_seed(0)
    # 128 px: the pixel watermark needs about one 128 px tile to read its identifier back
    cfg = dataclasses.replace(TINY_CONFIG, height=128, width=128, num_frames=17, steps=2)
    return save_pipeline(build_pipeline(cfg, with_text_encoder=False), tmp_path_factory.mktemp("m") / "tiny", cfg)


def test_demo_generates_strips_and_recovers(tmp_path, capsys, tiny_model_128):
    keys, out = tmp_path / "keys", tmp_path / "demo"
    code = main(["demo", "-o", str(out), "--model", str(tiny_model_128), "--keys", str(keys), "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["identity_created"] and (keys / "signer.key").stat().st_mode & 0o777 == 0o600
    assert summary["verify_generated"]["state"] == "trusted" and summary["verify_generated"]["ai_generated"] is True
    assert summary["verify_stripped"]["state"] == "absent"
    det = summary["detect_stripped"]
    assert det["verdict"] == "ai-generated-watermarked"
    assert det["recovery"]["recovered"]
    rec = det["recovery"]["results"][0]
    assert rec["status"] == "recovered" and rec["value"]  # recovered, never valid for the stripped file
    assert summary["identifier"] == next(w["payload"] for w in det["watermarks"] if w.get("detected"))
    # the latent mark is looked for with the model that made the clip, not the built-in one
    (latent,) = [w for w in det["watermarks"] if w["alg"] == "org.framemark.latent.1"]
    assert not latent.get("skipped") and latent["generator"] == "framemark-tiny-t2v 0.1.0"

    # a second run refuses to overwrite, before any work, and leaves the files alone
    before = (out / "generated.mp4").read_bytes()
    code = main(["demo", "-o", str(out), "--model", str(tiny_model_128), "--keys", str(keys)])
    _, err = capsys.readouterr()
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    assert (out / "generated.mp4").read_bytes() == before


def test_watermark_detect_finds_both_marks_of_a_generated_clip(tmp_path, capsys, tiny_model_128):
    """The issue's promise: after `framemark generate`, `framemark watermark detect` reports the
    pixel mark and the latent mark (looked for with the model that made the clip)."""
    keys, out = tmp_path / "keys", tmp_path / "gen.mp4"
    assert main(["keys", "init", "--keys", str(keys)]) == 0
    capsys.readouterr()
    assert main(["generate", "a red circle moving left", "-o", str(out), "--model", str(tiny_model_128),
                 "--keys", str(keys), "--json", "--no-progress"]) == 0
    made = json.loads(capsys.readouterr().out)
    code = main(["watermark", "detect", str(out), "--keys", str(keys), "--generator", str(tiny_model_128), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["detected"] and res["alg"] == "org.framemark.video.1"
    latent = res["latent"]
    assert latent["alg"] == "org.framemark.latent.1" and not latent.get("skipped") and "error" not in latent
    assert latent["generator"] == "framemark-tiny-t2v 0.1.0" and 0.0 <= latent["p_value"] <= 1.0
    if latent["detected"]:  # a random-weight model finds it or not; when it does, it names this clip
        assert latent["payload"] == made["identifier"]
    code = main(["watermark", "detect", str(out), "--keys", str(keys), "--generator", str(tiny_model_128)])
    text = capsys.readouterr().out
    last = text.splitlines()[-1]
    assert code == 0 and "pixel watermark FOUND" in text
    assert last.startswith(("latent watermark FOUND: p = ", "no latent watermark found: p = "))
    assert "framemark-tiny-t2v 0.1.0" in last
