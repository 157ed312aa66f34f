"""framemark's watermarks: algorithms behind one interface, ECC, statistics, registry.

Importing this package is cheap (numpy only); algorithms load on first use.
"""

from .base import DETECTION_P_VALUE, ExtractResult, WatermarkAlgorithm, bit_accuracy
from .registry import LATENT_ALG_ID, PIXEL_ALG_ID, algorithms, get_algorithm, register

__all__ = [
    "DETECTION_P_VALUE", "ExtractResult", "WatermarkAlgorithm", "bit_accuracy",
    "PIXEL_ALG_ID", "LATENT_ALG_ID", "algorithms", "get_algorithm", "register",
]
