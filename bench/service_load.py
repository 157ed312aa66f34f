"""Load test of the upload service: many concurrent uploads, latency and memory.

    nice -n 10 .venv/bin/python -m bench.service_load [--uploads 100] [--concurrency 50] \
        [--seconds 5] [--size 640x360] [--detector module:function] [--empty-keys] [-o report.json]
    nice -n 10 .venv/bin/python -m bench.service_load --realtime [--reps 5] [--source auto] \
        [--seconds 5] [--size 640x360] [-o report.json]

Starts ``framemark serve`` (or an app with --detector) as a child process on
127.0.0.1 with a freshly initialised keys folder (watermark key included, so every
signal runs; ``--empty-keys``: a bare folder, no watermark check).

Load (default): makes one test clip (default 5 s of 640x360 at 30 fps), and sends
--uploads uploads with --concurrency in flight at once. Reports errors, p50/p90/p99
latency, throughput and the server's peak RSS (sampled with psutil every 50 ms).
Exit status 0 when every upload got a 200.

Real time (``--realtime``): one upload at a time, no concurrency. For each clip
(the installed real footage, see --source; the synthetic load clip; and the real clip
signed and pixel-watermarked with the project's own commands, so the watermark is
detected and the recovery path runs), one warm-up upload, then --reps uploads, each
preceded by a plain PyAV decode of the same file in this process (the baseline: the
machine may be shared, so the figure is also a ratio). Reports per clip the median
HTTP round trip, its ratio to the clip's duration (real-time factor: <= 1 is real
time) and to the decode baseline, and the median of every entry of the report's
``timings`` (per signal). Exit status 0 when every upload got a 200.
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

from fuzz import prepare_keys, start_server  # noqa: E402  (same child-server start-up as the fuzz run)


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


def real_clip(path: Path, source: str, seconds: float, width: int, height: int) -> dict | None:
    """The installed real footage cut to ``seconds`` and fitted to ``width`` x ``height``,
    encoded like the load clip; None when there is none (``source`` "auto": a camera clip
    at least ``height`` tall and ``seconds`` long, else any such real clip; or a
    :func:`detect.footage.discover` name, or a video file's path)."""
    from detect import footage
    from provenance.media import write_clip

    if source == "auto":
        found = (footage.discover(min_height=height, min_seconds=seconds, kinds=("camera",))
                 or footage.discover(min_height=height, min_seconds=seconds))
        if not found:
            return None
        info = found[0]
        name, kind, src = info.name, info.kind, info.path
    else:
        match = [f for f in footage.discover() if f.name == str(source) or f.path == Path(source)]
        src = match[0].path if match else Path(source)
        name, kind = (match[0].name, match[0].kind) if match else (Path(source).stem, "unknown")
    clip = footage.load(src, seconds=seconds, width=width, height=height)
    write_clip(path, clip, crf=23, preset="veryfast")
    return {"path": path, "name": name, "kind": kind, "source": str(src)}


def watermarked_copy(src: Path, out: Path, keys: Path) -> dict:
    """``src`` signed, then pixel-watermarked (and re-signed, the manifest recorded in the
    keys folder's store) with framemark's own commands: what the detector then finds is
    a valid manifest, a detected watermark, and the recovery path."""
    import subprocess

    cli = [sys.executable, str(ROOT / "cli.py")]
    signed = out.with_name("signed" + src.suffix)
    subprocess.run(cli + ["sign", str(src), "-o", str(signed), "--keys", str(keys), "--source", "digitalCapture"],
                   check=True, stdout=subprocess.DEVNULL)
    done = subprocess.run(cli + ["watermark", "embed", str(signed), "-o", str(out), "--keys", str(keys), "--json"],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def decode_baseline(path: Path) -> dict:
    """Seconds to merely decode ``path`` with PyAV (threaded like ``read_clip``), and to
    decode it to RGB arrays (what any pixel analysis needs first)."""
    import av

    out = {}
    for mode in ("decode_s", "decode_rgb_s"):
        t0 = time.perf_counter()
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if mode == "decode_rgb_s":
                    frame.to_ndarray(format="rgb24")
        out[mode] = time.perf_counter() - t0
    return out


def _flat_timings(report: dict) -> dict:
    t = dict((report.get("timings") or {}))
    for alg, v in (t.pop("watermark_algs_s", None) or {}).items():
        t[f"watermark:{alg}"] = v
    t["service_detect_s"] = ((report.get("service") or {}).get("timings") or {}).get("detect_s")
    return {k: v for k, v in t.items() if isinstance(v, (int, float))}


def measure_single(url: str, path: Path, reps: int, timeout_s: float) -> dict:
    """One clip: a warm-up upload, then ``reps`` x (decode baseline, one upload)."""
    import httpx

    from provenance.media import probe

    facts = probe(path)
    data = path.read_bytes()

    def upload() -> tuple[float, dict]:
        t0 = time.perf_counter()
        r = httpx.post(url + "/v1/detect", files={"file": (path.name, data, "video/mp4")}, timeout=timeout_s)
        dt = time.perf_counter() - t0
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
        return dt, r.json()

    warm_s = upload()[0]  # the server's first upload also loads the detector's models
    rows = []
    for _ in range(reps):
        base = decode_baseline(path)
        dt, report = upload()
        rows.append({"round_trip_s": dt, **base, "timings": _flat_timings(report), "verdict": report.get("verdict"),
                     "watermarks": [{k: w.get(k) for k in ("alg", "detected", "skipped", "log10_p") if k in w}
                                    for w in report.get("watermarks") or []],
                     "recovered": (report.get("recovery") or {}).get("recovered"),
                     "c2pa": (report.get("c2pa") or {}).get("state"),
                     "frames_decoded": (report.get("file") or {}).get("frames_decoded")})
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    duration = float(facts.get("duration") or 0) or (facts.get("frames") or 0) / (facts.get("fps") or 25.0)
    keys = sorted({k for r in rows for k in r["timings"]})
    split = {k: round(statistics.median(r["timings"][k] for r in rows if k in r["timings"]), 3) for k in keys}
    rt = med("round_trip_s")
    return {"clip": {"bytes": len(data), "width": facts.get("width"), "height": facts.get("height"),
                     "fps": facts.get("fps"), "frames": facts.get("frames"), "duration_s": round(duration, 3)},
            "reps": reps, "warmup_round_trip_s": round(warm_s, 3), "round_trip_median_s": round(rt, 3),
            "round_trip_s": [round(r["round_trip_s"], 3) for r in rows],
            "realtime_factor": round(rt / duration, 3) if duration else None,
            "decode_baseline_median_s": round(med("decode_s"), 3),
            "decode_rgb_baseline_median_s": round(med("decode_rgb_s"), 3),
            "round_trip_over_decode_rgb": round(rt / med("decode_rgb_s"), 2),
            "timings_median_s": split,
            "verdict": rows[-1]["verdict"], "c2pa": rows[-1]["c2pa"], "watermarks": rows[-1]["watermarks"],
            "recovered": rows[-1]["recovered"], "frames_decoded": rows[-1]["frames_decoded"]}


def run_realtime(args, w: int, h: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="framemark-rt-") as d:
        d = Path(d)
        keys = prepare_keys(d / "keys", empty=args.empty_keys)
        clips: dict[str, dict] = {}
        if args.source != "synthetic":
            real = real_clip(d / "real.mp4", args.source, args.seconds, w, h)
            if real is not None:
                clips["real"] = real
        clips["synthetic"] = {"path": make_clip(d / "synthetic.mp4", args.seconds, w, h), "name": "synthetic",
                              "kind": "synthetic"}
        if not args.no_watermarked and not args.empty_keys:
            base = clips.get("real") or clips["synthetic"]
            summary = watermarked_copy(base["path"], d / "watermarked.mp4", keys)
            clips["watermarked"] = {"path": d / "watermarked.mp4", "name": f"{base['name']} signed + watermarked",
                                    "kind": base["kind"], "identifier": summary.get("identifier"),
                                    "psnr_db": summary.get("psnr_db")}
        proc, url = start_server(keys, timeout_s=args.timeout, detector=args.detector)
        report = {"mode": "realtime", "keys": "empty" if args.empty_keys else "initialised", "clips": {}}
        try:
            for label, c in clips.items():
                res = measure_single(url, c["path"], args.reps, args.timeout)
                report["clips"][label] = {k: v for k, v in c.items() if k != "path"} | res
                print(f"{label}: {res['round_trip_median_s']} s for {res['clip']['duration_s']} s "
                      f"(real-time factor {res['realtime_factor']}, {res['round_trip_over_decode_rgb']}x decode)",
                      file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(15)
    return report


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
    ap.add_argument("--empty-keys", action="store_true",
                    help="a bare keys folder (no watermark key, so no watermark check); default: initialised")
    ap.add_argument("--realtime", action="store_true",
                    help="instead of the load test: single uploads, median round trip vs clip duration")
    ap.add_argument("--reps", type=int, default=5, help="--realtime: measured uploads per clip (after a warm-up)")
    ap.add_argument("--source", default="auto",
                    help="--realtime real clip: auto (installed camera footage, else any real footage), "
                         "synthetic (none), a footage name or a path")
    ap.add_argument("--no-watermarked", action="store_true", help="--realtime: skip the watermarked clip")
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    if not (1 <= args.uploads <= 10_000 and 1 <= args.concurrency <= 500):
        ap.error("--uploads 1..10000, --concurrency 1..500")
    w, h = (int(x) for x in args.size.lower().split("x"))
    if args.realtime:
        if not 1 <= args.reps <= 100:
            ap.error("--reps 1..100")
        report = run_realtime(args, w, h)
        print(json.dumps(report, indent=1))
        if args.output:
            Path(args.output).write_text(json.dumps(report, indent=1))
        return 0

    with tempfile.TemporaryDirectory(prefix="framemark-load-") as d:
        clip = make_clip(Path(d) / "clip.mp4", args.seconds, w, h)
        data = clip.read_bytes()
        keys = prepare_keys(Path(d) / "keys", empty=args.empty_keys)
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
                "concurrency": args.concurrency, "keys": "empty" if args.empty_keys else "initialised",
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
