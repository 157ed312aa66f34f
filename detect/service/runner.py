"""Run blocking work on an upload off the event loop, under the gate and a time limit.

The upload's temporary file is deleted by the worker thread when it finishes,
whether the request is still waiting for it or has already been answered (timeout,
client gone): a file is never deleted under a decoder that is still reading it, and
never left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from pathlib import Path
from typing import Callable, TypeVar

from .errors import ServiceError, classify
from .gate import Gate
from .settings import ServiceSettings
from .upload import SpooledUpload

__all__ = ["Runtime", "run_on_upload", "single_threaded_blas"]

T = TypeVar("T")
log = logging.getLogger("framemark.service")


def single_threaded_blas() -> None:
    """Run BLAS on the calling thread only, process-wide. The service detects on several
    threads at once (its workers, the warm-up) and numpy's OpenBLAS, entered from two
    threads while its own thread pool is on, can spin both callers at 100 % CPU without end
    (seen in CI runs of the service tests). Detection's matrix products are small: one BLAS
    thread costs nothing measurable, and OpenBLAS is thread-safe with its pool off."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Runtime:
    """Per-app state: the settings, the gate and the worker threads."""

    def __init__(self, settings: ServiceSettings):
        single_threaded_blas()
        self.settings = settings
        self.gate = Gate(settings.max_concurrency, settings.max_queue, settings.retry_after_s)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.max_concurrency, thread_name_prefix="framemark-detect")
        self.warm = threading.Event()
        if not settings.warm_up:
            self.warm.set()

    def start_warm_up(self) -> None:
        """Detect a tiny synthetic clip in a background thread: the first upload of a fresh
        server otherwise pays for the detector's imports and model loads (8.4 s measured
        for a 5 s clip, against 2.7 s warm). Uploads are served meanwhile."""
        if self.warm.is_set():
            return
        threading.Thread(target=self._warm_up, name="framemark-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        import tempfile

        import numpy as np

        from provenance.media import Clip, write_clip

        from .engine import analyse

        try:
            with tempfile.TemporaryDirectory(prefix="framemark-warm-", dir=self.settings.tmp_dir) as tmp:
                path = Path(tmp) / "warm-up.mp4"
                # 16:9, so the latent check (square model output only) stays unloaded until needed
                frames = np.random.default_rng(0).integers(0, 256, (48, 72, 128, 3), dtype=np.uint8)
                write_clip(path, Clip(frames=frames, fps=24.0))
                analyse(path, self.settings)
        except Exception as exc:  # noqa: BLE001 - a failed warm-up only means a slow first upload
            log.warning("warm-up detection failed (%s); the first upload will be slower", type(exc).__name__)
        finally:
            self.warm.set()

    def close(self) -> None:
        # running detections finish on their own (and delete their files); nothing new starts
        self.executor.shutdown(wait=False, cancel_futures=True)


async def run_on_upload(rt: Runtime, upload: SpooledUpload, fn: Callable[[], T]) -> T:
    """Wait for a slot, run ``fn()`` in a worker thread, return its result or raise a
    :class:`ServiceError`. Takes ownership of ``upload`` (deletes it)."""
    try:
        await rt.gate.acquire_slot(rt.settings.queue_timeout_s)
    except BaseException:
        upload.delete()
        raise

    def work() -> T:
        try:
            return fn()
        finally:
            upload.delete()
            rt.gate.release_slot_threadsafe()

    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(rt.executor, work)
    except RuntimeError:  # executor shut down: the server is stopping
        upload.delete()
        rt.gate.release_slot_threadsafe()
        raise ServiceError(503, "shutting_down", "the service is shutting down", {"Retry-After": "5"}) from None
    try:
        return await asyncio.wait_for(asyncio.shield(future), rt.settings.detect_timeout_s)
    except asyncio.TimeoutError:
        raise ServiceError(422, "limit_exceeded",
                           f"analysing the upload took longer than {rt.settings.detect_timeout_s:g} s") from None
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer
        err = classify(exc)
        # never echo the server's temporary path back to the client
        err.message = err.message.replace(str(upload.path), upload.filename or "upload")
        err.args = (err.message,)
        raise err from None
