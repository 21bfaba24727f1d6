"""What the benchmarks share: a PostgreSQL server to create databases on, the process's
memory figures (Linux /proc), and a timed phase of requests."""

from __future__ import annotations

import argparse
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.pool import NullPool

from storage.db import create_engine

DEFAULT_PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PG_URL_ENV = ("COCREATE_BENCH_POSTGRES_URL", "COCREATE_TEST_POSTGRES_URL")


class SetupError(RuntimeError):
    """The benchmark could not be set up (exit status 2), as opposed to a bad result."""


async def run_admin(admin_url: str, *statements: str) -> None:
    """Statements outside a transaction (CREATE / DROP DATABASE), as in tests/conftest.py."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                           connect_args={"timeout": 5})
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def pg_admin_url(args: argparse.Namespace) -> str:
    if args.postgres_url:
        return args.postgres_url
    return next((os.environ[v] for v in PG_URL_ENV if os.environ.get(v)), DEFAULT_PG_ADMIN_URL)


def reset_peak_rss() -> bool:
    """Linux: reset the process's RSS high-water mark (VmHWM), so it covers what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def status_mb(key: str) -> float | None:
    """A memory figure of /proc/self/status in MB, e.g. "VmRSS" or "VmHWM" (the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@dataclass
class Timed:
    """A phase of requests against one server: each request's latency, and those that failed."""

    case: str
    server: str
    latencies: list[float]  # seconds, one per request
    errors: Counter
    wall: float  # seconds from the first request sent to the last answer read

    @property
    def n(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def pct(self, p: float) -> float:
        """The p-th percentile latency in ms (nearest rank)."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def interrupted_on_sigterm(signum, frame) -> None:  # noqa: ANN001
    """SIGTERM cleans up like Ctrl-C: `signal.signal(signal.SIGTERM, interrupted_on_sigterm)`."""
    raise KeyboardInterrupt
