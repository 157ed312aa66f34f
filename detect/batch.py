"""Batch detection: a folder or a list of files -> one JSON line per file.

* every core: a process pool of ``jobs`` workers, one file per task (each worker
  loads the classifier once);
* progress: a tqdm bar on stderr;
* ``results.jsonl`` grows by one complete line per finished file, written with a
  single ``O_APPEND`` write and fsynced, so concurrent readers and a crash never
  see half a record (a torn tail from a power cut is cut off on resume);
* resume: files that already have a line (a report or an error) are not redone;
* one bad file gives one ``{"ok": false, "error": ...}`` line; the batch goes on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from provenance.errors import FramemarkError, UsageError
from provenance.fileio import VIDEO_SUFFIXES

__all__ = ["collect_inputs", "done_inputs", "run_batch", "BatchSummary"]



def collect_inputs(target: str | Path) -> list[Path]:
    """The files a batch covers: every video under a folder, or the lines of a list file."""
    target = Path(target)
    if target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not files:
            raise UsageError(f"{target}: no video files in this folder")
        return files
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{target}: not a readable list of files ({type(exc).__name__})") from None
    base = target.parent
    files = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line)
        files.append(p if p.is_absolute() else base / p)
    if not files:
        raise UsageError(f"{target}: the list names no files")
    return files


def done_inputs(results: Path) -> set[str]:
    """Inputs that already have a complete line in ``results``; a torn last line is cut off."""
    return set(_records(results))


def _records(results: Path) -> dict[str, bool]:
    """input -> ok, for every complete line of ``results`` (the last line for an input wins)."""
    if not results.exists():
        return {}
    data = results.read_bytes()
    if data and not data.endswith(b"\n"):
        # an interrupted write left half a line: drop it, that file is redone
        cut = data.rfind(b"\n") + 1
        with open(results, "r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    done: dict[str, bool] = {}
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("input"), str):
            done[rec["input"]] = bool(rec.get("ok"))
    return done


def _append_line(fd: int, record: dict) -> None:
    line = (json.dumps(record, allow_nan=False, default=str) + "\n").encode("utf-8")
    # one write on an O_APPEND descriptor: the line lands whole, after every earlier line
    written = os.write(fd, line)
    if written != len(line):
        raise OSError(f"short write to results ({written} of {len(line)} bytes)")
    os.fsync(fd)


def _work(args) -> dict:
    path, kwargs = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .fuse import detect_file

    try:
        report = detect_file(path, **kwargs)
        return {"input": path, "ok": True, "verdict": report["verdict"], "score": report["score"],
                "report": _finite(report)}
    except FramemarkError as exc:
        return {"input": path, "ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
        return {"input": path, "ok": False, "error": f"internal error: {type(exc).__name__}: {str(exc)[:200]}"}


def _finite(obj):
    """JSON has no NaN or infinity; write null instead."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class BatchSummary(dict):
    """``{"total", "skipped_done", "ok", "errors", "failed_total", "results"}``: ``ok``/``errors`` count
    this run; ``failed_total`` counts error lines for these inputs in the whole results file."""


def run_batch(inputs: list[Path], results: str | Path, *, jobs: int | None = None, force: bool = False,
              progress: bool = True, **detect_kwargs) -> BatchSummary:
    """Detect every input not yet in ``results``, appending one line each (see module docstring)."""
    from tqdm import tqdm

    results = Path(results)
    parent = results.parent if str(results.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"output folder {parent} does not exist")
    if results.is_dir():
        raise UsageError(f"{results} is a directory, not a file")
    if force and results.exists():
        results.unlink()  # --force: start the batch afresh
    done = done_inputs(results)
    todo = [str(p) for p in inputs if str(p) not in done]
    summary = BatchSummary(total=len(inputs), skipped_done=len(inputs) - len(todo), ok=0, errors=0,
                           results=str(results))
    fd = os.open(results, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    jobs = max(1, jobs or os.cpu_count() or 1)
    try:
        bar = tqdm(total=len(todo), desc="detect", unit="file", disable=not progress)
        # forkserver, not fork: a forked worker inherits the parent's c2pa Contexts (cached in
        # provenance.verify), whose native handles are dead in the child ("Context is not
        # valid" for every file once the calling process had verified anything), and torch's
        # OpenMP pool, which does not survive a fork either
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("forkserver")) as pool:
            # keep at most 2 tasks per worker in flight: memory stays bounded on huge lists
            pending = set()
            it = iter(todo)
            try:
                while True:
                    while len(pending) < 2 * jobs:
                        nxt = next(it, None)
                        if nxt is None:
                            break
                        pending.add(pool.submit(_work, (nxt, detect_kwargs)))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        rec = fut.result()
                        _append_line(fd, rec)
                        summary["ok" if rec["ok"] else "errors"] += 1
                        bar.update(1)
            except KeyboardInterrupt:
                for fut in pending:
                    fut.cancel()
                raise
        bar.close()
    finally:
        os.close(fd)
    wanted = {str(p) for p in inputs}
    summary["failed_total"] = sum(1 for k, ok in _records(results).items() if k in wanted and not ok)
    return summary
