"""The test session's deadline (tests/watchdog.py) ends a stuck process with a diagnosis."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_process_past_its_deadline_prints_its_threads_and_stacks_and_dies():
    code = ("import faulthandler, sys, time; faulthandler.enable(); "
            f"sys.path.insert(0, {str(TESTS)!r}); import watchdog; watchdog.start(1.0); "
            "time.sleep(60)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == -signal.SIGABRT
    assert "test watchdog: the session passed its 1 s deadline" in proc.stderr
    assert "hrtimer_nanosleep" in proc.stderr or " S user" in proc.stderr  # the thread table
    assert 'File "<string>", line 1' in proc.stderr  # faulthandler's stack of the sleeper


def test_the_watchdog_leaves_when_its_process_is_gone():
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import watchdog; print(watchdog.start(60).pid)"
    pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30).stdout)
    import os
    import time

    deadline = time.monotonic() + 15  # it polls its parent every 5 s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):  # exited; whoever adopted it has not reaped it yet
            return
        time.sleep(0.5)
    raise AssertionError(f"watchdog {pid} still running after its process ended")
