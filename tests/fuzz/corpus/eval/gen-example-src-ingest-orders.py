"""Clean the raw order export: drop rows without an amount, normalise currencies."""
from shop.csvio import read_rows, write_rows

RAW = "data/raw/orders.csv"
CLEAN = "data/clean/orders.csv"

STAU_CONFIG = {
    "schedule": "*/15 * * * *",
    "inputs": [RAW],
    "outputs": [CLEAN],
    "main_func": "main",
    "retries": 2,
    "timeout": 300,
    "tags": ["ingest"],
}

FIELDS = ["order_id", "customer_id", "day", "amount", "currency"]


def main():
    rows = []
    for row in read_rows(RAW):
        if not row["amount"].strip():
            continue
        row["amount"] = f"{float(row['amount']):.2f}"
        row["currency"] = row["currency"].strip().upper()
        rows.append(row)
    write_rows(CLEAN, rows, FIELDS)
    print(f"{len(rows)} orders")
