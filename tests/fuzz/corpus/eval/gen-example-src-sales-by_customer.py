"""Revenue per customer, with the customer's name and country."""
from collections import defaultdict

from shop.csvio import read_rows, write_rows
from shop.money import convert, load_rates

STAU_CONFIG = {
    "dependencies": [
        "ingest.orders",
        {"job": "ingest.customers", "max_lag": 60},
        {"job": "ingest.fx_rates", "max_lag": 120},
    ],
    "inputs": ["data/clean/*.csv"],
    "outputs": ["data/out/sales_by_customer.csv"],
    "main_func": "main",
    "kwargs": {"currency": "EUR"},
    "tags": ["finance"],
}


def main(currency):
    rates = load_rates()
    customers = {row["customer_id"]: row for row in read_rows("data/clean/customers.csv")}
    totals = defaultdict(float)
    for row in read_rows("data/clean/orders.csv"):
        totals[row["customer_id"]] += convert(float(row["amount"]), row["currency"], currency, rates)
    rows = []
    for cid, total in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        who = customers.get(cid, {"name": "?", "country": "?"})
        rows.append({"customer_id": cid, "name": who["name"], "country": who["country"],
                     "revenue": f"{total:.2f}", "currency": currency})
    write_rows("data/out/sales_by_customer.csv", rows,
               ["customer_id", "name", "country", "revenue", "currency"])
    print(f"{len(rows)} customers with sales")
