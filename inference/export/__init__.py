"""inference/export package."""
