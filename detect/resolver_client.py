"""Client of a C2PA Soft Binding Resolution API (``framemark detect --resolver URL``).

``ResolverClient(url).resolve(alg, value)`` asks ``GET {url}/matches/byBinding`` for
the manifests bound to a decoded watermark, then fetches the first one from
``GET {url}/manifests/{manifestId}`` (or from the match's own ``endpoint``). Every
request is bounded in time and size; every failure is a :class:`ResolverError`
(a FramemarkError, so the CLI prints one line). Whether the recovered manifest
really carries the decoded binding (C2PA 2.2 §18.10.5.1) is checked by the caller,
which parses the manifest.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from provenance.errors import FramemarkError, UsageError

__all__ = ["ResolverClient", "ResolverError", "ResolvedManifest", "MAX_MANIFEST_BYTES"]

MAX_MANIFEST_BYTES = 32 * 1024 * 1024   # a manifest store far larger than this is not a manifest
_MAX_JSON_BYTES = 1024 * 1024


class ResolverError(FramemarkError):
    """The resolver could not be reached, or answered something that is not the API."""

    exit_code = 2


@dataclass(frozen=True)
class ResolvedManifest:
    manifest_id: str
    manifest_bytes: bytes
    endpoint: str            # where the manifest was fetched from
    similarity: int | None   # the match's similarityScore, when given


def _check_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--resolver needs an http(s) URL, got {url!r}")
    return url.rstrip("/")


class ResolverClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0):
        self.base = _check_base(base_url)
        self.timeout_s = float(timeout_s)

    def _get(self, url: str, *, params: dict | None = None, max_bytes: int, accept: str) -> tuple[bytes, str]:
        import httpx

        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=True, trust_env=False) as client:
                with client.stream("GET", url, params=params, headers={"Accept": accept}) as resp:
                    if resp.status_code == 404:
                        raise ResolverError(f"resolver {self.base}: not found ({url})")
                    if resp.status_code != 200:
                        raise ResolverError(f"resolver {self.base} answered HTTP {resp.status_code}")
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise ResolverError(f"resolver {self.base}: answer larger than {max_bytes} bytes")
                    return bytes(body), resp.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise ResolverError(f"resolver {self.base} unreachable ({type(exc).__name__}: {str(exc)[:120]})") from None

    def matches(self, alg: str, value: str, max_results: int = 10) -> list[dict]:
        """``matches`` of ``GET /matches/byBinding`` (each has at least ``manifestId``)."""
        import json

        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError(f"soft-binding value {value!r} is not base64") from None
        body, _ = self._get(f"{self.base}/matches/byBinding",
                            params={"alg": alg, "value": value, "maxResults": int(max_results)},
                            max_bytes=_MAX_JSON_BYTES, accept="application/json")
        try:
            doc = json.loads(body)
        except ValueError:
            raise ResolverError(f"resolver {self.base}: byBinding answer is not JSON") from None
        found = doc.get("matches") if isinstance(doc, dict) else None
        if not isinstance(found, list):
            raise ResolverError(f"resolver {self.base}: byBinding answer has no 'matches' list")
        return [m for m in found if isinstance(m, dict) and isinstance(m.get("manifestId"), str) and m["manifestId"]]

    def fetch_manifest(self, manifest_id: str, endpoint: str | None = None) -> bytes:
        """The ``application/c2pa`` bytes of ``manifest_id``."""
        base = _check_base(endpoint) if endpoint else self.base
        body, ctype = self._get(f"{base}/manifests/{quote(manifest_id, safe='')}",
                                max_bytes=MAX_MANIFEST_BYTES, accept="application/c2pa")
        if not ctype.startswith("application/c2pa") and not ctype.startswith("application/octet-stream"):
            raise ResolverError(f"resolver {base}: manifest answer is {ctype or 'untyped'}, not application/c2pa")
        if not body:
            raise ResolverError(f"resolver {base}: empty manifest for {manifest_id}")
        return body

    def resolve(self, alg: str, value: str) -> ResolvedManifest | None:
        """The first matching manifest, or None when the resolver knows no match."""
        for match in self.matches(alg, value):
            endpoint = match.get("endpoint") if isinstance(match.get("endpoint"), str) else None
            data = self.fetch_manifest(match["manifestId"], endpoint)
            score = match.get("similarityScore")
            return ResolvedManifest(manifest_id=match["manifestId"], manifest_bytes=data,
                                    endpoint=endpoint or self.base,
                                    similarity=score if isinstance(score, int) else None)
        return None
