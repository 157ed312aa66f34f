"""Shared pytest fixtures.

- a session deadline (``tests/watchdog.py``, ``FRAMEMARK_TEST_DEADLINE_S``, default 30
  minutes): past it the run prints its threads and aborts instead of hanging CI.
- ``_isolated_home`` (autouse, session): ``$FRAMEMARK_HOME`` points at a fresh temp
  folder, so no test ever reads or writes ``~/.framemark``.
- ``keys_dir`` (session): that folder, holding an initialised identity (ES256 CA +
  signer + watermark key). Because it *is* ``$FRAMEMARK_HOME``, code that resolves
  the default keys folder (and verify's default trust in the local root) sees it;
  a test that needs the default home to hold an identity asks for this fixture.
- ``make_clip``: ``make_clip(path, frames=16, size=(96, 64), fps=24) -> Path``, a small
  real H.264 MP4 with moving content (size is width, height).
- ``c2pa_fixtures``: the C2PA reference test media, used in place from ``../shared``
  (``$FRAMEMARK_C2PA_FIXTURES`` overrides); tests skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session):
    # a whole-session deadline kept by another process (tests/watchdog.py):
    # FRAMEMARK_TEST_DEADLINE_S sets it, 0 turns it off
    from tests import watchdog

    deadline = float(os.environ.get("FRAMEMARK_TEST_DEADLINE_S", watchdog.DEFAULT_DEADLINE_S))
    if deadline > 0:
        session.config._framemark_watchdog = watchdog.start(deadline)


def pytest_sessionfinish(session):
    proc = getattr(session.config, "_framemark_watchdog", None)
    if proc is not None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("framemark-home")
    saved = {k: os.environ.get(k) for k in ("FRAMEMARK_HOME", "FRAMEMARK_TRUST")}
    os.environ["FRAMEMARK_HOME"] = str(home)
    os.environ.pop("FRAMEMARK_TRUST", None)  # a developer's trust list must not change test outcomes
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def keys_dir(_isolated_home) -> Path:
    from provenance.keys import init_identity

    init_identity(_isolated_home, common_name="framemark test signer")
    return _isolated_home


def moving_frames(frames: int = 16, size: tuple[int, int] = (96, 64), seed: int = 0) -> np.ndarray:
    """A textured background with a bright square moving across it (uint8 [T, H, W, 3])."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                     np.full_like(xx, 96)], axis=-1).astype(np.int16)
    base += rng.integers(-12, 13, base.shape, dtype=np.int16)
    out = np.empty((frames, h, w, 3), dtype=np.uint8)
    side = max(4, min(w, h) // 4)
    for t in range(frames):
        frame = base.copy()
        x = (t * max(1, w // max(frames, 1)) * 2) % max(1, w - side)
        y = (h - side) // 2 + int(round((h - side) / 4 * np.sin(t / 3)))
        frame[y:y + side, x:x + side] = (250, 240, 40)
        out[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


@pytest.fixture()
def make_clip():
    from provenance.media import Clip, write_clip

    def _make(path, frames: int = 16, size: tuple[int, int] = (96, 64), fps: float = 24, seed: int = 0) -> Path:
        path = Path(path)
        write_clip(path, Clip(frames=moving_frames(frames, size, seed), fps=float(fps)), crf=23, preset="ultrafast")
        return path

    return _make


@pytest.fixture(scope="session")
def c2pa_fixtures() -> Path:
    from tests.paths import C2PA_FIXTURES

    if not C2PA_FIXTURES.is_dir():
        if os.environ.get("CI"):  # CI lays ../shared beside the clone: missing media is a failure there
            pytest.fail(f"C2PA reference fixtures not found at {C2PA_FIXTURES}")
        pytest.skip(f"C2PA reference fixtures not found at {C2PA_FIXTURES}")
    return C2PA_FIXTURES
