"""A plain-text weekly report: revenue per day and the best customers."""
from shop.csvio import read_rows, write_text

STAU_CONFIG = {
    "dependencies": ["sales.daily", "sales.by_customer"],
    "schedule": "0 7 * * MON",
    "timezone": "Europe/Berlin",
    "outputs": ["data/out/weekly_report.txt"],
    "main_func": "main",
    "kwargs": {"top_n": 3},
    "timeout": 600,
    "tags": ["finance", "reporting"],
}


def main(top_n):
    lines = ["Weekly report", "", "Revenue per day:"]
    for row in read_rows("data/out/sales_daily.csv"):
        lines.append(f"  {row['day']}  {row['revenue']:>10} {row['currency']}")
    lines += ["", f"Top {top_n} customers:"]
    for row in read_rows("data/out/sales_by_customer.csv")[:top_n]:
        lines.append(f"  {row['name']:<16} {row['country']}  {row['revenue']:>10} {row['currency']}")
    write_text("data/out/weekly_report.txt", "\n".join(lines) + "\n")
    print(f"report with {top_n} customers")
