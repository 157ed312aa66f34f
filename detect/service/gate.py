"""Bounded concurrency: at most N detections run, at most Q requests wait, the rest get 503.

Admission is decided before the upload is read, so a flood of requests costs the
server neither disk nor CPU. Waiting requests get a slot first-come first-served.
A slot is released only when the detection thread has really finished (even when
its request already timed out), so no more than ``max_concurrency`` threads ever
work on uploads.

An admitted request waits as long as the queue moves: it gets 503 only when no slot
has been freed for ``timeout_s`` (the workers are stuck, e.g. on detections past their
time limit, which a thread cannot abandon). A limit on the wait itself would refuse,
after making them wait, requests the bounded queue was about to serve: with 2 workers
and 3 s detections, the 50th of 50 concurrent uploads waits about 75 s, and a 60 s
limit turned half of such a burst into 503s (bench/service_load.py, 2026-12-03).
"""

from __future__ import annotations

import asyncio
import collections
import time

from .errors import ServiceError

__all__ = ["Gate"]


class Gate:
    """Lives on one event loop; ``release_slot_threadsafe`` may be called from any thread."""

    def __init__(self, max_concurrency: int, max_queue: int, retry_after_s: int):
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.retry_after = str(int(retry_after_s))
        self._admitted = 0      # requests inside the service: uploading, waiting or running
        self._running = 0       # slots held by detection threads
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_release = time.monotonic()  # when a slot was last freed (the queue last moved)

    def busy(self) -> ServiceError:
        return ServiceError(503, "busy", "the service is at capacity; retry later",
                            {"Retry-After": self.retry_after})

    def admit(self) -> None:
        """Count a request in, or refuse it with 503."""
        if self._admitted >= self.max_concurrency + self.max_queue:
            raise self.busy()
        self._admitted += 1

    def leave(self) -> None:
        self._admitted -= 1

    async def acquire_slot(self, timeout_s: float) -> None:
        """Wait for a worker slot, first come first served; 503 once no slot has been
        freed for ``timeout_s`` (counted from when this request started waiting)."""
        self._loop = asyncio.get_running_loop()
        if self._running < self.max_concurrency and not self._waiters:
            self._running += 1
            return
        fut = self._loop.create_future()
        self._waiters.append(fut)
        joined = time.monotonic()
        try:
            while True:
                remaining = timeout_s - (time.monotonic() - max(joined, self._last_release))
                if remaining <= 0:
                    if fut.done() and not fut.cancelled():
                        return  # granted at the last moment: keep it
                    fut.cancel()
                    raise self.busy()
                try:
                    await asyncio.wait_for(asyncio.shield(fut), remaining)
                    return
                except asyncio.TimeoutError:
                    continue  # a slot freed meanwhile restarts the clock; else the next pass refuses
        except asyncio.CancelledError:
            # the client went away while waiting: hand a slot granted meanwhile to the next one
            if fut.done() and not fut.cancelled():
                self._release()
            else:
                fut.cancel()
            raise

    def _release(self) -> None:
        self._last_release = time.monotonic()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot passes straight to the next waiter
                return
        self._running -= 1

    def release_slot_threadsafe(self) -> None:
        """Called from the worker thread when its work is over."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._release)
        except RuntimeError:
            pass  # the server shut down while this detection ran: nobody is waiting any more

    def stats(self) -> dict:
        return {"admitted": self._admitted, "running": self._running, "waiting": len(self._waiters),
                "max_concurrency": self.max_concurrency, "max_queue": self.max_queue}
