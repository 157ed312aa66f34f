"""The verdict rules, table-driven: every word reachable, hard evidence first."""

import pytest

from detect.verdict import HARD_VERDICTS, SCORE_EPS, VERDICTS, decide

AI_SRC = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAM_SRC = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"

TRUSTED_AI = {"state": "trusted", "ai_generated": True, "digital_source_type": AI_SRC}
VALID_CAPTURE = {"state": "valid", "ai_generated": False, "digital_source_type": CAM_SRC}
INVALID = {"state": "invalid", "failures": [{"code": "assertion.bmffHash.mismatch"}]}
ABSENT = {"state": "absent"}
WM_HIT = [{"alg": "org.framemark.video.1", "detected": True, "p_value": 1e-12, "payload": "a1b2c3d4e5f6"}]
WM_WEAK = [{"alg": "org.framemark.video.1", "detected": False, "p_value": 1e-4}]   # not hard: > 1e-6
WM_MISS = [{"alg": "org.framemark.video.1", "detected": False, "p_value": 0.4}]
CLF_HIGH = {"score": 0.93, "threshold": 0.5}
CLF_LOW = {"score": 0.12, "threshold": 0.5}

CASES = [
    # c2pa, watermarks, classifier, expected verdict
    (TRUSTED_AI, WM_MISS, CLF_LOW, "ai-generated-signed"),
    ({"state": "valid", "actions": [{"action": "c2pa.created", "digitalSourceType": AI_SRC}]}, [], None,
     "ai-generated-signed"),
    (ABSENT, WM_HIT, CLF_LOW, "ai-generated-watermarked"),
    (VALID_CAPTURE, WM_HIT, CLF_LOW, "ai-generated-watermarked"),   # our watermark beats a capture claim
    (VALID_CAPTURE, WM_MISS, CLF_HIGH, "signed-capture-or-edit"),   # the classifier cannot overrule
    (INVALID, WM_MISS, CLF_LOW, "tampered"),
    (INVALID, WM_HIT, CLF_LOW, "tampered"),
    (ABSENT, WM_MISS, CLF_HIGH, "likely-ai"),
    (ABSENT, WM_WEAK, CLF_HIGH, "likely-ai"),                       # p = 1e-4 is not hard evidence
    (ABSENT, WM_MISS, CLF_LOW, "unknown"),
    (ABSENT, [], None, "unknown"),
    (ABSENT, [], {"error": "no model"}, "unknown"),
]


@pytest.mark.parametrize("c2pa, wms, clf, expected", CASES)
def test_rules(c2pa, wms, clf, expected):
    d = decide(c2pa, wms, None, clf)
    assert d.verdict == expected
    assert d.hard == (expected in HARD_VERDICTS)
    if d.score is not None:
        assert 0.0 < d.score < 1.0


def test_every_word_is_reachable():
    assert {case[-1] for case in CASES} == set(VERDICTS)


def test_classifier_only_is_never_hard_and_never_extreme():
    for s in (0.0, 1.0, 0.5, 1e-9, 1 - 1e-12):
        d = decide(ABSENT, WM_MISS, None, {"score": s, "threshold": 0.5})
        assert not d.hard
        assert d.verdict in ("likely-ai", "unknown")
        assert SCORE_EPS <= d.score <= 1 - SCORE_EPS
        assert [e.strength for e in d.evidence if e.signal == "classifier"] == ["soft"]


def test_hard_evidence_silences_the_classifier():
    d = decide(ABSENT, WM_HIT, None, CLF_LOW)
    assert d.score == pytest.approx(1 - SCORE_EPS)
    clf = [e for e in d.evidence if e.signal == "classifier"]
    assert clf[0].strength == "none"
    wm = [e for e in d.evidence if e.signal.startswith("watermark:")]
    assert wm[0].strength == "hard" and wm[0].detail["p_value"] == 1e-12


def test_recovered_manifest_is_supporting_not_validity():
    rec = {"results": [{"status": "recovered", "alg": "org.framemark.video.1", "manifest_id": "urn:x",
                        "source": "local store", "declares_ai": True}]}
    d = decide(ABSENT, WM_HIT, rec, None)
    assert d.verdict == "ai-generated-watermarked"
    ev = [e for e in d.evidence if e.signal == "recovery"]
    assert ev[0].strength == "supporting" and "not valid for this file" in ev[0].rule
