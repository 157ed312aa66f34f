"""What loses the pixel mark under camcording: the geometry, or the rest?

    nice -n 5 .venv/bin/python -m bench.camcord_geometry [--only vtest,cityCC0]

For each of the robustness benchmark's target clips (8 s, as ``bench.robustness``): embed,
publish at H.264 CRF 17, then detect after ``camcord-mild`` as shipped, after the same
attack with its perspective and lens taken out (moire, vignette, blur, noise, exposure
and the phone's CRF 23 stay), and after ``camcord-geometry`` (the perspective and lens
alone). Prints log10 p and the alignment found (scale, and whether the warp won).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.informed_embedding import IDENT, KEY, publish, target_segments

__all__ = ["main"]


def _without_geometry():
    from detect.attacks.camcord import Camcord

    class CamcordNoGeometry(Camcord):
        def _grid(self, H: int, W: int, rng):
            super()._grid(H, W, rng)  # the same draws, so the rest of the attack is the same
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            return yy, xx

    return CamcordNoGeometry("mild")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default="", help="comma-separated clip names (default: every target clip)")
    a = p.parse_args(argv)

    from detect import footage
    from detect.attacks.camcord import Camcord
    from watermark.pixel import PixelWatermark
    from watermark.pixel.embed import embed_frames

    alg = PixelWatermark(KEY)
    srcs = target_segments(only=a.only)
    attacks = [("camcord-mild", Camcord("mild")), ("without geometry", _without_geometry()),
               ("geometry only", Camcord("geometry"))]
    print("| clip | " + " | ".join(f"{n}: log10 p (scale, warp)" for n, _ in attacks) + " |")
    print("|---|" + "---|" * len(attacks))
    for src in srcs:
        clip = footage.load(src["path"], seconds=8.0, start_s=src["start"])
        published = publish(clip.with_frames(embed_frames(clip.frames, KEY, IDENT)))
        cells = []
        for _, attack in attacks:
            r = alg.extract(attack(published))
            cells.append(f"{r.extra['log10_p']:.1f} ({r.extra['scale']:.2f}, {'warp' if r.extra['warp'] else 'similarity'})")
        print(f"| {src['name']} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
