"""The test kit for plugin authors (placeholder)."""
