"""The command line the generator diagnostics share (``bench.caption_swap``,
``bench.first_frame``): a model folder, a number of world clips, a seed, an optional JSON
report that is checked before minutes of work and written atomically."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable


def run(prog: str, doc: str, default_clips: int, measure: Callable[[argparse.Namespace], dict],
        table: Callable[[dict], str], argv: list[str] | None = None,
        extra: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """Parse, measure, print ``table(report)``; exit 2 with one line for a user's error."""
    from provenance.errors import FramemarkError, UsageError
    from provenance.fileio import check_output_path, write_bytes_atomic

    p = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the shipped weights)")
    p.add_argument("--clips", type=int, default=default_clips, help=f"world clips (default {default_clips})")
    p.add_argument("--seed", type=int, default=0)
    if extra is not None:
        extra(p)
    p.add_argument("--json", help="write the report here too")
    p.add_argument("--force", action="store_true", help="overwrite --json")
    a = p.parse_args(argv)
    try:
        if a.clips < 1:
            raise UsageError(f"--clips must be positive, got {a.clips}")
        if a.json:
            check_output_path(a.json, a.force)
        report = measure(a)
    except FramemarkError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    model = report["model"]
    print(f"model {model.get('name')} {model.get('version')}, {report['clips']} world clips")
    print(table(report))
    if a.json:
        write_bytes_atomic(a.json, (json.dumps(report, indent=2) + "\n").encode(), force=a.force)
    return 0
