"""context/index package."""
