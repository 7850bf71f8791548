#!/usr/bin/env python3
"""Generate a large, realistic stau project for the scanning benchmark.

    gen_project.py OUT_DIR [--jobs 10000] [--seed 1] [--no-verify]

Writes OUT_DIR/src/<package>/<job>.py over about 100 packages (folders with an
__init__.py), plus shared helper modules (src/common/io.py, src/common/dates.py,
src/common/metrics.py) and src/utils/config.py with the record classes of the
original Python Stau (ReportConfig, ReportDependencies).

Every job file is about 150 lines: module docstring, `from __future__ import
annotations`, stdlib / third-party / local imports, module-level constants, the
STAU_CONFIG declaration, then functions and a class with realistic bodies, and an
`if __name__ == "__main__":` block. About 80% declare in the native dict form
(SPEC §1), about 20% in the original-Stau form (SPEC §7). Dependencies always
point at EARLIER jobs, so the graph is acyclic. The files are never run, so
pandas / numpy need not be installed.

Output is a pure function of (--jobs, --seed). At the end every generated file
is checked with ast.parse (skip with --no-verify), and the dependency graph is
checked to be acyclic with every edge naming an existing job. A summary line
goes to stdout: `jobs=N dependencies=D files=F lines=L bytes=B`.
"""
from __future__ import annotations

import argparse
import ast
import os
import random
import sys

DOMAINS = [
    "sales", "finance", "marketing", "ops", "inventory", "fx", "users", "events",
    "ml", "reports", "billing", "logistics", "hr", "supply", "web", "ads", "crm",
    "risk", "pricing", "churn",
]
KINDS = [
    "daily", "hourly", "clean", "load", "score", "report", "agg", "extract",
    "train", "export", "snapshot", "enrich", "dedupe", "rollup", "forecast",
]
REGIONS = ["eu", "us", "apac", "latam", "mea", "global"]
TAGS = ["finance", "daily", "hourly", "ml", "critical", "pii", "reporting",
        "ingest", "export", "experimental", "weekly", "core"]
SCHEDULES = ["15 * * * *", "0 6 * * mon-fri", "*/20 * * * *", "@daily", "@hourly",
             "@every 15m", "30 2 1 * *", "0 */4 * * *", "45 23 * * sun",
             "0 7-19/2 * * 1-5", "5,35 * * * *", "@weekly"]
TIMEZONES = ["Europe/Berlin", "UTC", "America/New_York", "Asia/Singapore"]
SOURCES = ["postgres.sales", "postgres.events", "s3.raw", "bigquery.ads",
           "mysql.crm", "api.fx", "kafka.clicks", "sftp.partner"]
SINKS = ["s3.reports", "postgres.marts", "bigquery.marts", "gcs.exports",
         "redis.cache", "email.finance"]
COLUMNS = ["customer_id", "order_id", "amount", "currency", "created_at",
           "country", "channel", "quantity", "price", "segment", "score",
           "sku", "store_id", "event_type", "session_id", "revenue"]


# --------------------------------------------------------------------------
# Shared helper modules (not jobs: no STAU_CONFIG)
# --------------------------------------------------------------------------

COMMON_IO = '''"""Reading and writing tables for the jobs."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

LOG = logging.getLogger(__name__)
DATA_ROOT = Path(os.environ.get("DATA_ROOT", "data"))


def table_path(name: str, suffix: str = ".parquet") -> Path:
    """Where the table called `name` lives."""
    return DATA_ROOT / name.replace(".", "/") / f"part-0000{suffix}"


def read_table(name: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
    path = table_path(name)
    if not path.exists():
        LOG.warning("table %s missing at %s, returning empty frame", name, path)
        return pd.DataFrame(columns=list(columns or []))
    frame = pd.read_parquet(path, columns=list(columns) if columns else None)
    LOG.info("read %d rows from %s", len(frame), path)
    return frame


def write_table(frame: pd.DataFrame, name: str, *, overwrite: bool = True) -> Path:
    path = table_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def write_json(payload: dict[str, Any], name: str) -> Path:
    path = table_path(name, ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return path
'''

COMMON_DATES = '''"""Date helpers shared by the jobs."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

UTC = dt.timezone.utc


def today() -> dt.date:
    return dt.datetime.now(UTC).date()


def days_back(n: int, end: dt.date | None = None) -> list[dt.date]:
    end = end or today()
    return [end - dt.timedelta(days=i) for i in range(n, 0, -1)]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def iter_hours(start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    current = start.replace(minute=0, second=0, microsecond=0)
    while current < end:
        yield current
        current += dt.timedelta(hours=1)


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
'''

COMMON_METRICS = '''"""Small metrics and logging helpers."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator

LOG = logging.getLogger("metrics")
_COUNTERS: dict[str, float] = {}


def incr(name: str, value: float = 1.0) -> None:
    _COUNTERS[name] = _COUNTERS.get(name, 0.0) + value


@contextmanager
def timed(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        incr(f"{name}.seconds", elapsed)
        LOG.info("%s took %.3fs", name, elapsed)


def snapshot() -> dict[str, float]:
    return dict(sorted(_COUNTERS.items()))
'''

UTILS_CONFIG = '''"""Job declarations of the original Python Stau."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReportDependencies:
    job_type: str
    max_lag: int
    allow_missing_work_ids: bool = False
    custom_kwargs: dict[str, Any] = field(default_factory=dict)
    unique: bool = False


@dataclass
class ReportConfig:
    job_type: str
    chunk_size: int
    dependencies: list[ReportDependencies]
    main_func: str
    data_sources: list[str] = field(default_factory=list)
    data_sinks: list[str] = field(default_factory=list)
    is_streaming: bool = False
    allow_multiple_jobs: bool = True
'''


# --------------------------------------------------------------------------
# Function-body templates. Each returns a list of lines. `r` is the job's Random.
# --------------------------------------------------------------------------

def _cols(r: random.Random, k: int) -> list[str]:
    return r.sample(COLUMNS, k)


def fn_load(r: random.Random, n: int) -> list[str]:
    cols = _cols(r, 4)
    return [
        f"def load_{n}(day: dt.date, region: str = REGION) -> pd.DataFrame:",
        f'    """Load the raw rows for one day and region."""',
        f"    frames = []",
        f"    for part in range({r.randint(2, 8)}):",
        f'        name = f"raw.{{region}}.{{day:%Y%m%d}}.{{part:02d}}"',
        f"        try:",
        f"            frame = read_table(name, columns={cols!r})",
        f"        except (OSError, ValueError) as exc:",
        f'            LOG.warning("skipping %s: %s", name, exc)',
        f"            continue",
        f"        frames.append(frame.assign(part=part))",
        f"    if not frames:",
        f"        return pd.DataFrame(columns={cols!r})",
        f"    return pd.concat(frames, ignore_index=True)",
        "",
    ]


def fn_clean(r: random.Random, n: int) -> list[str]:
    c1, c2, c3 = _cols(r, 3)
    thr = r.choice(["0.0", "1e-9", "0.5", "100"])
    return [
        f"def clean_{n}(frame: pd.DataFrame) -> pd.DataFrame:",
        f'    """Drop broken rows and normalise the types."""',
        f"    frame = frame.dropna(subset=[{c1!r}, {c2!r}])",
        f"    frame = frame[frame[{c2!r}].astype(float) > {thr}]",
        f"    frame[{c3!r}] = frame[{c3!r}].astype(str).str.strip().str.lower()",
        f"    renames = {{c: c.replace(\"-\", \"_\") for c in frame.columns if \"-\" in c}}",
        f"    if renames:",
        f'        LOG.debug("renaming %d columns", len(renames))',
        f"        frame = frame.rename(columns=renames)",
        f"    return frame.drop_duplicates().reset_index(drop=True)",
        "",
    ]


def fn_aggregate(r: random.Random, n: int) -> list[str]:
    key, val = _cols(r, 2)
    return [
        f"def aggregate_{n}(frame: pd.DataFrame, keys: Sequence[str] = ({key!r},)) -> pd.DataFrame:",
        f"    grouped = frame.groupby(list(keys), dropna=False)",
        f"    result = grouped.agg(",
        f"        total=({val!r}, \"sum\"),",
        f"        mean=({val!r}, \"mean\"),",
        f"        rows=({val!r}, \"size\"),",
        f"    ).reset_index()",
        f"    result[\"share\"] = result[\"total\"] / max(result[\"total\"].sum(), 1)",
        f"    result[\"rank\"] = result[\"total\"].rank(ascending=False, method=\"dense\").astype(int)",
        f"    return result.sort_values([\"rank\", *keys])",
        "",
    ]


def fn_stats(r: random.Random, n: int) -> list[str]:
    q = r.choice([0.9, 0.95, 0.99])
    return [
        f"def summary_stats_{n}(values: Iterable[float]) -> dict[str, float]:",
        f'    """Robust summary of a series, ignoring NaN and inf."""',
        f"    data = np.asarray([v for v in values if v == v and abs(v) != float(\"inf\")])",
        f"    if data.size == 0:",
        f"        return {{\"count\": 0.0}}",
        f"    stats = {{",
        f"        \"count\": float(data.size),",
        f"        \"mean\": float(data.mean()),",
        f"        \"std\": float(data.std(ddof=1)) if data.size > 1 else 0.0,",
        f"        \"p50\": float(np.quantile(data, 0.5)),",
        f"        \"p{int(q * 100)}\": float(np.quantile(data, {q})),",
        f"    }}",
        f"    stats[\"cv\"] = stats[\"std\"] / stats[\"mean\"] if stats[\"mean\"] else float(\"nan\")",
        f"    return stats",
        "",
    ]


def fn_report(r: random.Random, n: int) -> list[str]:
    w = r.choice([12, 16, 20, 24])
    return [
        f"def render_report_{n}(rows: list[dict[str, Any]], title: str = NAME) -> str:",
        f"    lines = [f\"# {{title}}\", \"\"]",
        f"    if not rows:",
        f"        lines.append(\"_no data_\")",
        f"        return \"\\n\".join(lines)",
        f"    header = list(rows[0])",
        f"    lines.append(\" | \".join(f\"{{h:>{w}}}\" for h in header))",
        f"    lines.append(\"-+-\".join(\"-\" * {w} for _ in header))",
        f"    for row in rows:",
        f"        cells = []",
        f"        for key in header:",
        f"            value = row.get(key)",
        f"            if isinstance(value, float):",
        f"                cells.append(f\"{{value:>{w}.2f}}\")",
        f"            else:",
        f"                cells.append(f\"{{value!s:>{w}}}\")",
        f"        lines.append(\" | \".join(cells))",
        f"    return \"\\n\".join(lines)",
        "",
    ]


def fn_retry(r: random.Random, n: int) -> list[str]:
    return [
        f"def with_retries_{n}(func: Callable[..., Any], attempts: int = {r.randint(2, 5)}, delay: float = {r.choice(['0.5', '1.0', '2.5'])}) -> Callable[..., Any]:",
        f"    \"\"\"Wrap `func` so transient errors are retried with backoff.\"\"\"",
        f"",
        f"    @functools.wraps(func)",
        f"    def wrapper(*args: Any, **kwargs: Any) -> Any:",
        f"        last_error: Exception | None = None",
        f"        for attempt in range(1, attempts + 1):",
        f"            try:",
        f"                return func(*args, **kwargs)",
        f"            except (ConnectionError, TimeoutError) as exc:",
        f"                last_error = exc",
        f"                wait = delay * 2 ** (attempt - 1)",
        f"                LOG.warning(\"attempt %d/%d failed (%s), waiting %.1fs\", attempt, attempts, exc, wait)",
        f"                time.sleep(wait)",
        f"        raise RuntimeError(f\"gave up after {{attempts}} attempts\") from last_error",
        f"",
        f"    return wrapper",
        "",
    ]


def fn_parse(r: random.Random, n: int) -> list[str]:
    sep = r.choice([",", ";", "|", "\\t"])
    return [
        f"_LINE_RE_{n} = re.compile(r\"^(?P<key>[A-Za-z_][\\w.]*)\\s*=\\s*(?P<value>.+?)\\s*$\")",
        f"",
        f"",
        f"def parse_settings_{n}(text: str) -> dict[str, Any]:",
        f"    settings: dict[str, Any] = {{}}",
        f"    for lineno, raw in enumerate(text.splitlines(), start=1):",
        f"        line = raw.split(\"#\", 1)[0].strip()",
        f"        if not line:",
        f"            continue",
        f"        if (match := _LINE_RE_{n}.match(line)) is None:",
        f"            raise ValueError(f\"line {{lineno}}: cannot parse {{raw!r}}\")",
        f"        key, value = match.group(\"key\"), match.group(\"value\")",
        f"        if value.isdigit():",
        f"            settings[key] = int(value)",
        f"        elif \"{sep}\" in value:",
        f"            settings[key] = [part.strip() for part in value.split(\"{sep}\") if part.strip()]",
        f"        else:",
        f"            settings[key] = value.strip(\"'\\\"\")",
        f"    return settings",
        "",
    ]


def fn_window(r: random.Random, n: int) -> list[str]:
    return [
        f"def rolling_windows_{n}(values: Sequence[float], size: int = {r.randint(3, 14)}) -> Iterator[tuple[int, float]]:",
        f"    if size <= 0:",
        f"        raise ValueError(\"size must be positive\")",
        f"    total = 0.0",
        f"    window: list[float] = []",
        f"    for index, value in enumerate(values):",
        f"        window.append(value)",
        f"        total += value",
        f"        if len(window) > size:",
        f"            total -= window.pop(0)",
        f"        if len(window) == size:",
        f"            yield index, total / size",
        "",
    ]


def fn_match(r: random.Random, n: int) -> list[str]:
    return [
        f"def classify_{n}(event: dict[str, Any]) -> str:",
        f"    match event:",
        f"        case {{\"type\": \"order\", \"amount\": amount}} if amount > {r.choice([100, 500, 1000])}:",
        f"            return \"large-order\"",
        f"        case {{\"type\": \"order\"}}:",
        f"            return \"order\"",
        f"        case {{\"type\": \"refund\" | \"chargeback\" as kind}}:",
        f"            return f\"negative-{{kind}}\"",
        f"        case {{\"type\": str(other)}}:",
        f"            return other.lower()",
        f"        case _:",
        f"            return \"unknown\"",
        "",
    ]


def fn_async(r: random.Random, n: int) -> list[str]:
    return [
        f"async def fetch_all_{n}(urls: list[str], limit: int = {r.randint(2, 16)}) -> list[bytes]:",
        f"    import asyncio",
        f"",
        f"    semaphore = asyncio.Semaphore(limit)",
        f"",
        f"    async def one(url: str) -> bytes:",
        f"        async with semaphore:",
        f"            await asyncio.sleep(0)",
        f"            return url.encode()",
        f"",
        f"    return list(await asyncio.gather(*(one(u) for u in urls)))",
        "",
    ]


def fn_partition(r: random.Random, n: int) -> list[str]:
    return [
        f"def partition_{n}(items: Iterable[dict[str, Any]], key: str = {r.choice(COLUMNS)!r}) -> dict[str, list[dict[str, Any]]]:",
        f"    buckets: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)",
        f"    for item in items:",
        f"        bucket = str(item.get(key) or \"missing\")",
        f"        buckets[bucket].append(item)",
        f"    small = {{k for k, v in buckets.items() if len(v) < {r.randint(2, 10)}}}",
        f"    if small:",
        f"        merged = [row for k in sorted(small) for row in buckets.pop(k)]",
        f"        buckets[\"other\"].extend(merged)",
        f"    return dict(sorted(buckets.items(), key=lambda kv: (-len(kv[1]), kv[0])))",
        "",
    ]


def fn_cached(r: random.Random, n: int) -> list[str]:
    return [
        f"@functools.lru_cache(maxsize={r.choice([32, 128, 1024])})",
        f"def lookup_rate_{n}(currency: str, day: str) -> float:",
        f"    rates = {{",
        f"        \"EUR\": 1.0,",
        f"        \"USD\": {r.uniform(0.8, 1.2):.4f},",
        f"        \"GBP\": {r.uniform(1.1, 1.3):.4f},",
        f"        \"JPY\": {r.uniform(0.005, 0.009):.6f},",
        f"    }}",
        f"    try:",
        f"        return rates[currency.upper()]",
        f"    except KeyError:",
        f"        LOG.error(\"no rate for %s on %s\", currency, day)",
        f"        raise",
        "",
    ]


FUNCTION_TEMPLATES = [fn_load, fn_clean, fn_aggregate, fn_stats, fn_report,
                      fn_retry, fn_parse, fn_window, fn_match, fn_async,
                      fn_partition, fn_cached]


def class_block(r: random.Random, cls: str) -> list[str]:
    col = r.choice(COLUMNS)
    return [
        "@dataclass",
        f"class {cls}:",
        f'    """State carried through one run of the job."""',
        "",
        "    region: str = REGION",
        f"    batch_size: int = {r.choice([500, 1000, 5000, 10000])}",
        "    seen: set[str] = field(default_factory=set)",
        "    errors: list[str] = field(default_factory=list)",
        "",
        "    @property",
        "    def ok(self) -> bool:",
        "        return not self.errors",
        "",
        "    def batches(self, frame: pd.DataFrame) -> Iterator[pd.DataFrame]:",
        "        for start in range(0, len(frame), self.batch_size):",
        "            yield frame.iloc[start : start + self.batch_size]",
        "",
        "    def record(self, key: str, error: Exception | None = None) -> None:",
        "        self.seen.add(key)",
        "        if error is not None:",
        '            self.errors.append(f"{key}: {type(error).__name__}: {error}")',
        "",
        "    @classmethod",
        "    def from_kwargs(cls, **kwargs: Any) -> \"%s\":" % cls,
        "        known = {k: v for k, v in kwargs.items() if k in cls.__dataclass_fields__}",
        "        return cls(**known)",
        "",
        "    def process(self, frame: pd.DataFrame) -> pd.DataFrame:",
        "        out = []",
        "        for batch in self.batches(frame):",
        f"            key = str(batch[{col!r}].iloc[0]) if len(batch) else \"empty\"",
        "            try:",
        "                out.append(transform(batch))",
        "            except Exception as exc:  # noqa: BLE001 - keep going, report at the end",
        "                self.record(key, exc)",
        "            else:",
        "                self.record(key)",
        "        return pd.concat(out, ignore_index=True) if out else frame.iloc[0:0]",
        "",
    ]


# --------------------------------------------------------------------------
# Project layout
# --------------------------------------------------------------------------

def plan_jobs(n_jobs: int, r: random.Random) -> list[tuple[str, str]]:
    """(package, module) for every job, in generation (= topological) order."""
    n_pkgs = max(1, min(100, round(n_jobs / 100)))
    packages = [f"{DOMAINS[i % len(DOMAINS)]}_{i}" for i in range(n_pkgs)]
    jobs: list[tuple[str, str]] = []
    per_pkg: dict[str, int] = {p: 0 for p in packages}
    for k in range(n_jobs):
        pkg = packages[k % n_pkgs] if r.random() < 0.7 else r.choice(packages)
        i = per_pkg[pkg]
        per_pkg[pkg] += 1
        jobs.append((pkg, f"{KINDS[i % len(KINDS)]}_{i}"))
    return jobs


def choose_deps(k: int, r: random.Random) -> list[int]:
    """0-3 indices of earlier jobs, mostly recent ones."""
    if k == 0:
        return []
    n = r.choices([0, 1, 2, 3], weights=[15, 35, 30, 20])[0]
    n = min(n, k)
    picked: set[int] = set()
    while len(picked) < n:
        if r.random() < 0.6:
            j = k - 1 - int(r.expovariate(1 / 40)) % k
        else:
            j = r.randrange(k)
        picked.add(j)
    return sorted(picked)


def job_file(k: int, pkg: str, mod: str, dep_names: list[str],
             r: random.Random, original: bool) -> list[str]:
    name = f"{pkg}.{mod}"
    region = r.choice(REGIONS)
    domain = pkg.rsplit("_", 1)[0]
    lines: list[str] = [
        f'"""{mod.replace("_", " ").capitalize()} job of the {domain} team ({name}).',
        "",
        f"Reads the upstream tables, cleans and aggregates them per {r.choice(COLUMNS)},",
        f"and writes the result for the {region} region. Owner: {domain}-data@example.com.",
        '"""',
        "from __future__ import annotations",
        "",
        "import collections",
        "import datetime as dt",
        "import functools",
        "import json",
        "import logging",
        "import re",
        "import time",
        "from dataclasses import dataclass, field",
        "from pathlib import Path",
        "from typing import Any, Callable, Iterable, Iterator, Sequence",
        "",
        "import numpy as np",
        "import pandas as pd",
    ]
    if r.random() < 0.3:
        lines.append("import sqlalchemy as sa")
    if r.random() < 0.2:
        lines.append("from requests import Session")
    lines += [
        "",
        "import common.dates as dates",
        "from common.io import read_table, write_table" + (", write_json" if r.random() < 0.5 else ""),
    ]
    if r.random() < 0.4:
        lines.append("from common.metrics import incr, timed")
    if original:
        lines.append("from utils.config import ReportConfig, ReportDependencies")
    if dep_names and r.random() < 0.1:
        # import code from an upstream job (a code dependency between jobs)
        lines.append(f"from {dep_names[0]} import transform as upstream_transform")
    lines += [
        "",
        "LOG = logging.getLogger(__name__)",
        "",
        f'NAME = "{name}"',
        f'REGION = "{region}"',
        f"LOOKBACK_DAYS = {r.choice([1, 3, 7, 14, 28, 90])}",
        f"THRESHOLD = {r.choice(['0.25', '0.5', '1e-3', '2.0'])}",
        f"MAX_ROWS = {r.choice(['1_000_000', '250_000', '5_000_000'])}",
        f'OUTPUT_DIR = Path("data/out") / NAME.replace(".", "/")',
    ]

    short = mod
    main_name = f"run_{short}" if original else "main"
    if original:
        lines += [f'JOB_SHORT = "{short}"', "", ""]
        lines += [
            "STAU_CONFIG = ReportConfig(",
            "    job_type=NAME,",
            f"    chunk_size={r.choice([1, 5, 10, 25, 100])},",
        ]
        if dep_names:
            lines.append("    dependencies=[")
            for d in dep_names:
                s = r.random()
                if s < 0.5:
                    lines.append(f'        ReportDependencies("{d}", {r.choice([30, 60, 120, 1440])}),')
                elif s < 0.8:
                    lines.append(f'        ReportDependencies(job_type="{d}", max_lag={r.choice([60, 180, 720])}, allow_missing_work_ids=True),')
                else:
                    lines.append(f'        ReportDependencies("{d}", {r.choice([60, 240])}, custom_kwargs={{"region": REGION}}, unique={r.choice(["True", "False"])}),')
            lines.append("    ],")
        else:
            lines.append("    dependencies=[],")
        lines.append('    main_func=f"run_{JOB_SHORT}",')
        if r.random() < 0.6:
            lines.append(f"    data_sources={r.sample(SOURCES, r.randint(1, 2))!r},")
            lines.append(f"    data_sinks=[{r.choice(SINKS)!r}],")
        if r.random() < 0.2:
            lines.append("    allow_multiple_jobs=False,")
        lines.append(")")
    else:
        upstream_var = None
        if dep_names and r.random() < 0.25:
            upstream_var = dep_names[0]
            lines.append(f'UPSTREAM = "{upstream_var}"')
        base_tags = r.sample(TAGS, r.randint(1, 2))
        use_base = r.random() < 0.3
        if use_base:
            lines.append(f"BASE_TAGS = {base_tags!r}")
        lines += ["", "", "STAU_CONFIG = {"]
        deps_src = []
        for d in dep_names:
            s = r.random()
            if d == upstream_var:
                deps_src.append("UPSTREAM")
            elif s < 0.65:
                deps_src.append(f'"{d}"')
            elif s < 0.9:
                deps_src.append(f'{{"job": "{d}", "max_lag": {r.choice([60, 120, 1440])}}}')
            else:
                deps_src.append(f'{{"job": "{d}", "max_lag": 60, "kwargs": {{"region": REGION}}}}')
        if deps_src:
            joined = ", ".join(deps_src)
            if len(joined) < 60:
                lines.append(f'    "dependencies": [{joined}],')
            else:
                lines.append('    "dependencies": [')
                lines += [f"        {x}," for x in deps_src]
                lines.append("    ],")
        elif r.random() < 0.5:
            lines.append('    "dependencies": [],')
        if r.random() < 0.35:
            sch = r.choice(SCHEDULES)
            if r.random() < 0.1:
                lines.append(f'    "schedule": [{sch!r}, {r.choice(SCHEDULES)!r}],'.replace("'", '"'))
            else:
                lines.append(f'    "schedule": "{sch}",')
            if r.random() < 0.3:
                lines.append(f'    "timezone": "{r.choice(TIMEZONES)}",')
        if r.random() < 0.7:
            s = r.random()
            if s < 0.4:
                lines.append(f'    "inputs": [f"data/raw/{{REGION}}/*.csv", "data/ref/{domain}.parquet"],')
            elif s < 0.7:
                lines.append('    "inputs": ["data/raw/" "events/*.jsonl"],')
            else:
                lines.append(f'    "inputs": ("data/lookup/{r.choice(COLUMNS)}.csv",),')
        if r.random() < 0.7:
            if r.random() < 0.5:
                lines.append('    "outputs": [f"data/out/{NAME}_out.parquet"],')
            else:
                lines.append(f'    "outputs": ["data/out/{name}.parquet"] + ["data/out/{name}.json"],')
        lines.append(f'    "main_func": "{main_name}",')
        s = r.random()
        if s < 0.4:
            lines.append('    "kwargs": {"region": REGION, "lookback_days": LOOKBACK_DAYS},')
        elif s < 0.7:
            lines.append(f'    "kwargs": dict(region=REGION, lookback_days={r.randint(1, 30)}, threshold=-{r.choice(["0.5", "1.25"])}, dry_run=False, limit=None),')
        if r.random() < 0.5:
            lines.append(f'    "retries": {r.randint(0, 3)}, "timeout": {r.choice([300, 900, 3600])}, "slots": {r.choice([1, 1, 1, 2])},')
        if use_base:
            lines.append(f'    "tags": BASE_TAGS + [{r.choice(TAGS)!r}],'.replace("'", '"'))
        elif r.random() < 0.6:
            lines.append(f'    "tags": {r.sample(TAGS, r.randint(1, 3))!r},'.replace("'", '"'))
        if r.random() < 0.1:
            lines.append('    "allow_multiple_jobs": False,')
        if r.random() < 0.05:
            lines.append(f'    "job_type": NAME,')
        lines.append("}")
    lines += ["", ""]

    # transform(): always present, other jobs may import it.
    lines += [
        "def transform(frame: pd.DataFrame) -> pd.DataFrame:",
        f'    """The per-batch transformation of {name}."""',
        "    frame = frame.copy()",
        "    numeric = frame.select_dtypes(include=[np.number]).columns",
        "    frame[numeric] = frame[numeric].fillna(0).clip(lower=-THRESHOLD * MAX_ROWS)",
        "    frame[\"job\"] = NAME",
        "    frame[\"loaded_at\"] = pd.Timestamp.now(tz=\"UTC\")",
        "    return frame",
        "",
        "",
    ]
    cls = "".join(p.capitalize() for p in mod.split("_") if not p.isdigit()) + f"State{k}"
    target = r.randint(122, 160)
    tail_len = 26 if original else 24  # main + __main__ block, roughly
    class_at = r.randint(1, 3)
    templates = FUNCTION_TEMPLATES[:]
    r.shuffle(templates)
    klass = class_block(r, cls) + [""]
    placed = False
    used = 0
    while templates and (len(lines) + tail_len + (0 if placed else len(klass)) < target or used < 2):
        if used == class_at:
            lines += klass
            placed = True
        lines += templates.pop()(r, used) + [""]
        used += 1
    if not placed:
        lines += klass

    if original:
        lines += [
            "def select_work(**kwargs: Any) -> list[int]:",
            '    """Work IDs for this run: one per store that reported yesterday."""',
            "    frame = read_table(\"ref.stores\", columns=[\"store_id\", \"active\"])",
            "    return sorted(int(s) for s in frame.loc[frame[\"active\"], \"store_id\"].unique())",
            "",
            "",
        ]
        lines += [
            f"def {main_name}(work_ids: list[int] | None = None, **kwargs: Any) -> None:",
            f"    state = {cls}.from_kwargs(**kwargs)",
            "    for work_id in work_ids or []:",
            "        frame = read_table(f\"raw.store_{work_id}\")",
            "        result = state.process(frame)",
            "        write_table(result, f\"{NAME}.{work_id}\")",
            "    if not state.ok:",
            "        raise RuntimeError(\"; \".join(state.errors[:5]))",
        ]
    else:
        lines += [
            f"def {main_name}(region: str = REGION, lookback_days: int = LOOKBACK_DAYS, **extra: Any) -> None:",
            f'    """Entry point called by stau with the declared kwargs."""',
            f"    state = {cls}(region=region)",
            "    frames = []",
            "    for day in dates.days_back(lookback_days):",
            "        frame = read_table(f\"raw.{region}.{day:%Y%m%d}\")",
            "        frames.append(state.process(frame))",
            "    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()",
            "    write_table(result, NAME)",
            "    LOG.info(\"%s: %d rows, %d errors\", NAME, len(result), len(state.errors))",
        ]
    lines += [
        "",
        "",
        'if __name__ == "__main__":',
        "    import argparse",
        "",
        "    parser = argparse.ArgumentParser(description=__doc__)",
        '    parser.add_argument("--region", default=REGION)',
        '    parser.add_argument("--verbose", "-v", action="store_true")',
        "    args = parser.parse_args()",
        "    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)",
    ]
    if original:
        lines.append(f"    {main_name}(work_ids=select_work(region=args.region), region=args.region)")
    else:
        lines.append(f"    {main_name}(region=args.region)")
    return lines


def write(path: str, text: str) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = text.encode()
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-verify", action="store_true", help="skip the ast.parse check")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    src = os.path.join(args.out_dir, "src")
    if os.path.exists(src):
        sys.exit(f"gen_project: {src} exists; give a fresh OUT_DIR")
    r = random.Random(args.seed)
    files: list[str] = []
    total_bytes = total_lines = 0

    def emit(rel: str, text: str) -> None:
        nonlocal total_bytes, total_lines
        path = os.path.join(src, rel)
        total_bytes += write(path, text)
        total_lines += text.count("\n")
        files.append(path)

    for rel, text in [("common/__init__.py", ""), ("common/io.py", COMMON_IO),
                      ("common/dates.py", COMMON_DATES), ("common/metrics.py", COMMON_METRICS),
                      ("utils/__init__.py", ""), ("utils/config.py", UTILS_CONFIG)]:
        emit(rel, text)

    jobs = plan_jobs(args.jobs, r)
    names = [f"{p}.{m}" for p, m in jobs]
    for pkg in sorted({p for p, _ in jobs}):
        emit(f"{pkg}/__init__.py", f'"""Jobs of the {pkg} team."""\n')
    edges: list[tuple[int, int]] = []
    for k, (pkg, mod) in enumerate(jobs):
        deps = choose_deps(k, r)
        edges += [(k, j) for j in deps]
        original = r.random() < 0.2
        text = "\n".join(job_file(k, pkg, mod, [names[j] for j in deps], r, original)) + "\n"
        emit(f"{pkg}/{mod}.py", text)

    # Sanity checks: unique names, deps name earlier existing jobs (=> acyclic).
    assert len(set(names)) == len(names), "duplicate job names"
    assert all(j < k for k, j in edges), "dependency on a later job"

    if not args.no_verify:
        for path in files:
            with open(path, "rb") as f:
                source = f.read()
            try:
                tree = ast.parse(source, filename=path)
            except SyntaxError as exc:
                sys.exit(f"gen_project: generated invalid Python: {exc}")
            rel = os.path.relpath(path, src)
            if rel.startswith(("common", "utils")) or rel.endswith("__init__.py"):
                continue
            # the declaration is a module-level assignment to STAU_CONFIG, job_type == name
            decl = [n for n in tree.body if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "STAU_CONFIG" for t in n.targets)]
            assert len(decl) == 1, f"{path}: no STAU_CONFIG"
    print(f"jobs={len(jobs)} dependencies={len(edges)} files={len(files)} "
          f"lines={total_lines} bytes={total_bytes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
