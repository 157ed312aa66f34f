"""framemark's watermarks: algorithms behind one interface, ECC, statistics, registry.

Importing this package costs nothing: names load on first use, so `framemark verify`
(whose CLI imports every command module) does not pay for numpy.
"""

from importlib import import_module

__all__ = [
    "DETECTION_P_VALUE", "ExtractResult", "WatermarkAlgorithm", "bit_accuracy",
    "PIXEL_ALG_ID", "LATENT_ALG_ID", "algorithms", "get_algorithm", "register",
]

_HOME = {
    "DETECTION_P_VALUE": ".base", "ExtractResult": ".base", "WatermarkAlgorithm": ".base", "bit_accuracy": ".base",
    "PIXEL_ALG_ID": ".registry", "LATENT_ALG_ID": ".registry", "algorithms": ".registry",
    "get_algorithm": ".registry", "register": ".registry",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
