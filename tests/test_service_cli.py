"""``framemark serve`` as a user runs it: a child process on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_answers_and_stops(tmp_path):
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "FRAMEMARK_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port),
                             "--max-upload-mb", "1", "--max-concurrency", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            try:
                health = httpx.get(url + "/healthz", timeout=1).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health["limits"]["max_upload_bytes"] == 1024 * 1024
        assert health["load"]["max_concurrency"] == 1
        too_big = httpx.post(url + "/v1/detect", files={"file": ("a.mp4", b"\x00" * (2 * 1024 * 1024))}, timeout=30)
        assert too_big.status_code == 413
        # a second server on the same port: one clear line, exit status 2, no traceback
        second = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "cannot listen on 127.0.0.1" in second.stderr and "Traceback" not in second.stderr
    finally:
        proc.terminate()
        proc.wait(20)
