"""Orders: lines of items and their totals."""

from inventory.models import Customer, Item, Stock
from inventory.pricing import apply_discount

TAX_RATE = 0.2


def line_total(item: Item, quantity: int) -> int:
    """Price of one order line before discount and tax."""
    return item.price_cents * quantity


def order_total(lines: list[tuple[Item, int]], customer: Customer) -> int:
    """What the customer pays: discount first, then tax."""
    subtotal = sum(line_total(item, qty) for item, qty in lines)
    discounted = apply_discount(subtotal, customer)
    return round(discounted * (1 + TAX_RATE))


def fulfil(lines: list[tuple[Item, int]], stock: Stock) -> None:
    """Take the ordered items out of stock, all or nothing."""
    for item, qty in lines:
        if stock.level(item.sku) < qty:
            raise ValueError(f"cannot fulfil {qty} x {item.sku}")
    for item, qty in lines:
        stock.remove(item, qty)
