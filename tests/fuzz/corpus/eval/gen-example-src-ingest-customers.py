"""Publish the customer list, one row per customer."""
from shop.csvio import read_rows, write_rows

STAU_CONFIG = {
    "schedule": "0 * * * *",
    "inputs": ["data/raw/customers.csv"],
    "outputs": ["data/clean/customers.csv"],
    "main_func": "main",
    "tags": ["ingest"],
}


def main():
    seen = {}
    for row in read_rows("data/raw/customers.csv"):
        seen[row["customer_id"]] = row
    rows = sorted(seen.values(), key=lambda r: r["customer_id"])
    write_rows("data/clean/customers.csv", rows, ["customer_id", "name", "country"])
    print(f"{len(rows)} customers")
