"""Crop hypotheses for latent detection: which placements, the canvas, the covered cells,
and a masked decode whose p-value stays honest."""

from __future__ import annotations

import numpy as np
import pytest

from generate.latent_placement import RESIZE, Placement, covered_cells, place_frames, placements
from generate.latent_watermark import decode_noise, make_noise, match_hypotheses
from provenance.errors import UsageError

KEY = bytes(range(32))
PAYLOAD = bytes.fromhex("a1b2c3d4e5f6")


def test_placements_depend_on_the_upload_size_only():
    # the generation size itself, anything larger, or a sliver: scaled, nothing else
    assert placements((128, 128), (128, 128)) == [RESIZE]
    assert placements((720, 1280), (128, 128)) == [RESIZE]
    assert placements((40, 40), (128, 128)) == [RESIZE]
    # a crop: resize, centre, then the four corners
    hyps = placements((91, 91), (128, 128))
    assert hyps[0] is RESIZE and hyps[1] == Placement(18, 18)
    assert set(hyps[2:]) == {Placement(0, 0), Placement(0, 37), Placement(37, 0), Placement(37, 37)}
    # cropped in one direction only: the placements along it
    assert placements((72, 128), (128, 128)) == [RESIZE, Placement(28, 0), Placement(0, 0), Placement(56, 0)]


def test_the_canvas_puts_the_upload_back_and_edge_pads():
    frames = np.random.default_rng(0).integers(0, 256, (3, 10, 12, 3), dtype=np.uint8)
    canvas = place_frames(frames, Placement(4, 2), (16, 16))
    assert canvas.shape == (3, 16, 16, 3)
    assert (canvas[:, 4:14, 2:14] == frames).all()
    assert (canvas[:, :4, 2:14] == frames[:, :1]).all()      # edge rows repeated above


def test_covered_cells_are_the_latent_cells_entirely_inside():
    keep = covered_cells(Placement(18, 18), (91, 91), (128, 128), 8)
    assert keep.shape == (16, 16)
    # pixels 18..108 cover cells 3..12 entirely (cell 2 starts at 16, cell 13 ends at 111)
    rows = np.nonzero(keep.any(axis=1))[0]
    assert rows.min() == 3 and rows.max() == 12 and keep.sum() == 100


def test_a_masked_decode_reads_the_kept_part_and_stays_calibrated():
    rng = np.random.default_rng(2)
    shape = (1, 8, 5, 16, 16)
    z = make_noise(shape, PAYLOAD, KEY, seed=4)
    keep = covered_cells(Placement(18, 18), (91, 91), (128, 128), 8)
    # the kept cells carry the mark (noisy), the rest is unrelated content
    est = np.where(keep, z + rng.normal(0, 1.5, shape), rng.normal(size=shape))
    whole, masked = decode_noise(est, KEY, time_axis=2), decode_noise(est, KEY, time_axis=2, keep=keep, searched=6)
    assert masked.elements == 8 * 5 * 100 and masked.log10_p < whole.log10_p
    assert masked.detected and masked.payload == PAYLOAD and len(masked.per_frame) == 5
    # unmarked noise under every placement: never detected, p-values not too small
    ps = [decode_noise(rng.normal(size=shape), KEY, keep=keep, searched=6).p_value for _ in range(200)]
    assert min(ps) > 1e-6 and np.mean(np.array(ps) <= 0.05) <= 0.08
    with pytest.raises(UsageError, match="keeps no latent element"):
        decode_noise(est, KEY, keep=np.zeros((16, 16), bool))


def test_store_matching_pays_for_every_hypothesis():
    rng = np.random.default_rng(3)
    z = make_noise((1, 8, 5, 16, 16), PAYLOAD, KEY, seed=5)
    marked = decode_noise(z + rng.normal(0, 3.0, z.shape), KEY)
    unmarked = decode_noise(rng.normal(size=z.shape), KEY)
    votes1 = np.stack([[marked.ones, marked.counts]])
    votes6 = np.stack([[unmarked.ones, unmarked.counts]] * 5 + [[marked.ones, marked.counts]])
    store = [bytes(rng.integers(0, 256, 6, dtype=np.uint8)) for _ in range(99)] + [PAYLOAD]
    one, six = match_hypotheses(votes1, store), match_hypotheses(votes6, store)
    assert one.identifier == six.identifier == PAYLOAD
    assert six.log10_p == pytest.approx(one.log10_p + np.log10(6))
