"""The C2PA Soft Binding Resolution API over framemark's manifest store.

Routes (shapes from the API's OpenAPI description, C2PA 2.x "soft binding
resolution"): ``GET``/``POST /matches/byBinding``, ``POST /matches/byContent``,
``GET /manifests/{manifestId}`` (``application/c2pa``) and
``GET /services/supportedAlgorithms``. A match is ``{"manifestId": ..., "similarityScore": 100}``:
watermark identifiers match exactly or not at all. Only records that carry
manifest bytes are matches, since a match must be fetchable from ``/manifests``.
"""


import base64
import binascii
import json
from pathlib import Path

from .errors import ServiceError
from .runner import Runtime, run_on_upload
from .upload import receive_raw, receive_upload

__all__ = ["build_router", "matches_for", "decode_value", "find_manifest", "content_matches"]

MAX_RESULTS = 100
_MAX_QUERY_BODY = 64 * 1024
_MAX_ALG_LEN = 200


def decode_value(value: str) -> bytes:
    """The soft-binding value must be base64 (standard alphabet, padding optional)."""
    if not value or len(value) > 8192:
        raise ServiceError(400, "bad_request", "value must be a non-empty base64 string (at most 8192 characters)")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(400, "bad_request", "value is not valid base64") from None


def _check_alg(alg: str | None) -> str:
    if not alg or len(alg) > _MAX_ALG_LEN or not all(c.isalnum() or c in "._-" for c in alg):
        raise ServiceError(400, "bad_request", "alg must be a soft-binding algorithm name such as org.framemark.video.1")
    return alg


def _store(keys_dir: Path | None):
    from provenance.store import ManifestStore

    return ManifestStore(keys_dir) if keys_dir is not None else None


def matches_for(keys_dir: Path | None, alg: str, value: str, max_results: int) -> list[dict]:
    """Manifest ids bound to (alg, value), newest first, one entry per manifest id."""
    raw = decode_value(value)  # a malformed value is a 400 even when the store is empty
    store = _store(keys_dir)
    if store is None:
        return []
    # the store keys on the canonical padded base64 of the identifier
    canonical = base64.b64encode(raw).decode("ascii")
    seen: list[str] = []
    for rec in store.lookup(alg, canonical):
        if rec.manifest_id and rec.manifest_bytes is not None and rec.manifest_id not in seen:
            seen.append(rec.manifest_id)
        if len(seen) >= max_results:
            break
    return [{"manifestId": mid, "similarityScore": 100} for mid in seen]


def find_manifest(keys_dir: Path | None, manifest_id: str) -> bytes | None:
    """The manifest store bytes recorded under ``manifest_id`` (newest), or None."""
    store = _store(keys_dir)
    if store is None:
        return None
    rec = store.by_manifest_id(manifest_id)
    return None if rec is None else rec.manifest_bytes


def supported_algorithms() -> dict:
    from watermark import algorithms

    return {"watermarks": [{"alg": a} for a in algorithms()], "fingerprints": []}


def content_matches(path: Path, keys_dir: Path | None, alg: str | None, max_results: int, limits) -> dict:
    """Decode the asset, extract every (or the asked) watermark, look each decoded value up."""
    from provenance.errors import FramemarkError
    from provenance.media import read_clip
    from watermark import algorithms, get_algorithm

    if keys_dir is None:
        return {"matches": []}
    from provenance.keys import load_watermark_key

    key = load_watermark_key(keys_dir)
    clip = read_clip(path, limits=limits)
    matches: list[dict] = []
    for name in ([alg] if alg else algorithms()):
        try:
            algo = get_algorithm(name, key)
        except (FramemarkError, TypeError):
            continue  # e.g. the latent watermark needs the generator model, absent on this server
        result = algo.extract(clip)
        if result.detected and result.payload is not None:
            value = base64.b64encode(result.payload).decode("ascii")
            for m in matches_for(keys_dir, name, value, max_results):
                if m["manifestId"] not in {x["manifestId"] for x in matches}:
                    matches.append(m)
    return {"matches": matches[:max_results]}


def build_router(rt: Runtime):
    from fastapi import APIRouter, Query, Request
    from fastapi.responses import Response

    settings = rt.settings
    router = APIRouter(tags=["soft binding resolution (C2PA)"])
    max_results_q = Query(10, alias="maxResults", ge=1, le=MAX_RESULTS,
                          description="the most manifest identifiers to return")

    @router.get("/matches/byBinding", summary="Manifest ids for a soft binding (watermark identifier)")
    def by_binding_get(alg: str = Query(..., description="soft-binding algorithm, e.g. org.framemark.video.1"),
                       value: str = Query(..., description="base64 soft-binding value"),
                       max_results: int = max_results_q) -> dict:
        return {"matches": matches_for(settings.keys_dir, _check_alg(alg), value, max_results)}

    @router.post("/matches/byBinding", summary="Manifest ids for a soft binding given as JSON {alg, value}",
                 openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["alg", "value"],
                     "properties": {"alg": {"type": "string"}, "value": {"type": "string"}}}}}}})
    async def by_binding_post(request: Request, max_results: int = max_results_q) -> dict:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_QUERY_BODY:
                raise ServiceError(413, "payload_too_large", f"a query body is at most {_MAX_QUERY_BODY} bytes")
        try:
            query = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(400, "bad_request", "the body must be JSON: {\"alg\": ..., \"value\": ...}") from None
        if not isinstance(query, dict) or not isinstance(query.get("alg"), str) or not isinstance(query.get("value"), str):
            raise ServiceError(400, "bad_request", "the body must be JSON: {\"alg\": ..., \"value\": ...}")
        return {"matches": matches_for(settings.keys_dir, _check_alg(query["alg"]), query["value"], max_results)}

    @router.post("/matches/byContent", summary="Manifest ids for an asset: its watermarks are extracted and looked up",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "video/*": {"schema": {"type": "string", "format": "binary"}}}}})
    async def by_content(request: Request, alg: str | None = Query(None), max_results: int = max_results_q,
                         hint_alg: str | None = Query(None, alias="hintAlg"),
                         hint_value: str | None = Query(None, alias="hintValue")) -> dict:
        if alg is not None:
            _check_alg(alg)
        rt.gate.admit()
        try:
            ctype = request.headers.get("content-type", "")
            common = dict(max_bytes=settings.max_upload_bytes, accepted=settings.accepted_types,
                          tmp_dir=settings.tmp_dir)
            if ctype.startswith("multipart/form-data"):
                upload = await receive_upload(ctype, request.headers.get("content-length"), request.stream(), **common)
            else:
                upload = await receive_raw(request.headers.get("content-length"), request.stream(), **common)
            result = await run_on_upload(rt, upload, lambda: content_matches(
                upload.path, settings.keys_dir, alg, max_results, settings.decode_limits()))
            if hint_alg and hint_value and not result["matches"]:
                # the hint is a binding the client already decoded: use it when extraction found nothing
                result = {"matches": matches_for(settings.keys_dir, _check_alg(hint_alg), hint_value, max_results)}
            return result
        finally:
            rt.gate.leave()

    @router.get("/manifests/{manifestId}", summary="The C2PA manifest store for a manifest id",
                response_class=Response,
                responses={200: {"content": {"application/c2pa": {}}}, 404: {"description": "unknown manifest id"}})
    def get_manifest(manifestId: str, return_active: bool = Query(False, alias="returnActiveManifest")):
        if not manifestId or len(manifestId) > 512:
            raise ServiceError(400, "bad_request", "invalid manifest id")
        data = find_manifest(settings.keys_dir, manifestId)
        if data is None:
            raise ServiceError(404, "not_found", f"no manifest with id {manifestId[:120]}")
        # the store keeps whole manifest stores; returnActiveManifest is answered with the whole store
        return Response(content=data, media_type="application/c2pa",
                        headers={"Content-Disposition": 'attachment; filename="manifest.c2pa"'})

    @router.get("/services/supportedAlgorithms", summary="The soft-binding algorithms this service resolves")
    def supported() -> dict:
        return supported_algorithms()

    return router
