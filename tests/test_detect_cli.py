"""`framemark detect` exit codes and outputs, through the real CLI entry point."""

import json

import numpy as np

from cli import main
from provenance.media import Clip, write_clip


def _clip(path, t=12):
    rng = np.random.default_rng(3)
    write_clip(path, Clip(frames=rng.integers(0, 256, (t, 48, 64, 3), dtype=np.uint8), fps=8.0),
               crf=30, preset="ultrafast")
    return path


def test_single_file_json_and_card(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "none"))
    clip = _clip(tmp_path / "c.mp4")
    assert main(["detect", str(clip), "--json", "--no-latent"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] in ("unknown", "likely-ai")
    assert set(report) >= {"verdict", "score", "evidence", "c2pa", "watermarks", "recovery", "classifier", "timings"}
    assert main(["detect", "run", str(clip), "--no-latent"]) == 0
    assert "verdict" in capsys.readouterr().out


def test_errors_exit_2_with_one_line(tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("hello, not a video")
    for argv in (["detect", str(tmp_path / "missing.mp4")],
                 ["detect", str(text)],
                 ["detect", str(_clip(tmp_path / "d.mp4")), "--model", str(tmp_path / "no.skops")],
                 ["detect", str(tmp_path), "--jobs", "0", "-o", str(tmp_path / "r.jsonl")],
                 ["detect", str(_clip(tmp_path / "e.mp4")), "--generator", str(tmp_path)],   # not a model folder
                 ["detect", str(tmp_path / "e.mp4"), "--generator", str(tmp_path), "--no-latent"],
                 ["detect", str(tmp_path)]):                     # a folder needs -o
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("framemark: error:")


def test_batch_exit_1_when_a_file_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "none"))
    d = tmp_path / "in"
    d.mkdir()
    _clip(d / "ok.mp4")
    (d / "bad.mp4").write_bytes(b"junk" * 10)
    out = tmp_path / "r.jsonl"
    assert main(["detect", str(d), "-o", str(out), "--jobs", "1", "--no-latent"]) == 1
    assert len(out.read_text().splitlines()) == 2
    assert main(["detect", str(d), "-o", str(out), "--jobs", "1", "--no-latent"]) == 1   # resumed: nothing redone
    assert "2 already done" in capsys.readouterr().out


def _smooth_clip(path, seed):
    """Stand-in "generated" class for the plumbing test: flat, noiseless, synthetic motion."""
    t, h, w = 18, 64, 64
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(t):
        cx = 10 + 2 * i + seed
        f = np.full((h, w, 3), 40, np.uint8)
        f[(xx - cx) ** 2 + (yy - 32) ** 2 < 100] = (220, 60, 60)
        frames.append(f)
    write_clip(path, Clip(frames=np.stack(frames), fps=8.0), crf=18, preset="ultrafast")


def test_train_then_detect_with_the_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "none"))
    real, gen = tmp_path / "real", tmp_path / "gen"
    real.mkdir()
    gen.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        frames = rng.integers(0, 256, (18, 64, 64, 3), dtype=np.uint8)
        write_clip(real / f"r{i}.mp4", Clip(frames=frames, fps=8.0), crf=23, preset="ultrafast")
        _smooth_clip(gen / f"g{i}.mp4", i)
    model = tmp_path / "m.skops"
    assert main(["detect", "train", "--real", str(real), "--generated", str(gen), "-o", str(model),
                 "--windows", "1", "--jobs", "1"]) == 0
    assert model.is_file()
    assert main(["detect", "train", "--real", str(real), "--generated", str(gen), "-o", str(model)]) == 2  # no clobber
    capsys.readouterr()
    assert main(["detect", str(gen / "g0.mp4"), "--json", "--model", str(model), "--no-latent"]) == 0
    report = json.loads(capsys.readouterr().out)
    score = report["classifier"]["score"]
    assert 0 < score < 1 and report["score"] == score
    assert report["verdict"] in ("likely-ai", "unknown") and report["hard_evidence"] is False
