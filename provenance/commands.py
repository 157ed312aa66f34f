"""``framemark keys init|show``, ``sign`` and ``verify``.

Nothing heavy is imported at module level (c2pa, cryptography and PyAV load inside
the handlers), so ``framemark verify`` starts fast. Errors are FramemarkErrors; the
CLI prints them as one line and exits 2. ``verify`` exits 0 for trusted/valid and
1 for invalid/absent.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]

_KEYS_HELP = "keys folder (default: $FRAMEMARK_HOME or ~/.framemark)"


def register(subparsers) -> None:
    keys = subparsers.add_parser("keys", help="create or show the signing identity and watermark key")
    ksub = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND")
    ksub.required = True
    init = ksub.add_parser("init", help="create a signing identity (root CA + signer) and a watermark key")
    init.add_argument("--keys", metavar="DIR", help=_KEYS_HELP)
    init.add_argument("--alg", default="es256", choices=("es256", "es384", "ps256", "ed25519"),
                      help="signature algorithm (default es256: ECDSA P-256)")
    init.add_argument("--cn", dest="common_name", metavar="NAME", help="signer common name")
    init.add_argument("--cert", metavar="PEM", help="import this certificate chain (leaf first) instead")
    init.add_argument("--key", metavar="PEM", help="the private key of --cert (unencrypted PEM)")
    init.add_argument("--force", action="store_true", help="replace an existing identity (keeps the watermark key)")
    init.add_argument("--rotate-watermark-key", action="store_true",
                      help="also replace the watermark key (orphans every watermark made with the old one)")
    init.add_argument("--json", action="store_true", help="print the identity as JSON")
    init.set_defaults(func=_keys_init)
    show = ksub.add_parser("show", help="print subject, issuer, validity and fingerprints (never a secret)")
    show.add_argument("--keys", metavar="DIR", help=_KEYS_HELP)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_keys_show)

    sign = subparsers.add_parser("sign", help="embed C2PA Content Credentials (or write a .c2pa sidecar)")
    sign.add_argument("input")
    sign.add_argument("-o", "--output", help="signed copy (with --sidecar: the .c2pa file, default INPUT.c2pa)")
    sign.add_argument("--keys", metavar="DIR", help=_KEYS_HELP)
    sign.add_argument("--source", metavar="TYPE", default=None,
                      help="IPTC digital source type: trainedAlgorithmicMedia (default for new assets), "
                           "digitalCapture, compositeWithTrainedAlgorithmicMedia, algorithmicMedia, ...")
    sign.add_argument("--title", help="manifest title (default: the output's file name)")
    sign.add_argument("--parent", metavar="FILE", help="the asset this one was edited from (c2pa.opened + parentOf)")
    sign.add_argument("--assertions", metavar="FILE.json", help="extra assertions: a JSON list of {label, data}")
    sign.add_argument("--sidecar", action="store_true", help="write a .c2pa manifest store; leave the asset as is")
    sign.add_argument("--force", action="store_true", help="overwrite the output")
    sign.add_argument("--json", action="store_true")
    sign.set_defaults(func=_sign)

    ver = subparsers.add_parser("verify", help="check a file's C2PA Content Credentials")
    ver.add_argument("input")
    ver.add_argument("--json", action="store_true", help="print the full report as JSON")
    ver.add_argument("--trust", metavar="PEM", action="append", default=[],
                     help="trust anchors (PEM file or bundle, e.g. the C2PA trust list); repeatable; "
                          "also $FRAMEMARK_TRUST and the local root CA")
    ver.add_argument("--no-local-trust", action="store_true", help="do not trust the local identity's root CA")
    ver.add_argument("--sidecar", metavar="FILE", help="a .c2pa manifest store for INPUT "
                                                       "(INPUT.c2pa beside it is found automatically)")
    ver.add_argument("--fragment", metavar="FILE", action="append", default=[],
                     help="fragment(s) of a fragmented MP4 whose init segment is INPUT")
    ver.add_argument("--keys", metavar="DIR", help=_KEYS_HELP)
    ver.set_defaults(func=_verify)



def _keys_init(args: argparse.Namespace) -> int:
    from .keys import describe_identity, init_identity, resolve_keys_dir

    kd = resolve_keys_dir(args.keys)
    init_identity(kd, alg=args.alg, force=args.force, cert=args.cert, key=args.key,
                  common_name=args.common_name, rotate_watermark_key=args.rotate_watermark_key)
    info = describe_identity(kd)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"created a signing identity in {kd}")
        _print_identity(info)
    return 0


def _keys_show(args: argparse.Namespace) -> int:
    from .keys import describe_identity

    info = describe_identity(args.keys)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_identity(info)
    return 0


def _print_identity(info: dict) -> None:
    s = info["signer"]
    print(f"keys folder   {info['keys_dir']}")
    print(f"algorithm     {info['alg'] or '?'}{'  (imported)' if info.get('imported') else ''}")
    print(f"subject       {s['subject']}")
    print(f"issuer        {s['issuer']}")
    state = "valid now" if s["valid_now"] else "NOT VALID NOW"
    print(f"validity      {s['not_before']} .. {s['not_after']}  ({state})")
    print(f"serial        {s['serial']}")
    print(f"sha256        {s['sha256']}")
    for c in info["chain"]:
        print(f"chain         {c['subject']}  sha256 {c['sha256']}")
    wm = info["watermark_key"]
    print(f"watermark key {'id ' + wm['id'] if wm['present'] else 'missing'}")


def _sign(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import InputError, UsageError
    from .keys import load_identity
    from .sign import sign_file

    if not args.output and not args.sidecar:
        raise UsageError("sign needs -o OUTPUT (or --sidecar to write INPUT.c2pa)")
    assertions = []
    if args.assertions:
        try:
            data = json.loads(Path(args.assertions).read_text())
        except FileNotFoundError:
            raise InputError(f"{args.assertions}: no such file") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{args.assertions}: not valid JSON ({str(exc)[:120]})") from None
        assertions = data if isinstance(data, list) else [data]
    source = args.source
    if source is None and not args.parent:
        source = "trainedAlgorithmicMedia"  # framemark makes AI video; say so unless told otherwise
    identity = load_identity(args.keys)
    res = sign_file(args.input, args.output, identity, source_type=source, title=args.title, parent=args.parent,
                    assertions=assertions, force=args.force, sidecar=args.sidecar)
    out = {"output": str(res.path), "manifest_id": res.manifest_id, "sidecar": res.sidecar,
           "manifest_bytes": len(res.manifest_bytes), "mime_type": res.mime_type}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        what = "manifest store" if res.sidecar else "signed copy"
        print(f"{what} -> {res.path}\n  manifest {res.manifest_id} ({len(res.manifest_bytes)} bytes)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_file

    report = verify_file(args.input, trust=args.trust, sidecar=args.sidecar, fragments=args.fragment,
                         keys_dir=args.keys, local_trust=not args.no_local_trust)
    data = report.to_dict()
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from .report import render_card

        print(render_card(data))
    return report.exit_code
