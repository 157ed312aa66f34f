"""``framemark robustness CLIP... -o DIR``: embed, attack, detect, report.

Nothing heavy at module level: the handler imports the runner when it runs.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "robustness", help="measure what the watermark survives (embed, attack, detect, report)",
        description="Watermark each clip with a fresh identifier, sign it (C2PA), run the attack suite, detect, "
                    "and write results.md, results.json and results.png into DIR.")
    p.add_argument("clips", nargs="+", metavar="CLIP", help="video files to test")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results (created)")
    p.add_argument("--attacks", nargs="+", metavar="NAME|GROUP",
                   help="attack names or groups (codec, geometry, photometric, temporal, screen, camcord, combined); "
                        "default: all. 'a+b' chains attacks")
    p.add_argument("--keys", metavar="DIR", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    p.add_argument("--max-frames", type=int, metavar="N", help="use at most N frames of each clip")
    p.add_argument("--no-sign", action="store_true", help="skip C2PA signing (and the manifest column)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="overwrite existing results")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from provenance.errors import UsageError

    from .robustness import run_robustness

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError("--max-frames must be at least 1")
    doc = run_robustness(args.clips, args.output, attacks=args.attacks, keys_dir=args.keys, force=args.force,
                         max_frames=args.max_frames, sign=not args.no_sign, progress=not args.quiet)
    n = sum(r["n"] for r in doc["summary"])
    d = sum(r["detected"] for r in doc["summary"])
    print(f"{d}/{n} attacked clips detected over {len(doc['summary'])} attacks; results in {args.output}/results.md")
    return 0
