"""The short human card ``framemark detect`` prints (``--json`` prints the whole report)."""

from __future__ import annotations

__all__ = ["render_card"]

_TITLES = {
    "ai-generated-signed": "AI-GENERATED (signed)",
    "ai-generated-watermarked": "AI-GENERATED (watermarked)",
    "signed-capture-or-edit": "SIGNED CAPTURE OR EDIT",
    "tampered": "TAMPERED CREDENTIALS",
    "likely-ai": "LIKELY AI (classifier only)",
    "unknown": "UNKNOWN",
}


def _p(p) -> str:
    if not isinstance(p, (int, float)):
        return "n/a"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def _score(s: float) -> str:
    # pinned hard scores (1 - 1e-6) must not print as "1.000": the detector never says certain
    return f"{s:.6f}" if s > 0.999 or s < 0.001 else f"{s:.3f}"


def render_card(report: dict) -> str:
    f = report.get("file", {})
    lines = [f"{f.get('path', '?')}  ({f.get('width')}x{f.get('height')}, {f.get('frames_decoded')} frames)"]
    score = report.get("score")
    lines.append(f"  verdict     {_TITLES.get(report['verdict'], report['verdict'])}"
                 + (f"   score {_score(score)}" if isinstance(score, (int, float)) else "   score n/a"))
    lines.append(f"              {report.get('verdict_meaning', '')}")
    c = report.get("c2pa", {})
    c_line = c.get("state", "?")
    signer = c.get("signer") or {}
    if isinstance(signer, dict) and (signer.get("common_name") or signer.get("name")):
        c_line += f", signer {signer.get('common_name') or signer.get('name')}"
    if c.get("ai_generated") is not None:
        c_line += ", declares AI" if c.get("ai_generated") else ", declares no AI"
    if c.get("failures"):
        c_line += f", {len(c['failures'])} failure(s)"
    lines.append(f"  c2pa        {c_line}")
    for w in report.get("watermarks", []):
        if w.get("skipped") or w.get("error"):
            lines.append(f"  watermark   {w.get('alg')}: {w.get('reason') or w.get('error')}")
        else:
            found = "DETECTED" if w.get("detected") else "not found"
            ident = w.get("identified") or {}
            shown = w.get("payload") or ident.get("payload")
            pay = f", id {shown}" if shown else ""
            if shown and shown == ident.get("payload"):
                pay += " (matched in the manifest store)"
            lines.append(f"  watermark   {w.get('alg')}: {found}, p = {_p(w.get('p_value'))}{pay}")
    recovered: dict = {}  # one line per manifest, however many watermarks led to it
    failed = []
    for r in report.get("recovery", {}).get("results", []):
        if r.get("status") == "recovered":
            recovered.setdefault((r.get("manifest_id"), r.get("source")), (r, []))[1].append(r.get("alg") or "?")
        else:
            failed.append(f"  recovery    {r.get('status')}: {r.get('reason')}")
    for (mid, source), (r, algs) in recovered.items():
        who = (r.get("signer") or {}).get("common_name") or "?"
        lines.append(f"  recovered   manifest {mid} from {source} via {' + '.join(algs)} "
                     f"(signer {who}; recovered, not valid for this file)")
    lines += failed
    clf = report.get("classifier", {})
    if isinstance(clf.get("score"), (int, float)):
        lines.append(f"  classifier  {clf['score']:.3f} (threshold {clf.get('threshold', 0.5):.2f}; "
                     "knows the built-in generator only)")
    else:
        lines.append(f"  classifier  {clf.get('error') or clf.get('reason') or 'did not run'}")
    t = report.get("timings", {})
    lines.append(f"  time        {t.get('total_s', 0):.2f} s (c2pa {t.get('c2pa_s', 0):.2f}, decode "
                 f"{t.get('decode_s', 0):.2f}, watermarks {t.get('watermarks_s', 0):.2f}, classifier "
                 f"{t.get('classifier_s', 0):.2f})")
    return "\n".join(lines)
