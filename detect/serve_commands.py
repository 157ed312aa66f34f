"""``framemark serve``: run the upload service (FastAPI under uvicorn).

Nothing heavy at module level: FastAPI, uvicorn and the detector load when the
command runs.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="run the upload service and web page",
        description="Serve POST /v1/detect, the web page at /, the C2PA Soft Binding Resolution API "
                    "and OpenAPI docs at /docs.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--keys", metavar="DIR", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    p.add_argument("--max-upload-mb", type=float, default=200.0, metavar="N",
                   help="largest upload in MiB; larger ones get 413 (default 200)")
    p.add_argument("--max-concurrency", type=int, default=2, metavar="N",
                   help="detections run at once; more wait in a queue, beyond it 503 (default 2)")
    p.add_argument("--max-queue", type=int, default=64, metavar="N", help="requests that may wait (default 64)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="wall-clock limit of one detection in seconds; over it 422 (default 120)")
    p.set_defaults(func=_serve)


def _resolve_keys(path: str | None):
    from provenance.keys import resolve_keys_dir

    return resolve_keys_dir(path)


def _serve(args: argparse.Namespace) -> int:
    from provenance.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    if not args.max_upload_mb > 0:
        raise UsageError("--max-upload-mb must be positive")
    import uvicorn

    from detect.service import ServiceSettings, create_app

    settings = ServiceSettings(keys_dir=_resolve_keys(args.keys), max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                               max_concurrency=args.max_concurrency, max_queue=args.max_queue,
                               detect_timeout_s=args.timeout, warm_up=True)
    # bind here, not inside uvicorn: uvicorn answers a taken port with sys.exit, we with one line
    import socket

    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=10))
    print(f"framemark: serving on http://{args.host}:{sock.getsockname()[1]}/ (keys: {settings.keys_dir})", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
