"""The upload service: ``create_app(settings)`` returns the FastAPI application.

Routes: ``POST /v1/detect`` (multipart field ``file`` -> the detect JSON report),
``GET /healthz``, the C2PA Soft Binding Resolution API (see :mod:`.resolver`), the
web page at ``/`` with its assets under ``/static``, and the OpenAPI docs at
``/docs`` and ``/openapi.json``. Every error, of any route, is a JSON body
``{"error": {"status", "code", "message"}}``.
"""


import contextlib
import json
import math
from pathlib import Path

from .errors import ServiceError, classify, error_body
from .runner import Runtime, run_on_upload
from .settings import ServiceSettings
from .upload import receive_upload

__all__ = ["create_app", "to_jsonable"]

STATIC_DIR = Path(__file__).with_name("static")


def to_jsonable(obj):
    """Make a detector report strictly JSON: numpy values to Python, bytes to hex,
    NaN and infinities to null (Starlette refuses NaN, which would be a 500)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return to_jsonable(obj.tolist())
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    return str(obj)


def _scrub_path(report: dict, tmp_path: str, name: str) -> dict:
    """Replace the server's temporary file name, wherever the report quotes it, by the
    client's own file name: it means nothing to the client and tells about the server."""
    text = json.dumps(report)
    needle = json.dumps(tmp_path)[1:-1]
    if needle not in text:
        return report
    return json.loads(text.replace(needle, json.dumps(name)[1:-1]))


def _json_error(err: ServiceError):
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(err.status, err.code, err.message), status_code=err.status, headers=err.headers)


def create_app(settings: ServiceSettings | None = None):
    """The ASGI app for ``settings`` (default settings when None)."""
    from fastapi import FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from provenance import __version__

    from . import resolver

    settings = settings or ServiceSettings()
    rt = Runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        rt.start_warm_up()
        yield
        rt.close()

    app = FastAPI(
        title="framemark detector",
        version=__version__,
        description="Upload a clip, get framemark's fused verdict: C2PA provenance, watermarks, "
                    "credential recovery and a forensic classifier. Also a C2PA Soft Binding Resolution API.",
        lifespan=lifespan,
    )
    app.state.runtime = rt

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        return _json_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid")))
        return _json_error(ServiceError(400, "bad_request", "; ".join(parts) or "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        err = ServiceError(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
        return _json_error(err)

    @app.exception_handler(Exception)
    async def _any_error(request: Request, exc: Exception):
        return _json_error(classify(exc))

    @app.get("/healthz", tags=["service"], summary="Liveness and load")
    def healthz() -> dict:
        return {"status": "ok", "version": __version__, "warm": rt.warm.is_set(), "load": rt.gate.stats(),
                "limits": {"max_upload_bytes": settings.max_upload_bytes, "max_frames": settings.max_frames,
                           "max_pixels": settings.max_pixels, "detect_timeout_s": settings.detect_timeout_s,
                           "accepted_types": list(settings.accepted_types)}}

    detect_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "the clip to analyse"}}}}}}}

    @app.post("/v1/detect", tags=["detect"], summary="Analyse an uploaded clip and return the detect report",
              openapi_extra=detect_body,
              responses={413: {"description": "upload too large"}, 415: {"description": "not an accepted media type"},
                         422: {"description": "unreadable, or over a frame/pixel/time limit"},
                         503: {"description": "at capacity; see Retry-After"}})
    async def detect(request: Request,
                     thumbnails: int = Query(0, ge=0, le=64, description="small JPEG thumbnails to include")):
        rt.gate.admit()
        try:
            upload = await receive_upload(
                request.headers.get("content-type"), request.headers.get("content-length"), request.stream(),
                max_bytes=settings.max_upload_bytes, accepted=settings.accepted_types, tmp_dir=settings.tmp_dir)
            n_thumbs = min(thumbnails, settings.max_thumbnails)
            from .engine import analyse

            report = await run_on_upload(rt, upload, lambda: analyse(upload.path, settings, n_thumbs))
            report = _scrub_path(to_jsonable(report), str(upload.path), upload.filename or "upload")
            report["upload"] = {"filename": upload.filename, "media_type": upload.media_type, "bytes": upload.size}
            return JSONResponse(report)
        finally:
            rt.gate.leave()

    app.include_router(resolver.build_router(rt))

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
