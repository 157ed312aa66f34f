"""Data, training and honest evaluation of the forensic classifier.

Each video file gives up to ``windows`` non-overlapping 2-second windows; every
window is normalised (:mod:`detect.normalize`) and featurised on its own, and all
windows of one file share a *group*, so cross-validation never trains on one part
of a video and tests on another (that would measure memory of the scene).

:func:`evaluate` reports, all on held-out sources:

* ROC AUC and recall at 1% false-positive rate, real vs generated;
* the real-vs-real floor: real sources split into two arbitrary halves, which the
  same features and model should *not* separate (AUC near 0.5); a high floor means
  the features recognise sources, not generation;
* the AUC after an H.264 CRF 30 re-encode plus a 0.5x resize of every clip.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from provenance.errors import FramemarkError, UsageError
from provenance.fileio import VIDEO_SUFFIXES

__all__ = ["VIDEO_SUFFIXES", "Dataset", "list_videos", "featurize", "train", "evaluate", "ATTACK_NAME"]

ATTACK_NAME = "h264-crf30+resize-0.5"


@dataclass
class Dataset:
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray                    # source file of each window
    X_attacked: np.ndarray | None = None  # same windows after ATTACK_NAME
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        n_real, n_gen = int((self.y == 0).sum()), int((self.y == 1).sum())
        src_real = len(set(self.groups[self.y == 0]))
        src_gen = len(set(self.groups[self.y == 1]))
        return f"{n_real} real windows from {src_real} files, {n_gen} generated windows from {src_gen} files"


def list_videos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise UsageError(f"{folder}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    return files


def _attack(clip):
    """H.264 CRF 30 re-encode, then a 0.5x resize: what a platform's transcoder does."""
    from PIL import Image

    from provenance.media import read_clip, write_clip

    with tempfile.TemporaryDirectory(prefix="framemark-eval-") as tmp:
        p = Path(tmp) / "a.mp4"
        write_clip(p, clip, crf=30, preset="veryfast", options={"threads": "1"})
        clip = read_clip(p)
    h, w = clip.height // 2, clip.width // 2
    frames = np.stack([np.asarray(Image.fromarray(f).resize((max(w, 16), max(h, 16)), Image.BILINEAR))
                       for f in clip.frames])
    return clip.with_frames(frames)


def _file_windows(args) -> tuple[str, list[np.ndarray], list[np.ndarray | None], str | None]:
    """Worker: features of up to ``windows`` 2-s windows of one file (and of their attacked copies)."""
    path, windows, attacked = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from provenance.media import probe, read_clip

    from .features import clip_features
    from .normalize import FPS, FRAMES, MIN_FRAMES, normalize_clip

    try:
        facts = probe(path)
        fps = facts.get("fps") or 25.0
        span = FRAMES / FPS
        duration = facts.get("duration") or 0.0
        n_win = max(1, min(windows, int(duration // span))) if duration else 1
        need = int(np.ceil(n_win * span * fps)) + 2
        clip = read_clip(path, max_frames=need)
        feats, feats_att = [], []
        for k in range(n_win):
            start = k * span
            if k > 0 and (clip.num_frames - start * clip.fps) < MIN_FRAMES * clip.fps / FPS:
                break
            lo, hi = int(round(start * clip.fps)), int(round((start + span) * clip.fps)) + 1
            window = clip.with_frames(clip.frames[lo:hi])
            feats.append(clip_features(normalize_clip(window)))
            feats_att.append(clip_features(normalize_clip(_attack(window))) if attacked else None)
        return str(path), feats, feats_att, None
    except FramemarkError as exc:
        return str(path), [], [], str(exc)


def featurize(real: list[Path], generated: list[Path], *, windows: int = 4, jobs: int | None = None,
              attacked: bool = False, progress: bool = True) -> Dataset:
    """Features of every window of every file, on a process pool (one file per task)."""
    from tqdm import tqdm

    tasks = [(str(p), windows, attacked) for p in [*real, *generated]]
    labels = {str(p): 0 for p in real} | {str(p): 1 for p in generated}
    X, Xa, y, groups, errors = [], [], [], [], []
    jobs = max(1, jobs or os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for path, feats, feats_att, err in tqdm(pool.map(_file_windows, tasks), total=len(tasks),
                                                desc="features", unit="file", disable=not progress):
            if err:
                errors.append(f"{path}: {err}")
                continue
            for i, f in enumerate(feats):
                X.append(f)
                Xa.append(feats_att[i])
                y.append(labels[path])
                groups.append(path)
    if not X:
        raise UsageError("no usable clips: " + ("; ".join(errors[:3]) or "nothing given"))
    return Dataset(X=np.asarray(X), y=np.asarray(y, dtype=int), groups=np.asarray(groups),
                   X_attacked=np.asarray(Xa) if attacked else None, errors=errors)


def train(real_dir, generated_dir, out, *, windows: int = 4, jobs: int | None = None, force: bool = False,
          name: str | None = None, progress: bool = True) -> dict:
    """Fit a :class:`~detect.classifier.ForensicClassifier` on two folders and save it to ``out``."""
    from provenance.fileio import check_output_path

    from .classifier import ForensicClassifier, save_model
    from .normalize import settings_dict

    check_output_path(out, force)
    data = featurize(list_videos(real_dir), list_videos(generated_dir), windows=windows, jobs=jobs,
                     progress=progress)
    if len(set(data.y)) < 2:
        raise UsageError("training needs usable clips of both classes")
    est = ForensicClassifier().fit(data.X, data.y, groups=data.groups)
    meta = {"name": name or Path(out).stem, "normalize": settings_dict(),
            "data": {"summary": data.summary(), "real_dir": str(real_dir), "generated_dir": str(generated_dir),
                     "windows_per_file": windows, "skipped": len(data.errors)}}
    save_model(est, out, meta, force=force)
    return {"model": str(out), "data": data.summary(), "skipped": data.errors}


def _recall_at_fpr(y, p, fpr_max: float = 0.01) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    ok = fpr <= fpr_max + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def _grouped_oof(X, y, groups, folds: int, Xs_extra=()) -> list[np.ndarray]:
    """Out-of-fold P(generated) for X (and for the same rows of each extra matrix)."""
    from sklearn.model_selection import GroupKFold

    from .classifier import ForensicClassifier

    outs = [np.full(len(y), np.nan) for _ in range(1 + len(Xs_extra))]
    for tr, te in GroupKFold(n_splits=folds).split(X, y, groups):
        if len(set(y[tr])) < 2:
            continue
        est = ForensicClassifier().fit(X[tr], y[tr], groups=groups[tr])
        for o, M in zip(outs, (X, *Xs_extra)):
            o[te] = est.predict_proba(M[te])[:, 1]
    return outs


def _metrics(y, p) -> dict:
    from sklearn.metrics import roc_auc_score

    ok = ~np.isnan(p)
    y, p = y[ok], p[ok]
    if len(set(y)) < 2:
        return {"auc": None, "recall_at_1pct_fpr": None, "n": int(len(y))}
    return {"auc": round(float(roc_auc_score(y, p)), 4),
            "recall_at_1pct_fpr": round(_recall_at_fpr(y, p), 4),
            "n": int(len(y)), "n_real": int((y == 0).sum()), "n_generated": int((y == 1).sum())}


def evaluate(real_dir, generated_dir, *, model=None, windows: int = 4, folds: int = 5, jobs: int | None = None,
             progress: bool = True) -> dict:
    """Held-out AUC / recall@1%FPR, the real-vs-real floor, and the score after CRF 30 + resize.

    Without ``model``: grouped (leave-sources-out) cross-validation of a fresh classifier.
    With ``model``: the folders are a test set for that fitted model (no fitting at all).
    """
    from .classifier import load_model

    data = featurize(list_videos(real_dir), list_videos(generated_dir), windows=windows, jobs=jobs,
                     attacked=True, progress=progress)
    X, y, g, Xa = data.X, data.y, data.groups, data.X_attacked
    report: dict = {"data": data.summary(), "skipped": data.errors, "attack": ATTACK_NAME}
    if model is not None:
        est = load_model(model)
        report["protocol"] = f"fixed model {model} scored on the given folders"
        report["heldout"] = _metrics(y, est.predict_proba(X)[:, 1])
        report["after_attack"] = _metrics(y, est.predict_proba(Xa)[:, 1])
    else:
        n_groups = len(set(g))
        k = max(2, min(folds, n_groups))
        report["protocol"] = f"{k}-fold GroupKFold by source file (no file in both train and test)"
        p, pa = _grouped_oof(X, y, g, k, (Xa,))
        report["heldout"] = _metrics(y, p)
        report["after_attack"] = _metrics(y, pa)
    report["real_vs_real_floor"] = _real_floor(X[y == 0], g[y == 0])
    return report


def _real_floor(X, groups, max_splits: int = 10) -> dict:
    """Real sources split into two arbitrary halves, leave-one-source-out; AUC should be ~0.5.

    One split of a handful of sources is noisy, so up to ``max_splits`` different balanced
    splits are scored and the mean, min and max AUC reported."""
    import itertools

    from sklearn.metrics import roc_auc_score

    sources = sorted(set(groups))
    if len(sources) < 4:
        return {"auc": None, "note": f"needs at least 4 real source files, got {len(sources)}"}
    halves = [set(c) for c in itertools.combinations(sources, len(sources) // 2) if sources[0] in c]
    rng = np.random.default_rng(0)
    picks = rng.permutation(len(halves))[:max_splits]
    aucs = []
    for i in picks:
        y = np.array([1 if s in halves[i] else 0 for s in groups])
        (p,) = _grouped_oof(X, y, groups, len(sources))
        ok = ~np.isnan(p)
        if len(set(y[ok])) == 2:
            aucs.append(float(roc_auc_score(y[ok], p[ok])))
    return {"auc_mean": round(float(np.mean(aucs)), 4), "auc_min": round(min(aucs), 4),
            "auc_max": round(max(aucs), 4), "splits": len(aucs), "n_windows": int(len(groups)),
            "sources": [Path(s).name for s in sources],
            "protocol": "real sources split into two arbitrary halves, leave-one-source-out; "
                        "near 0.5 means the features do not merely recognise sources"}
