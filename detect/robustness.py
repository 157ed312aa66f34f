"""The robustness runner: embed, publish (encode + C2PA sign), attack, detect, report.

For each clip:

1. embed the pixel watermark (``org.framemark.video.1`` by default) with a fresh 48-bit
   identifier (``os.urandom(6)``);
2. measure the watermarked frames against the original (:mod:`detect.quality`: PSNR,
   SSIM, flicker);
3. publish: encode the watermarked clip (H.264 CRF 17, as ``framemark watermark embed``
   does) and sign it with C2PA (:func:`provenance.sign.sign_file`, with a
   ``c2pa.soft-binding`` assertion carrying the identifier);
4. decode the published file and run every attack on it, then detect: ``detected``
   (p <= 1e-6), the p-value, bit accuracy against the identifier;
5. C2PA after the attack: the ``none`` row verifies the signed file itself; for every
   other attack the attacked frames are written to an MP4 (H.264 CRF 18, which is what
   any pixel attack amounts to: a new encode) and that file is verified. The state
   reported is that file's (``absent`` when the manifest did not survive).

Outputs in ``out_dir``: ``results.json`` (everything), ``results.md`` (tables) and
``results.png`` (detection rate and bit accuracy per attack), written atomically;
existing results are kept unless ``force``.
"""

from __future__ import annotations

import base64
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["RESULT_FILES", "run_robustness", "run_clip", "payload_scores", "payload_cell", "summarise", "write_reports", "check_outputs",
           "render_markdown", "render_plot"]

RESULT_FILES = ("results.json", "results.md", "results.png")
PUBLISH_CRF = 17


def check_outputs(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """Create ``out_dir`` if needed; refuse (``OutputExistsError``) when results exist and not ``force``."""
    from provenance.errors import UsageError
    from provenance.fileio import check_output_path

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
        check_output_path(out / name, force)
    return out


def _log10p(res) -> float:
    v = res.extra.get("log10_p")
    if v is not None:
        return float(v)
    return math.log10(res.p_value) if res.p_value > 0 else -400.0


def _verify_state(path: Path, keys_dir) -> str:
    from provenance.errors import FramemarkError
    from provenance.verify import verify_file

    try:
        return verify_file(path, keys_dir=keys_dir).to_dict()["state"]
    except FramemarkError as exc:  # e.g. a container c2pa cannot read
        return f"error: {exc}"[:120]


def run_clip(clip, name: str, alg, attacks: Sequence, *, identity=None, keys_dir=None, workdir: Path,
             identifier: bytes | None = None, c2pa_check: bool = True, ssim_frames: int | None = 30,
             on_case: Callable[[dict], None] | None = None) -> dict:
    """Everything for one clip; returns ``{"clip": {...}, "quality": {...}, "cases": [...]}``."""
    from provenance.media import read_clip, write_clip

    from .quality import compare

    ident = identifier if identifier is not None else os.urandom(6)
    t0 = time.perf_counter()
    marked = alg.embed(clip, ident)
    embed_s = time.perf_counter() - t0
    quality = compare(marked.frames, clip.frames, ssim_frames=ssim_frames)

    # publish: encode like `framemark watermark embed`, then sign with a soft binding
    encoded = workdir / f"{name}.marked.mp4"
    write_clip(encoded, marked, codec="libx264", crf=PUBLISH_CRF, preset="fast")
    published_path, signed_state = encoded, None
    if identity is not None:
        from provenance.sign import SoftBinding, sign_file

        signed = workdir / f"{name}.signed.mp4"
        binding = SoftBinding(alg.alg_id, base64.b64encode(ident).decode(),
                              scope={"timespan": {"start": 0, "end": int(round(clip.duration * 1000))}})
        sign_file(encoded, signed, identity, title=f"{name} (watermarked)", soft_bindings=[binding])
        published_path = signed
        signed_state = _verify_state(signed, keys_dir)
    published = read_clip(published_path)
    quality_published = compare(published.frames[:, :clip.height, :clip.width], clip.frames[:published.num_frames],
                                 ssim_frames=ssim_frames) if published.num_frames == clip.num_frames else None

    cases = []
    for attack in attacks:
        t1 = time.perf_counter()
        attacked = attack(published)
        t2 = time.perf_counter()
        res = alg.extract(attacked)
        t3 = time.perf_counter()
        if attack.name == "none":
            state = signed_state if identity is not None else "unsigned"
        elif c2pa_check and identity is not None:
            out = workdir / f"{name}.{attack.name.replace('+', '_')}.mp4"
            write_clip(out, attacked, codec="libx264", crf=18, preset="ultrafast")
            state = _verify_state(out, keys_dir)
            out.unlink(missing_ok=True)
        else:
            state = None
        case = {
            "clip": name, "attack": attack.name, "group": attack.group,
            "detected": bool(res.detected), "p_value": float(res.p_value), "log10_p": round(_log10p(res), 3),
            **payload_scores(res, ident),
            "frames_used": int(res.frames_used), "frames": attacked.num_frames,
            "size": [attacked.width, attacked.height], "fps": round(float(attacked.fps), 3),
            "attack_s": round(t2 - t1, 3), "detect_s": round(t3 - t2, 3), "c2pa_state": state,
        }
        cases.append(case)
        if on_case is not None:
            on_case(case)
    return {
        "clip": {"name": name, "source": clip.meta.get("source"), "width": clip.width, "height": clip.height,
                 "frames": clip.num_frames, "fps": round(float(clip.fps), 3), "identifier": ident.hex(),
                 "embed_s": round(embed_s, 3), "published_state": signed_state},
        "quality": quality, "quality_published": quality_published, "cases": cases,
    }


def payload_scores(result, ident: bytes) -> dict:
    """How a detection read the embedded ``ident``: bit accuracy, read right, read wrong (a
    payload that is not the embedded one: a false attribution, the worst outcome)."""
    from watermark import bit_accuracy

    return {"bit_accuracy": round(bit_accuracy(result, ident), 4), "payload_ok": result.payload == ident,
            "payload_wrong": result.payload is not None and result.payload != ident}


def summarise(clip_results: Iterable[dict]) -> list[dict]:
    """Per attack over all clips: detection rate, bit accuracy, median log10 p, C2PA states."""
    rows: dict[str, dict] = {}
    for cr in clip_results:
        for c in cr["cases"]:
            r = rows.setdefault(c["attack"], {"attack": c["attack"], "group": c["group"], "n": 0, "detected": 0,
                                              "bit_acc": [], "log10_p": [], "payload_ok": 0, "payload_wrong": 0,
                                              "c2pa": set()})
            r["n"] += 1
            r["detected"] += int(c["detected"])
            r["payload_ok"] += int(c["payload_ok"])
            r["payload_wrong"] += int(c.get("payload_wrong", False))
            r["bit_acc"].append(c["bit_accuracy"])
            r["log10_p"].append(c["log10_p"])
            if c.get("c2pa_state") is not None:
                r["c2pa"].add(c["c2pa_state"])
    out = []
    for r in rows.values():
        out.append({"attack": r["attack"], "group": r["group"], "n": r["n"], "detected": r["detected"],
                    "detection_rate": r["detected"] / r["n"], "payload_ok": r["payload_ok"],
                    "payload_wrong": r["payload_wrong"],
                    "bit_accuracy": round(float(np.mean(r["bit_acc"])), 4),
                    "median_log10_p": round(float(statistics.median(r["log10_p"])), 2),
                    "c2pa_after": sorted(r["c2pa"])})
    return out


def payload_cell(ok: int, n: int, wrong: int = 0, listed: int = 0) -> str:
    """A table's payload cell: ``ok/n``, how many of those the list decoder found, and how
    many payloads were read wrong (a false attribution, so it is printed in bold)."""
    return (f"{ok}/{n}" + (f" ({listed} listed)" if listed else "")
            + (f" (**{wrong} wrong**)" if wrong else ""))


def _num(x, fmt="{:.2f}") -> str:
    return x if isinstance(x, str) else fmt.format(x)


def render_markdown(results: dict) -> str:
    lines = [f"# Robustness: {results['alg']}", "",
             f"{len(results['clips'])} clip(s), {len(results['summary'])} attack(s); detected = p <= 1e-6. "
             f"Run {results['started']} ({results['seconds']:.0f} s).", "",
             "## Quality of the watermarked clip (frames before encoding, vs the original)", "",
             "| clip | size | frames | fps | PSNR dB | SSIM (luma) | flicker | C2PA of the published file |",
             "|---|---|---|---|---|---|---|---|"]
    for cr in results["clips"]:
        c, q = cr["clip"], cr["quality"]
        lines.append(f"| {c['name']} | {c['width']}x{c['height']} | {c['frames']} | {c['fps']:g} | "
                     f"{_num(q['psnr_db'])} | {q['ssim']:.4f} | {q['flicker']:.3f} | {c['published_state'] or '-'} |")
    lines += ["", "## Attacks", "",
              "| attack | group | detected | rate | payload ok | bit accuracy | median log10 p | C2PA after |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results["summary"]:
        lines.append(f"| `{r['attack']}` | {r['group']} | {r['detected']}/{r['n']} | {100 * r['detection_rate']:.0f}% | "
                     f"{payload_cell(r['payload_ok'], r['n'], r['payload_wrong'])} | {r['bit_accuracy']:.3f} | {r['median_log10_p']:.1f} | "
                     f"{', '.join(r['c2pa_after']) or '-'} |")
    lines += ["", "C2PA after: `none` verifies the signed file; every other attack's frames were written to a new "
              "H.264 MP4 and that file was verified.", ""]
    return "\n".join(lines)


def render_plot(summary: list[dict], path: Path) -> None:
    """Two panels, one bar per attack (the name carries the strength), coloured by family:
    detection rate (with n/N written beside it) and mean bit accuracy of the identifier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["attack"] for r in summary]
    n = len(names)
    palette = plt.get_cmap("tab10")
    groups = list(dict.fromkeys(r["group"] for r in summary))
    colours = [palette(groups.index(r["group"]) % 10) for r in summary]
    fig, axes = plt.subplots(1, 2, figsize=(12, max(3.0, 0.28 * n + 1.6)), sharey=True)
    y = np.arange(n)
    axes[0].barh(y, [100 * r["detection_rate"] for r in summary], color=colours)
    for i, r in enumerate(summary):
        axes[0].text(101, i, f"{r['detected']}/{r['n']}", va="center", fontsize=7)
    axes[0].set_xlim(0, 112)
    axes[0].set_xlabel("detected (p <= 1e-6), % of clips")
    axes[1].barh(y, [r["bit_accuracy"] for r in summary], color=colours)
    axes[1].set_xlim(0.4, 1.0)
    axes[1].axvline(0.5, color="grey", lw=0.8, ls="--")
    axes[1].set_xlabel("bit accuracy of the identifier (0.5 = chance)")
    axes[0].set_yticks(y, names, fontsize=7)
    axes[0].invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette(i % 10)) for i in range(len(groups))]
    fig.legend(handles, groups, loc="lower center", ncol=min(len(groups), 8), fontsize=7, frameon=False)
    fig.suptitle("framemark robustness: detection and bit accuracy per attack")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def write_reports(out_dir: Path, results: dict, force: bool = False) -> list[Path]:
    from provenance.fileio import atomic_output, write_bytes_atomic

    out_dir = Path(out_dir)
    paths = [out_dir / n for n in RESULT_FILES]
    write_bytes_atomic(paths[0], (json.dumps(results, indent=2, default=_json_default) + "\n").encode(), force=force)
    write_bytes_atomic(paths[1], render_markdown(results).encode(), force=force)
    with atomic_output(paths[2], force=force) as tmp:
        render_plot(results["summary"], tmp)
    return paths


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, set):
        return sorted(o)
    return str(o)


def run_robustness(clips: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
                   attacks: Sequence[str] | None = None, keys_dir=None, force: bool = False,
                   max_frames: int | None = None, sign: bool = True, c2pa_check: bool = True,
                   progress: bool = True, alg_id: str | None = None) -> dict:
    """The ``framemark robustness`` command as a function; returns the results dict."""
    from provenance.errors import UsageError
    from provenance.keys import load_identity, load_watermark_key, resolve_keys_dir
    from provenance.media import read_clip
    from watermark import PIXEL_ALG_ID, get_algorithm

    from .attacks import resolve

    if not clips:
        raise UsageError("give at least one clip")
    chosen = resolve(attacks)                      # unknown names fail before any work
    out = check_outputs(out_dir, force)            # so do existing results
    kd = resolve_keys_dir(keys_dir)
    alg = get_algorithm(alg_id or PIXEL_ALG_ID, key=load_watermark_key(kd))
    identity = load_identity(kd) if sign else None
    loaded = [(Path(p), read_clip(p, max_frames=max_frames)) for p in clips]  # unreadable input fails early too

    from tqdm import tqdm

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    t0 = time.perf_counter()
    bar = tqdm(total=len(loaded) * len(chosen), desc="robustness", unit="case", disable=not progress)
    results = []
    used: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="fm-robust-") as work:
        for path, clip in loaded:
            name = path.stem
            while name in used:
                name += "_"
            used.add(name)

            def tick(case, _bar=bar):
                _bar.set_postfix_str(f"{case['clip']} {case['attack']}", refresh=False)
                _bar.update(1)

            results.append(run_clip(clip, name, alg, chosen, identity=identity, keys_dir=kd, workdir=Path(work),
                                    c2pa_check=c2pa_check, on_case=tick))
    bar.close()
    doc = {"alg": alg.alg_id, "started": started, "seconds": time.perf_counter() - t0,
           "attacks": [a.describe() for a in chosen], "clips": results, "summary": summarise(results)}
    write_reports(out, doc, force=force)
    return doc
