"""Helpers of the fault-injection runs: a dedicated emulator and the fault proxy, as processes.

Each run gets an emulator of its own (so its job counts are its own) and the fault proxy's
command line in front of it (a process of its own, so it never competes with the test for the
GIL); the proxy's counts are read from its ``/_faults/counts``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.shape_report import assert_answers_match_botocore

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_MARKER = "export AIRFLOW_CONN_AWS_DEFAULT="
#: The issue's bar: 30% of Batch and Logs calls throttled, 5% failing transiently (half of those
#: after the request reached the emulator, the answer lost).
FAULTS = "*:throttle=0.3,*:transient=0.025,*:transient@after=0.025"
SEED = 6


@dataclass
class Service:
    """A local server process: its endpoint, the Airflow connection to it, its output file."""

    process: subprocess.Popen[bytes]
    endpoint_url: str
    connection: str
    output: Path


def start_service(args: Sequence[str], output: Path, timeout: float = 60.0) -> Service:
    """Start ``python -m ARGS`` and wait for the connection line it prints when ready."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = output.read_text(errors="replace")
        line = next((line for line in text.splitlines() if line.startswith(READY_MARKER)), None)
        if line is not None:
            connection = line.removeprefix(READY_MARKER).strip("'")
            return Service(process, json.loads(connection)["extra"]["endpoint_url"], connection, output)
        if process.poll() is not None:
            raise RuntimeError(f"{args[0]} exited with {process.returncode}:\n{text}")
        time.sleep(0.1)
    stop_service(process)
    raise RuntimeError(f"{args[0]} not ready after {timeout:.0f}s:\n{output.read_text(errors='replace')}")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started here: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@contextlib.contextmanager
def emulator_and_proxy(
    directory: Path,
    faults: str = FAULTS,
    *,
    seed: int = SEED,
    max_running: int = 16,
    late_seconds: float | Sequence[float] | None = None,
) -> Iterator[tuple[Service, Service]]:
    """An emulator of its own and the fault proxy in front of it, for the block.

    The emulator checks its answers against botocore's shapes; the block fails at its end if
    any answer differed.
    """
    emulator = start_service(
        ["aws_batch_local", "--port", "0", "--max-running", str(max_running), "--check-shapes"],
        directory / "emulator.log",
    )
    try:
        with fault_proxy(emulator, directory, faults, seed=seed, late_seconds=late_seconds) as proxy:
            yield emulator, proxy
        assert_answers_match_botocore(emulator.endpoint_url, "the fault proxy's emulator")
    finally:
        stop_service(emulator.process)


@contextlib.contextmanager
def fault_proxy(
    upstream: Service,
    directory: Path,
    faults: str,
    *,
    seed: int = SEED,
    late_seconds: float | Sequence[float] | None = None,
) -> Iterator[Service]:
    """The fault proxy's command line in front of ``upstream``, for the block."""
    delays = [late_seconds] if isinstance(late_seconds, int | float) else list(late_seconds or [])
    late = ["--late-seconds", ",".join(f"{delay:g}" for delay in delays)] if delays else []
    proxy = start_service(
        ["aws_batch_local.faults", "--upstream", upstream.endpoint_url, "--port", "0",
         "--faults", faults, "--seed", str(seed), *late],
        directory / f"proxy-{time.monotonic_ns()}.log",
    )  # fmt: skip
    try:
        yield proxy
    finally:
        stop_service(proxy.process)


def proxy_counts(proxy: Service) -> dict[str, dict[str, Any]]:
    """The proxy's counts by action (``batch:SubmitJob`` -> requests, forwarded, succeeded, faults)."""
    with urllib.request.urlopen(f"{proxy.endpoint_url}/_faults/counts", timeout=30) as answer:
        return dict(json.load(answer))


def reset_proxy_counts(proxy: Service) -> None:
    request = urllib.request.Request(f"{proxy.endpoint_url}/_faults/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


def fault_summary(counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Requests and injected faults in all, by fault kind, and SubmitJob's own counts."""
    by_kind: dict[str, int] = {}
    for action in counts.values():
        for label, number in action["faults"].items():
            by_kind[label] = by_kind.get(label, 0) + number
    submit = counts.get("batch:SubmitJob", {"requests": 0, "succeeded": 0, "faults": {}})
    return {
        "requests": sum(action["requests"] for action in counts.values()),
        "faults": sum(by_kind.values()),
        "faults_by_kind": dict(sorted(by_kind.items())),
        "submit_job": {k: submit[k] for k in ("requests", "succeeded", "faults")},
    }


class LogCounter(logging.Handler):
    """Count log records whose message contains one of ``phrases`` (thread-safe)."""

    def __init__(self, *phrases: str) -> None:
        super().__init__(logging.DEBUG)
        self.phrases = phrases
        self.counts = dict.fromkeys(phrases, 0)
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for phrase in self.phrases:
            if phrase in message:
                with self._lock_counts:
                    self.counts[phrase] += 1

    @contextlib.contextmanager
    def attached(self, *loggers: str) -> Iterator[LogCounter]:
        """Listen on these loggers (and keep them at WARNING or below) for the block."""
        targets = [logging.getLogger(name) for name in loggers]
        levels = [target.level for target in targets]
        for target in targets:
            target.addHandler(self)
            if target.level == logging.NOTSET or target.level > logging.WARNING:
                target.setLevel(logging.WARNING)
        try:
            yield self
        finally:
            for target, level in zip(targets, levels, strict=True):
                target.removeHandler(self)
                target.setLevel(level)
