"""``framemark detect``: one file, a batch, or the classifier's train / evaluate verbs.

    framemark detect INPUT [--json] [--keys DIR] [--resolver URL] [--model MODEL]
    framemark detect DIR|LIST [--jobs N] -o results.jsonl [--force] [...]
    framemark detect train --real DIR --generated DIR -o MODEL [--force]
    framemark detect evaluate --real DIR --generated DIR [--model MODEL] [-o report.json]

``train`` and ``evaluate`` are sub-verbs; anything else in their place is the
INPUT (``framemark detect run INPUT`` is the explicit spelling, for a file that
happens to be called ``train``). Options follow INPUT.

Exit status: 0 a report was produced (whatever the verdict); 1 a batch finished
but some of its files have error lines in the results (this run or an earlier one); 2 unreadable input or bad usage (one stderr line).
Nothing heavy is imported here: torch and scikit-learn load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "add_latent_arguments", "latent_options"]

_VERBS = ("run", "train", "evaluate")


class _Verbs(dict):
    """The verb table. Once sealed, argparse's choice check passes every word: any word
    that is not a verb is an INPUT (before that, ``add_parser`` needs the real answer)."""

    sealed = False

    def __contains__(self, key) -> bool:
        return True if self.sealed else super().__contains__(key)


class _VerbOrInput(argparse._SubParsersAction):
    """Sub-verbs, where an unknown first word is the INPUT of the default verb ``run``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._name_parser_map = self.choices = _Verbs()

    def __call__(self, parser, namespace, values, option_string=None):
        if values and values[0] not in self._name_parser_map.keys():
            values = ["run", *values]
        super().__call__(parser, namespace, values, option_string)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect", help="what is this clip? C2PA, watermarks, credential recovery, forensic classifier",
        description="Fuse C2PA verification, watermark detection, soft-binding recovery and a forensic "
                    "classifier into one verdict. `framemark detect INPUT` for a file, folder or list; "
                    "`framemark detect train|evaluate` for the classifier.")
    p.register("action", "verb_or_input", _VerbOrInput)
    verbs = p.add_subparsers(dest="detect_verb", metavar="INPUT|train|evaluate", action="verb_or_input")
    verbs.required = True

    r = verbs.add_parser("run", help="detect a file, every video in a folder, or the files of a list (default)")
    r.add_argument("input", metavar="INPUT", help="a video file, a folder of videos, or a text file listing videos")
    r.add_argument("--json", action="store_true", help="print the full JSON report (single file)")
    r.add_argument("--keys", metavar="DIR", help="keys folder (default: $FRAMEMARK_HOME or ~/.framemark)")
    r.add_argument("--resolver", metavar="URL", help="a C2PA Soft Binding Resolution API to recover credentials from")
    r.add_argument("--model", metavar="MODEL", help="forensic classifier file (default: the shipped model)")
    add_latent_arguments(r)
    r.add_argument("--jobs", type=int, default=None, metavar="N", help="batch worker processes (default: all cores)")
    r.add_argument("-o", "--output", metavar="results.jsonl",
                   help="batch results, one JSON line per file; an existing file is resumed")
    r.add_argument("--force", action="store_true", help="batch: start results afresh instead of resuming")
    r.set_defaults(func=_run)

    t = verbs.add_parser("train", help="train the forensic classifier on your own labelled clips")
    t.add_argument("--real", required=True, metavar="DIR", help="folder of real camera clips")
    t.add_argument("--generated", required=True, metavar="DIR", help="folder of generated clips")
    t.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.skops)")
    t.add_argument("--windows", type=int, default=4, help="2-second windows per file (default 4)")
    t.add_argument("--jobs", type=int, default=None, metavar="N")
    t.add_argument("--force", action="store_true", help="overwrite the model file")
    t.set_defaults(func=_train)

    e = verbs.add_parser("evaluate", help="held-out AUC, recall at 1%% FPR, real-vs-real floor, CRF 30 + resize")
    e.add_argument("--real", required=True, metavar="DIR")
    e.add_argument("--generated", required=True, metavar="DIR")
    e.add_argument("--model", metavar="MODEL",
                   help="score this fitted model on the folders (default: grouped cross-validation)")
    e.add_argument("--windows", type=int, default=4)
    e.add_argument("--folds", type=int, default=5)
    e.add_argument("--jobs", type=int, default=None, metavar="N")
    e.add_argument("-o", "--output", metavar="report.json", help="also write the report here")
    e.add_argument("--force", action="store_true")
    e.set_defaults(func=_evaluate)
    verbs.choices.sealed = True


def add_latent_arguments(parser: argparse.ArgumentParser) -> None:
    """--no-latent / --latent / --generator: whether and with which model to look for the latent
    watermark (``framemark detect`` and ``framemark watermark detect``)."""
    lat = parser.add_mutually_exclusive_group()
    lat.add_argument("--no-latent", action="store_true", help="skip the latent watermark (it needs the generator)")
    lat.add_argument("--latent", action="store_true",
                     help="run the latent watermark even on a clip whose shape the built-in model cannot make")
    parser.add_argument("--generator", metavar="DIR",
                        help="the text-to-video model folder whose latent mark to look for (default: the built-in one)")


def latent_options(args: argparse.Namespace) -> dict:
    """``latent`` (None: when the model can have made the clip; False; True) and ``generator``
    (a checked model folder, or None) from :func:`add_latent_arguments`' options."""
    from provenance.errors import UsageError

    if args.generator and args.no_latent:
        raise UsageError("--generator names the model for the latent watermark, which --no-latent skips")
    options = {"latent": False if args.no_latent else (True if args.latent else None)}
    if args.generator:
        from generate.pipeline import check_pipeline_folder

        options["generator"] = str(check_pipeline_folder(args.generator))  # a batch fails once, not per file
    return options


def _check_jobs(jobs):
    from provenance.errors import UsageError

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")


def _run(args: argparse.Namespace) -> int:
    from provenance.errors import UsageError

    _check_jobs(args.jobs)
    target = Path(args.input)
    kwargs = {"keys_dir": args.keys, "model": args.model, "resolver": args.resolver, **latent_options(args)}
    if args.resolver:
        from detect.resolver_client import ResolverClient

        ResolverClient(args.resolver)  # a malformed URL fails before any work
    is_list = target.is_file() and _looks_like_list(target)
    if target.is_dir() or is_list:
        if not args.output:
            raise UsageError("a folder or list needs -o results.jsonl")
        from detect.batch import collect_inputs, run_batch

        if args.model:
            from detect.classifier import load_model

            load_model(args.model)  # a bad --model fails once, not once per file
        summary = run_batch(collect_inputs(target), args.output, jobs=args.jobs, force=args.force,
                            progress=sys.stderr.isatty(), **kwargs)
        print(f"{summary['ok']} analysed, {summary['errors']} error(s), {summary['skipped_done']} already done "
              f"-> {summary['results']}")
        return 1 if summary["failed_total"] else 0
    if args.output:
        raise UsageError("-o is for batches (a folder or a list); use --json > report.json for one file")
    from detect.card import render_card
    from detect.fuse import detect_file

    report = detect_file(target, **kwargs)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render_card(report))
    return 0


def _looks_like_list(path: Path) -> bool:
    """A text file of paths, not a video: decided from the first bytes, never the name."""
    from provenance.fileio import VIDEO_SUFFIXES
    from provenance.media import sniff_media_type

    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    if not head or sniff_media_type(head) is not None or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    return bool(first) and Path(first).suffix.lower() in VIDEO_SUFFIXES


def _train(args: argparse.Namespace) -> int:
    _check_jobs(args.jobs)
    from detect.training import train

    out = train(args.real, args.generated, args.output, windows=args.windows, jobs=args.jobs, force=args.force,
                progress=sys.stderr.isatty())
    print(f"trained on {out['data']} -> {out['model']}")
    for err in out["skipped"]:
        print(f"  skipped {err}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    _check_jobs(args.jobs)
    from provenance.fileio import check_output_path, write_bytes_atomic

    if args.output:
        check_output_path(args.output, args.force)
    from detect.training import evaluate

    rep = evaluate(args.real, args.generated, model=args.model, windows=args.windows, folds=args.folds,
                   jobs=args.jobs, progress=sys.stderr.isatty())
    text = json.dumps(rep, indent=2)
    if args.output:
        write_bytes_atomic(args.output, (text + "\n").encode(), force=args.force)
    print(text)
    return 0
