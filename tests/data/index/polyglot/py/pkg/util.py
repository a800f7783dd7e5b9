def slugify(text: str) -> str:
    """Lowercase and dash-join."""
    return "-".join(text.lower().split())
