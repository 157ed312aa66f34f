"""Both cores for the per-frame work of embedding and detection.

The issue measures speed at 720p "both cores", and the codecs it is compared with are
multi-threaded; the watermark's per-frame steps are independent of each other and numpy
releases the GIL inside them, so threads over frame chunks give the same bits in less time.

No BLAS call (``@``, ``dot``, ``tensordot``) may run on these threads: numpy's OpenBLAS,
entered from two threads at once with its own thread pool, spun both callers at 100 % CPU
for 15 minutes in a CI run (a service test). Callers do the BLAS part on their own thread
and hand only elementwise work, filters, FFTs and ``bincount`` to :func:`thread_map`.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["WORKERS", "workers", "thread_map"]


def _workers_from_env() -> int:
    raw = os.environ.get("FRAMEMARK_THREADS", "").strip()
    try:
        n = int(raw) if raw else 0
    except ValueError:
        n = 0  # a bad value must not break every import of the watermark: the default
    return n if n > 0 else min(2, os.cpu_count() or 1)


#: threads for per-frame work (FRAMEMARK_THREADS overrides; 1 runs inline)
WORKERS = _workers_from_env()

_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()  # the service's detection threads may ask for it at once


def workers() -> int:
    """How many parts to split per-frame work into (read at call time, so tests can set it)."""
    return WORKERS


def _pool(n: int) -> ThreadPoolExecutor:
    # keyed by process: a child forked by a ProcessPoolExecutor (detect.training) inherits the
    # parent's executor object but none of its threads, and would wait on it forever
    key = (os.getpid(), n)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(n, thread_name_prefix="framemark-wm")
    return pool


def thread_map(fn, items) -> list:
    """``[fn(x) for x in items]``, on :data:`WORKERS` threads when there is more than one
    item. Not reentrant: ``fn`` must not call it (the pool is shared)."""
    items = list(items)
    if WORKERS == 1 or len(items) < 2:
        return [fn(x) for x in items]
    return list(_pool(WORKERS).map(fn, items))
