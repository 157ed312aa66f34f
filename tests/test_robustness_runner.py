"""The runner end to end on one tiny clip, and the CLI's exit codes (real parts only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from detect.robustness import run_robustness
from tests.conftest import REPO


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from provenance.media import Clip, write_clip
    from tests.conftest import moving_frames

    p = tmp_path_factory.mktemp("rob") / "tiny.mp4"
    write_clip(p, Clip(frames=moving_frames(12, (192, 160)), fps=24.0), crf=18, preset="ultrafast")
    return p


def test_runner_end_to_end(tiny, keys_dir, tmp_path):
    out = tmp_path / "res"
    doc = run_robustness([tiny], out, attacks=["h264-crf23", "hflip"], keys_dir=keys_dir, progress=False)
    for name in ("results.json", "results.md", "results.png"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "results.json").read_text())
    assert [r["attack"] for r in data["summary"]] == ["none", "h264-crf23", "hflip"]
    cases = {c["attack"]: c for c in data["clips"][0]["cases"]}
    assert cases["none"]["c2pa_state"] in ("valid", "trusted")     # the signed file itself
    assert cases["hflip"]["c2pa_state"] == "absent"                # a re-encoded file has no manifest
    assert 0 <= cases["none"]["bit_accuracy"] <= 1 and 0 <= cases["none"]["p_value"] <= 1
    # a read payload is either the embedded one or counted as a false attribution
    for c in cases.values():
        assert not (c["payload_ok"] and c["payload_wrong"])
    assert all(r["payload_wrong"] == 0 for r in data["summary"])
    q = data["clips"][0]["quality"]
    assert q["psnr_db"] > 30 and 0.9 < q["ssim"] <= 1
    assert "| `hflip` | geometry |" in (out / "results.md").read_text()
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["clips"][0]["clip"]["identifier"] != "" and len(doc["clips"][0]["clip"]["identifier"]) == 12
    assert list(tmp_path.glob("**/*.part*")) == []


def _cli(*args, env_home):
    import os

    env = dict(os.environ, FRAMEMARK_HOME=str(env_home))
    return subprocess.run([sys.executable, "cli.py", "robustness", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_exit_codes(tiny, keys_dir, tmp_path):
    out = tmp_path / "cli"
    r = _cli(tiny, "-o", out, "--attacks", "crop-0.71", "--no-sign", "--quiet", env_home=keys_dir)
    assert r.returncode == 0, r.stderr
    assert "results in" in r.stdout and (out / "results.md").exists()
    before = (out / "results.json").read_bytes()
    r = _cli(tiny, "-o", out, "--attacks", "crop-0.71", "--quiet", env_home=keys_dir)
    assert r.returncode == 2 and "already exists" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "results.json").read_bytes() == before
    r = _cli(tiny, "-o", out, "--attacks", "crop-0.71", "--no-sign", "--quiet", "--force", env_home=keys_dir)
    assert r.returncode == 0, r.stderr
    r = _cli(tiny, "-o", tmp_path / "x", "--attacks", "h264-crf99", env_home=keys_dir)
    assert r.returncode == 2 and "unknown attack" in r.stderr
    assert not (tmp_path / "x" / "results.md").exists()
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    r = _cli(tmp_path / "junk.mp4", "-o", tmp_path / "y", "--attacks", "hflip", env_home=keys_dir)
    assert r.returncode == 2 and "framemark: error:" in r.stderr
    r = _cli(tiny, "-o", tmp_path / "z", "--attacks", "hflip", env_home=tmp_path / "nokeys")
    assert r.returncode == 2 and "keys" in r.stderr


def test_a_wrong_payload_is_counted_and_shown():
    from detect.robustness import render_markdown, summarise

    case = {"attack": "hflip", "group": "geometry", "detected": True, "payload_ok": False, "payload_wrong": True,
            "bit_accuracy": 0.6, "log10_p": -8.0, "c2pa_state": "absent"}
    rows = summarise([{"cases": [case, dict(case, payload_ok=True, payload_wrong=False)]}])
    assert rows[0]["payload_ok"] == 1 and rows[0]["payload_wrong"] == 1
    doc = {"alg": "org.framemark.video.1", "clips": [], "summary": rows, "started": "now", "seconds": 1.0}
    assert "| 1/2 (**1 wrong**) |" in render_markdown(doc)


def test_the_bench_report_writes_payload_cells_as_the_runner_does():
    """Both tables name a false attribution the same way (detect.robustness.payload_cell)."""
    from bench.robustness import report

    base = {"attack": "h264-crf30", "kind": "real", "detected": True, "bit_accuracy": 0.9, "log10_p": -9.0,
            "target_clip": True}
    cases = [dict(base, payload_ok=True, list_rank=0), dict(base, payload_ok=True, list_rank=3),
             dict(base, payload_ok=False, payload_wrong=True)]
    text = report({"matrix": {"cases": cases, "clips": [], "attacks": ["h264-crf30"]}})
    assert "| 2/3 (1 listed) (**1 wrong**) |" in text
