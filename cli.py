"""framemark's command line: ``framemark COMMAND ...`` (or ``python cli.py COMMAND ...``).

Each package contributes its commands through ``<package>/commands.py``, which
must import nothing heavy at module level: torch, diffusers and scikit-learn are
imported inside the handlers, so ``framemark verify`` starts in a fraction of a
second. Every failure a user can cause is a :class:`FramemarkError`: it is
printed as one line on stderr and the command exits with that error's status.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "build_parser"]

#: packages whose ``commands.register(subparsers)`` adds subcommands, in help order
COMMAND_MODULES = (
    "provenance.commands",
    "watermark.commands",
    "generate.commands",
    "detect.robustness_commands",
    "detect.commands",
    "detect.serve_commands",
    "detect.demo",
)


def build_parser() -> argparse.ArgumentParser:
    from provenance import __version__

    parser = argparse.ArgumentParser(
        prog="framemark",
        description="Generate signed, watermarked AI video; verify provenance; detect what an upload is.",
    )
    parser.add_argument("--version", action="version", version=f"framemark {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # a package still under construction must not take the whole CLI down
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from provenance.errors import FramemarkError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except FramemarkError as exc:
        print(f"framemark: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("framemark: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        if os.environ.get("FRAMEMARK_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        print(f"framemark: internal error: {type(exc).__name__}: {first} (set FRAMEMARK_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 3
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
