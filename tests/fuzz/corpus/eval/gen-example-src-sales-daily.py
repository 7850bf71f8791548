"""Revenue per day, in one currency."""
from collections import defaultdict

from shop.csvio import read_rows, write_rows
from shop.money import convert, load_rates

OUT = "data/out/sales_daily.csv"

STAU_CONFIG = {
    "dependencies": [
        "ingest.orders",
        {"job": "ingest.fx_rates", "max_lag": 120},
    ],
    "schedule": "30 6 * * *",
    "timezone": "Europe/Berlin",
    "inputs": ["data/clean/orders.csv", "data/clean/fx_rates.csv"],
    "outputs": [OUT],
    "main_func": "main",
    "kwargs": {"currency": "EUR"},
    "tags": ["finance"],
}


def main(currency):
    rates = load_rates()
    totals = defaultdict(float)
    for row in read_rows("data/clean/orders.csv"):
        totals[row["day"]] += convert(float(row["amount"]), row["currency"], currency, rates)
    rows = [{"day": day, "revenue": f"{total:.2f}", "currency": currency}
            for day, total in sorted(totals.items())]
    write_rows(OUT, rows, ["day", "revenue", "currency"])
    print(f"{len(rows)} days")
