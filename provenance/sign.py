"""Embedding C2PA Content Credentials with c2pa-python (Builder + Signer + Context).

``sign_file`` writes a signed copy of an asset (or, with ``sidecar=True``, a ``.c2pa``
manifest store beside the untouched asset). Everything that can fail cheaply (input,
output path, format, certificate validity and key match) fails before any output
exists, and the output appears only when complete (``atomic_output``).

Manifest shape:
- ``claim_generator_info`` = framemark + version, ``title``;
- ``c2pa.actions``: ``c2pa.created`` with an IPTC digitalSourceType, or, with a
  parent, ``c2pa.opened`` pointing at the parent ingredient (c2pa-rs demands the
  first action be created/opened, and ``opened`` must name the ingredient);
- extra assertions; and per soft binding (a watermark identifier) one
  ``c2pa.soft-binding`` assertion plus the ``c2pa.watermarked`` action (c2pa-rs
  rejects ``c2pa.watermarked`` without a soft binding, and vice versa it is how a
  reader learns the watermark was put there by this signer).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

from . import __version__
from .errors import (FramemarkError, IdentityError, InputError, SigningError, UnsupportedFormatError,
                     UsageError)
from .fileio import atomic_output, check_input_file, check_output_path, write_bytes_atomic

__all__ = [
    "IPTC_PREFIX",
    "SOURCE_TYPES",
    "AI_SOURCE_TYPES",
    "SoftBinding",
    "SignResult",
    "source_type_uri",
    "build_manifest",
    "add_soft_bindings",
    "sign_file",
    "asset_mime_type",
    "mime_from_head",
    "active_manifest_label",
    "c2pa_context",
    "c2pa_error_line",
    "OUTPUT_MODE",
]

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"

#: signed copies and sidecars are ordinary media files: readable by a web server or a
#: colleague (the temp file atomic_output renames into place is created 0600)
OUTPUT_MODE = 0o644

#: c2pa-rs scales every image thumbnail to this long edge, *up*scaling small images: a
#: 4 KB 96x64 JPEG signed with defaults grew to 133 KB (a 4.5 KB WebP to 896 KB)
THUMBNAIL_LONG_EDGE = 1024

#: IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/) -> made by trained AI?
#: True: generative AI was involved; False: captured or made by people; None: says nothing either way.
SOURCE_TYPES: dict[str, bool | None] = {
    "trainedAlgorithmicMedia": True,
    "compositeWithTrainedAlgorithmicMedia": True,
    "algorithmicMedia": None,         # procedural, not trained: not "AI" in the usual sense
    "compositeSynthetic": None,
    "composite": None,
    "dataDrivenMedia": None,
    "algorithmicallyEnhanced": False,
    "digitalCapture": False,
    "computationalCapture": False,
    "compositeCapture": False,
    "screenCapture": False,
    "virtualRecording": False,
    "negativeFilm": False,
    "positiveFilm": False,
    "print": False,
    "humanEdits": False,
    "minorHumanEdits": False,
    "digitalCreation": False,
    "digitalArt": False,
}
AI_SOURCE_TYPES = frozenset(k for k, v in SOURCE_TYPES.items() if v)

#: our own names for the things we can sign, by extension, when sniffing says nothing
_EXT_MIME = {
    ".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".png": "image/png", ".webm": "video/webm", ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo", ".webp": "image/webp", ".gif": "image/gif", ".tif": "image/tiff",
    ".tiff": "image/tiff", ".avif": "image/avif", ".heic": "image/heic", ".wav": "audio/wav",
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".pdf": "application/pdf", ".c2pa": "application/c2pa",
}


@dataclass(frozen=True)
class SoftBinding:
    """One watermark identifier, as a C2PA soft-binding block."""

    alg: str                   # e.g. "org.framemark.video.1"
    value: str                 # base64 of the identifier bytes
    scope: dict | None = None  # e.g. {"timespan": {"start": 0, "end": 5000}}

    def assertion(self) -> dict:
        return {"label": "c2pa.soft-binding",
                "data": {"alg": self.alg, "blocks": [{"scope": dict(self.scope or {}), "value": self.value}]}}


@dataclass
class SignResult:
    path: Path                 # the signed asset, or the .c2pa sidecar
    manifest_bytes: bytes      # the manifest store (JUMBF) that was embedded or written
    manifest_id: str | None    # the active manifest's label (urn:c2pa:...)
    asset: Path | None = None  # the asset the sidecar describes (sidecar mode only)
    mime_type: str = ""
    sidecar: bool = False
    extra: dict = field(default_factory=dict)

    @cached_property
    def sha256(self) -> str:
        """sha256 of the output (computed on first use: hashing a big file is not free)."""
        h = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


def source_type_uri(name: str) -> str:
    """``trainedAlgorithmicMedia`` (or the full IPTC URI) -> the full IPTC URI."""
    short = name.rsplit("/", 1)[-1] if name.startswith("http") else name
    if short not in SOURCE_TYPES:
        raise UsageError(f"unknown digital source type {name!r} (e.g. trainedAlgorithmicMedia, digitalCapture, "
                         "compositeWithTrainedAlgorithmicMedia, algorithmicMedia)")
    return IPTC_PREFIX + short


def _agent() -> dict:
    return {"name": "framemark", "version": __version__}


def build_manifest(*, title: str, source_type: str | None = "trainedAlgorithmicMedia", parent: bool = False,
                   assertions: Iterable[dict] = (), soft_bindings: Sequence[SoftBinding] = (),
                   extra_actions: Iterable[dict] = (), mime_type: str | None = None) -> dict:
    """The manifest definition (c2pa Builder JSON) for one signing."""
    first: dict = {"action": "c2pa.opened" if parent else "c2pa.created", "softwareAgent": _agent()}
    if source_type:
        first["digitalSourceType"] = source_type_uri(source_type)
    elif not parent:
        raise UsageError("a new asset needs a digital source type (e.g. trainedAlgorithmicMedia)")
    if parent:
        first["parameters"] = {"ingredientIds": ["parent"]}
    actions = [first]
    for a in extra_actions:
        if not isinstance(a, dict) or not isinstance(a.get("action"), str):
            raise UsageError(f"an extra action must be an object with an \"action\" name, got {a!r:.80}")
        actions.append(dict(a))
    manifest = {
        "claim_generator_info": [_agent()],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }
    if mime_type:
        manifest["format"] = mime_type
    for a in assertions:
        manifest["assertions"].append(_checked_assertion(a))
    return add_soft_bindings(manifest, soft_bindings) if soft_bindings else manifest


def _checked_assertion(a) -> dict:
    if not isinstance(a, dict) or not isinstance(a.get("label"), str) or "data" not in a:
        raise UsageError(f"an assertion must be an object with \"label\" and \"data\", got {str(a)[:80]}")
    label = a["label"]
    if label.startswith(("c2pa.actions", "c2pa.hash", "c2pa.signature", "c2pa.ingredient")):
        raise UsageError(f"assertion label {label!r} is managed by framemark itself "
                         "(use extra actions, --parent or soft bindings instead)")
    return {"label": label, "data": copy.deepcopy(a["data"])}


def add_soft_bindings(manifest: dict, bindings: Sequence[SoftBinding]) -> dict:
    """A copy of ``manifest`` with one ``c2pa.soft-binding`` assertion per binding and
    one ``c2pa.watermarked`` action naming the watermark algorithms."""
    out = copy.deepcopy(manifest)
    bindings = list(bindings)
    if not bindings:
        return out
    for b in bindings:
        if not isinstance(b, SoftBinding) or not b.alg or not b.value:
            raise UsageError(f"a soft binding needs an alg and a value, got {b!r:.80}")
    assertions = out.setdefault("assertions", [])
    acts = next((a for a in assertions if str(a.get("label", "")).startswith("c2pa.actions")), None)
    if acts is None:
        acts = {"label": "c2pa.actions", "data": {"actions": []}}
        assertions.insert(0, acts)
    acts["data"].setdefault("actions", []).append({
        "action": "c2pa.watermarked",
        "softwareAgent": _agent(),
        "parameters": {"description": "invisible watermark: " + ", ".join(sorted({b.alg for b in bindings}))},
    })
    assertions.extend(b.assertion() for b in bindings)
    return out


def asset_mime_type(path: Path) -> str:
    """The asset's MIME type from its bytes (never trusting the name), else its extension."""
    with open(path, "rb") as fh:
        return mime_from_head(fh.read(64), path)


def mime_from_head(head: bytes, path: Path) -> str:
    """:func:`asset_mime_type` from the file's first 64 bytes (already read)."""
    from .media import sniff_media_type

    mime = sniff_media_type(head)
    if mime is None and head.startswith(b"GIF8"):
        mime = "image/gif"
    if mime is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        mime = "image/webp"
    return mime or _EXT_MIME.get(path.suffix.lower(), "application/octet-stream")


@functools.lru_cache(maxsize=1)
def _supported_for_embedding() -> frozenset[str]:
    import c2pa

    return frozenset(c2pa.Builder.get_supported_mime_types())


@functools.lru_cache(maxsize=16)
def c2pa_context(trust_pem: str | None = None, verify_after_sign: bool = True,
                 thumbnail_edge: int | None = None):
    """Cached: a Context holds only settings (no signer), so one is shared by all
    Builders and Readers with the same settings, as c2pa's own default context is.

    A c2pa Context that accepts the claim-signing EKUs real C2PA CAs issue, optionally
    with trust anchors (installed through from_dict: load_settings/Settings.set are
    silently ignored in c2pa-python 0.38.1) and a thumbnail long edge (images only)."""
    import c2pa

    from .keys import CLAIM_SIGNING_EKUS

    trust: dict = {"trust_config": "\n".join(CLAIM_SIGNING_EKUS) + "\n"}
    if trust_pem:
        trust["trust_anchors"] = trust_pem
    cfg: dict = {"trust": trust}
    if not verify_after_sign:
        cfg["verify"] = {"verify_after_sign": False}
    if thumbnail_edge:
        cfg["builder"] = {"thumbnail": {"long_edge": int(thumbnail_edge)}}
    return c2pa.Context.from_dict(cfg)


def _thumbnail_edge(path: Path, mime: str) -> int | None:
    """The thumbnail long edge for an image: its own long side, at most
    THUMBNAIL_LONG_EDGE (never upscaled). None (c2pa's default) for anything else,
    or when the header cannot be read (c2pa then decides, and reports, by itself)."""
    if not mime.startswith("image/"):
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:  # reads the header only
            long_side = max(im.size)
    except Exception:  # noqa: BLE001 - any unreadable header: leave it to c2pa
        return None
    return max(16, min(THUMBNAIL_LONG_EDGE, long_side))


def c2pa_error_line(exc: BaseException, limit: int = 200) -> str:
    """One printable line from a c2pa (or any) exception. c2pa quotes the bytes it
    choked on (e.g. 'expected box type "ftyp" ... found <4 random bytes>'), which must
    not reach a terminal or a log as raw control characters."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0][:limit]
    # U+FFFD: the lossy decoding c2pa already applied to non-UTF-8 bytes
    return "".join(ch if ch.isprintable() and ch != "\ufffd" else "?" for ch in line)


def sign_file(src, dst, identity, *, source_type: str | None = "trainedAlgorithmicMedia", title: str | None = None,
              parent=None, assertions: Iterable[dict] = (), soft_bindings: Sequence[SoftBinding] = (),
              extra_actions: Iterable[dict] = (), force: bool = False, sidecar: bool = False) -> SignResult:
    """Sign ``src`` into ``dst`` (embedded), or with ``sidecar`` write the manifest store
    to ``dst`` (a ``.c2pa`` file, default ``src`` with a ``.c2pa`` suffix) and leave the
    asset untouched."""
    import c2pa

    src = Path(src)
    check_input_file(src)
    if dst is None:
        if not sidecar:
            raise UsageError("an output path is needed (or use --sidecar)")
        dst = src.with_suffix(".c2pa")
    dst = Path(dst)
    if sidecar and dst.suffix.lower() != ".c2pa":
        raise UsageError(f"{dst}: with --sidecar the output is the manifest store, name it *.c2pa")
    if not sidecar and dst.suffix.lower() == ".c2pa":
        raise UsageError(f"{dst}: a .c2pa output is a sidecar manifest store (add --sidecar)")
    if dst.resolve() == src.resolve():
        raise UsageError(f"{dst}: the output must differ from the input")
    check_output_path(dst, force)
    mime = asset_mime_type(src)
    if not sidecar and mime not in _supported_for_embedding():
        raise UnsupportedFormatError(f"{src}: c2pa cannot embed a manifest into {mime}; "
                                     "use --sidecar to write a .c2pa manifest beside it")
    if not sidecar and _EXT_MIME.get(dst.suffix.lower(), mime) != mime and not _same_family(mime, dst):
        raise UsageError(f"{dst}: the signed copy keeps the input's format ({mime}); use a matching extension")
    parent_path = None
    if parent is not None:
        parent_path = Path(parent)
        check_input_file(parent_path)
    signer = identity.signer()  # checks validity and key match before anything is written

    manifest = build_manifest(title=title or (src.name if sidecar else dst.name), source_type=source_type,
                              parent=parent_path is not None, assertions=assertions, soft_bindings=soft_bindings,
                              extra_actions=extra_actions, mime_type=mime)
    try:
        builder = c2pa.Builder(manifest, c2pa_context(thumbnail_edge=_thumbnail_edge(src, mime)))
        if parent_path is not None:
            with open(parent_path, "rb") as ps:
                builder.add_ingredient({"title": parent_path.name, "relationship": "parentOf", "label": "parent"},
                                       asset_mime_type(parent_path), ps)
        if sidecar:
            builder.set_no_embed()
            # the asset itself is not rewritten: c2pa still streams a copy, which we discard
            with open(src, "rb") as fi, tempfile.TemporaryFile(dir=dst.parent) as sink:
                manifest_bytes = bytes(builder.sign(signer, mime, fi, sink))
            write_bytes_atomic(dst, manifest_bytes, force=force, mode=OUTPUT_MODE)
        else:
            with atomic_output(dst, force=force, mode=OUTPUT_MODE) as tmp:
                with open(src, "rb") as fi, open(tmp, "w+b") as fo:
                    manifest_bytes = bytes(builder.sign(signer, mime, fi, fo))
    except FramemarkError:
        raise
    except c2pa.C2paError as exc:
        raise _translate(exc, src, mime) from None
    finally:
        signer.close()
    return SignResult(path=dst, manifest_bytes=manifest_bytes, manifest_id=active_manifest_label(manifest_bytes),
                      asset=src if sidecar else None, mime_type=mime, sidecar=sidecar)


def _same_family(mime: str, dst: Path) -> bool:
    # mp4 / m4v / mov are the same ISO BMFF container for c2pa; jpg/jpeg likewise
    bmff = {"video/mp4", "video/x-m4v", "video/quicktime", "application/mp4"}
    return mime in bmff and _EXT_MIME.get(dst.suffix.lower()) in bmff


def _translate(exc, src: Path, mime: str) -> FramemarkError:
    import c2pa

    text = c2pa_error_line(exc)
    if isinstance(exc, c2pa.C2paError.NotSupported):
        return UnsupportedFormatError(f"{src}: c2pa cannot embed into {mime} ({text}); use --sidecar")
    if isinstance(exc, c2pa.C2paError.Signature) and "certificate" in text:
        return IdentityError(f"the signing certificate was rejected by c2pa: {text}")
    if "could not be parsed" in text or "invalid" in text.lower() and "structure" in text.lower() \
            or isinstance(exc, c2pa.C2paError.Io):
        return InputError(f"{src}: not a readable {mime} file ({text})")
    return SigningError(f"signing {src} failed: {text}")


def active_manifest_label(manifest_bytes: bytes) -> str | None:
    """The label (urn:c2pa:...) of the active manifest in a JUMBF manifest store: the
    last manifest box in the store (C2PA 2.x, 11.1.4.1). Read straight from the
    box structure so that no second c2pa read of the asset is needed."""
    buf = memoryview(manifest_bytes)
    top = _jumbf_boxes(buf, 0, len(buf))
    if not top or top[0][0] != b"jumb":
        return None
    _, start, end = top[0]
    children = _jumbf_boxes(buf, start, end)
    label = None
    for kind, s, e in children[1:]:  # children[0] is the store's own jumd
        if kind == b"jumb":
            inner = _jumbf_boxes(buf, s, e)
            if inner and inner[0][0] == b"jumd":
                label = _jumd_label(bytes(buf[inner[0][1]:inner[0][2]])) or label
    return label


def _jumbf_boxes(buf: memoryview, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out, pos = [], start
    while pos + 8 <= end:
        size = int.from_bytes(buf[pos:pos + 4], "big")
        kind = bytes(buf[pos + 4:pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = int.from_bytes(buf[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        out.append((kind, pos + header, pos + size))
        pos += size
    return out


def _jumd_label(payload: bytes) -> str | None:
    # jumd: 16-byte type UUID, 1 toggle byte, then (if toggle bit 2) a NUL-terminated label
    if len(payload) < 17 or not payload[16] & 0x02:
        return None
    raw = payload[17:].split(b"\0", 1)[0]
    return raw.decode("utf-8", "replace") or None

