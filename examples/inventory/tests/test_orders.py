from inventory.models import Customer, Item, Stock
from inventory.orders import fulfil, order_total

PEN = Item("pen", "Pen", 150)


def test_gold_customers_get_ten_percent_before_tax():
    assert order_total([(PEN, 10)], Customer("Bo", "gold")) == 1620


def test_fulfil_removes_stock():
    stock = Stock()
    stock.add(PEN, 3)
    fulfil([(PEN, 2)], stock)
    assert stock.level("pen") == 1
