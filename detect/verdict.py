"""The detector's verdict vocabulary and the rules that pick one word per clip.

Hard evidence decides first, in this order:

1. a manifest that is present but does not validate          -> ``tampered``
2. an intact manifest (trusted or valid) declaring AI        -> ``ai-generated-signed``
3. a watermark of ours at p <= 1e-6 (no intact AI manifest)  -> ``ai-generated-watermarked``
4. an intact manifest declaring no AI generation             -> ``signed-capture-or-edit``

Only when none of these fired does the forensic classifier speak:

5. classifier score >= its threshold                          -> ``likely-ai``
6. otherwise (or no classifier at all)                         -> ``unknown``

Rule 3 also wins over rule 4: a framemark watermark inside a clip whose intact
manifest declares a camera capture means generated content went into the edit
(or the claim is false); a platform must not label that clip as a plain capture.
The manifest's claim still appears in the evidence.

``score`` is the probability that the clip is AI-generated. The classifier's
probability is strictly inside (0, 1) by construction; hard AI verdicts pin the
score at ``1 - 1e-6`` (never exactly 1, as p-values and signatures are evidence,
not certainty). For ``signed-capture-or-edit`` and ``tampered`` without a
watermark the score is the classifier's (a manifest says who signed, not what
the pixels are), or null when no classifier ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "VERDICTS",
    "HARD_VERDICTS",
    "DETECTION_P_VALUE",
    "SCORE_EPS",
    "Evidence",
    "Decision",
    "decide",
    "declares_ai",
]

#: the vocabulary, word -> meaning (docs/detector.md repeats it)
VERDICTS: dict[str, str] = {
    "ai-generated-signed": "an intact C2PA manifest declares AI generation",
    "ai-generated-watermarked": "a framemark watermark is detected (p <= 1e-6) and no intact manifest declares AI",
    "signed-capture-or-edit": "an intact C2PA manifest declares no AI generation, and no watermark of ours is found",
    "tampered": "a C2PA manifest is present but does not validate for this file",
    "likely-ai": "no hard evidence; the forensic classifier scores the clip at or above its threshold",
    "unknown": "no hard evidence, and the classifier is below its threshold (or did not run)",
}
HARD_VERDICTS = frozenset({"ai-generated-signed", "ai-generated-watermarked", "signed-capture-or-edit", "tampered"})

#: same threshold as watermark.base.DETECTION_P_VALUE, restated so that this module imports nothing
DETECTION_P_VALUE = 1e-6
#: scores never reach 0 or 1
SCORE_EPS = 1e-6

# digitalSourceType values (IPTC) that mean "made by a trained model", fully or in part
_AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia",
                    "compositeSynthetic", "trainedAlgorithmicData")


@dataclass(frozen=True)
class Evidence:
    signal: str          # c2pa | watermark:<alg> | recovery | classifier
    strength: str        # hard | supporting | soft | none
    rule: str            # which rule fired, in words
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"signal": self.signal, "strength": self.strength, "rule": self.rule, **self.detail}


@dataclass(frozen=True)
class Decision:
    verdict: str
    score: float | None
    hard: bool
    evidence: tuple[Evidence, ...]


def _source_is_ai(value) -> bool:
    return isinstance(value, str) and value.rsplit("/", 1)[-1] in _AI_SOURCE_TYPES


def declares_ai(c2pa: dict) -> bool:
    """Does the verify report's active manifest (actions or ingredients) declare AI generation?"""
    if c2pa.get("ai_generated") is True:
        return True
    if _source_is_ai(c2pa.get("digital_source_type")):
        return True
    for action in c2pa.get("actions") or ():
        if isinstance(action, dict) and (_source_is_ai(action.get("digitalSourceType"))
                                         or _source_is_ai(action.get("digital_source_type"))):
            return True
    for ing in c2pa.get("ingredients") or ():
        if isinstance(ing, dict) and (ing.get("ai_generated") is True
                                      or _source_is_ai(ing.get("digital_source_type"))):
            return True
    return False


def _clip_score(p: float) -> float:
    return float(min(max(p, SCORE_EPS), 1.0 - SCORE_EPS))


def decide(c2pa: dict | None, watermarks: list[dict] | None = None, recovery: dict | None = None,
           classifier: dict | None = None) -> Decision:
    """One verdict from the per-signal sections of a detect report.

    ``c2pa``: ``VerifyReport.to_dict()`` (or None when verification did not run);
    ``watermarks``: ``[{"alg", "detected", "p_value", ...}]`` (entries with ``error`` are skipped);
    ``recovery``: the recovery section (``accepted`` / ``rejected`` manifests);
    ``classifier``: ``{"score", "threshold"}`` or None / ``{"error": ...}``.
    """
    c2pa = c2pa or {}
    state = c2pa.get("state", "absent")
    evidence: list[Evidence] = []

    # -- collect the hard signals ----------------------------------------------------------
    intact = state in ("trusted", "valid")
    ai_claim = intact and declares_ai(c2pa)
    if intact:
        who = "trusted signer" if state == "trusted" else "signer not in the trust list"
        evidence.append(Evidence("c2pa", "hard",
                                 f"intact manifest ({who}) declares {'AI generation' if ai_claim else 'no AI generation'}",
                                 {"state": state}))
    elif state == "invalid":
        fails = [f.get("code", str(f)) if isinstance(f, dict) else str(f) for f in c2pa.get("failures") or ()]
        evidence.append(Evidence("c2pa", "hard", "manifest present but invalid for this file",
                                 {"state": state, "failures": fails[:10]}))
    elif state == "absent":
        evidence.append(Evidence("c2pa", "none", "no C2PA manifest", {"state": state}))
    else:
        evidence.append(Evidence("c2pa", "none", f"C2PA verification did not run ({state})", {"state": state}))

    found = []
    for wm in watermarks or ():
        if wm.get("error") or wm.get("skipped"):
            continue
        p = wm.get("p_value")
        if isinstance(p, (int, float)) and p <= DETECTION_P_VALUE:
            found.append(wm)
            evidence.append(Evidence(f"watermark:{wm.get('alg')}", "hard",
                                     f"watermark detected at p = {p:.2g} <= {DETECTION_P_VALUE:g}",
                                     {"p_value": float(p), "payload": wm.get("payload")}))
        elif isinstance(p, (int, float)):
            evidence.append(Evidence(f"watermark:{wm.get('alg')}", "none",
                                     f"no watermark (p = {p:.2g} > {DETECTION_P_VALUE:g})", {"p_value": float(p)}))

    for rec in (recovery or {}).get("results") or ():
        if rec.get("status") == "recovered":
            evidence.append(Evidence("recovery", "supporting",
                                     "credentials recovered through the watermark's soft binding "
                                     "(reported as recovered, not valid for this file)",
                                     {"alg": rec.get("alg"), "manifest_id": rec.get("manifest_id"),
                                      "source": rec.get("source"),
                                      "declares_ai": rec.get("declares_ai")}))
        elif rec.get("status") == "rejected":
            evidence.append(Evidence("recovery", "none", f"recovered manifest rejected: {rec.get('reason')}",
                                     {"alg": rec.get("alg"), "manifest_id": rec.get("manifest_id")}))

    clf_score = None
    threshold = 0.5
    if classifier and isinstance(classifier.get("score"), (int, float)):
        clf_score = _clip_score(float(classifier["score"]))
        threshold = float(classifier.get("threshold", 0.5))

    # -- rules, hard first -------------------------------------------------------------------
    if state == "invalid":
        verdict, hard = "tampered", True
        score = 1.0 - SCORE_EPS if found else clf_score
    elif ai_claim:
        verdict, hard, score = "ai-generated-signed", True, 1.0 - SCORE_EPS
    elif found:
        verdict, hard, score = "ai-generated-watermarked", True, 1.0 - SCORE_EPS
    elif intact:
        verdict, hard, score = "signed-capture-or-edit", True, clf_score
    else:
        hard = False
        score = clf_score
        if clf_score is not None and clf_score >= threshold:
            verdict = "likely-ai"
        else:
            verdict = "unknown"

    if clf_score is not None:
        speaks = not hard
        evidence.append(Evidence(
            "classifier", "soft" if speaks else "none",
            (f"classifier score {clf_score:.3f} {'>=' if clf_score >= threshold else '<'} threshold {threshold:.2f}"
             if speaks else f"classifier score {clf_score:.3f} (not used: hard evidence decided)"),
            {"score": clf_score, "threshold": threshold}))
    elif classifier and classifier.get("error"):
        evidence.append(Evidence("classifier", "none", f"classifier did not run: {classifier['error']}"))
    return Decision(verdict=verdict, score=score, hard=hard, evidence=tuple(evidence))
