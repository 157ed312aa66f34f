"""Score clips with the world's own knowledge: colour, shape, motion, temporal consistency.

The world's object colours are bright and its backgrounds dark (``generate.world``), so
an object is the set of pixels close to one palette colour. Its shape is the world
shape (rendered by the world's own rasteriser) that best overlaps it; its motion is read
from the track of its centroid and area. ``python -m generate.analyser`` samples a model
on the held-out prompt set (unseen colour x shape x motion triples and unseen
phrasings) and writes a JSON report and a contact sheet PNG.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from provenance.errors import InputError, UsageError

from . import world

__all__ = ["analyse_clip", "score_clip", "summarise", "evaluate_model", "contact_sheet", "main"]

#: a pixel belongs to a palette colour when closer than this (RGB distance); the nearest
#: background is > 150 away from every palette colour, blurred edges fall in between
COLOUR_THRESHOLD = 80.0
#: a clip needs this share of frames with a visible object to count as "found"
MIN_OBJECT_PIXELS = 12
#: net travel (fraction of the frame) above which a clip is "moving in a direction"
DIRECTION_MIN_TRAVEL = 0.15

_PALETTE = np.array(list(world.COLOURS.values()), np.float32)
_NAMES = list(world.COLOURS)
_ANGLES = {"circle": [0.0], "square": np.linspace(0, math.pi / 2, 8, endpoint=False),
           "triangle": np.linspace(0, 2 * math.pi / 3, 8, endpoint=False),
           "star": np.linspace(0, 2 * math.pi / 5, 8, endpoint=False),
           "cross": np.linspace(0, math.pi / 2, 8, endpoint=False)}


def _shape_area_factor(shape: str) -> float:
    """Covered area (fraction of a 256x256 frame) of ``shape`` with circumradius 0.25."""
    m = world.shape_mask(shape, 0.5, 0.5, 0.25, 0.0, 256, 256, supersample=1)
    return float(m.mean()) / 0.25 ** 2


_AREA_FACTOR: dict[str, float] = {}


def _largest_component(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def _best_shape(mask: np.ndarray) -> tuple[str, float]:
    """World shape (any rotation) whose area-matched render overlaps ``mask`` best, and its IoU."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cx, cy = (xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h
    area = mask.mean() * (h * w) / min(h, w) ** 2
    best, best_iou = "circle", -1.0
    for shape in world.SHAPES:
        if shape not in _AREA_FACTOR:
            _AREA_FACTOR[shape] = _shape_area_factor(shape)
        r = math.sqrt(area / _AREA_FACTOR[shape])
        for a in _ANGLES[shape]:
            t = world.shape_mask(shape, cx, cy, r, float(a), h, w, supersample=1) > 0.5
            inter = np.logical_and(t, mask).sum()
            iou = inter / max(1, np.logical_or(t, mask).sum())
            if iou > best_iou:
                best, best_iou = shape, float(iou)
    return best, best_iou


def analyse_clip(frames: np.ndarray) -> dict:
    """Read the main object of a clip (uint8 [T, H, W, 3]): colour, shape, motion and its track."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise UsageError(f"expected frames [T, H, W, 3], got {frames.shape}")
    f = frames.astype(np.float32)
    t_n, h, w, _ = f.shape
    dist = np.linalg.norm(f[..., None, :] - _PALETTE, axis=-1)  # [T, H, W, K]
    nearest = dist.argmin(-1)
    close = dist.min(-1) < COLOUR_THRESHOLD
    counts = np.stack([np.bincount(nearest[t][close[t]], minlength=len(_NAMES)) for t in range(t_n)])
    total = counts.sum(0)
    if total.max() < MIN_OBJECT_PIXELS * t_n * 0.5:
        return {"found": False, "colour": None, "shape": None, "motion": None, "frames_with_object": 0}
    k = int(total.argmax())
    colour = _NAMES[k]
    per_frame_colour = [(_NAMES[int(c.argmax())] if c.max() >= MIN_OBJECT_PIXELS else None) for c in counts]
    track, shapes, ious, masks = [], [], [], []
    for t in range(t_n):
        m = close[t] & (nearest[t] == k)
        if m.sum() < MIN_OBJECT_PIXELS:
            track.append(None)
            shapes.append(None)
            masks.append(None)
            continue
        m = _largest_component(m)
        ys, xs = np.nonzero(m)
        track.append(((xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h, m.mean()))
        s, iou = _best_shape(m)
        shapes.append(s)
        ious.append(iou)
        masks.append(m)
    present = [i for i, p in enumerate(track) if p is not None]
    if len(present) < max(2, t_n // 2):
        return {"found": False, "colour": colour, "shape": None, "motion": None, "frames_with_object": len(present)}
    votes = {s: shapes.count(s) for s in world.SHAPES}
    shape = max(votes, key=votes.get)
    motion, details = _classify_motion(track, masks, shape)
    areas = np.array([track[i][2] for i in present])
    identity = float(np.mean([per_frame_colour[i] == colour and shapes[i] == shape for i in present]))
    return {
        "found": True, "colour": colour, "shape": shape, "motion": motion,
        "frames_with_object": len(present), "shape_iou": float(np.mean(ious)),
        "identity_consistency": identity,
        "size_cv": float(areas.std() / max(areas.mean(), 1e-9)),
        "track": [None if p is None else [round(p[0], 4), round(p[1], 4), round(p[2], 5)] for p in track],
        **details,
    }


def _classify_motion(track, masks, shape: str) -> tuple[str, dict]:
    pts = [(i, p) for i, p in enumerate(track) if p is not None]
    k = max(1, min(3, len(pts) // 4))
    first = np.mean([p for _, p in pts[:k]], axis=0)
    last = np.mean([p for _, p in pts[-k:]], axis=0)
    dx, dy = float(last[0] - first[0]), float(last[1] - first[1])
    travel = math.hypot(dx, dy)
    ys = np.array([p[1] for _, p in pts])
    details = {"dx": dx, "dy": dy, "travel": travel, "area_ratio": float(last[2] / max(first[2], 1e-9)),
               "vertical_range": float(ys.max() - ys.min())}
    if travel >= DIRECTION_MIN_TRAVEL:
        angle = math.degrees(math.atan2(dy, dx)) % 360  # image coords: 90 = down
        names = ["right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right"]
        return names[int(((angle + 22.5) % 360) // 45)], details
    if details["area_ratio"] > 1.6:
        return "grow", details
    if details["area_ratio"] < 1 / 1.6:
        return "shrink", details
    if details["vertical_range"] >= 0.12:
        return "bounce", details
    # rotation: after aligning centroids, a rotating non-circle stops overlapping its first self
    i0, m0 = next((i, m) for i, m in enumerate(masks) if m is not None)
    worst = 1.0
    for i, m in enumerate(masks):
        if m is None or i == i0:
            continue
        shift = (int(round((track[i0][1] - track[i][1]) * m.shape[0])), int(round((track[i0][0] - track[i][0]) * m.shape[1])))
        mm = np.roll(m, shift, axis=(0, 1))
        worst = min(worst, np.logical_and(mm, m0).sum() / max(1, np.logical_or(mm, m0).sum()))
    details["min_aligned_iou"] = float(worst)
    if shape == "circle" or worst < 0.8:
        # a spinning circle looks still: with no still motion in the world, call it rotation
        return "rotate", details
    return "still", details


def score_clip(frames: np.ndarray, spec: world.SceneSpec) -> dict:
    """Compare what the clip shows with what ``spec`` (its first object) asked for."""
    got = analyse_clip(frames)
    want = spec.objects[0]
    directional = want.motion in world.DIRECTIONS
    return {
        **{k: v for k, v in got.items() if k != "track"},
        "want": {"colour": want.colour, "shape": want.shape, "motion": want.motion},
        "colour_ok": got["colour"] == want.colour,
        "shape_ok": got["shape"] == want.shape,
        "motion_ok": got["motion"] == want.motion,
        "direction_ok": (got["motion"] == want.motion) if directional else None,
    }


def summarise(scores: list[dict]) -> dict:
    def rate(key, subset=None):
        vals = [s[key] for s in (subset or scores) if s.get(key) is not None]
        return {"rate": float(np.mean(vals)) if vals else None, "n": len(vals)}

    out = {
        "n": len(scores),
        "found": float(np.mean([s["found"] for s in scores])) if scores else None,
        "colour": rate("colour_ok"), "shape": rate("shape_ok"), "motion": rate("motion_ok"),
        "direction": rate("direction_ok"),
        "identity_consistency": float(np.mean([s["identity_consistency"] for s in scores if s.get("found")] or [0])),
    }
    steady = [s["size_cv"] for s in scores if s.get("found") and s["want"]["motion"] not in ("grow", "shrink")]
    out["size_cv_mean"] = float(np.mean(steady)) if steady else None
    kinds = sorted({s.get("kind") for s in scores if s.get("kind")})
    for kind in kinds:
        sub = [s for s in scores if s.get("kind") == kind]
        out[kind] = {k: rate(k + "_ok", sub)["rate"] for k in ("colour", "shape", "motion", "direction")}
    return out


def contact_sheet(clips: list[np.ndarray], labels: list[str], frames_per_clip: int = 5, scale: int = 1):
    """A PIL image: one row per clip (evenly spaced frames) with its label above."""
    from PIL import Image, ImageDraw

    rows = []
    for clip, label in zip(clips, labels):
        idx = np.linspace(0, len(clip) - 1, frames_per_clip).round().astype(int)
        strip = np.concatenate([np.pad(clip[i], ((0, 0), (0, 2), (0, 0))) for i in idx], axis=1)
        band = np.full((14, strip.shape[1], 3), 255, np.uint8)
        img = Image.fromarray(np.concatenate([band, strip], 0))
        ImageDraw.Draw(img).text((2, 1), label[:110], fill=(0, 0, 0))
        rows.append(np.asarray(img))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    sheet = Image.fromarray(np.concatenate(rows, 0))
    if scale != 1:
        sheet = sheet.resize((sheet.width * scale, sheet.height * scale), Image.NEAREST)
    return sheet


def evaluate_model(model_dir=None, n: int = 48, steps: int | None = None, guidance: float | None = None,
                   seed: int = 0, batch: int = 8, renders: bool = False, threads: int = 2):
    """Generate (or, with ``renders``, draw with the world) each held-out prompt and score it.

    Returns (report dict, clips, labels)."""
    prompts = world.heldout_prompts(n)
    clips: list[np.ndarray] = []
    started = time.time()
    if renders:
        cfg_h = cfg_w = 128
        clips = [world.render(p.spec, 17, cfg_h, cfg_w) for p in prompts]
        settings = {"source": "world renders"}
    else:
        import torch

        from .model import load_pipeline, model_info

        torch.set_num_threads(threads)
        pipe = load_pipeline(model_dir)
        cfg = pipe.framemark_config
        steps = steps or cfg.steps
        guidance = cfg.guidance if guidance is None else guidance
        for i in range(0, len(prompts), batch):
            chunk = prompts[i:i + batch]
            gens = [torch.Generator().manual_seed(seed + i + j) for j in range(len(chunk))]
            out = pipe(prompt=[p.prompt for p in chunk], height=cfg.height, width=cfg.width,
                       num_frames=cfg.num_frames, num_inference_steps=steps, guidance_scale=guidance,
                       max_sequence_length=cfg.max_sequence_length, generator=gens, output_type="np").frames
            clips.extend((np.clip(v, 0, 1) * 255).round().astype(np.uint8) for v in out)
        settings = {"source": "model", "model": model_info(pipe), "steps": steps, "guidance": guidance,
                    "seed": seed, "size": f"{cfg.width}x{cfg.height}", "frames": cfg.num_frames, "fps": cfg.fps}
    scores = []
    for p, clip in zip(prompts, clips):
        s = score_clip(clip, p.spec)
        s.update(prompt=p.prompt, kind=p.kind)
        scores.append(s)
    report = {"settings": settings, "summary": summarise(scores), "seconds": round(time.time() - started, 1),
              "clips": scores}
    labels = [f"{'ok ' if s['colour_ok'] and s['shape_ok'] and s['motion_ok'] else 'BAD'} {s['prompt']} -> "
              f"{s['colour']} {s['shape']} {s['motion']}" for s in scores]
    return report, clips, labels


def main(argv: list[str] | None = None) -> int:
    from provenance.errors import FramemarkError
    from provenance.fileio import atomic_output, check_output_path

    p = argparse.ArgumentParser(prog="python -m generate.analyser", description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the shipped one)")
    p.add_argument("--renders", action="store_true", help="score the world's own renders (analyser self-check)")
    p.add_argument("-n", type=int, default=48, help="number of held-out prompts")
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="eval.json", help="report path")
    p.add_argument("--sheet", default="eval.png", help="contact sheet path")
    p.add_argument("--sheet-rows", type=int, default=16)
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    try:
        check_output_path(a.json, a.force)
        check_output_path(a.sheet, a.force)
        if a.n < 1:
            raise UsageError("-n must be at least 1")
        report, clips, labels = evaluate_model(a.model, a.n, a.steps, a.guidance, a.seed, renders=a.renders)
        with atomic_output(a.json, a.force) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
        sheet = contact_sheet(clips[:a.sheet_rows], labels[:a.sheet_rows])
        with atomic_output(a.sheet, a.force) as tmp:
            sheet.save(tmp, format="PNG")
    except FramemarkError as exc:
        print(f"generate.analyser: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
