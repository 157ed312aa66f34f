"""A deadline for the whole test session, kept by a separate process.

CI has twice run out its 90 minutes inside one test with no output at all, not even
pytest's per-test faulthandler dump. This process outlives any state the test process can
get into short of being stopped: when the session passes its deadline it prints each thread
of the test process (state, CPU time, kernel wait channel), then sends SIGABRT, on which
pytest's faulthandler prints every thread's Python stack and the run fails at once.

Run as ``python tests/watchdog.py PID SECONDS``; :func:`start` does that, and the session's
end kills it (see ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: the whole suite takes ~5 minutes here, ~8 in CI with its install; CI's limit is 90
DEFAULT_DEADLINE_S = 1800.0


def start(deadline_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, str(os.getpid()), str(deadline_s)],
                            stdin=subprocess.DEVNULL)


def _threads(pid: int) -> list[str]:
    """One line per thread: id, name, state (R running, S sleeping, D disk), user and
    system CPU seconds, kernel wait channel."""
    tick = os.sysconf("SC_CLK_TCK")
    lines = []
    try:
        tasks = sorted(Path(f"/proc/{pid}/task").iterdir(), key=lambda p: int(p.name))
    except OSError:
        return ["  (no /proc here: no thread table)"]
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
            name = stat[stat.index("(") + 1: stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            wchan = (task / "wchan").read_text().strip() or "-"
        except OSError:
            continue  # the thread ended meanwhile
        utime, stime = int(fields[11]) / tick, int(fields[12]) / tick
        lines.append(f"  {task.name:>8} {name:<16} {fields[0]} user {utime:8.1f}s sys {stime:7.1f}s {wchan}")
    return lines


def _watch(pid: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        time.sleep(min(5.0, max(0.0, end - time.monotonic())))
        if os.getppid() != pid:
            return  # the test process is gone: nothing to guard
    print(f"\ntest watchdog: the session passed its {deadline_s:.0f} s deadline; "
          f"threads of pid {pid}:", file=sys.stderr)
    for line in _threads(pid):
        print(line, file=sys.stderr)
    sys.stderr.flush()
    os.kill(pid, signal.SIGABRT)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), float(sys.argv[2]))
