"""Batch detection: one line per file, a bad file is one error line, resume skips finished files."""

import json

import numpy as np

from detect.batch import collect_inputs, done_inputs, run_batch
from provenance.media import Clip, write_clip


def _write(path, seed=0, t=12):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (t, 48, 64, 3), dtype=np.uint8)
    write_clip(path, Clip(frames=frames, fps=8.0), crf=30, preset="ultrafast")
    return path


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_batch_resume_and_bad_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "no-keys"))
    clips = tmp_path / "clips"
    clips.mkdir()
    _write(clips / "a.mp4", 0)
    _write(clips / "b.mp4", 1)
    (clips / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 20)
    out = tmp_path / "results.jsonl"
    inputs = collect_inputs(clips)
    assert [p.name for p in inputs] == ["a.mp4", "b.mp4", "broken.mp4"]

    # a previous run finished a.mp4, then died in the middle of writing the next line
    first = run_batch(inputs[:1], out, jobs=1, progress=False, classifier=False)
    assert first["ok"] == 1
    with open(out, "ab") as fh:
        fh.write(b'{"input": "half a li')
    assert done_inputs(out) == {str(inputs[0])}          # the torn tail is cut off
    assert out.read_bytes().endswith(b"\n")

    summary = run_batch(inputs, out, jobs=2, progress=False, classifier=False)
    assert summary["skipped_done"] == 1 and summary["ok"] == 1 and summary["errors"] == 1
    recs = _lines(out)
    assert sorted(r["input"] for r in recs) == sorted(str(p) for p in inputs)   # each file exactly once
    bad = [r for r in recs if not r["ok"]]
    assert len(bad) == 1 and bad[0]["input"].endswith("broken.mp4") and bad[0]["error"]
    good = [r for r in recs if r["ok"]]
    assert all(r["verdict"] == r["report"]["verdict"] for r in good)

    again = run_batch(inputs, out, jobs=2, progress=False, classifier=False)
    assert again["skipped_done"] == 3 and again["ok"] == 0 and len(_lines(out)) == 3

    fresh = run_batch(inputs, out, jobs=1, progress=False, force=True, classifier=False)
    assert fresh["skipped_done"] == 0 and len(_lines(out)) == 3


def test_list_file_relative_paths(tmp_path):
    _write(tmp_path / "x.mp4")
    lst = tmp_path / "list.txt"
    lst.write_text("# clips\nx.mp4\n\n")
    assert collect_inputs(lst) == [tmp_path / "x.mp4"]


def test_workers_do_not_inherit_the_callers_c2pa_state(tmp_path, monkeypatch):
    """A process that verified a file before starting a batch holds cached c2pa Contexts; a
    forked worker would inherit them dead and fail every file ("Context is not valid")."""
    from provenance.verify import verify_file

    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "no-keys"))
    clips = tmp_path / "clips"
    clips.mkdir()
    _write(clips / "a.mp4", 0)
    assert verify_file(clips / "a.mp4").to_dict()["state"] == "absent"  # the caller's own Context
    out = tmp_path / "results.jsonl"
    summary = run_batch(collect_inputs(clips), out, jobs=1, progress=False, classifier=False)
    assert summary["ok"] == 1, out.read_text()
