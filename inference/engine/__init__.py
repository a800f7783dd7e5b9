"""inference/engine package."""
