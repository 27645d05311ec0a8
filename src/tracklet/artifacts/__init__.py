"""Artifacts: versioned, content-addressed sets of files (docs/artifacts.md)."""
