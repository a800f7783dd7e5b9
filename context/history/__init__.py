"""context/history package."""
