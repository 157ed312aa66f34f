"""Shared pieces of the service tests: a real uvicorn server on loopback, test clips,
and the detector the service runs.

The server runs in a thread of the test process, on 127.0.0.1 and a port the kernel
picks, and is stopped at the end of the test that started it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from detect.service import ServiceSettings

__all__ = ["running_server", "write_test_clip", "service_detector", "make_keys_dir", "watermark_key", "FIXTURES", "WM_KEY",
           "DECODABLE_KEY"]

from tests.paths import C2PA_FIXTURES as FIXTURES  # noqa: E402
WM_KEY = bytes(range(32))  # a fixed test watermark key
#: a key whose mark write_test_clip's 24 frames of 160x128 decode blindly, CRC and all
#: (9.5 % coded-bit errors; with a random key ~3 % of such clips fail the CRC)
DECODABLE_KEY = np.random.default_rng(1019).bytes(32)


def write_test_clip(path: Path, frames: int = 12, size: tuple[int, int] = (64, 96), fps: float = 12.0,
                    seed: int = 0, watermark_payload: bytes | None = None, key: bytes = WM_KEY) -> Path:
    """A small real H.264 MP4: moving gradients plus noise (optionally pixel-watermarked)."""
    from provenance.media import Clip, write_clip

    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        base = (xx * 2 + yy + t * 5) % 256
        out[t] = np.stack([base, (base + 80) % 256, (255 - base)], -1).astype(np.uint8)
    out = np.clip(out.astype(np.int16) + rng.integers(-6, 7, out.shape), 0, 255).astype(np.uint8)
    clip = Clip(frames=out, fps=fps)
    if watermark_payload is not None:
        from watermark import PIXEL_ALG_ID, get_algorithm

        clip = get_algorithm(PIXEL_ALG_ID, key).embed(clip, watermark_payload)
    write_clip(path, clip, crf=16, preset="veryfast")
    return path


def make_keys_dir(path: Path, watermark_key: bytes | None = None) -> Path:
    """A keys folder with an initialised identity (watermark key included); a given
    ``watermark_key`` replaces the random one (a test that must read a payload every run)."""
    from provenance.fileio import write_private_file
    from provenance.keys import WATERMARK_KEY_FILE, init_identity

    path.mkdir(parents=True, exist_ok=True)
    init_identity(path)
    if watermark_key is not None:
        write_private_file(path / WATERMARK_KEY_FILE, watermark_key, force=True)
    return path


def watermark_key(keys_dir: Path) -> bytes:
    """The key the detector will use for ``keys_dir``."""
    from provenance.keys import load_watermark_key

    return load_watermark_key(keys_dir)


def service_detector():
    """The detector the shipped service runs: detect.fuse.detect_file."""
    from detect.fuse import detect_file

    return detect_file


@contextlib.contextmanager
def running_server(settings: ServiceSettings):
    """Run ``create_app(settings)`` under uvicorn on 127.0.0.1:<free port>; yield the base URL."""
    import uvicorn

    from detect.service import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("service-clips")
    write_test_clip(d / "plain.mp4")
    return d


def test_write_test_clip_is_a_readable_video(clip_dir):
    from provenance.media import read_clip

    clip = read_clip(clip_dir / "plain.mp4")
    assert clip.frames.shape == (12, 64, 96, 3)
