"""What every scenario shares: databases, a real server process, its CPU and memory, result files.

The server under test is ``python -m server run`` in a process of its own, on a loopback port,
exactly as deployed (uvicorn, the app's own settings); the bench only talks HTTP to it and reads
its CPU time and memory from ``/proc``. Load generators run in processes of their own too, so the
server's event loop is never shared with the client measuring it.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from server.core.crypto import new_key_text

ROOT = Path(__file__).resolve().parent.parent
# Where datasets and results go; the bench's own smoke test points it at a temporary directory.
BENCH_DIR = Path(os.environ.get("LEDGERSYNC_BENCH_DIR") or ROOT / "bench")
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"
POSTGRES_ENV = "LEDGERSYNC_BENCH_POSTGRES_URL"
# Names of the bench's PostgreSQL databases start with this (the smoke tests use one of their own,
# so that they never drop a dataset another run on the same server is using).
PG_PREFIX = os.environ.get("LEDGERSYNC_BENCH_PG_PREFIX") or "ls_bench"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# The device rate limit would stop one simulated phone at 10 requests/s; the bench drives fewer
# phones harder than real ones, so it lifts the limit (the limiter still runs on every request).
BENCH_DEVICE_RATE = 100_000_000


def free_port() -> int:
    """A loopback port left in TIME_WAIT: no other ``bind(0)`` (the test suite runs in parallel workers)
    is handed it before the server binds it by number with SO_REUSEADDR, as uvicorn does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port: int = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the accepting side closes first: the TIME_WAIT is on this port
            client.recv(1)
    return port


def postgres_admin_url() -> str:
    return os.environ.get(POSTGRES_ENV) or os.environ.get("LEDGERSYNC_TEST_POSTGRES_URL") or DEFAULT_POSTGRES


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(name: str) -> str:
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def pg_database_exists(name: str) -> bool:
    async def check() -> bool:
        conn = await asyncpg.connect(asyncpg_dsn(postgres_admin_url()), timeout=10)
        try:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    return asyncio.run(check())


def pg_create(name: str, template: str | None = None) -> str:
    suffix = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(pg_execute(postgres_admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(pg_execute(postgres_admin_url(), f'CREATE DATABASE "{name}"{suffix}'))
    return pg_url(name)


def pg_drop(name: str) -> None:
    asyncio.run(pg_execute(postgres_admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sqlite_path(url: str) -> Path:
    return Path(url.partition(":///")[2])


def sqlite_checkpoint(path: Path) -> None:
    """Folds the WAL into the main file so that copying the file copies the whole database."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def working_copy(template_url: str, engine: str, tag: str) -> Iterator[str]:
    """A throw-away copy of a dataset's database, so scenarios that write leave the dataset alone."""
    if engine == "sqlite":
        source = sqlite_path(template_url)
        target = DATA_DIR / "work" / f"{tag}.sqlite3"
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        return
    template = make_url(template_url).database
    assert template
    name = f"{template}_work_{tag}"[:63]
    url = pg_create(name, template=template)
    try:
        yield url
    finally:
        pg_drop(name)


# --- the server process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int


def proc_stat(pid: int) -> ProcStat:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    rss = peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return ProcStat(cpu, rss, peak)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _is_worker(pid: int) -> bool:
    # uvicorn's workers are multiprocessing's spawned interpreters (not its resource tracker).
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def reset_peak_rss(pid: int) -> None:
    """Resets the kernel's high-water mark (VmHWM) to the current RSS (Linux ``clear_refs`` 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


class ServerProcess:
    """``python -m server run`` on a free loopback port against ``database_url``."""

    def __init__(
        self,
        database_url: str,
        port: int | None = None,
        module: str = "server",
        processes: int = 1,
        **settings: str,
    ) -> None:
        self.processes = processes
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "LEDGERSYNC_DATABASE_URL": database_url,
                "LEDGERSYNC_SECRET_KEY": new_key_text(),
                "LEDGERSYNC_LOG_LEVEL": "WARNING",
                "LEDGERSYNC_SYNC_INTERVAL_MINUTES": "0",
                "LEDGERSYNC_DEVICE_REQUESTS_PER_MINUTE": str(BENCH_DEVICE_RATE),
                # Forwarding is measured on its own (bench.forwarding); elsewhere it would spend
                # CPU on uploads the scenario made.
                "LEDGERSYNC_FORWARDING_WORKERS": "0",
            }
        )
        env.update({f"LEDGERSYNC_{k.upper()}": v for k, v in settings.items()})
        self._env = env
        self._module = module
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, timeout: float = 120.0) -> None:
        command = [sys.executable, "-m", self._module]
        if self._module == "server":
            command += ["run", "--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--processes", str(self.processes)] if self.processes > 1 else []
        else:
            assert self.processes == 1, "only python -m server runs several processes"
            self._env.update(LEDGERSYNC_HOST="127.0.0.1", LEDGERSYNC_PORT=str(self.port))
        self._process = subprocess.Popen(command, cwd=ROOT, env=self._env)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited with {self._process.returncode}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.1)

    def server_pids(self) -> list[int]:
        """The processes that serve: this one, or with ``processes`` > 1 uvicorn's workers (its
        children; the supervisor itself only watches them)."""
        if self.processes <= 1:
            return [self.pid]
        return [pid for pid in children_of(self.pid) if _is_worker(pid)]

    def stat(self) -> ProcStat:
        """CPU time and memory of every serving process, summed."""
        stats = [proc_stat(pid) for pid in self.server_pids()]
        return ProcStat(
            sum(s.cpu_seconds for s in stats),
            sum(s.rss_bytes for s in stats),
            sum(s.peak_rss_bytes for s in stats),
        )

    def stats(self) -> dict[int, ProcStat]:
        """Each serving process's own figures (how evenly the kernel spread the connections)."""
        return {pid: proc_stat(pid) for pid in self.server_pids()}

    def reset_peak(self) -> None:
        for pid in self.server_pids():
            reset_peak_rss(pid)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- statistics and results ------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Spread:
    """Median of several runs and their range."""

    median: float
    low: float
    high: float
    runs: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), list(values))

    def show(self, scale: float = 1.0, digits: int = 0) -> str:
        fmt = f"{{:.{digits}f}}"
        return (
            f"{fmt.format(self.median * scale)} "
            f"({fmt.format(self.low * scale)}-{fmt.format(self.high * scale)})"
        )

    def json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": self.runs}


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in columns], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def write_results(scenario: str, engine: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{scenario}-{engine}.json"
    payload = {"scenario": scenario, "engine": engine, "machine": machine(), **results}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return path
