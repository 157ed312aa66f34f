"""The attack registry: lookup by name and group, unknown names, light import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from detect.attacks import Attack, by_group, get, groups, names, resolve
from provenance.errors import UsageError
from tests.conftest import REPO

REQUIRED = ["h264-crf23", "h264-crf30", "h264-crf40", "h264-500k-480p", "h265-crf30", "vp9-crf40", "av1-crf40",
            "crop-0.71", "crop-0.71-offcentre", "crop-0.55", "crop-0.55-offcentre", "resize-0.5", "resize-0.71",
            "resize-1.5", "rotate-5", "rotate-10", "hflip", "brightness-0.5", "contrast-0.5", "gamma-0.7",
            "saturation-0", "blur-1", "noise-5", "fps-24to30", "fps-30to24", "drop-0.33", "trim-1s",
            "screen-720p-30fps", "screen-1080p-30fps", "camcord-mild", "camcord-strong",
            "h264-crf40+crop-0.71+brightness-0.5"]


def test_names_and_groups():
    assert set(REQUIRED) <= set(names())
    assert groups() == ["none", "codec", "geometry", "photometric", "temporal", "screen", "camcord", "removal", "combined"]
    for n in REQUIRED:
        a = get(n)
        assert isinstance(a, Attack) and a.name == n and a.group in groups()
        assert a.describe()["name"] == n
    assert {a.name for a in by_group("codec")} >= {"h264-crf23", "av1-crf40"}
    assert all(a.group == "screen" for a in by_group("screen"))


def test_resolve_mixes_names_and_groups():
    got = [a.name for a in resolve(["codec", "crop-0.71", "h264-crf30"])]
    assert got[0] == "none" and got.count("h264-crf30") == 1 and "crop-0.71" in got
    assert len(resolve(None)) == len(names()) == len(resolve(["all"]))
    assert resolve(["hflip+noise-5"])[-1].group == "combined"


@pytest.mark.parametrize("bad", ["h264-crf31", "nope", "crop-0.71+bogus"])
def test_unknown_names(bad):
    with pytest.raises(UsageError, match="unknown attack"):
        resolve([bad])
    with pytest.raises(UsageError):
        by_group("nope")


def test_suggestion():
    with pytest.raises(UsageError, match="did you mean"):
        get("h264-crf3")


def test_package_import_is_light():
    code = ("import sys, detect.attacks; bad = [m for m in ('av', 'scipy', 'PIL', 'matplotlib', 'torch') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
