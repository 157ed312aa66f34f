"""Recovering Content Credentials through a watermark (C2PA soft binding).

A re-encoded clip has lost its manifest, but not its watermark. The decoded
identifier is a soft-binding value: look it up in the local manifest store
(:class:`provenance.store.ManifestStore`) or ask a remote Soft Binding Resolution
API (:class:`detect.resolver_client.ResolverClient`), and read the manifest found.

Two rules keep this honest:

* a recovered manifest is reported as ``recovered``, never as valid for this
  file: its hard binding (the BMFF hash) was computed over the original bytes and
  cannot match a re-encoded file, so its ``validation`` lists only what could be
  checked without the asset (signature, certificate);
* C2PA 2.2 §18.10.5.1: the recovered manifest must carry a ``c2pa.soft-binding``
  assertion with exactly the decoded ``alg`` and ``value``; otherwise the match
  is ``rejected`` (a resolver could answer anything).
"""

from __future__ import annotations

import base64
import io
import json

__all__ = ["recover", "inspect_manifest", "binding_matches"]

# failure codes that only say "this manifest's hard binding does not match the bytes we
# gave it" -- expected when a manifest is read without its original asset
_ASSET_BINDING_CODES = ("assertion.bmffHash.mismatch", "assertion.dataHash.mismatch",
                        "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch")


def _soft_bindings(manifest: dict) -> list[dict]:
    out = []
    for a in manifest.get("assertions") or ():
        label = a.get("label", "") if isinstance(a, dict) else ""
        if label == "c2pa.soft-binding" or label.startswith("c2pa.soft-binding."):
            data = a.get("data") or {}
            if isinstance(data, dict):
                out.append(data)
    return out


def binding_matches(manifest: dict, alg: str, value: str) -> bool:
    """Does the manifest carry a soft-binding assertion with exactly ``alg`` and ``value``?"""
    for sb in _soft_bindings(manifest):
        if sb.get("alg") != alg:
            continue
        for block in sb.get("blocks") or ():
            if isinstance(block, dict) and block.get("value") == value:
                return True
    return False


def inspect_manifest(manifest_bytes: bytes) -> dict:
    """Parse a manifest store (``application/c2pa``) without its asset.

    Returns ``{"manifest": active manifest dict, "manifest_label": ..., "signature_failures": [...]}``;
    raises ValueError when the bytes are not a manifest store.
    """
    import c2pa

    try:
        reader = c2pa.Reader("application/c2pa", io.BytesIO(manifest_bytes))
        doc = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        raise ValueError(f"not a C2PA manifest store ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})") from None
    label = doc.get("active_manifest")
    manifest = (doc.get("manifests") or {}).get(label) or {}
    results = (doc.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f.get("code") for f in results.get("failure") or () if isinstance(f, dict)]
    return {"manifest": manifest, "manifest_label": label,
            "signature_failures": [c for c in failures if c not in _ASSET_BINDING_CODES]}


def _summary(manifest: dict) -> dict:
    from .verdict import declares_ai

    actions = []
    for a in manifest.get("assertions") or ():
        if isinstance(a, dict) and str(a.get("label", "")).startswith("c2pa.actions"):
            actions.extend((a.get("data") or {}).get("actions") or [])
    sig = manifest.get("signature_info") or {}
    source = next((x.get("digitalSourceType") for x in actions if isinstance(x, dict) and x.get("digitalSourceType")),
                  None)
    return {
        "title": manifest.get("title"),
        "signer": {"common_name": sig.get("common_name"), "issuer": sig.get("issuer")},
        "signed_at": sig.get("time"),
        "digital_source_type": source,
        "declares_ai": declares_ai({"actions": actions, "digital_source_type": source}),
        "actions": [{"action": x.get("action"), "digitalSourceType": x.get("digitalSourceType")}
                    for x in actions if isinstance(x, dict)][:20],
    }


def _judge(alg: str, value: str, manifest_bytes: bytes, manifest_id: str | None, source: str) -> dict:
    entry = {"alg": alg, "value": value, "manifest_id": manifest_id, "source": source}
    try:
        parsed = inspect_manifest(manifest_bytes)
    except ValueError as exc:
        return {**entry, "status": "rejected", "reason": str(exc)}
    manifest = parsed["manifest"]
    entry["manifest_id"] = manifest_id or parsed["manifest_label"]
    if not binding_matches(manifest, alg, value):
        return {**entry, "status": "rejected",
                "reason": f"the manifest has no soft-binding assertion with alg {alg} and value {value} "
                          "(C2PA 2.2 sec. 18.10.5.1)"}
    return {**entry, "status": "recovered", **_summary(manifest),
            "validation": {"state": "recovered",
                           "note": "recovered through the watermark; its hard binding was not (and cannot be) "
                                   "checked against this file",
                           "signature_failures": parsed["signature_failures"]},
            "manifest_bytes": len(manifest_bytes)}


def recover(watermarks: list[dict], payloads: dict[str, bytes], *, keys_dir=None, resolver: str | None = None) -> dict:
    """Look up every detected watermark's identifier; one result per (alg, candidate manifest).

    ``payloads`` maps alg -> decoded identifier bytes for the detected watermarks.
    Returns ``{"attempted": bool, "results": [...], "errors": [...]}``; a result's
    ``status`` is ``recovered``, ``rejected`` or ``unsigned`` (the store knows the
    identifier, but the clip was never signed).
    """
    from provenance.errors import FramemarkError

    results, errors, seen = [], [], set()
    detected = [w for w in watermarks if w.get("detected") and payloads.get(w.get("alg"))]
    for wm in detected:
        alg = wm["alg"]
        value = base64.b64encode(payloads[alg]).decode("ascii")
        candidates: list[tuple[bytes | None, str | None, str]] = []
        if keys_dir is not None:
            from provenance.store import ManifestStore

            try:
                for rec in ManifestStore(keys_dir).lookup(alg, value):
                    candidates.append((rec.manifest_bytes, rec.manifest_id, "local store"))
            except FramemarkError as exc:
                errors.append(f"local store: {exc}")
        if resolver:
            from .resolver_client import ResolverClient

            try:
                found = ResolverClient(resolver).resolve(alg, value)
                if found is not None:
                    candidates.append((found.manifest_bytes, found.manifest_id, found.endpoint))
            except FramemarkError as exc:
                errors.append(f"resolver: {exc}")
        for data, mid, source in candidates:
            key = (alg, mid, source)
            if key in seen:
                continue
            seen.add(key)
            if data is None:
                results.append({"alg": alg, "value": value, "manifest_id": mid, "source": source,
                                "status": "unsigned", "reason": "the identifier is known but no manifest was stored"})
                continue
            results.append(_judge(alg, value, data, mid, source))
    return {"attempted": bool(detected), "recovered": any(r["status"] == "recovered" for r in results),
            "results": results, "errors": errors}
