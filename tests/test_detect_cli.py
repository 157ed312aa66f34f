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
