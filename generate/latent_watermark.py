"""The latent watermark (``org.framemark.latent.1``): a payload carried by the initial noise.

Gaussian Shading / VideoShield style. The diffusion sampler starts from Gaussian noise;
instead of drawing it blindly, we draw every element from the half of N(0, 1) that a
payload bit selects:

    z_i = s_i * |h_i|,   h_i ~ N(0, 1) (from the seed),   s_i = +1 if (c_b(i) XOR k_i) else -1

where ``c`` is the 48-bit identifier, ``b(i)`` a keyed, balanced assignment of elements
to identifier bits (so every bit is repeated ~n/48 times, spread over all frames and the
whole picture), and ``k`` a ChaCha20 key stream keyed by HKDF(watermark key, "latent").
Because ``k`` is uniform and independent of ``|h|``, each sign is a fair coin and ``z`` is
*exactly* N(0, 1): the generator's output distribution is unchanged (tests check it).

Detection recovers an estimate ``z'`` of the noise (VAE-encode the clip, invert the
sampler: :mod:`generate.inversion`), takes signs, XORs the key stream back off and
votes per bit. Without the watermark, ``sign(z') XOR k`` is a sequence of fair coins
whatever the clip is (the key stream is independent of the content), so the number of
elements agreeing with the best codeword has a binomial tail that a union bound over all
2^48 codewords turns into an honest p-value; a Bonferroni factor covers anything the
caller searched (e.g. several candidate sizes).

This module is numpy/torch-light: :func:`make_noise` and :func:`decode_noise` need only
numpy (torch is used when a torch generator or tensor is asked for).
"""

from __future__ import annotations

import hashlib
import math
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from provenance.errors import UsageError
from watermark.stats import log10_binomial_sf

__all__ = [
    "ALG_ID", "PAYLOAD_BITS", "DETECTION_P_VALUE", "LatentDecode",
    "keystream_bits", "bit_assignment", "make_noise", "make_noise_tensor", "decode_noise",
    "LatentWatermark", "match_hypotheses", "latent_algorithm", "register_latent_algorithm",
]

ALG_ID = "org.framemark.latent.1"
PAYLOAD_BITS = 48
#: the project-wide detection threshold (docs/CONTRACTS.md)
DETECTION_P_VALUE = 1e-6
_INFO = b"framemark/latent/v1"


# ----------------------------------------------------------------------------- keyed streams

def _subkey(key: bytes, label: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise UsageError("the watermark key must be at least 16 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + b"/" + label).derive(bytes(key))


def _nonce(n: int) -> bytes:
    # one stream per noise size: a detector that knows the size regenerates the same stream
    return hashlib.sha256(b"framemark-latent-nonce|%d" % n).digest()[:16]


def keystream_bits(key: bytes, n: int) -> np.ndarray:
    """``n`` pseudo-random bits (uint8 0/1) from ChaCha20 keyed by HKDF(key, "latent")."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    enc = Cipher(algorithms.ChaCha20(_subkey(key, b"stream"), _nonce(n)), mode=None).encryptor()
    stream = enc.update(bytes((n + 7) // 8))
    return np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:n]


def bit_assignment(key: bytes, n: int, bits: int = PAYLOAD_BITS) -> np.ndarray:
    """Which payload bit each of ``n`` elements carries: balanced (each bit ~n/bits times)
    and keyed-shuffled, so a bit's copies are spread over every frame and region."""
    if n < bits:
        raise UsageError(f"a latent of {n} elements cannot carry {bits} bits")
    seed = int.from_bytes(_subkey(key, b"assign"), "big")
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    return (perm % bits).astype(np.int64)


def _payload_bits(payload: bytes) -> np.ndarray:
    if not isinstance(payload, (bytes, bytearray)) or len(payload) * 8 != PAYLOAD_BITS:
        raise UsageError(f"the latent watermark payload must be {PAYLOAD_BITS // 8} bytes")
    return np.unpackbits(np.frombuffer(bytes(payload), dtype=np.uint8))


# ----------------------------------------------------------------------------- embedding

def _sign_bits(shape: tuple[int, ...], payload: bytes, key: bytes) -> np.ndarray:
    n = int(np.prod(shape))
    coded = _payload_bits(payload)[bit_assignment(key, n)]
    return (coded ^ keystream_bits(key, n)).reshape(shape)


def make_noise(shape: tuple[int, ...], payload: bytes, key: bytes, seed: int = 0) -> np.ndarray:
    """Watermarked N(0, 1) noise (float32 numpy) of ``shape``: magnitudes from ``seed``,
    signs from payload XOR key stream."""
    shape = tuple(int(s) for s in shape)
    magnitude = np.abs(np.random.Generator(np.random.PCG64(seed)).standard_normal(shape, dtype=np.float32))
    return np.where(_sign_bits(shape, payload, key) == 1, magnitude, -magnitude).astype(np.float32)


def make_noise_tensor(shape, payload: bytes, key: bytes, seed: int = 0, dtype=None):
    """:func:`make_noise` as a torch tensor (``latents=`` for a diffusers pipeline)."""
    import torch

    return torch.from_numpy(make_noise(tuple(shape), payload, key, seed)).to(dtype or torch.float32)


# ----------------------------------------------------------------------------- detection

@dataclass
class LatentDecode:
    """What the recovered noise says: the best payload, its evidence and a p-value."""

    payload: bytes
    bits: np.ndarray            # 48 hard decisions
    confidence: np.ndarray      # per bit, |2 * vote - 1| in [0, 1]
    agreement: float            # fraction of elements agreeing with the decoded codeword
    elements: int
    p_value: float
    log10_p: float
    per_frame: list[float] = field(default_factory=list)   # agreement per latent frame
    per_frame_p: list[float] = field(default_factory=list)  # binomial p per latent frame
    ones: np.ndarray | None = None     # per payload bit: elements that read 1
    counts: np.ndarray | None = None   # per payload bit: elements that carry it

    @property
    def detected(self) -> bool:
        return self.p_value <= DETECTION_P_VALUE

    def bit_accuracy(self, payload: bytes) -> float:
        """Fraction of the 48 decoded bits equal to ``payload``'s (for benchmarks)."""
        return float(np.mean(self.bits == _payload_bits(payload)))


def decode_noise(noise, key: bytes, *, time_axis: int | None = None, searched: int = 1,
                 keep: np.ndarray | None = None) -> LatentDecode:
    """Decode a recovered noise estimate (same shape as the one :func:`make_noise` made).

    ``time_axis``: the latent axis that is time, for per-frame agreement (tamper
    localisation). ``searched``: how many candidate decodings the caller tried in all;
    the p-value is multiplied by it (Bonferroni). ``keep``: a boolean mask over the last
    two (spatial) axes; only those elements count (the part of the frame a crop kept).
    """
    z = noise.detach().float().cpu().numpy() if hasattr(noise, "detach") else np.asarray(noise, dtype=np.float32)
    n_all = z.size
    assign = bit_assignment(key, n_all)
    # 1. signs, with the cipher taken off: under no watermark these are fair coins
    observed = ((z.reshape(-1) > 0).astype(np.uint8) ^ keystream_bits(key, n_all))
    if keep is not None:
        mask = np.broadcast_to(np.asarray(keep, dtype=bool), z.shape)
        if not mask.any():
            raise UsageError("the placement keeps no latent element")
        observed, assign = observed[mask.reshape(-1)], assign[mask.reshape(-1)]
        z = np.where(mask, z, np.nan)
    n = observed.size
    # 2. majority vote per payload bit (maximises agreement over all 2^48 codewords)
    ones = np.bincount(assign, weights=observed, minlength=PAYLOAD_BITS)
    counts = np.bincount(assign, minlength=PAYLOAD_BITS)
    vote = ones / np.maximum(counts, 1)
    bits = (vote > 0.5).astype(np.uint8)
    agree = observed == bits[assign]
    k = int(agree.sum())
    # 3. p-value: binomial tail, union bound over codewords, Bonferroni over searches
    log10_p = log10_binomial_sf(k, n) + PAYLOAD_BITS * math.log10(2) + math.log10(max(1, searched))
    log10_p = min(0.0, log10_p)
    per_frame, per_frame_p = [], []
    if time_axis is not None:
        full = np.full(z.size, np.nan)
        full[~np.isnan(z.reshape(-1))] = agree
        a = np.moveaxis(full.reshape(z.shape), time_axis, 0).reshape(z.shape[time_axis], -1)
        for row in a:
            row = row[~np.isnan(row)]
            per_frame.append(float(row.mean()))
            per_frame_p.append(float(10 ** log10_binomial_sf(int(row.sum()), row.size)))
    return LatentDecode(
        payload=np.packbits(bits).tobytes(), bits=bits, confidence=np.abs(2 * vote - 1),
        agreement=k / n, elements=n, p_value=float(10 ** log10_p), log10_p=log10_p,
        per_frame=per_frame, per_frame_p=per_frame_p, ones=ones.astype(np.int64), counts=counts.astype(np.int64),
    )


# ----------------------------------------------------------------------------- the algorithm

class LatentWatermark:
    """``org.framemark.latent.1`` behind the watermark interface.

    For a latent watermark "embed" means "make the initial noise" (:meth:`make_noise`);
    a finished clip cannot be marked after the fact, so :meth:`embed` refuses. Extraction
    needs the model that made the clip: VAE-encode, invert, decode.
    """

    alg_id = ALG_ID

    def __init__(self, pipe, key: bytes, *, steps: int | None = None, size: tuple[int, int] | None = None,
                 frames: int | None = None):
        self.pipe = pipe
        self.key = bytes(key)
        self.steps = steps
        cfg = getattr(pipe, "framemark_config", None)
        if size is None and cfg is not None:
            # the built-in model generates at one size: an upload of any size is scaled back to it,
            # so inverting a 1080p upload costs what inverting the model's own clip costs
            size = (int(cfg.width), int(cfg.height))
        self.size = size        # (width, height) the model generated at; inputs are resized to it
        self.frames = frames

    def make_noise(self, shape, payload: bytes, seed: int = 0):
        return make_noise_tensor(shape, payload, self.key, seed)

    def embed(self, clip, payload: bytes):
        raise UsageError("the latent watermark is embedded at generation time (framemark generate), "
                         "not into an existing clip")

    def decode(self, clip) -> tuple[LatentDecode, dict]:
        """The decode under the best of the geometric hypotheses (:mod:`.latent_placement`);
        ``info["hypothesis_votes"]``: every hypothesis's per-bit tallies, for :meth:`identify`."""
        from provenance.media import Clip

        from .inversion import latent_layout, recover_noise
        from .latent_placement import RESIZE, covered_cells, place_frames, placements

        size_hw = (self.size[1], self.size[0]) if self.size else (clip.height, clip.width)
        hyps = placements((clip.height, clip.width), size_hw)
        factor = latent_layout(self.pipe)["spatial_factor"] if len(hyps) > 1 else 1
        best, votes = None, []
        for p in hyps:
            keep = None
            shown = clip
            if p is not RESIZE:
                shown = Clip(frames=place_frames(clip.frames, p, size_hw), fps=clip.fps)
                keep = covered_cells(p, (clip.height, clip.width), size_hw, factor)
            noise, info = recover_noise(self.pipe, shown, steps=self.steps, size=self.size, frames=self.frames)
            d = decode_noise(noise, self.key, time_axis=info.get("time_axis"), searched=len(hyps), keep=keep)
            votes.append(np.stack([d.ones, d.counts]))
            if best is None or d.log10_p < best[0].log10_p:
                best = (d, {**info, "placement": p.label})
        d, info = best
        info["placements_tried"] = len(hyps)
        info["hypothesis_votes"] = np.stack(votes)   # [hypotheses, 2 (ones, counts), bits]
        return d, info

    def extract(self, clip):
        from watermark.base import ExtractResult

        d, info = self.decode(clip)
        per_frame = _latent_to_pixel_frames(d.per_frame, info.get("frames_used", clip.num_frames),
                                            info.get("temporal_factor", 4))
        return ExtractResult(
            alg=ALG_ID, detected=d.detected, p_value=d.p_value,
            payload=d.payload if d.detected else None, bits=d.bits, confidence=d.confidence,
            frames_used=int(info.get("frames_used", clip.num_frames)), per_frame=per_frame,
            extra={"agreement": d.agreement, "elements": d.elements, "log10_p": d.log10_p,
                   "latent_frame_agreement": d.per_frame, "latent_frame_p": d.per_frame_p,
                   "suspect_latent_frames": suspect_frames(d), **{k: v for k, v in info.items() if k != "time_axis"},
                   # per-bit tallies (arrays stay out of the JSON): what identify() compares
                   "vote_ones": d.ones, "vote_counts": d.counts},
        )

    def identify(self, result, candidates: list[bytes]):
        """Which of the known ``candidates`` (e.g. the manifest store's identifiers) the
        recovered noise agrees with: :func:`watermark.identify.match_votes`. Far more
        sensitive than the blind decode, whose p-value pays for all 2^48 identifiers."""
        votes = result.extra.get("hypothesis_votes")
        if votes is None:
            ones, counts = result.extra.get("vote_ones"), result.extra.get("vote_counts")
            if ones is None or counts is None:
                return None
            votes = np.stack([[ones, counts]])
        return match_hypotheses(votes, candidates)


def match_hypotheses(votes: np.ndarray, candidates: list[bytes]):
    """:func:`watermark.identify.match_votes` for each geometric hypothesis's tallies
    (``votes``: [hypotheses, 2 (ones, counts), bits]); the best match, its p-value paying
    for every hypothesis tried (Bonferroni), or None."""
    from watermark.identify import match_votes

    found = [m for m in (match_votes(o, c, candidates) for o, c in votes) if m is not None]
    if not found:
        return None
    best = min(found, key=lambda m: m.log10_p)
    return dataclasses.replace(best, log10_p=min(0.0, best.log10_p + math.log10(len(votes))))


def suspect_frames(d: LatentDecode, alpha: float = 1e-3) -> list[int]:
    """Latent frames that carry no evidence while the clip as a whole is marked: the
    likely tampered or replaced spans (VideoShield-style localisation)."""
    if not d.detected:
        return []
    return [i for i, p in enumerate(d.per_frame_p) if p > alpha]


def _latent_to_pixel_frames(per_latent: list[float], frames: int, factor: int) -> list[float]:
    """Causal video VAEs map latent frame 0 to pixel frame 0 and latent frame t >= 1 to pixel
    frames 4t-3..4t; spread each latent frame's agreement over its pixel frames."""
    if not per_latent:
        return []
    out = []
    for f in range(frames):
        t = 0 if f == 0 else (f - 1) // factor + 1
        out.append(per_latent[min(t, len(per_latent) - 1)])
    return out


def latent_algorithm(key: bytes, *, pipe=None, model_dir=None, **kwargs) -> LatentWatermark:
    """Registry factory: ``get_algorithm("org.framemark.latent.1", key, pipe=...)``; without a
    ``pipe`` it loads ``model_dir`` (default: the built-in model)."""
    if pipe is None:
        from .pipeline import load_model

        pipe = load_model(model_dir)
    return LatentWatermark(pipe, key, **kwargs)


def register_latent_algorithm() -> None:
    """Put ``org.framemark.latent.1`` in the watermark registry; called once a model is at
    hand (``generate.pipeline.load_model``), so a bare registry never offers an algorithm
    it cannot run."""
    from watermark.registry import register

    register(ALG_ID, "generate.latent_watermark:latent_algorithm", replace=True)
