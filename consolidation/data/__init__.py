"""Bundled sample data for the demo (see SOURCE.md in this folder)."""
