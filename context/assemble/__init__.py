"""context/assemble package."""
