"""The fused detector: one report per file from every signal framemark has.

``detect_file(path)`` runs, each timed:

1. **c2pa**: :func:`provenance.verify.verify_file` (ingredients included);
2. **watermarks**: every algorithm in :mod:`watermark.registry` keyed with the
   watermark key of the keys folder (the latent watermark only when the built-in
   generator model is installed, or ``latent`` forces it);
3. **recovery**: a decoded identifier looked up in the manifest store or a resolver
   (:mod:`detect.recovery`);
4. **classifier**: the forensic classifier on the normalised clip
   (:mod:`detect.normalize`, :mod:`detect.features`, :mod:`detect.classifier`);

then :func:`detect.verdict.decide` picks the verdict. A signal that cannot run
(no keys folder, no model) says why in its section; only an unreadable input is an
error (:class:`provenance.errors.InputError`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from provenance.errors import FramemarkError, InputError
from provenance.media import DecodeLimits

__all__ = ["detect_file", "latent_mark", "WATERMARK_MAX_FRAMES", "REPORT_VERSION"]

#: frames given to the watermark detectors: evidence saturates long before this
WATERMARK_MAX_FRAMES = 240
REPORT_VERSION = 1

CLASSIFIER_NOTE = ("knows the built-in generator and whatever it was trained on; it is not a detector of "
                   "other (e.g. Sora-class) generators")


def _round(t: float) -> float:
    return round(t, 4)


def _c2pa_section(path: Path, keys_dir: Path | None) -> dict:
    from provenance.verify import verify_file

    # verify trusts the keys folder's own root (plus $FRAMEMARK_TRUST); other signers stay "valid"
    return verify_file(path, keys_dir=keys_dir).to_dict()


def latent_mark(clip, keys_dir, *, latent: bool | None = None, generator=None) -> dict:
    """The latent watermark's entry of a detect report, alone: what ``framemark watermark
    detect`` adds to the pixel mark. The same rules as :func:`detect_file` (skipped, with a
    reason, for a clip the model cannot have made, or without the generator or the key;
    the store test for recorded identifiers)."""
    from watermark.registry import LATENT_ALG_ID

    if latent is False:
        return {"alg": LATENT_ALG_ID, "skipped": True, "reason": "not looked for (--no-latent)"}
    results, _ = _watermark_section(clip, None if keys_dir is None else Path(keys_dir), latent, {}, generator,
                                    only=LATENT_ALG_ID)
    return results[0]


def _watermark_section(clip, keys_dir: Path | None, latent: bool | None, timings: dict,
                       generator=None, only: str | None = None) -> tuple[list[dict], dict]:
    """Every registered watermark's entry (or just the algorithm ``only``) and the payloads found."""
    from provenance.keys import load_watermark_key
    from watermark.registry import LATENT_ALG_ID, algorithms, get_algorithm

    try:
        if keys_dir is None:
            raise FramemarkError("no keys folder")
        key = load_watermark_key(keys_dir)
    except FramemarkError as exc:
        return [{"alg": a, "skipped": True, "reason": f"no watermark key ({exc})"}
                for a in ([only] if only else algorithms())], {}
    pipe = shape_skip = None
    if latent is None and generator is None and "pipe" not in _PIPE_CACHE:
        # decided from the installed model's metadata, without loading it (diffusers and the
        # weights: ~5 s and ~200 MiB a process): a clip of another shape is skipped as after a load
        size = _installed_model_size()
        shape_skip = _geometry_mismatch(clip, *size) if size else None
    if latent is not False and shape_skip is None:
        pipe = _generator_pipe(force=latent is True, generator=generator)
    results, payloads = [], {}
    alg_ids = algorithms()
    if (pipe is not None or shape_skip or only == LATENT_ALG_ID) and LATENT_ALG_ID not in alg_ids:
        alg_ids = sorted({*alg_ids, LATENT_ALG_ID})
    if only is not None:
        alg_ids = [only]
    for alg_id in alg_ids:
        t0 = time.perf_counter()
        try:
            if alg_id == LATENT_ALG_ID:
                if shape_skip:
                    results.append({"alg": alg_id, "skipped": True, "reason": shape_skip})
                    continue
                if pipe is None:
                    results.append({"alg": alg_id, "skipped": True,
                                    "reason": "the generator model is not installed (the latent watermark needs it)"})
                    continue
                cfg = getattr(pipe, "framemark_config", None)
                mismatch = None if latent is True or cfg is None else _geometry_mismatch(clip, cfg.width, cfg.height)
                if mismatch:
                    results.append({"alg": alg_id, "skipped": True, "reason": mismatch})
                    continue
                alg = get_algorithm(alg_id, key, pipe=pipe)
            else:
                alg = get_algorithm(alg_id, key)
            res = alg.extract(clip)
            entry = res.to_dict()
            if alg_id == LATENT_ALG_ID:
                entry["generator"] = _generator_label(pipe)
                _latent_store_test(alg, res, entry, keys_dir)
            elif res.detected and (res.payload is None or res.extra.get("list_rank", 0) > 0):
                # detected, but the blind decode failed its CRC (a small or heavily
                # compressed clip), or passed it only on a less likely path (a wrong one
                # does with probability 2^-16 each): which identifier this store recorded is it?
                found, _ = _identify_in_store(alg, res, keys_dir)
                if found is not None:
                    _adopt_store_match(entry, found)
            if entry["detected"] and entry.get("payload"):
                payloads[alg_id] = bytes.fromhex(entry["payload"])
            results.append(entry)
        except FramemarkError as exc:
            results.append({"alg": alg_id, "error": str(exc)})
        finally:
            timings[alg_id] = _round(time.perf_counter() - t0)
    return results, payloads


def _identify_in_store(alg, res, keys_dir: Path):
    """``alg.identify`` against the identifiers this keys folder recorded for ``alg``
    (see :mod:`watermark.identify`): (match or None, number of candidates)."""
    import base64
    import binascii

    from provenance.store import ManifestStore

    cands = []
    for v in ManifestStore(keys_dir).values(alg.alg_id):
        try:
            cands.append(base64.b64decode(v, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not cands or not hasattr(alg, "identify"):
        return None, len(cands)
    return alg.identify(res, cands), len(cands)


def _identified(found) -> dict:
    return {"payload": found.identifier.hex(), "method": "manifest-store match", "agreeing_bits": found.agreement,
            "bits": found.bits, "log10_p": round(found.log10_p, 2), "candidates": found.candidates}


def _latent_store_test(alg, res, entry: dict, keys_dir: Path) -> None:
    """The latent mark's second test: agreement with an identifier the store recorded.

    The blind decode pays for all 2^48 identifiers (a union bound of 14.4 decades); a
    platform's store holds a few thousand, so a VAE round trip that leaves the signs only
    slightly better than chance can still be found. Two tests are tried, so the reported
    p-value is 2 x the smaller (Bonferroni) whenever the store has candidates, and
    "detected" keeps meaning p <= 1e-6 for the clip."""
    from watermark.base import DETECTION_P_VALUE

    found, n = _identify_in_store(alg, res, keys_dir)
    if n == 0:
        return
    p_store = 10.0 ** found.log10_p if found is not None else 1.0
    p = min(1.0, 2.0 * min(float(res.p_value), p_store))
    entry["p_value"] = p
    entry["detected"] = p <= DETECTION_P_VALUE
    entry["p_value_tests"] = {"blind_decode": float(res.p_value), "store_match": p_store, "store_candidates": n,
                              "combined": "2 x min (Bonferroni)"}
    if found is not None:
        entry["identified"] = _identified(found)
    if not entry["detected"]:
        entry["payload"] = None
    elif found is not None and p_store <= DETECTION_P_VALUE:
        # the latent payload has no CRC: a blind majority vote can carry bit errors (the demo
        # read 4 of 48 wrong at p 1e-20), so an identifier the store matches takes its place
        _adopt_store_match(entry, found)


def _adopt_store_match(entry: dict, found) -> None:
    """Make the store's identification the mark's ``payload`` (the identifier the report
    stands by, for either mark); ``identified`` says how it was found and ``blind_payload``
    keeps a blind reading that differed (None when the blind decode gave nothing)."""
    entry["identified"] = _identified(found)
    if entry.get("payload") != found.identifier.hex():
        entry["blind_payload"] = entry.get("payload")
        entry["payload"] = found.identifier.hex()


def _geometry_mismatch(clip, width: int, height: int) -> str | None:
    """Why this clip cannot be the output of the built-in model (``width`` x ``height``),
    or None if it can.

    The latent check inverts the whole sampler (seconds of CPU, one clip at a time per
    loaded model). The model makes clips of one aspect ratio; a resize keeps it, so a clip
    of another shape (a 16:9 camera upload) cannot carry its latent mark unless cropped,
    and is not worth the inversion. ``latent=True`` (``--latent``) checks regardless."""
    model_ratio, clip_ratio = width / height, clip.width / clip.height
    if abs(clip_ratio / model_ratio - 1.0) > 0.02:
        return (f"a {clip.width}x{clip.height} clip cannot be the built-in model's {width}x{height} "
                "output (aspect ratio); --latent checks it anyway")
    return None


#: where generate.model.DEFAULT_MODEL_DIR is, inside the ``generate`` package (a test keeps them equal)
MODEL_SUBDIR = ("weights", "framemark-tiny-t2v")


def _installed_model_size() -> tuple[int, int] | None:
    """(width, height) of the installed built-in generator, read from its framemark.json
    without importing ``generate.model`` (torch, diffusers); None when not installed or
    not known (then the model is loaded and its own config decides, as before)."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("generate")
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(list(spec.submodule_search_locations)[0]).joinpath(*MODEL_SUBDIR)
    try:
        if not (model_dir / "model_index.json").is_file():
            return None
        cfg = json.loads((model_dir / "framemark.json").read_text())["config"]
        return int(cfg["width"]), int(cfg["height"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


_PIPE_CACHE: dict = {}
_PIPE_LOCK = threading.Lock()


def _generator_pipe(force: bool, generator=None):
    """The generator whose latent mark to look for (its sampler is inverted), loaded once per
    process: the built-in one, or ``generator`` (a model folder, or a pipeline already loaded).

    The service calls this from several worker threads: one loads, the others wait for it."""
    if generator is not None and not isinstance(generator, (str, Path)):
        return generator
    with _PIPE_LOCK:
        if generator is not None:
            # a folder the user named must load: failing here is their error, not a skipped check
            key = ("folder", str(Path(generator).resolve()))
            if key not in _PIPE_CACHE:
                from generate.pipeline import load_model

                _PIPE_CACHE[key] = load_model(generator)
            return _PIPE_CACHE[key]
        return _load_generator_pipe(force)


def _generator_label(pipe) -> str:
    """Which model's latent mark was looked for: a mark is only ever found by its own model."""
    meta = getattr(pipe, "framemark_meta", None)
    return f"{meta['name']} {meta['version']}" if meta else type(pipe).__name__


def _load_generator_pipe(force: bool):
    if "pipe" in _PIPE_CACHE:
        return _PIPE_CACHE["pipe"]
    pipe = None
    try:
        from generate.model import DEFAULT_MODEL_DIR

        if force or (DEFAULT_MODEL_DIR / "model_index.json").is_file():
            from generate.pipeline import load_model

            pipe = load_model()
    except (FramemarkError, ImportError):
        pipe = None
    _PIPE_CACHE["pipe"] = pipe
    return pipe


def _classifier_section(clip, model) -> dict:
    from .classifier import ForensicClassifier, load_model
    from .features import clip_features
    from .normalize import normalize_clip

    est = model if isinstance(model, ForensicClassifier) else load_model(model)
    norm = normalize_clip(clip)
    score = float(est.predict_proba(clip_features(norm)[None, :])[0, 1])
    meta = getattr(est, "meta_", {}) or {}
    return {"score": score, "threshold": float(est.threshold),
            "model": meta.get("name") or (str(model) if model else "default"),
            "trained_on": meta.get("data", {}).get("summary"),
            "frames_used": int(norm.source_frames), "note": CLASSIFIER_NOTE}


def _file_facts(path: Path) -> dict:
    from provenance.media import probe, sniff_media_type

    with open(path, "rb") as fh:
        head = fh.read(64)
    facts = probe(path)
    return {"path": str(path), "bytes": path.stat().st_size, "media_type": sniff_media_type(head),
            **{k: facts.get(k) for k in ("width", "height", "fps", "frames", "duration", "codec")}}


def detect_file(path, *, keys_dir=None, model=None, resolver: str | None = None,
                limits: DecodeLimits | None = None, latent: bool | None = None, classifier: bool = True,
                generator=None) -> dict:
    """The fused detect report for the video at ``path`` (a JSON-ready dict).

    ``keys_dir``: keys folder (watermark key, our CA, manifest store); resolved like every
    command (``--keys``, ``$FRAMEMARK_HOME``, ``~/.framemark``). ``model``: a classifier file
    or fitted :class:`~detect.classifier.ForensicClassifier` (default: the shipped one).
    ``resolver``: base URL of a Soft Binding Resolution API. ``latent``: None runs the
    latent watermark when the generator is installed; False never; True always.
    ``generator``: the text-to-video model folder (or loaded pipeline) whose latent mark to
    look for, instead of the built-in generator (a self-hosted or candidate model).
    """
    from provenance.media import read_clip

    from .verdict import VERDICTS, decide

    t_start = time.perf_counter()
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    timings: dict = {}
    facts = _file_facts(path)
    if facts["media_type"] is None or not str(facts["media_type"]).startswith("video/"):
        raise InputError(f"{path}: not a video file (type sniffed from its bytes: {facts['media_type'] or 'unknown'})")

    kd = _keys_dir(keys_dir)
    if generator is not None and latent is not False:
        _generator_pipe(False, generator)  # a named model folder that cannot load fails before any work
    if classifier and isinstance(model, (str, Path)):
        from .classifier import load_model

        model = load_model(model)  # an explicit --model that cannot load is the user's error: fail first

    t0 = time.perf_counter()
    c2pa = _c2pa_section(path, kd)
    timings["c2pa_s"] = _round(time.perf_counter() - t0)

    t0 = time.perf_counter()
    clip = read_clip(path, limits=limits or DecodeLimits(), max_frames=WATERMARK_MAX_FRAMES)
    timings["decode_s"] = _round(time.perf_counter() - t0)
    if clip.meta.get("decode_error"):
        facts["decode_error"] = clip.meta["decode_error"]
    facts["frames_decoded"] = clip.num_frames

    t0 = time.perf_counter()
    wm_times: dict = {}
    watermarks, payloads = _watermark_section(clip, kd, latent, wm_times, generator)
    timings["watermarks_s"] = _round(time.perf_counter() - t0)
    timings["watermark_algs_s"] = wm_times

    t0 = time.perf_counter()
    recovery = {"attempted": False, "recovered": False, "results": [], "errors": []}
    if payloads:
        from .recovery import recover

        recovery = recover(watermarks, payloads, keys_dir=kd, resolver=resolver)
    timings["recovery_s"] = _round(time.perf_counter() - t0)

    t0 = time.perf_counter()
    if not classifier:
        clf = {"skipped": True, "reason": "disabled"}
    else:
        try:
            clf = _classifier_section(clip, model)
        except FramemarkError as exc:
            # a missing default model or a clip too short for the classifier costs one signal, not the report
            clf = {"error": str(exc)}
    timings["classifier_s"] = _round(time.perf_counter() - t0)

    decision = decide(c2pa, watermarks, recovery, clf)
    timings["total_s"] = _round(time.perf_counter() - t_start)
    return {
        "report_version": REPORT_VERSION,
        "file": facts,
        "verdict": decision.verdict,
        "verdict_meaning": VERDICTS[decision.verdict],
        "score": decision.score,
        "hard_evidence": decision.hard,
        "evidence": [e.to_dict() for e in decision.evidence],
        "c2pa": c2pa,
        "watermarks": watermarks,
        "recovery": recovery,
        "classifier": clf,
        "timings": timings,
    }


def _keys_dir(keys_dir) -> Path | None:
    """The keys folder if there is one; detection works (with fewer signals) without it."""
    from provenance.keys import resolve_keys_dir

    kd = resolve_keys_dir(keys_dir)
    if keys_dir is not None and not Path(kd).is_dir():
        raise InputError(f"keys folder {kd} does not exist")
    return Path(kd) if Path(kd).is_dir() else None
