"""inference/backends package."""
