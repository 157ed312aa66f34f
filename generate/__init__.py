"""framemark generate."""
