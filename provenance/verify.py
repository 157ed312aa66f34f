"""Verifying C2PA Content Credentials on any media, into one :class:`VerifyReport`.

States (``VerifyReport.state``):
- ``trusted``: intact, and the signer chains to a configured trust anchor;
- ``valid``: intact, signer unknown (c2pa reports ``signingCredential.untrusted``);
- ``invalid``: tampered, broken or expired;
- ``absent``: no manifest (a normal outcome, not an error).
Input c2pa cannot parse at all raises :class:`InputError`.

Trust anchors: ``trust`` files, ``$FRAMEMARK_TRUST`` (``os.pathsep``-separated PEM
files, e.g. the official C2PA trust list), and by default the local identity's root
CA. They go in through ``Context.from_dict``: in c2pa-python 0.38.1 ``load_settings``
and ``Settings.set`` are silently ignored by Reader.

c2pa leaves the top-level state ``Trusted`` when an *ingredient* was tampered with or
is untrusted (it records what it saw when the ingredient was added); each ingredient
therefore gets its own state here, and ``ingredient_failures`` lists what went wrong.
"""

from __future__ import annotations


import functools
import json
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .errors import InputError
from .fileio import check_input_file

__all__ = ["VerifyReport", "verify_file", "load_trust_anchors", "STATES", "UNTRUSTED_CODES"]

STATES = ("trusted", "valid", "invalid", "absent")
#: codes that say "the signer is not on a trust list", not "the content was changed"
UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})
_MAX_INGREDIENT_DEPTH = 16


@dataclass
class VerifyReport:
    path: str
    state: str
    failures: list[str] = field(default_factory=list)
    signer: dict | None = None
    signed_at: str | None = None
    digital_source_type: str | None = None
    ai_generated: bool | None = None
    actions: list[dict] = field(default_factory=list)
    ingredients: list[dict] = field(default_factory=list)
    ingredient_failures: list[dict] = field(default_factory=list)
    soft_bindings: list[dict] = field(default_factory=list)
    manifest: dict | None = None
    active_manifest: str | None = None
    title: str | None = None
    claim_generator: list[dict] = field(default_factory=list)
    manifest_source: str | None = None     # "embedded", "sidecar", "fragments"
    sidecar: str | None = None
    remote_manifest_url: str | None = None
    trust_anchors: list[str] = field(default_factory=list)  # where anchors came from
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("trusted", "valid")

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        return {
            "path": self.path, "state": self.state, "failures": list(self.failures), "signer": self.signer,
            "signed_at": self.signed_at, "digital_source_type": self.digital_source_type,
            "ai_generated": self.ai_generated, "actions": self.actions, "ingredients": self.ingredients,
            "ingredient_failures": self.ingredient_failures, "soft_bindings": self.soft_bindings,
            "active_manifest": self.active_manifest, "title": self.title, "claim_generator": self.claim_generator,
            "manifest_source": self.manifest_source, "sidecar": self.sidecar,
            "remote_manifest_url": self.remote_manifest_url, "trust_anchors": self.trust_anchors,
            "notes": self.notes, "manifest": self.manifest,
        }


# ----------------------------------------------------------------------------- trust


def load_trust_anchors(trust: Iterable = (), *, keys_dir=None, local: bool = True) -> tuple[str, list[str]]:
    """(PEM bundle, sources) from ``trust`` files, ``$FRAMEMARK_TRUST`` and the local root.

    Each file is parsed here so that a bad one is named in a clear error (c2pa would
    fail later with "COSE error parsing certificate"); duplicates are dropped.
    """
    files: list[tuple[Path, bool]] = [(Path(p), True) for p in trust]
    env = os.environ.get("FRAMEMARK_TRUST", "")
    files += [(Path(p), True) for p in env.split(os.pathsep) if p.strip()]
    if local:
        from .keys import CA_FILE, resolve_keys_dir

        files.append((resolve_keys_dir(keys_dir) / CA_FILE, False))  # optional: may not exist
    seen: set[bytes] = set()
    pems: list[bytes] = []
    sources: list[str] = []
    for path, required in files:
        if not path.is_file():
            if required:
                raise InputError(f"trust anchor file {path}: no such file")
            continue
        st = path.stat()
        added = 0
        for fp, pem in _parse_anchor_file(str(path), st.st_mtime_ns, st.st_size):
            if fp not in seen:
                seen.add(fp)
                pems.append(pem)
                added += 1
        sources.append(f"{path} ({added} cert{'s' if added != 1 else ''})")
    return b"".join(pems).decode(), sources


@functools.lru_cache(maxsize=16)
def _reader_context(trust_pem: str):
    """One shared Context per anchor set (it holds settings only)."""
    import c2pa

    from .keys import CLAIM_SIGNING_EKUS

    trust: dict = {"trust_config": "\n".join(CLAIM_SIGNING_EKUS) + "\n"}
    if trust_pem:
        trust["trust_anchors"] = trust_pem
    # never reach out to the network from a verifier: a remote manifest is reported, not fetched
    return c2pa.Context.from_dict({"trust": trust, "verify": {"remote_manifest_fetch": False}})


@functools.lru_cache(maxsize=64)
def _parse_anchor_file(path: str, mtime_ns: int, size: int) -> tuple[tuple[bytes, bytes], ...]:
    """(sha256, PEM) per certificate in a trust file; cached on (path, mtime, size)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (ValueError, OSError):
        raise InputError(f"trust anchor file {path}: not a PEM certificate bundle") from None
    return tuple((c.fingerprint(hashes.SHA256()), c.public_bytes(serialization.Encoding.PEM)) for c in certs)


# ----------------------------------------------------------------------------- reading


def verify_file(path, *, trust: Sequence = (), sidecar=None, fragments: Sequence = (), keys_dir=None,
                local_trust: bool = True) -> VerifyReport:
    """Verify the C2PA manifest of ``path`` (embedded, in ``sidecar``, or in a ``.c2pa``
    file found beside it; ``fragments`` for a fragmented MP4's init segment)."""
    import c2pa

    from .sign import c2pa_error_line, mime_from_head

    path = Path(path)
    manifest_json = state = None
    with ExitStack() as stack:
        # one open serves the checks, the type sniffing and c2pa (on a small file the
        # separate stat/open calls were a measurable share of framemark's overhead)
        stream = stack.enter_context(_open_input(path))
        sidecar_path = Path(sidecar) if sidecar is not None else None
        if sidecar_path is not None:
            check_input_file(sidecar_path)
        frag_paths = [Path(f) for f in fragments]
        for f in frag_paths:
            check_input_file(f)
        trust_pem, sources = load_trust_anchors(trust, keys_dir=keys_dir, local=local_trust)
        ctx = _reader_context(trust_pem)
        mime = mime_from_head(stream.read(64), path)
        report = VerifyReport(path=str(path), state="absent", trust_anchors=sources)
        try:
            if sidecar_path is not None:
                manifest_json, state = _read(c2pa, stack, stream, mime, ctx, sidecar_path.read_bytes())
                report.manifest_source, report.sidecar = "sidecar", str(sidecar_path)
            else:
                try:
                    manifest_json, state = _read(c2pa, stack, stream, mime, ctx, None, frag_paths)
                    report.manifest_source = "fragments" if frag_paths else "embedded"
                except (c2pa.C2paError.ManifestNotFound, c2pa.C2paError.NotSupported) as exc:
                    found = _sidecar_beside(path)
                    if found is None:
                        if isinstance(exc, c2pa.C2paError.NotSupported):
                            # e.g. WebM: no embedded manifest can exist there, only a sidecar
                            report.notes.append(f"c2pa cannot embed manifests in {mime}; "
                                                "none found beside it (a .c2pa sidecar)")
                        return report  # absent
                    manifest_json, state = _read(c2pa, stack, stream, mime, ctx, found.read_bytes())
                    report.manifest_source, report.sidecar = "sidecar", str(found)
        except c2pa.C2paError.ManifestNotFound:
            return report
        except c2pa.C2paError as exc:
            text = c2pa_error_line(exc)
            if "Remote:" in text:
                # a manifest published at a URL: we do not fetch it (offline, and no hangs)
                report.remote_manifest_url = text.split("url", 1)[-1].strip(" :") or None
                report.notes.append("the manifest is remote and was not fetched: " + text)
                return report
            if isinstance(exc, c2pa.C2paError.NotSupported):
                raise InputError(f"{path}: c2pa cannot read {mime} files ({text}); "
                                 "a manifest for it would be a .c2pa sidecar (--sidecar)") from None
            raise InputError(f"{path}: cannot read C2PA data ({text})") from None
    _fill(report, manifest_json, state)
    if mime == "application/c2pa" and sidecar_path is None:
        # c2pa reads the store but has no asset to hash: its "dataHash.mismatch" means
        # "asset missing", not "asset changed"
        report.notes.append(f"a bare manifest store: check its asset with `framemark verify ASSET --sidecar {path}`")
    return report


def _open_input(path: Path):
    """The input opened for reading, or InputError saying why it cannot be. Stat
    first: opening a FIFO (or a device) would block, and a verifier must not hang."""
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    if st.st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        return open(path, "rb")
    except PermissionError:
        raise InputError(f"{path}: not readable") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None


def _sidecar_beside(path: Path) -> Path | None:
    for cand in (path.with_suffix(".c2pa"), Path(str(path) + ".c2pa")):
        if cand != path and cand.is_file() and cand.stat().st_size > 0:
            return cand
    return None


def _read(c2pa, stack: ExitStack, stream, mime: str, ctx, manifest_data: bytes | None,
          fragments: Sequence[Path] = ()) -> tuple[dict, str | None]:
    fmt = None if mime == "application/octet-stream" else mime
    stream.seek(0)  # the type sniffing, or a first attempt, has read from it
    if manifest_data is not None and fmt is None:
        fmt = "application/octet-stream"
    reader = stack.enter_context(c2pa.Reader(fmt, stream, manifest_data, ctx))
    for frag in fragments:
        frag_stream = stack.enter_context(open(frag, "rb"))
        stream.seek(0)
        reader.with_fragment(fmt, stream, frag_stream)
    return json.loads(reader.json()), reader.get_validation_state()


# ----------------------------------------------------------------------------- interpreting


def _fill(report: VerifyReport, store: dict, state: str | None) -> None:
    from .sign import SOURCE_TYPES

    report.manifest = store
    manifests = store.get("manifests") or {}
    label = store.get("active_manifest")
    active = manifests.get(label) or {}
    report.active_manifest = label
    results = store.get("validation_results") or {}
    failures = _codes((results.get("activeManifest") or {}).get("failure"))
    if not results:  # older stores: the legacy flat list
        failures = _codes(store.get("validation_status"))
    report.failures = failures
    report.state = {"Trusted": "trusted", "Valid": "valid", "Invalid": "invalid"}.get(state or "", "invalid")
    if report.state != "invalid" and set(failures) - UNTRUSTED_CODES:
        report.state = "invalid"  # never call something with a real failure intact
    sig = active.get("signature_info") or {}
    report.signer = {"common_name": sig.get("common_name"), "issuer": sig.get("issuer"), "alg": sig.get("alg"),
                     "cert_serial_number": sig.get("cert_serial_number")} if sig else None
    report.signed_at = sig.get("time")
    if not report.signed_at:
        report.notes.append("no trusted timestamp: the signing time is not attested")
    report.title = active.get("title")
    report.claim_generator = list(active.get("claim_generator_info") or [])
    report.actions = _actions(active)
    report.soft_bindings = _soft_bindings(active)

    deltas = {}
    for d in results.get("ingredientDeltas") or []:
        deltas[d.get("ingredientAssertionURI", "")] = d.get("validationDeltas") or {}
    report.ingredients = [_ingredient(ing, label, i, manifests, deltas, 0)
                          for i, ing in enumerate(active.get("ingredients") or [])]
    report.ingredient_failures = [
        {"title": ing.get("title"), "path": ing["path"], "failures": ing["failures"]}
        for ing in _walk(report.ingredients) if ing["state"] == "invalid"
    ]

    dst = _source_type(active, manifests, 0)
    report.digital_source_type = dst
    short = dst.rsplit("/", 1)[-1] if dst else None
    ai = SOURCE_TYPES.get(short) if short else None
    # any AI step anywhere in this manifest's actions makes the asset (partly) AI-made
    if any((a.get("digitalSourceType") or "").rsplit("/", 1)[-1] in ("trainedAlgorithmicMedia",
                                                                   "compositeWithTrainedAlgorithmicMedia")
           for a in report.actions):
        ai = True
    report.ai_generated = ai


def _codes(entries) -> list[str]:
    return [e.get("code") for e in entries or [] if isinstance(e, dict) and e.get("code")]


def _actions(manifest: dict) -> list[dict]:
    out = []
    for a in manifest.get("assertions") or []:
        if str(a.get("label", "")).startswith("c2pa.actions"):
            out.extend(x for x in (a.get("data") or {}).get("actions") or [] if isinstance(x, dict))
    return out


def _soft_bindings(manifest: dict) -> list[dict]:
    out = []
    for a in manifest.get("assertions") or []:
        if str(a.get("label", "")).startswith("c2pa.soft-binding"):
            data = a.get("data") or {}
            blocks = data.get("blocks") or []
            out.append({"alg": data.get("alg"), "value": (blocks[0] or {}).get("value") if blocks else None,
                        "blocks": blocks, "label": a.get("label")})
    return out


def _source_type(manifest: dict, manifests: dict, depth: int) -> str | None:
    for a in _actions(manifest):
        if a.get("action") in ("c2pa.created", "c2pa.opened") and a.get("digitalSourceType"):
            return a["digitalSourceType"]
    for a in _actions(manifest):
        if a.get("digitalSourceType"):
            return a["digitalSourceType"]
    if depth >= _MAX_INGREDIENT_DEPTH:
        return None
    # an edit that did not restate it inherits the parent's source type
    for ing in manifest.get("ingredients") or []:
        if ing.get("relationship") == "parentOf" and ing.get("active_manifest") in manifests:
            return _source_type(manifests[ing["active_manifest"]], manifests, depth + 1)
    return None


def _ingredient(ing: dict, owner: str | None, index: int, manifests: dict, deltas: dict, depth: int) -> dict:
    label = ing.get("label") or ("c2pa.ingredient" if index == 0 else f"c2pa.ingredient__{index}")
    recorded = ing.get("validation_results") or {}
    rec_active = recorded.get("activeManifest") or {}
    failures = _codes(rec_active.get("failure")) + _codes(ing.get("validation_status"))
    successes = _codes(rec_active.get("success"))
    # the delta c2pa computed now, for this ingredient's assertion in the owner manifest
    for uri, d in deltas.items():
        if owner and owner in uri and uri.rsplit("/", 1)[-1] == label:
            failures += _codes((d.get("activeManifest") or {}).get("failure")) if "activeManifest" in d \
                else _codes(d.get("failure"))
            successes += _codes((d.get("activeManifest") or {}).get("success")) if "activeManifest" in d \
                else _codes(d.get("success"))
    if "signingCredential.trusted" in successes:
        # trusted now (the delta) overrides "untrusted" recorded by a signer that lacked our anchors
        failures = [c for c in failures if c not in UNTRUSTED_CODES]
    failures = list(dict.fromkeys(failures))
    mid = ing.get("active_manifest")
    if set(failures) - UNTRUSTED_CODES:
        state = "invalid"
    elif not mid:
        state = "absent"
    elif "signingCredential.trusted" in successes and "signingCredential.untrusted" not in failures:
        state = "trusted"
    else:
        state = "valid"
    out = {"title": ing.get("title"), "format": ing.get("format"), "relationship": ing.get("relationship"),
           "label": label, "active_manifest": mid, "state": state, "failures": failures,
           "path": [ing.get("title") or label], "ingredients": []}
    child = manifests.get(mid) if mid else None
    if child is not None:
        sig = child.get("signature_info") or {}
        out["signer"] = {"common_name": sig.get("common_name"), "issuer": sig.get("issuer")}
        dst = _source_type(child, manifests, depth + 1)
        out["digital_source_type"] = dst
        if depth < _MAX_INGREDIENT_DEPTH:
            out["ingredients"] = [_ingredient(sub, mid, j, manifests, {}, depth + 1)
                                  for j, sub in enumerate(child.get("ingredients") or [])]
            for sub in out["ingredients"]:
                sub["path"] = out["path"] + sub["path"]
    return out


def _walk(ingredients: list[dict]):
    for ing in ingredients:
        yield ing
        yield from _walk(ing.get("ingredients") or [])



