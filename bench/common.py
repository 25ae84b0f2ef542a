"""Shared plumbing of the benchmarks: the local emulator, the environment, call counters, reports.

Nothing here imports Airflow: the scripts set the environment (``AIRFLOW_HOME``, the
``aws_default`` connection, dummy credentials) first and import Airflow afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_DIR = BENCH_DIR.parent
REGION = "us-east-1"
JOB_QUEUE = "airflow-batch-queue"
LOG_GROUP = "/aws/batch/job"
STARTUP_TIMEOUT_SECONDS = 60.0
LISTENING_PREFIX = "AWS Batch emulator listening on "
CONNECTION_PREFIX = "export AIRFLOW_CONN_AWS_DEFAULT='"


@dataclass
class Emulator:
    """A running ``python -m aws_batch_local`` subprocess."""

    process: subprocess.Popen[str]
    endpoint_url: str
    airflow_connection: str
    output: list[str] = field(default_factory=list)

    def environment(self, airflow_home: str) -> dict[str, str]:
        """Return the variables that point Airflow hooks and boto3 at this emulator."""
        return {
            "AIRFLOW_HOME": airflow_home,
            "AIRFLOW_CONN_AWS_DEFAULT": self.airflow_connection,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }

    def client(self, service: str) -> Any:
        """Return a plain boto3 client for ``service`` on the emulator (not counted anywhere)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        """Terminate the emulator (it kills its job processes) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def running_emulator(max_running: int = 8, step_seconds: float | None = None) -> Iterator[Emulator]:
    """Start the emulator on a free port, yield it once it printed its connection, stop it after.

    ``step_seconds`` is the least time a job spends in each status (the emulator's default when None).
    """
    command = [
        sys.executable,
        "-m",
        "aws_batch_local",
        "--port",
        "0",
        "--max-running",
        str(max_running),
    ]
    if step_seconds is not None:
        command += ["--step-seconds", str(step_seconds)]
    process = subprocess.Popen(
        command,
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    output: list[str] = []
    endpoint_url = connection = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    try:
        while connection is None:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("emulator exited before it was ready:\n" + "".join(output))
            output.append(line)
            if line.startswith(LISTENING_PREFIX):
                endpoint_url = line[len(LISTENING_PREFIX) :].strip()
            elif line.startswith(CONNECTION_PREFIX):
                connection = line.strip()[len(CONNECTION_PREFIX) : -1]
            if time.monotonic() > deadline:
                raise RuntimeError("emulator not ready in time:\n" + "".join(output))
        if endpoint_url is None:
            raise RuntimeError("emulator printed no endpoint:\n" + "".join(output))
        emulator = Emulator(process, endpoint_url, connection, output)
        # Keep draining its output so that a chatty emulator never blocks on a full pipe.
        threading.Thread(target=_drain, args=(process, output), daemon=True).start()
        yield emulator
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        del output[:-200]


@contextlib.contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory (AIRFLOW_HOME, log files) removed at the end."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class CallCounter:
    """Count the API calls a boto3 client makes, by operation name (thread-safe).

    Registers on the client's own event emitter (``before-call.<service>.<Operation>``), so it
    sees exactly the calls of that client, retries included.
    """

    def __init__(self, trace: bool = False) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.trace: list[dict[str, Any]] | None = [] if trace else None

    def watch(self, client: Any, service: str, operation: str) -> None:
        """Count ``operation`` calls made through ``client`` (and trace their answers if asked)."""

        def count(**_: Any) -> None:
            with self._lock:
                self.counts[operation] = self.counts.get(operation, 0) + 1

        client.meta.events.register(f"before-call.{service}.{operation}", count)
        if self.trace is not None:
            client.meta.events.register(f"after-call.{service}.{operation}", self._record(operation))

    def _record(self, operation: str) -> Any:
        def record(parsed: Any = None, **_: Any) -> None:
            entry: dict[str, Any] = {"t": time.time(), "operation": operation}
            if isinstance(parsed, dict):
                if "events" in parsed:
                    entry["events"] = len(parsed["events"])
                if "jobs" in parsed:
                    entry["statuses"] = [job.get("status") for job in parsed["jobs"]]
            with self._lock:
                assert self.trace is not None
                self.trace.append(entry)

        return record

    def get(self, operation: str) -> int:
        """How many ``operation`` calls were seen so far."""
        with self._lock:
            return self.counts.get(operation, 0)


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine_cpu_seconds() -> float | None:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(value) for value in fields]
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system = ticks[0], ticks[1], ticks[2]
    irq, softirq = (ticks[5], ticks[6]) if len(ticks) > 6 else (0, 0)
    # Not idle, iowait, or steal (the hypervisor running other machines).
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of process ``pid`` itself, without its children, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine_info() -> dict[str, Any]:
    """Describe the machine and the versions measured (no paths, no host names)."""
    memory_gib = None
    with contextlib.suppress(OSError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages * page_size / 1024**3, 1)
    versions: dict[str, str | None] = {}
    for name in (
        "airflow-batch-plugin",
        "apache-airflow",
        "apache-airflow-providers-amazon",
        "aws-batch-local",
        "moto",
        "boto3",
        "botocore",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "versions": versions,
    }


def median(values: Sequence[float | int | None]) -> float | None:
    """Median of the values that are not None, or None when there are none."""
    present = [float(value) for value in values if value is not None]
    return statistics.median(present) if present else None


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """``ours / theirs`` or None when either is missing or the divisor is zero."""
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def fmt(value: Any, digits: int = 2) -> str:
    """Format a table cell: numbers rounded, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render a Markdown table (also readable on a terminal)."""
    cells = [[fmt(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def write_results(name: str, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as ``bench/results/<name>.json``; return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def relative(path: Path) -> str:
    """Path relative to the repository, for reports (never an absolute path of this machine)."""
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return path.name


# -- a counting HTTP proxy in front of the emulator ----------------------------------------------------------


@dataclass
class ProxyCall:
    """One request the proxy forwarded: when it arrived (epoch seconds), how long it took, its ids."""

    t: float
    seconds: float
    job_ids: int


class CountingProxy:
    """A loopback HTTP proxy that forwards every request to ``upstream`` and counts them by path.

    Point a client's ``endpoint_url`` at :attr:`endpoint_url` and every AWS call it makes is
    counted here by its Batch REST path (``/v1/describejobs``...), whatever client library made
    it. JSON-protocol calls (CloudWatch Logs), which all go to ``/``, are counted by the operation
    their ``X-Amz-Target`` header names instead (``Logs_20140328.GetLogEvents``). DescribeJobs
    requests are also recorded one by one (time, duration, number of job ids) and per job id (how
    often, first and last time, the gaps between two), so both sides of a comparison are counted
    the same way, outside the processes being measured.

    It listens on 127.0.0.1 only, serves from its own thread and event loop (aiohttp), and stops
    with :meth:`stop` (or at the end of :func:`counting_proxy`).
    """

    DESCRIBE_JOBS = "/v1/describejobs"

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.endpoint_url = ""
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.describe_calls: list[ProxyCall] = []
        #: job id -> [times described, first time, last time] (epoch seconds of the requests)
        self.described: dict[str, list[float]] = {}
        #: seconds between two consecutive DescribeJobs of the same job, for every job
        self.gaps: list[float] = []
        self.errors = 0
        self._loop: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: Any = None
        self._failure: BaseException | None = None

    # -- reading the counts (thread-safe) ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self.counts = {}
            self.describe_calls = []
            self.described = {}
            self.gaps = []
            self.errors = 0

    def snapshot(self) -> dict[str, Any]:
        """Return copies of the counts, the DescribeJobs calls and the per-job counts."""
        with self._lock:
            return {
                "counts": dict(self.counts),
                "describe_calls": list(self.describe_calls),
                "described": {job_id: list(seen) for job_id, seen in self.described.items()},
                "gaps": list(self.gaps),
                "errors": self.errors,
            }

    def described_count(self, job_ids: Iterable[str]) -> int:
        """How many of ``job_ids`` were described at least once since the last :meth:`reset`."""
        with self._lock:
            return sum(1 for job_id in job_ids if job_id in self.described)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> CountingProxy:
        """Start serving on a free loopback port; return self once it listens."""
        self._thread = threading.Thread(target=self._serve, name="counting-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("counting proxy did not start")
        if self._failure is not None:
            raise RuntimeError(f"counting proxy failed to start: {self._failure!r}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the proxy's thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _serve(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as error:  # reported by start() when it happens before ready
            self._failure = error
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        import asyncio

        import aiohttp
        from aiohttp import web

        self._stop = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handler(session))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))  # loopback only
        port = listener.getsockname()[1]
        site = web.SockSite(runner, listener, backlog=4096)
        await site.start()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()
            await session.close()

    def _handler(self, session: Any) -> Any:
        from aiohttp import web

        hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

        async def handle(request: Any) -> Any:
            started = time.time()
            body = await request.read()
            path = request.path.lower()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in hop_by_hop}
            headers["Host"] = request.headers.get("Host", "")
            try:
                async with session.request(
                    request.method, self.upstream + request.path_qs, data=body, headers=headers
                ) as upstream:
                    payload = await upstream.read()
                    status = upstream.status
                    answer_headers = {
                        k: v for k, v in upstream.headers.items() if k.lower() not in hop_by_hop
                    }
            except Exception:
                with self._lock:
                    self.errors += 1
                raise
            target = request.headers.get("X-Amz-Target")
            self._count(target or path, body, started, time.time() - started)
            return web.Response(body=payload, status=status, headers=answer_headers)

        return handle

    def _count(self, path: str, body: bytes, started: float, seconds: float) -> None:
        ids: list[str] = []
        if path == self.DESCRIBE_JOBS:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                ids = [str(job_id) for job_id in json.loads(body or b"{}").get("jobs", [])]
        with self._lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            if path == self.DESCRIBE_JOBS:
                self.describe_calls.append(ProxyCall(started, seconds, len(ids)))
                for job_id in ids:
                    seen = self.described.get(job_id)
                    if seen is None:
                        self.described[job_id] = [1, started, started]
                    else:
                        self.gaps.append(started - seen[2])
                        seen[0] += 1
                        seen[2] = started


@contextlib.contextmanager
def counting_proxy(upstream: str) -> Iterator[CountingProxy]:
    """Run a :class:`CountingProxy` in front of ``upstream`` for the duration of the block."""
    proxy = CountingProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def airflow_connection_for(endpoint_url: str) -> str:
    """The ``aws_default`` connection (JSON form) pointing Airflow's AWS hooks at ``endpoint_url``."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint_url, "region_name": REGION},
        },
        separators=(",", ":"),
    )


def percentile(values: Sequence[float | int | None], fraction: float) -> float | None:
    """The ``fraction`` quantile (nearest rank, 0 < fraction <= 1) of the values that are not None."""
    present = sorted(float(value) for value in values if value is not None)
    if not present:
        return None
    rank = max(1, -(-len(present) * fraction // 1))
    return present[min(len(present), int(rank)) - 1]
