"""Items, customers and stock levels."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """Something we sell."""

    sku: str
    name: str
    price_cents: int


@dataclass(frozen=True)
class Customer:
    """Someone who buys; the tier decides the discount."""

    name: str
    tier: str = "standard"


@dataclass
class Stock:
    """How many of each item we hold."""

    levels: dict[str, int] = field(default_factory=dict)

    def add(self, item: Item, quantity: int) -> None:
        self.levels[item.sku] = self.levels.get(item.sku, 0) + quantity

    def remove(self, item: Item, quantity: int) -> None:
        have = self.levels.get(item.sku, 0)
        if quantity > have:
            raise ValueError(f"only {have} of {item.sku} in stock")
        self.levels[item.sku] = have - quantity

    def level(self, sku: str) -> int:
        return self.levels.get(sku, 0)
