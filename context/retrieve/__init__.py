"""context/retrieve package."""
