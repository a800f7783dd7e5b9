"""Reports over stock and orders."""

from inventory.models import Item, Stock


def low_stock(stock: Stock, items: list[Item], threshold: int = 5) -> list[Item]:
    """Items whose stock level is below the threshold."""
    return [item for item in items if stock.level(item.sku) < threshold]


def stock_value(stock: Stock, items: list[Item]) -> int:
    """Total value of what we hold, in cents."""
    total = 0
    for item in items:
        total += item.price_cents * stock.level(item.sku)
    return total
