"""Where the tests find the C2PA reference media: ``../shared/fixtures/c2pa`` beside the
repository (as CI lays it out), or ``$FRAMEMARK_C2PA_FIXTURES``. Used in place, never copied."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
C2PA_FIXTURES = Path(os.environ.get("FRAMEMARK_C2PA_FIXTURES") or REPO.parent / "shared" / "fixtures" / "c2pa")
