"""Fuzz the upload endpoint and the detector with >= 1,000 malformed inputs.

    nice -n 10 .venv/bin/python -m bench.fuzz [--n 1000] [--seed 1234] [--fixtures DIR] [--empty-keys] [-o report.json]

1. Service: ``framemark serve`` runs as a child process on 127.0.0.1 (a free port);
   every case is POSTed to /v1/detect, one at a time plus two in parallel.
   A 5xx, a dropped connection or an answer later than the time limit is a failure.
2. Detector: every case is written to a file and given to the detector in a child
   process; an exception that is not a FramemarkError, a dead child, or a run over
   the time limit is a failure (a FramemarkError is the clean refusal we want).

The keys folder is a freshly initialised identity (watermark key included), so the
watermark extraction and recovery paths are fuzzed too (``--empty-keys``: a bare folder).
The corpus comes from detect/service/fuzz_corpus.py (deterministic in --seed).
Exit status 0 when there were no failures. Only loopback traffic; every loop bounded.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detect.service.fuzz_corpus import generate_corpus, seed_files  # noqa: E402


def _suffix(name: str) -> str:
    for ext in (".mp4", ".mov", ".webm", ".jpg", ".png", ".m4s"):
        if ext in name:
            return ext
    return ".mp4"


# ----------------------------------------------------------------------------- service
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_keys(keys_dir: Path, empty: bool = False) -> Path:
    """The server's keys folder: an initialised identity (signer + watermark key), so every
    signal runs as deployed (C2PA trust, watermark extraction, recovery), or, with
    ``empty``, a bare folder (no watermark check: the set-up of the first runs)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    if not empty:
        from provenance.keys import init_identity

        init_identity(keys_dir)
    return keys_dir


def start_server(keys_dir: Path, timeout_s: float, detector: str | None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if detector:  # an explicit detector: the child builds the app itself
        code = ("import sys, uvicorn; from detect.service import ServiceSettings, create_app; "
                "from pathlib import Path; import importlib; "
                f"m, f = {detector!r}.split(':'); det = getattr(importlib.import_module(m), f); "
                f"det = det() if f == 'service_detector' else det; "
                f"app = create_app(ServiceSettings(keys_dir=Path({str(keys_dir)!r}), detector=det, "
                f"detect_timeout_s={timeout_s})); "
                f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='error')")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, str(ROOT / "cli.py"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--keys", str(keys_dir), "--timeout", str(timeout_s)]
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def post_case(url: str, name: str, data: bytes, limit_s: float) -> dict:
    import httpx

    t0 = time.perf_counter()
    try:
        r = httpx.post(url + "/v1/detect", files={"file": (name + _suffix(name), data, "application/octet-stream")},
                       timeout=limit_s + 30)
        dt = time.perf_counter() - t0
        ok_json = True
        try:
            r.json()
        except ValueError:
            ok_json = False
        failure = None
        if r.status_code >= 500 and not (r.status_code == 503 and r.headers.get("retry-after")):
            failure = f"HTTP {r.status_code}: {r.text[:200]}"
        elif not ok_json:
            failure = f"non-JSON answer (HTTP {r.status_code})"
        elif dt > limit_s + 10:
            failure = f"answered after {dt:.1f} s (limit {limit_s} s)"
        return {"case": name, "status": r.status_code, "seconds": round(dt, 3), "failure": failure,
                "code": (r.json().get("error") or {}).get("code") if ok_json and r.status_code != 200 else None}
    except httpx.HTTPError as exc:
        return {"case": name, "status": None, "seconds": round(time.perf_counter() - t0, 3),
                "failure": f"connection: {type(exc).__name__}: {exc}"}


def fuzz_service(url: str, cases, limit_s: float, parallel: int = 2) -> list[dict]:
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda c: post_case(url, c[0], c[1], limit_s), cases))


# ----------------------------------------------------------------------------- detector
def _detect_child(conn, detector_spec: str | None, keys_dir: str) -> None:
    import importlib

    from provenance.errors import FramemarkError
    from provenance.media import DecodeLimits

    if detector_spec:
        m, f = detector_spec.split(":")
        det = getattr(importlib.import_module(m), f)
        det = det() if f == "service_detector" else det
    else:
        from detect.fuse import detect_file as det
    limits = DecodeLimits(max_frames=1800, max_pixels=1920 * 1080, max_seconds=60)
    while True:
        path = conn.recv()
        if path is None:
            return
        try:
            report = det(Path(path), keys_dir=Path(keys_dir), limits=limits)
            json.dumps(report, default=str)
            conn.send(("ok", report.get("verdict") if isinstance(report, dict) else None))
        except FramemarkError as exc:
            conn.send(("refused", type(exc).__name__))
        except Exception as exc:  # noqa: BLE001 - this is what the fuzz looks for
            conn.send(("crash", f"{type(exc).__name__}: {str(exc)[:200]}"))


def fuzz_detect(cases, detector_spec: str | None, keys_dir: Path, limit_s: float) -> list[dict]:
    ctx = mp.get_context("spawn")
    results = []
    child = parent = None

    def start():
        nonlocal child, parent
        parent, child_end = ctx.Pipe()
        child = ctx.Process(target=_detect_child, args=(child_end, detector_spec, str(keys_dir)), daemon=True)
        child.start()

    start()
    with tempfile.TemporaryDirectory(prefix="framemark-fuzz-") as d:
        for name, data in cases:
            path = Path(d) / ("case" + _suffix(name))
            path.write_bytes(data)
            t0 = time.perf_counter()
            parent.send(str(path))
            if parent.poll(limit_s + 60 if not results else limit_s):  # the first call also imports
                try:
                    kind, detail = parent.recv()
                except EOFError:
                    kind, detail = "crash", f"detector process died (exit {child.exitcode})"
            else:
                kind, detail = "hang", f"no answer in {limit_s} s"
            if kind in ("crash", "hang") and not child.is_alive() or kind == "hang":
                child.kill()
                child.join(5)
                start()
            results.append({"case": name, "outcome": kind, "detail": detail,
                            "seconds": round(time.perf_counter() - t0, 3),
                            "failure": detail if kind in ("crash", "hang") else None})
            path.unlink()
    parent.send(None)
    child.join(10)
    return results


def summarise(rows: list[dict], key: str) -> dict:
    secs = sorted(r["seconds"] for r in rows)
    return {"cases": len(rows), "failures": sum(1 for r in rows if r["failure"]),
            "by_" + key: dict(collections.Counter(str(r[key]) for r in rows)),
            **({"by_code": dict(collections.Counter(f"{r['status']} {r['code']}" for r in rows if r.get("code")))}
               if key == "status" else {}),
            "p50_s": secs[len(secs) // 2] if secs else None, "max_s": secs[-1] if secs else None,
            "failed": [r for r in rows if r["failure"]][:50]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--fixtures", default=str(ROOT.parent / "shared" / "fixtures" / "c2pa"))
    ap.add_argument("--limit", type=float, default=30.0, help="time limit of one detection (s)")
    ap.add_argument("--detector", default=None,
                    help="module:function of the detector (default detect.fuse:detect_file via framemark serve)")
    ap.add_argument("--skip-detect", action="store_true", help="fuzz only the service")
    ap.add_argument("--empty-keys", action="store_true",
                    help="an empty keys folder (no watermark key: the watermark and recovery paths are skipped); "
                         "default: a freshly initialised identity")
    ap.add_argument("-o", "--output", help="write the full JSON report here")
    args = ap.parse_args(argv)

    seeds = seed_files(args.fixtures)
    report = {"n": args.n, "seed": args.seed, "seeds": sorted(seeds),
              "keys": "empty" if args.empty_keys else "initialised"}
    with tempfile.TemporaryDirectory(prefix="framemark-fuzz-keys-") as keys:
        prepare_keys(Path(keys), empty=args.empty_keys)
        proc, url = start_server(Path(keys), args.limit, args.detector)
        try:
            t0 = time.perf_counter()
            rows = fuzz_service(url, generate_corpus(args.n, args.seed, seeds=seeds), args.limit)
            report["service"] = summarise(rows, "status") | {"wall_s": round(time.perf_counter() - t0, 1)}
            report["service"]["server_alive"] = proc.poll() is None
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(json.dumps({k: v for k, v in report["service"].items() if k != "failed"}), flush=True)
        if not args.skip_detect:
            t0 = time.perf_counter()
            rows = fuzz_detect(generate_corpus(args.n, args.seed, seeds=seeds), args.detector, Path(keys), args.limit)
            report["detect"] = summarise(rows, "outcome") | {"wall_s": round(time.perf_counter() - t0, 1)}
            print(json.dumps({k: v for k, v in report["detect"].items() if k != "failed"}), flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1))
    failures = report["service"]["failures"] + (report.get("detect") or {}).get("failures", 0)
    failures += 0 if report["service"]["server_alive"] else 1
    for part in ("service", "detect"):
        for r in (report.get(part) or {}).get("failed", [])[:10]:
            print(f"FAIL {part} {r['case']}: {r['failure']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
