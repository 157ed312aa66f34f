"""framemark watermark."""
