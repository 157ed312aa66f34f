"""Load test of the upload service: many concurrent uploads, latency and memory.

    nice -n 10 .venv/bin/python bench/service_load.py [--uploads 100] [--concurrency 50] \
        [--seconds 5] [--size 640x360] [--detector module:function] [-o report.json]

Starts ``framemark serve`` (or an app with --detector) as a child process on
127.0.0.1, makes one test clip (default 5 s of 640x360 at 30 fps), and sends
--uploads uploads with --concurrency in flight at once. Reports errors, p50/p90/p99
latency, throughput and the server's peak RSS (sampled with psutil every 50 ms).
Exit status 0 when every upload got a 200.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fuzz import start_server  # noqa: E402  (same child-server start-up as the fuzz run)


def make_clip(path: Path, seconds: float, width: int, height: int, fps: float = 30.0) -> Path:
    import numpy as np

    from provenance.media import Clip, write_clip

    n = int(seconds * fps)
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(0)
    frames = np.empty((n, height, width, 3), np.uint8)
    for t in range(n):
        base = (xx + 2 * yy + 4 * t) % 256
        frames[t] = np.stack([base, (base * 3) % 256, 255 - base], -1)
    frames = np.clip(frames.astype(np.int16) + rng.integers(-5, 6, frames.shape), 0, 255).astype(np.uint8)
    write_clip(path, Clip(frames=frames, fps=fps), crf=23, preset="veryfast")
    return path


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def run_load(url: str, data: bytes, uploads: int, concurrency: int, timeout_s: float) -> list[dict]:
    import httpx

    def one(i: int) -> dict:
        t0 = time.perf_counter()
        try:
            r = httpx.post(url + "/v1/detect", files={"file": (f"load{i}.mp4", data, "video/mp4")}, timeout=timeout_s)
            return {"status": r.status_code, "seconds": time.perf_counter() - t0,
                    "detect_s": (r.json().get("service") or {}).get("timings", {}).get("detect_s")
                    if r.status_code == 200 else None, "error": None if r.status_code == 200 else r.text[:200]}
        except httpx.HTTPError as exc:
            return {"status": None, "seconds": time.perf_counter() - t0, "detect_s": None,
                    "error": f"{type(exc).__name__}: {exc}"}

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(uploads)))


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = self.start_rss = self.proc.memory_info().rss
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except Exception:  # noqa: BLE001 - the process ended
                return
            self.peak = max(self.peak, rss)


def summarise(rows: list[dict], wall: float) -> dict:
    lat = [r["seconds"] for r in rows]
    det = [r["detect_s"] for r in rows if r["detect_s"] is not None]
    return {"uploads": len(rows), "ok": sum(r["status"] == 200 for r in rows),
            "errors": [r["error"] for r in rows if r["status"] != 200][:10],
            "p50_s": round(percentile(lat, 0.5), 3), "p90_s": round(percentile(lat, 0.9), 3),
            "p99_s": round(percentile(lat, 0.99), 3), "max_s": round(max(lat), 3),
            "detect_p50_s": round(statistics.median(det), 3) if det else None,
            "wall_s": round(wall, 2), "throughput_per_s": round(len(rows) / wall, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5.0, help="clip length")
    ap.add_argument("--size", default="640x360", help="clip WIDTHxHEIGHT")
    ap.add_argument("--detector", default=None, help="module:function (default: framemark serve's detector)")
    ap.add_argument("--timeout", type=float, default=600.0, help="client timeout per upload (s)")
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    if not (1 <= args.uploads <= 10_000 and 1 <= args.concurrency <= 500):
        ap.error("--uploads 1..10000, --concurrency 1..500")
    w, h = (int(x) for x in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory(prefix="framemark-load-") as d:
        clip = make_clip(Path(d) / "clip.mp4", args.seconds, w, h)
        data = clip.read_bytes()
        keys = Path(d) / "keys"
        keys.mkdir()
        proc, url = start_server(keys, timeout_s=args.timeout, detector=args.detector)
        try:
            import httpx

            httpx.post(url + "/v1/detect", files={"file": ("warm.mp4", data, "video/mp4")}, timeout=args.timeout)
            sampler = RssSampler(proc.pid)
            sampler.start()
            t0 = time.perf_counter()
            rows = run_load(url, data, args.uploads, args.concurrency, args.timeout)
            wall = time.perf_counter() - t0
            sampler.stop.set()
            sampler.join()
            report = summarise(rows, wall) | {
                "clip": {"bytes": len(data), "size": args.size, "seconds": args.seconds},
                "concurrency": args.concurrency,
                "server_rss_mb": {"after_warmup": round(sampler.start_rss / 2**20, 1),
                                  "peak": round(sampler.peak / 2**20, 1)},
                "server_alive": proc.poll() is None}
        finally:
            proc.terminate()
            proc.wait(15)
    print(json.dumps(report, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1))
    return 0 if report["ok"] == report["uploads"] else 1


if __name__ == "__main__":
    sys.exit(main())
