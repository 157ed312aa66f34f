"""framemark detect."""
