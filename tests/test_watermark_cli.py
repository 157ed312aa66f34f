"""``framemark watermark embed|detect`` end to end, through real files and codecs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli import main
from provenance.media import read_clip, write_clip
from provenance.store import ManifestStore
from tests.test_watermark_core import textured_clip


@pytest.fixture()
def keys(keys_dir):
    return keys_dir


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "src.mp4"
    write_clip(path, textured_clip(t=24, h=192, w=256, seed=3), crf=18)
    return path


def test_embed_detect_roundtrip(tmp_path, keys, source, capsys):
    out = tmp_path / "marked.mp4"
    assert main(["watermark", "embed", str(source), "-o", str(out), "--keys", str(keys),
                 "--payload", "0a1b2c3d4e5f", "--no-sign", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["identifier"] == "0a1b2c3d4e5f" and summary["psnr_db"] >= 40
    src, marked = read_clip(source), read_clip(out)
    assert marked.num_frames == src.num_frames and marked.fps == pytest.approx(src.fps)
    assert main(["watermark", "detect", str(out), "--json", "--keys", str(keys), "--expect", "0a1b2c3d4e5f"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["detected"] and res["payload"] == "0a1b2c3d4e5f" and res["bit_accuracy"] == 1.0
    assert res["p_value"] <= 1e-6 and res["frames_used"] == 24 and len(res["per_frame"]) == 24
    assert res["store"] is not None  # the embed recorded the identifier
    # a 4:3 clip cannot be the built-in generator's square output: its latent mark is not looked for
    assert res["latent"]["skipped"] and "aspect ratio" in res["latent"]["reason"]
    assert ManifestStore(keys).lookup("org.framemark.video.1", summary["soft_binding_value"])
    # the unmarked source: not detected, exit status 1
    assert main(["watermark", "detect", str(source), "--json", "--keys", str(keys)]) == 1
    assert json.loads(capsys.readouterr().out)["payload"] is None
    assert main(["watermark", "detect", str(out), "--keys", str(keys), "--no-latent"]) == 0
    text = capsys.readouterr().out
    assert "pixel watermark FOUND" in text and "latent watermark not looked for: not looked for (--no-latent)" in text


def test_random_identifiers_differ(tmp_path, keys, source, capsys):
    ids = []
    for name in ("a.mp4", "b.mp4"):
        assert main(["watermark", "embed", str(source), "-o", str(tmp_path / name), "--keys", str(keys),
                     "--no-sign", "--json"]) == 0
        ids.append(json.loads(capsys.readouterr().out)["identifier"])
    assert ids[0] != ids[1]


def test_errors(tmp_path, keys, source, capsys):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    assert main(["watermark", "detect", str(junk), "--keys", str(keys)]) == 2
    assert main(["watermark", "embed", str(junk), "-o", str(tmp_path / "o.mp4"), "--keys", str(keys),
                 "--no-sign"]) == 2
    assert not (tmp_path / "o.mp4").exists()
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"x")
    assert main(["watermark", "embed", str(source), "-o", str(existing), "--keys", str(keys), "--no-sign"]) == 2
    assert existing.read_bytes() == b"x"
    assert main(["watermark", "embed", str(source), "-o", str(tmp_path / "p.mp4"), "--keys", str(keys),
                 "--payload", "xyz"]) == 2
    tiny = tmp_path / "tiny.mp4"
    write_clip(tiny, textured_clip(t=3, h=8, w=8))
    assert main(["watermark", "detect", str(tiny), "--keys", str(keys)]) == 2
    assert main(["watermark", "detect", str(source), "--keys", str(keys), "--no-latent",
                 "--generator", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("framemark: error:") == 6
    assert not list(tmp_path.glob(".*part*"))  # no partial outputs left behind
