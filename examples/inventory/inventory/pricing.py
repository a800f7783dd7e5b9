"""Discounts per customer tier."""

from inventory.models import Customer

TIER_DISCOUNTS = {"standard": 0.0, "silver": 0.05, "gold": 0.1}


def discount_rate(customer: Customer) -> float:
    """The share of the price a customer does not pay."""
    return TIER_DISCOUNTS.get(customer.tier, 0.0)


def apply_discount(amount_cents: int, customer: Customer) -> int:
    """The amount after the customer's discount, rounded to a cent."""
    return round(amount_cents * (1 - discount_rate(customer)))
