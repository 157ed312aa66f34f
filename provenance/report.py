"""The human card for a verification report, in the spirit of the CAI Verify site:
one headline badge, then who signed, what the asset is, what was done to it, and
where it came from (ingredients, each with its own badge).

Pure string formatting over ``VerifyReport.to_dict()``: no c2pa import here.
"""

from __future__ import annotations

__all__ = ["render_card", "BADGES"]

#: state -> (badge, one-line meaning)
BADGES = {
    "trusted": ("[✔ TRUSTED]", "Content Credentials intact; the signer is on your trust list"),
    "valid": ("[✔ VALID]", "Content Credentials intact; the signer is not on your trust list"),
    "invalid": ("[✘ INVALID]", "Content Credentials present but broken: the file or its manifest was changed"),
    "absent": ("[– NONE]", "no Content Credentials in this file"),
}

_ACTION_NAMES = {
    "c2pa.created": "created", "c2pa.opened": "opened", "c2pa.edited": "edited", "c2pa.watermarked": "watermarked",
    "c2pa.converted": "converted", "c2pa.transcoded": "transcoded", "c2pa.placed": "placed",
    "c2pa.color_adjustments": "colour adjusted", "c2pa.cropped": "cropped", "c2pa.resized": "resized",
}


def _ai_line(ai, dst) -> str:
    short = dst.rsplit("/", 1)[-1] if dst else None
    if ai is True:
        return f"[AI] made with generative AI ({short})"
    if ai is False:
        return f"[no AI] declared {short}"
    return f"[?] AI use not declared{f' ({short})' if short else ''}"


def render_card(report: dict, width: int = 78) -> str:
    state = report.get("state", "absent")
    badge, meaning = BADGES.get(state, (f"[{state}]", ""))
    lines = [f"{badge} {report.get('path', '')}", f"  {meaning}"]
    # the timestamp note is already the "signed at" line
    notes = [n for n in report.get("notes") or [] if not n.startswith("no trusted timestamp")
             and not (report.get("remote_manifest_url") and n.startswith("the manifest is remote"))]
    if state == "absent":
        if report.get("remote_manifest_url"):
            lines.append(f"  a remote manifest is referenced (not fetched): {report['remote_manifest_url']}")
        lines.extend(f"  note:       {n}" for n in notes)
        return "\n".join(lines)
    problems = [c for c in report.get("failures") or [] if c != "signingCredential.untrusted"]
    if problems:
        lines.append("  problems:   " + ", ".join(problems))
    signer = report.get("signer") or {}
    if signer:
        lines.append(f"  signed by:  {signer.get('common_name') or '?'}  (issuer: {signer.get('issuer') or '?'})")
    lines.append(f"  signed at:  {report.get('signed_at') or 'not timestamped (time not attested)'}")
    gen = ", ".join(f"{g.get('name')} {g.get('version', '')}".strip() for g in report.get("claim_generator") or [])
    if gen:
        lines.append(f"  made with:  {gen}")
    if report.get("title"):
        lines.append(f"  title:      {report['title']}")
    lines.append("  " + _ai_line(report.get("ai_generated"), report.get("digital_source_type")))
    acts = [_ACTION_NAMES.get(a.get("action"), a.get("action")) for a in report.get("actions") or []]
    if acts:
        lines.append("  actions:    " + ", ".join(str(a) for a in acts))
    for sb in report.get("soft_bindings") or []:
        lines.append(f"  watermark:  {sb.get('alg')} = {sb.get('value')}")
    if report.get("manifest_source") and report["manifest_source"] != "embedded":
        where = f" {report['sidecar']}" if report.get("sidecar") else ""
        lines.append(f"  manifest:   {report['manifest_source']}{where}")
    ings = report.get("ingredients") or []
    if ings:
        lines.append("  ingredients:")
        lines.extend(_ingredient_lines(ings, indent=4))
    lines.extend(f"  note:       {n}" for n in notes)
    if report.get("ingredient_failures"):
        lines.append(f"  [! WARNING] {len(report['ingredient_failures'])} ingredient(s) failed validation "
                     "(c2pa still rates the top manifest on its own)")
    return "\n".join(line if len(line) <= width + 40 else line[:width + 37] + "..." for line in lines)


def _ingredient_lines(ings: list[dict], indent: int) -> list[str]:
    out = []
    for ing in ings:
        badge = BADGES.get(ing.get("state"), (f"[{ing.get('state')}]",))[0]
        rel = ing.get("relationship") or ""
        extra = f": {', '.join(ing['failures'])}" if ing.get("state") == "invalid" and ing.get("failures") else ""
        out.append(f"{' ' * indent}{badge} {ing.get('title') or '?'} ({rel}){extra}")
        out.extend(_ingredient_lines(ing.get("ingredients") or [], indent + 2))
    return out
