"""Bounded concurrency: at most N detections run, at most Q requests wait, the rest get 503.

Admission is decided before the upload is read, so a flood of requests costs the
server neither disk nor CPU. Waiting requests get a slot first-come first-served.
A slot is released only when the detection thread has really finished (even when
its request already timed out), so no more than ``max_concurrency`` threads ever
work on uploads.
"""

from __future__ import annotations

import asyncio
import collections

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
        """Wait for a worker slot, first come first served; 503 after ``timeout_s``."""
        self._loop = asyncio.get_running_loop()
        if self._running < self.max_concurrency and not self._waiters:
            self._running += 1
            return
        fut = self._loop.create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except asyncio.TimeoutError:
            if fut.done() and not fut.cancelled():
                return  # granted at the last moment: keep it
            fut.cancel()
            raise self.busy() from None
        except asyncio.CancelledError:
            # the client went away while waiting: hand a slot granted meanwhile to the next one
            if fut.done() and not fut.cancelled():
                self._release()
            else:
                fut.cancel()
            raise

    def _release(self) -> None:
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
