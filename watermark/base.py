"""The watermark interface every algorithm implements (see docs/CONTRACTS.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from provenance.media import Clip

__all__ = ["DETECTION_P_VALUE", "ExtractResult", "WatermarkAlgorithm", "bit_accuracy"]

#: a clip counts as watermarked when the extraction p-value is at most this
DETECTION_P_VALUE = 1e-6


@dataclass
class ExtractResult:
    alg: str
    detected: bool            # p_value <= DETECTION_P_VALUE
    p_value: float
    payload: bytes | None     # the identifier, None when not detected (or not decodable)
    bits: np.ndarray          # hard decisions of the coded bits
    confidence: np.ndarray    # per-bit confidence in [0, 1]
    frames_used: int
    per_frame: list[float]    # per-frame evidence, for plots
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready summary (arrays summarised, not dumped)."""
        return {
            "alg": self.alg,
            "detected": bool(self.detected),
            "p_value": float(self.p_value),
            "payload": self.payload.hex() if self.payload is not None else None,
            "frames_used": int(self.frames_used),
            "mean_confidence": float(np.mean(self.confidence)) if len(self.confidence) else 0.0,
            "per_frame": [round(float(x), 5) for x in self.per_frame],
            **{k: v for k, v in self.extra.items() if _jsonable(v)},
        }


def _jsonable(v) -> bool:
    return isinstance(v, (str, int, float, bool, type(None))) or (
        isinstance(v, (list, tuple, dict)) and len(str(v)) < 2000)


@runtime_checkable
class WatermarkAlgorithm(Protocol):
    alg_id: str

    def embed(self, clip: "Clip", payload: bytes) -> "Clip": ...

    def extract(self, clip: "Clip") -> ExtractResult: ...


def bit_accuracy(result: ExtractResult, expected: bytes) -> float:
    """Fraction of the expected identifier's bits that the extraction got right.

    Uses the decoded identifier when there is one, else the algorithm's best guess
    (``extra["payload_guess"]``, hex) so that a failed detection still reports how
    close it came; 0.5-ish means no information."""
    guess = result.payload
    if guess is None and result.extra.get("payload_guess"):
        guess = bytes.fromhex(result.extra["payload_guess"])
    if guess is None or len(guess) != len(expected):
        return 0.5
    a = np.unpackbits(np.frombuffer(guess, dtype=np.uint8))
    b = np.unpackbits(np.frombuffer(expected, dtype=np.uint8))
    return float(np.mean(a == b))
