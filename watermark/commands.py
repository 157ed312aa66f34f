"""``framemark watermark embed|detect``.

Nothing heavy at module level: the handlers import the algorithm, PyAV and the
provenance modules when they run.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]

#: encoder per output container; the mark is re-encoded at high quality
_ENCODERS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}
EMBED_CRF = {"libx264": 17, "libvpx-vp9": 24}


def register(subparsers) -> None:
    p = subparsers.add_parser("watermark", help="embed or detect the invisible watermarks",
                              description="Embed framemark's invisible pixel watermark (org.framemark.video.1); "
                                          "detect it and the generator's latent watermark (org.framemark.latent.1).")
    sub = p.add_subparsers(dest="watermark_command", metavar="ACTION")
    sub.required = True

    e = sub.add_parser("embed", help="watermark a video (re-signed when it carries Content Credentials)")
    e.add_argument("input", help="video to watermark")
    e.add_argument("-o", "--output", required=True, help="output video (.mp4, .mov, .mkv, .webm)")
    e.add_argument("--payload", metavar="HEX", help="48-bit identifier as 12 hex digits (default: fresh random)")
    e.add_argument("--keys", metavar="DIR", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    e.add_argument("--force", action="store_true", help="overwrite the output")
    e.add_argument("--no-sign", action="store_true", help="do not re-sign a C2PA-signed input")
    e.add_argument("--json", action="store_true", help="print a JSON summary")
    e.set_defaults(func=_embed)

    d = sub.add_parser("detect", help="look for the watermarks; exit 0 found, 1 not found, 2 unreadable",
                       description="Look for the pixel watermark and, on a clip the generator can have made "
                                   "(its size and shape), the generator's latent watermark. The JSON's top level "
                                   "is the pixel mark; `latent` is the latent mark's entry. Exit 0 when either "
                                   "mark is detected (p <= 1e-6), 1 when neither is, 2 for an unreadable input.")
    d.add_argument("input", help="video to examine")
    d.add_argument("--json", action="store_true", help="print the full result as JSON")
    d.add_argument("--keys", metavar="DIR", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    d.add_argument("--expect", metavar="HEX", help="the identifier you expect: adds bit_accuracy")
    from detect.commands import add_latent_arguments

    add_latent_arguments(d)
    d.set_defaults(func=_detect)


def _parse_identifier(text: str | None, what: str) -> bytes | None:
    from provenance.errors import UsageError

    if text is None:
        return None
    t = text.strip().lower().removeprefix("0x")
    try:
        raw = bytes.fromhex(t)
    except ValueError:
        raise UsageError(f"{what} must be hex digits, got {text!r}") from None
    if len(raw) != 6:
        raise UsageError(f"{what} must be a 48-bit identifier: 12 hex digits, got {len(t)}")
    return raw


def _embed(args: argparse.Namespace) -> int:
    import base64
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    import numpy as np

    from provenance.errors import UnsupportedFormatError
    from provenance.fileio import atomic_output, check_output_path
    from provenance.keys import load_watermark_key, resolve_keys_dir
    from provenance.media import read_clip, write_clip
    from provenance.store import ManifestStore
    from watermark.registry import PIXEL_ALG_ID, get_algorithm

    out = check_output_path(args.output, args.force)
    encoder = _ENCODERS.get(out.suffix.lower())
    if encoder is None:
        raise UnsupportedFormatError(f"{out}: write the watermarked video as {', '.join(sorted(_ENCODERS))}")
    identifier = _parse_identifier(args.payload, "--payload") or os.urandom(6)
    keys_dir = resolve_keys_dir(args.keys)
    alg = get_algorithm(PIXEL_ALG_ID, key=load_watermark_key(keys_dir))

    # is there a manifest to carry forward? (decided before the expensive work)
    report = identity = None
    if not args.no_sign:
        from provenance.verify import verify_file

        report = verify_file(args.input).to_dict()
        if report.get("state") != "absent":
            from provenance.keys import load_identity

            identity = load_identity(keys_dir)

    clip = read_clip(args.input)
    marked = alg.embed(clip, identifier)
    mse = float(np.mean((marked.frames.astype(np.float32) - clip.frames) ** 2))
    psnr = 10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")
    value = base64.b64encode(identifier).decode()
    encode = dict(codec=encoder, crf=EMBED_CRF[encoder], audio_from=args.input)

    signed = None
    if identity is not None:
        from provenance.sign import SoftBinding, sign_file

        duration_ms = int(round(clip.duration * 1000))
        binding = SoftBinding(alg=PIXEL_ALG_ID, value=value, scope={"timespan": {"start": 0, "end": duration_ms}})
        with tempfile.TemporaryDirectory(prefix="framemark-wm-") as tmp:
            raw = Path(tmp) / f"unsigned{out.suffix}"
            write_clip(raw, marked, **encode)
            kwargs = {}
            if report.get("digital_source_type"):
                kwargs["source_type"] = report["digital_source_type"].rsplit("/", 1)[-1]
            signed = sign_file(raw, out, identity, parent=args.input, soft_bindings=[binding],
                               title=out.name, force=args.force, **kwargs)
    else:
        with atomic_output(out, force=args.force) as tmp:
            write_clip(tmp, marked, **encode)

    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    ManifestStore(keys_dir).add(alg=PIXEL_ALG_ID, value=value,
                                manifest_bytes=signed.manifest_bytes if signed else None,
                                manifest_id=signed.manifest_id if signed else None, asset_sha256=sha)
    summary = {
        "output": str(out), "alg": PIXEL_ALG_ID, "identifier": identifier.hex(), "soft_binding_value": value,
        "frames": clip.num_frames, "fps": clip.fps, "psnr_db": round(psnr, 2),
        "signed": signed is not None, "manifest_id": signed.manifest_id if signed else None,
        "input_c2pa": report.get("state") if report else None,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"watermarked {clip.num_frames} frames -> {out}")
        print(f"  identifier  {identifier.hex()}  (PSNR {summary['psnr_db']} dB)")
        if signed is not None:
            print(f"  re-signed   {signed.manifest_id} (parent: {args.input})")
        elif report and report.get("state") != "absent":
            print("  not re-signed (--no-sign): the input's Content Credentials are not carried over")
    return 0


def _detect(args: argparse.Namespace) -> int:
    import base64

    from provenance.keys import load_watermark_key, resolve_keys_dir
    from provenance.media import read_clip
    from provenance.store import ManifestStore
    from watermark.base import bit_accuracy
    from watermark.registry import PIXEL_ALG_ID, get_algorithm

    from detect.commands import latent_options
    from detect.fuse import latent_mark

    expect = _parse_identifier(args.expect, "--expect")
    latent = latent_options(args)
    keys_dir = resolve_keys_dir(args.keys)
    alg = get_algorithm(PIXEL_ALG_ID, key=load_watermark_key(keys_dir))
    clip = read_clip(args.input)
    result = alg.extract(clip)
    out = {"input": str(args.input), **result.to_dict()}
    if expect is not None:
        out["expected"] = expect.hex()
        out["bit_accuracy"] = bit_accuracy(result, expect)
    if result.payload is not None:
        rec = ManifestStore(keys_dir).latest(PIXEL_ALG_ID, base64.b64encode(result.payload).decode())
        out["store"] = rec.to_dict() if rec else None
    out["latent"] = latent_mark(clip, keys_dir, **latent)
    found = result.detected or bool(out["latent"].get("detected"))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        verdict = "pixel watermark FOUND" if result.detected else "no pixel watermark found"
        print(f"{verdict}: p = {result.p_value:.3g} over {result.frames_used} frames")
        if result.payload is not None:
            print(f"  identifier  {result.payload.hex()}")
            if out.get("store"):
                print(f"  manifest    {out['store']['manifest_id'] or '(unsigned)'} in the local store")
        elif result.detected:
            print("  identifier  unreadable (error correction failed)")
        if expect is not None:
            print(f"  bit accuracy vs {expect.hex()}: {out['bit_accuracy']:.3f}")
        print(_latent_line(out["latent"]))
    return 0 if found else 1


def _latent_line(entry: dict) -> str:
    """The latent mark's result in one line (looked for, skipped and why, or failed)."""
    if entry.get("skipped"):
        return f"latent watermark not looked for: {entry['reason']}"
    if "error" in entry:
        return f"latent watermark could not be checked: {entry['error']}"
    verdict = "latent watermark FOUND" if entry["detected"] else "no latent watermark found"
    line = f"{verdict}: p = {entry['p_value']:.3g} ({entry.get('generator', 'generator')})"
    if entry.get("payload"):
        line += f", identifier {entry['payload']}"
    return line
