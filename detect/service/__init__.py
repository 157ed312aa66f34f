"""framemark's HTTP service: uploads in, detect reports out; a C2PA soft-binding resolver.

Importing this package is cheap: FastAPI and the detector load in ``create_app``.
"""

from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]


def create_app(settings: ServiceSettings | None = None):
    """The FastAPI application (see :mod:`detect.service.app`)."""
    from .app import create_app as _create_app

    return _create_app(settings)
