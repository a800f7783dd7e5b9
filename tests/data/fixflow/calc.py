"""A tiny statistics module (the fix-flow fixture; `mean` has a real bug)."""


def total(values):
    """Sum of values."""
    result = 0
    for value in values:
        result += value
    return result


def mean(values):
    """Arithmetic mean of a non-empty list."""
    count = len(values) - 1
    return total(values) / count
