"""The keyed tile: 32 x 32 cells of +/-1 chips, rendered as a band-limited periodic pattern.

One period of the pattern (``PERIOD`` = 128 px at the reference scale) is a 32 x 32
grid of cells. The key splits the cells into three disjoint, keyed sets:

* ``A`` (256 cells): the search chips; the detector finds scale, rotation, flip and
  the cyclic offset by correlating with them, and with nothing else;
* ``B`` (256 cells): the test chips; their agreement with their keyed signs at the
  chosen alignment, each weighed by its magnitude, is the detection statistic. Because
  the search never looked at B's keyed signs, the agreements are independent fair coins
  under "not marked with this key" (given the magnitudes), so the p-value is exact
  (``watermark.stats.weighted_sign_test``) and needs no correction for the thousands of
  alignments the search tried;
* ``P`` (512 cells): the payload; each carries one of the 210 coded bits times a
  keyed sign (every coded bit lands on 2-3 cells spread over the tile).

The cells are rendered by periodic sinc interpolation (zero-padding their 2-D
spectrum), so the pattern holds no energy above 1/8 cycle per pixel: it survives
down-scaling to half size and strong compression, and reads back exactly by
low-passing and sampling at the cell centres. The DC term is removed so the mark
never shifts the mean brightness.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..ecc import CODED_BITS

__all__ = ["CELLS", "CELL_PX", "PERIOD", "FOLD", "KeyedTile", "keyed_rng", "render_cells", "read_cells"]

CELLS = 32           # cells per tile side
CELL_PX = 4          # pixels per cell side at the reference scale
PERIOD = CELLS * CELL_PX  # 128 px
FOLD = 64            # the detector folds frames into FOLD x FOLD bins (2 px each)
N_SEARCH, N_TEST = 256, 256


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    """A deterministic generator for one purpose, from HMAC-SHA256(key, label)."""
    seed = hmac.new(bytes(key), label.encode(), hashlib.sha256).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))


def _band_mask(n: int) -> np.ndarray:
    """Cell-spectrum entries kept: everything but DC and the Nyquist row/column."""
    f = np.fft.fftfreq(n) * n
    keep = (np.abs(f) < n // 2)[:, None] & (np.abs(f) < n // 2)[None, :]
    keep[0, 0] = False
    return keep


def render_cells(cells: np.ndarray, size: int) -> np.ndarray:
    """Periodic band-limited interpolation of a CELLS x CELLS grid to size x size samples.

    Sample (0, 0) of the output sits on the centre of cell (0, 0)."""
    n = cells.shape[0]
    spec = np.fft.fft2(cells) * _band_mask(n)
    big = np.zeros((size, size), dtype=complex)
    h = n // 2
    idx = np.r_[0:h, size - h:size]
    src = np.r_[0:h, n - h:n]
    big[np.ix_(idx, idx)] = spec[np.ix_(src, src)]
    return np.real(np.fft.ifft2(big)) * (size / n) ** 2


def read_cells(tile: np.ndarray, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Inverse of :func:`render_cells`: the CELLS x CELLS cell values of a periodic tile
    (any size), after moving it by ``shift`` = (dy, dx) samples (sub-sample via phase)."""
    size = tile.shape[0]
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    spec = np.fft.fft2(tile) * np.exp(2j * np.pi * (fy * shift[0] + fx * shift[1]))
    h = CELLS // 2
    idx = np.r_[0:h, size - h:size]
    small = spec[np.ix_(idx, idx)] * _band_mask(CELLS)
    return np.real(np.fft.ifft2(small)) * (CELLS / size) ** 2


@dataclass(frozen=True)
class KeyedTile:
    """Everything the key decides: cell roles, chip signs, payload spreading."""

    search: np.ndarray    # flat indices of the A cells
    test: np.ndarray      # flat indices of the B cells
    payload: np.ndarray   # flat indices of the P cells
    bit_of: np.ndarray    # coded-bit index of each P cell
    signs: np.ndarray     # +/-1 per cell (flat, CELLS*CELLS)

    @classmethod
    def from_key(cls, key: bytes) -> "KeyedTile":
        return _tile_for(bytes(key))

    def cells(self, coded_bits: np.ndarray | None) -> np.ndarray:
        """Chip values of the full tile for these coded bits (None: sync chips only)."""
        c = np.zeros(CELLS * CELLS)
        c[self.search] = self.signs[self.search]
        c[self.test] = self.signs[self.test]
        if coded_bits is not None:
            c[self.payload] = self.signs[self.payload] * (2.0 * np.asarray(coded_bits)[self.bit_of] - 1.0)
        return c.reshape(CELLS, CELLS)

    def search_cells(self) -> np.ndarray:
        c = np.zeros(CELLS * CELLS)
        c[self.search] = self.signs[self.search]
        return c.reshape(CELLS, CELLS)


@lru_cache(maxsize=16)
def _tile_for(key: bytes) -> KeyedTile:
    rng = keyed_rng(key, "org.framemark.video.1/tile")
    order = rng.permutation(CELLS * CELLS)
    search, test, payload = order[:N_SEARCH], order[N_SEARCH:N_SEARCH + N_TEST], order[N_SEARCH + N_TEST:]
    # a balanced spread: every coded bit gets floor or ceil(512/210) cells, keyed placement
    bit_of = rng.permutation(np.arange(len(payload)) % CODED_BITS)
    signs = rng.choice(np.array([-1.0, 1.0]), size=CELLS * CELLS)
    return KeyedTile(search=np.sort(search), test=np.sort(test), payload=payload, bit_of=bit_of, signs=signs)
