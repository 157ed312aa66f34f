"""Fingerprints of the pixel watermark's embedding on the robustness matrix's clips.

    python -m bench.embed_hashes --out before.json           # on the old code
    python -m bench.embed_hashes --out after.json --compare before.json

A change meant to make embedding faster without changing a bit (the matrix's figures then
hold for it) is checked this way: each of the matrix's real clips (its first 5 s, as
``bench.robustness`` loads them), its synthetic sources and the speed benchmark's 720p clip,
embedded with a fixed identifier, then SHA-1 of the marked frames. Exit status 1 when
``--compare`` finds a difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def hashes(n_clips: int = 8, seconds: float = 5.0) -> dict[str, str]:
    from watermark import PIXEL_ALG_ID, get_algorithm

    from bench.robustness import KEY, load_source, matrix_sources, speed_source
    from detect import footage

    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    ident = bytes.fromhex("a1b2c3d4e5f6")
    # loaders, not clips: one decoded clip in memory at a time
    loaders = {s["name"]: (lambda s=s: load_source(s, seconds)) for s in matrix_sources(n_clips, seconds)}
    fast = speed_source()
    loaders["speed-720p"] = lambda: footage.load(fast.path, max_frames=75, width=1280, height=720)
    return {name: hashlib.sha1(alg.embed(load(), ident).frames.tobytes()).hexdigest() for name, load in loaders.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.embed_hashes", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", help="an earlier --out to compare with")
    args = ap.parse_args(argv)
    got = hashes()
    Path(args.out).write_text(json.dumps(got, indent=1) + "\n")
    if not args.compare:
        print(f"{len(got)} clips")
        return 0
    before = json.loads(Path(args.compare).read_text())
    differ = sorted(k for k in got.keys() | before.keys() if got.get(k) != before.get(k))
    print(f"{len(got)} clips, {len(differ)} differ" + (f": {', '.join(differ)}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
