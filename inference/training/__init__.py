"""inference/training package."""
