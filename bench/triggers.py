"""Benchmark: N deferred waits in one triggerer event loop, our BatchJobTrigger against the provider's.

One invocation, for each size N, starts the local emulator (``--max-running`` at least N, as far
as the machine's open-file limit allows) behind a counting loopback proxy, and for each side:

``ours``
    N ``airflow_batch_plugin.triggers.job.BatchJobTrigger(job_id, poll_interval=P)``: they all
    register with one shared poller, which describes up to 100 jobs per DescribeJobs call.
``provider``
    N ``airflow.providers.amazon.aws.triggers.batch.BatchJobTrigger(job_id=..., waiter_delay=P,
    waiter_max_attempts=...)``: each runs its own aiobotocore client and boto waiter.

Each side runs in its own child process, as Airflow's triggerer runs triggers: it creates the
trigger objects, runs each trigger's ``run()`` as an asyncio task in one event loop and takes its
first event. Before that, the child imports its side's trigger module and follows one short job
with one trigger: that is the baseline RSS. The child's connection points at the proxy, which
counts every request by Batch API path and records each DescribeJobs call (time, job ids), so
both sides are counted the same way and outside the measured process.

The jobs are submitted by the parent just before each side, fresh for each side, the same count
and durations. A job is ``sh -c 'exec 9<GATE-D; flock -s 9'``: it stays RUNNING, asleep, until
the parent releases its gate (an exclusive ``flock`` the parent holds from before the submission,
one lock file per distinct duration D). Once every job is RUNNING the parent hands the job ids to
the child ("go"); once every job has been through one DescribeJobs (every trigger is up and
polling: the end of "setup", "the gate") it releases gate D at D seconds after that moment. So
the jobs end D after all triggers are live, however long a side takes to start its triggers, and
no job process wakes up before its end. D is spread evenly over ``--min-seconds`` ..
``--max-seconds`` in tenths of a second, so the jobs do not all end in the same second. Above
``--array-above`` jobs (default 1,000) they are array jobs of up to 1,000 children (the trigger
then follows each child ``ARRAY_ID:INDEX``); below, single jobs.

Measured per side: DescribeJobs calls in all and per poll interval, peak RSS (``ru_maxrss``) of
the child and its baseline, its CPU seconds (utime + stime) while tracking, and for every job the
delay from its ``stoppedAt`` (read afterwards with DescribeJobs) to its trigger's event.

Run ``.venv/bin/python bench/triggers.py`` (sizes 100, 1,000 for both sides and 10,000 for ours
alone, P = 5 s, D = 20..40 s), ``--sizes 100`` to choose, or ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import fcntl
import json
import math
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench directory is not a package: see sys.path above
    JOB_QUEUE,
    REGION,
    Emulator,
    airflow_connection_for,
    counting_proxy,
    fmt,
    machine_cpu_seconds,
    machine_info,
    markdown_table,
    median,
    percentile,
    process_cpu_seconds,
    ratio,
    running_emulator,
    scratch_directory,
    write_results,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from common import CountingProxy

SIDES = ("ours", "provider")
READY = "BENCH-READY "
RESULT = "BENCH-RESULT "
#: Children per array job when the jobs are array children.
ARRAY_CHUNK = 1_000
#: Open files the emulator keeps for other things than job processes (sockets, logs, modules).
FILE_MARGIN = 500
#: Open files the emulator holds per running job: the output pipe and the pidfd.
FILES_PER_JOB = 2


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100,1000,10000", help="comma-separated numbers of jobs (default 100,1000,10000)"
    )
    parser.add_argument("--sides", default="ours,provider", help="which triggers to run (default both)")
    parser.add_argument(
        "--provider-max",
        type=int,
        default=1_000,
        help="largest N the provider's triggers run at (default 1000: at 10,000 it would need ~12 GB)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=5.0, help="seconds between polls, both sides (default 5)"
    )
    parser.add_argument(
        "--min-seconds", type=float, default=20.0, help="shortest job, from the gate on (default 20)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=40.0, help="longest job, from the gate on (default 40)"
    )
    parser.add_argument(
        "--array-above",
        type=int,
        default=1_000,
        help="submit array jobs (children of up to 1,000) above this many jobs (default 1000)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="log level in the tracking processes, both sides (default WARNING: no per-poll log lines)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="give up on one side's tracking after (default 600 s)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per size and side, alternating sides (default 1)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=20, P=2 s, jobs of 4..8 s")
    parser.add_argument("--json-name", default=None, help="results file name in bench/results (no .json)")
    arguments = parser.parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)
    if arguments.quick:
        arguments.sizes = "20"
        arguments.poll_interval = 2.0
        arguments.min_seconds = 4.0
        arguments.max_seconds = 8.0
    arguments.size_list = [int(size.replace("_", "")) for size in arguments.sizes.split(",") if size.strip()]
    arguments.side_list = [side.strip() for side in arguments.sides.split(",") if side.strip()]
    unknown = set(arguments.side_list) - set(SIDES)
    if unknown:
        parser.error(f"unknown side(s): {', '.join(sorted(unknown))}")
    if arguments.json_name is None:
        arguments.json_name = "triggers_quick" if arguments.quick else "triggers"
    return arguments


# -- the child: one side's triggers in one event loop ------------------------------------------------------


def make_trigger(side: str, job_id: str, poll_interval: float, max_attempts: int) -> Any:
    """Build one trigger of ``side`` for ``job_id``, with the same poll interval on both sides."""
    if side == "ours":
        from airflow_batch_plugin.triggers.job import BatchJobTrigger

        return BatchJobTrigger(job_id, aws_conn_id="aws_default", poll_interval=poll_interval)
    from airflow.providers.amazon.aws.triggers.batch import BatchJobTrigger as ProviderBatchJobTrigger

    return ProviderBatchJobTrigger(
        job_id=job_id,
        waiter_delay=int(poll_interval) if float(poll_interval).is_integer() else poll_interval,
        waiter_max_attempts=max_attempts,
        aws_conn_id="aws_default",
        region_name=None,
    )


async def track(side: str, job_ids: list[str], poll_interval: float, max_attempts: int) -> dict[str, Any]:
    """Run one trigger per job as the triggerer does: each ``run()`` as a task, up to its first event."""
    fired: dict[str, list[Any]] = {}
    errors: list[str] = []
    pollers: dict[int, Any] = {}
    done = asyncio.Event()

    async def sample_pollers() -> None:  # ours only: keep the shared pollers to read their counters
        from airflow_batch_plugin.poller import registered_pollers

        while not done.is_set():
            for poller in registered_pollers():
                pollers[id(poller)] = poller
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)

    async def follow(trigger: Any, job_id: str) -> None:
        events = trigger.run()
        try:
            event = await events.__anext__()
            fired[job_id] = [time.time(), event.payload.get("status")]
        except Exception as error:  # a failed trigger is a result to report
            errors.append(f"{job_id}: {type(error).__name__}: {error}"[:300])
        finally:
            await events.aclose()

    sampler = asyncio.create_task(sample_pollers()) if side == "ours" else None
    created = time.time()
    triggers = [make_trigger(side, job_id, poll_interval, max_attempts) for job_id in job_ids]
    tasks = [
        asyncio.create_task(follow(trigger, job_id))
        for trigger, job_id in zip(triggers, job_ids, strict=True)
    ]
    tasks_created = time.time()
    await asyncio.gather(*tasks)
    done.set()
    if sampler is not None:
        await sampler
    return {
        "fired": fired,
        "errors": errors,
        "objects_seconds": tasks_created - created,
        "poller": {
            "pollers": len(pollers),
            "rounds": sum(poller.rounds for poller in pollers.values()),
            "describe_calls": sum(poller.describe_calls for poller in pollers.values()),
            "faults": sum(poller.faults for poller in pollers.values()),
        }
        if side == "ours"
        else None,
    }


def usage() -> dict[str, float]:
    """Peak RSS (MiB) and CPU seconds (user + system) of this process so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"max_rss_mb": own.ru_maxrss / 1024.0, "cpu_seconds": own.ru_utime + own.ru_stime}


class UsageSampler:
    """Sample this process's CPU seconds and peak RSS every ``period`` seconds, on a thread.

    A thread rather than a task, so that a saturated event loop does not delay the samples much.
    The parent uses them to split the CPU time between the triggers' start and the steady state.
    """

    def __init__(self, period: float = 0.5) -> None:
        self.period = period
        self.samples: list[list[float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            now = usage()
            self.samples.append([time.time(), now["cpu_seconds"], now["max_rss_mb"]])
            if self._stop.wait(self.period):
                return

    def __enter__(self) -> UsageSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def child_main(argv: Sequence[str]) -> int:
    """Entry point of the tracking process: ``triggers.py child SIDE P MAX_ATTEMPTS BASELINE_JOB LEVEL``."""
    import logging

    side, poll_text, attempts_text, baseline_job, level = argv
    poll_interval, max_attempts = float(poll_text), int(attempts_text)
    logging.basicConfig(level=getattr(logging, level.upper(), logging.WARNING), stream=sys.stderr)
    if side == "ours":
        import airflow_batch_plugin.triggers.job  # noqa: F401
    else:
        import airflow.providers.amazon.aws.triggers.batch  # noqa: F401
    after_imports = usage()
    baseline_started = time.time()
    baseline = asyncio.run(track(side, [baseline_job], poll_interval, max_attempts))
    baseline_usage = usage()
    print(
        READY
        + json.dumps(
            {
                "after_imports": after_imports,
                "baseline": baseline_usage,
                "baseline_seconds": time.time() - baseline_started,
                "baseline_errors": baseline["errors"],
                "baseline_fired": baseline["fired"],
            }
        ),
        flush=True,
    )
    job_ids = json.loads(sys.stdin.readline())["job_ids"]
    started = time.time()
    before = usage()
    with UsageSampler() as sampler:
        tracked = asyncio.run(track(side, job_ids, poll_interval, max_attempts))
    after = usage()
    print(
        RESULT
        + json.dumps(
            {
                "started_at": started,
                "ended_at": time.time(),
                "before": before,
                "after": after,
                "tracking_cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
                "usage_samples": sampler.samples,
                **tracked,
            }
        ),
        flush=True,
    )
    return 0


# -- the parent: jobs, gate, child, measurements --------------------------------------------------------


class Child:
    """One side's tracking process, with its stdout read line by line on a thread."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, prefix: str, timeout: float) -> dict[str, Any]:
        """Wait for the line starting with ``prefix``; return its JSON."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {prefix.strip()} from the child in {timeout:.0f} s{self.tail()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=30)
                raise RuntimeError(
                    f"child exited ({self.process.returncode}) before {prefix.strip()}{self.tail()}"
                )
            if line.startswith(prefix):
                return dict(json.loads(line[len(prefix) :]))

    def send(self, payload: dict[str, Any]) -> None:
        """Write one JSON line to the child's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()

    def tail(self) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n--- child stderr (last lines) ---\n" + "\n".join(text.splitlines()[-30:]) if text else ""

    def close(self, wait: float = 60.0) -> None:
        """Wait up to ``wait`` seconds for the child to exit, then kill it."""
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def emulator_capacity(size: int) -> int:
    """How many jobs the emulator can run at once here: N, or what the open-file limit allows."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return size
    return max(1, min(size, (hard - FILE_MARGIN) // FILES_PER_JOB))


def tenths(index: int, size: int, low: float, high: float) -> int:
    """Job ``index``'s duration in tenths of a second, spread evenly over ``low`` .. ``high``."""
    low10, spread10 = round(low * 10), round((high - low) * 10)
    return low10 + index * spread10 // max(1, size)


def register_definition(batch: Any) -> str:
    """Register the benchmark job definition with plain boto3 (not counted); return its ARN."""
    response = batch.register_job_definition(
        jobDefinitionName=f"bench-triggers-{uuid.uuid4().hex[:8]}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/alpine:3",
            "command": ["sh", "-c", "true"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
        },
    )
    return str(response["jobDefinitionArn"])


class EndGates:
    """Lock files that keep the jobs RUNNING until the parent lets each one end on schedule.

    A job of duration ``d`` (tenths of a second) runs ``sh -c 'exec 9<GATE-d; flock -s 9'``: it
    asks for a shared lock on its gate and exits as soon as it has it. The parent holds every gate
    exclusively from before the submission; :meth:`start` then releases gate ``d`` at
    ``start + d / 10`` from a thread. The jobs do nothing while they wait (no process wakes up
    until its end), so the only work on the machine while the triggers run is the jobs' ends.
    """

    def __init__(self, prefix: Path, durations: set[int]) -> None:
        self.prefix = prefix
        self._files = {
            duration: Path(f"{prefix}-{duration}").open("w")  # noqa: SIM115
            for duration in sorted(durations)
        }
        for handle in self._files.values():
            fcntl.flock(handle, fcntl.LOCK_EX)
        self.started_at: float | None = None
        self.released: dict[int, float] = {}
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def count(self) -> int:
        return len(self._files)

    def command(self, duration: str | int) -> str:
        """The job's shell script: wait for gate ``duration`` (a number or a shell expansion)."""
        return f"exec 9<{self.prefix}-{duration}; flock -s 9"

    def start(self) -> float:
        """Start releasing the gates on schedule; return the start time (epoch seconds)."""
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._release, name="end-gates", daemon=True)
        self._thread.start()
        return self.started_at

    def _release(self) -> None:
        assert self.started_at is not None
        for duration, handle in self._files.items():
            if self._abort.wait(max(0.0, self.started_at + duration / 10 - time.time())):
                return
            fcntl.flock(handle, fcntl.LOCK_UN)
            self.released[duration] = time.time()

    def close(self) -> None:
        """Stop the schedule and close the lock files (which lets every job still waiting end)."""
        self._abort.set()
        if self._thread is not None:
            self._thread.join()
        for handle in self._files.values():
            handle.close()


def durations(size: int, arguments: argparse.Namespace) -> set[int]:
    """The distinct job durations (tenths of a second) of ``size`` jobs."""
    return {tenths(index, size, arguments.min_seconds, arguments.max_seconds) for index in range(size)}


def submit_jobs(
    batch: Any, definition: str, size: int, gates: EndGates, arguments: argparse.Namespace, label: str
) -> tuple[list[str], str]:
    """Submit ``size`` gated jobs (single jobs, or array jobs above ``--array-above``)."""
    low, high = arguments.min_seconds, arguments.max_seconds
    job_ids: list[str] = []
    if size <= arguments.array_above:
        for index in range(size):
            command = gates.command(tenths(index, size, low, high))
            response = batch.submit_job(
                jobName=f"bench-{label}-{index}",
                jobQueue=JOB_QUEUE,
                jobDefinition=definition,
                containerOverrides={"command": ["sh", "-c", command]},
            )
            job_ids.append(str(response["jobId"]))
        return job_ids, "single"
    low10, spread10 = round(low * 10), round((high - low) * 10)
    for first in range(0, size, ARRAY_CHUNK):
        count = min(ARRAY_CHUNK, size - first)
        command = (
            f"d=$(( {low10} + ({first} + AWS_BATCH_JOB_ARRAY_INDEX) * {spread10} / {size} )); "
            + gates.command("$d")
        )
        response = batch.submit_job(
            jobName=f"bench-{label}-{first}",
            jobQueue=JOB_QUEUE,
            jobDefinition=definition,
            arrayProperties={"size": count},
            containerOverrides={"command": ["sh", "-c", command]},
        )
        job_ids.extend(f"{response['jobId']}:{index}" for index in range(count))
    return job_ids, "array"


def describe_all(batch: Any, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Describe jobs directly on the emulator (not through the proxy: not counted)."""
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(job_ids), 100):
        for job in batch.describe_jobs(jobs=list(job_ids[first : first + 100]))["jobs"]:
            found[job["jobId"]] = job
    return found


def wait_running(batch: Any, job_ids: Sequence[str], wanted: int, timeout: float) -> dict[str, int]:
    """Wait until ``wanted`` of the jobs are RUNNING (all blocked at the gate); return the statuses."""
    deadline = time.monotonic() + timeout
    while True:
        statuses: dict[str, int] = {}
        for job in describe_all(batch, job_ids).values():
            statuses[job["status"]] = statuses.get(job["status"], 0) + 1
        if statuses.get("FAILED"):
            raise RuntimeError(f"jobs failed before their gate opened: {statuses}")
        if statuses.get("RUNNING", 0) >= wanted:
            return statuses
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {statuses} after {timeout:.0f} s")
        time.sleep(1.0)


def cpu_meters(emulator: Emulator) -> dict[str, float | None]:
    """CPU seconds so far: the whole machine, the emulator itself, this process (with the proxy)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "machine": machine_cpu_seconds(),
        "emulator": process_cpu_seconds(emulator.process.pid),
        "parent": own.ru_utime + own.ru_stime,
    }


def cpu_elsewhere(
    before: dict[str, float | None], after: dict[str, float | None], child_cpu: float
) -> dict[str, float | None]:
    """Where the machine's CPU went while one side tracked: the emulator, the parent and its proxy,
    the tracking process, and the rest: the job processes (they only exit meanwhile) and anything
    else running on the machine, such as another user's tests."""
    spent: dict[str, float | None] = {}
    for key, start in before.items():
        end = after[key]
        spent[key] = end - start if end is not None and start is not None else None
    machine, emulator, parent = spent["machine"], spent["emulator"], spent["parent"]
    other = None
    if machine is not None and emulator is not None and parent is not None:
        other = machine - emulator - parent - child_cpu
    return {
        "machine_cpu_seconds": machine,
        "emulator_cpu_seconds": emulator,
        "parent_and_proxy_cpu_seconds": parent,
        "other_cpu_seconds": other,
    }


def wait_described(proxy: CountingProxy, job_ids: Sequence[str], child: Child, timeout: float) -> int:
    """Wait until every job went through at least one DescribeJobs (every trigger is polling).

    Returns how many were described; gives up after ``timeout`` or when the child exits.
    """
    deadline = time.monotonic() + timeout
    while True:
        described = proxy.described_count(job_ids)
        if described >= len(job_ids) or time.monotonic() > deadline or child.process.poll() is not None:
            return described
        time.sleep(0.2)


def run_side(
    side: str,
    size: int,
    arguments: argparse.Namespace,
    emulator: Emulator,
    proxy: CountingProxy,
    definition: str,
    workdir: Path,
    capacity: int,
) -> dict[str, Any]:
    """Submit fresh jobs, track them with one side's triggers in a child process, measure."""
    batch = emulator.client("batch")
    poll = arguments.poll_interval
    label = f"{side}-{size}-{uuid.uuid4().hex[:6]}"
    max_attempts = math.ceil(arguments.timeout / poll) + 10
    baseline_job = batch.submit_job(
        jobName=f"bench-{label}-baseline",
        jobQueue=JOB_QUEUE,
        jobDefinition=definition,
        containerOverrides={"command": ["sleep", "0.5"]},
    )["jobId"]
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(workdir / f"airflow-{label}"),
            "AIRFLOW_CONN_AWS_DEFAULT": airflow_connection_for(proxy.endpoint_url),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": arguments.log_level.upper(),
        }
    )
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "child",
        side,
        str(poll),
        str(max_attempts),
        baseline_job,
        arguments.log_level,
    ]
    print(f"[{side} N={size:,}] starting the tracking process", flush=True)
    child = Child(command, env, workdir / f"child-{label}.log")
    result: dict[str, Any] | None = None
    try:
        ready = child.expect(READY, 180.0)
        gates = EndGates(workdir / f"gate-{label}", durations(size, arguments))
        try:
            submit_started = time.time()
            job_ids, kind = submit_jobs(batch, definition, size, gates, arguments, label)
            submitted = time.time()
            statuses = wait_running(batch, job_ids, min(size, capacity), timeout=600.0)
            running_at = time.time()
            print(
                f"[{side} N={size:,}] {size:,} {kind} jobs submitted in {submitted - submit_started:.1f} s, "
                f"{statuses.get('RUNNING', 0):,} RUNNING after {running_at - submitted:.1f} s: go",
                flush=True,
            )
            proxy.reset()
            cpu_before = cpu_meters(emulator)
            go = time.time()
            child.send({"job_ids": job_ids})
            described = wait_described(proxy, job_ids, child, timeout=arguments.timeout)
            gate_opened = gates.start()
            print(
                f"[{side} N={size:,}] {described:,} jobs described once {gate_opened - go:.1f} s after go: "
                f"the jobs end {arguments.min_seconds:g} to {arguments.max_seconds:g} s from now "
                f"({gates.count} gates)",
                flush=True,
            )
            result = child.expect(RESULT, arguments.timeout + arguments.max_seconds + 120.0)
            cpu_after = cpu_meters(emulator)
        finally:
            gates.close()
    finally:
        child.close(60.0 if result is not None else 0.0)
    stderr_lines = child.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    counted = proxy.snapshot()
    final = describe_all(batch, job_ids)
    measured = measure(side, size, kind, job_ids, (go, gate_opened), result, ready, counted, final, poll)
    measured.update(
        {
            "submit_seconds": submitted - submit_started,
            "to_running_seconds": running_at - submitted,
            "statuses_at_go": statuses,
            # what the tracking process wrote to stderr (warnings and errors at --log-level)
            "child_stderr_lines": len(stderr_lines),
            "child_stderr_tail": stderr_lines[-20:],
            "gates": gates.count,
            "gates_released": len(gates.released),
            # how late the parent released the gates against their schedule
            "gate_lateness_max": max(
                (moment - gate_opened - duration / 10 for duration, moment in gates.released.items()),
                default=None,
            ),
            "emulator_max_running": capacity,
            **cpu_elsewhere(cpu_before, cpu_after, result["tracking_cpu_seconds"]),
        }
    )
    print(
        f"[{side} N={size:,}] {measured['fired']:,} events in {measured['tracking_seconds']:.1f} s, "
        f"{measured['describe_jobs']:,} DescribeJobs, peak RSS {measured['peak_rss_mb']:.0f} MB, "
        f"CPU {measured['tracking_cpu_seconds']:.1f} s, delay median "
        f"{measured['delay_median']:.2f} s max {measured['delay_max']:.2f} s",
        flush=True,
    )
    return measured


def windows(times: Sequence[float], start: float, end: float, width: float) -> list[int]:
    """Count ``times`` in consecutive windows of ``width`` seconds from ``start`` up to ``end``."""
    count = max(1, math.ceil((end - start) / width))
    counts = [0] * count
    for moment in times:
        slot = int((moment - start) // width)
        if 0 <= slot < count:
            counts[slot] += 1
    return counts


def measure(
    side: str,
    size: int,
    kind: str,
    job_ids: list[str],
    moments: tuple[float, float],
    result: dict[str, Any],
    ready: dict[str, Any],
    counted: dict[str, Any],
    final: dict[str, dict[str, Any]],
    poll: float,
) -> dict[str, Any]:
    """Turn one side's child result, the proxy's counts and the final descriptions into a row.

    ``moments``: when the child got the job ids (go) and the gate (every job had been described
    once; the jobs' durations count from there). Calls are counted from go; the calls per
    interval from the gate on (the steady state).
    """
    go, gate = moments
    fired = result["fired"]
    delays: list[float] = []
    statuses: dict[str, int] = {}
    for job_id in job_ids:
        job = final.get(job_id, {})
        statuses[str(job.get("status"))] = statuses.get(str(job.get("status")), 0) + 1
        if job_id in fired and job.get("stoppedAt"):
            delays.append(fired[job_id][0] - job["stoppedAt"] / 1000.0)
    event_statuses: dict[str, int] = {}
    for _, status in fired.values():
        event_statuses[str(status)] = event_statuses.get(str(status), 0) + 1
    last_fired = max((moment for moment, _ in fired.values()), default=go)
    describe_calls = counted["describe_calls"]
    per_window = windows([call.t for call in describe_calls], gate, last_fired, poll)
    # The least a poller needs in each interval: one call per 100 jobs whose event had not fired
    # when the interval began (ceil(live / 100)); a call per job for the provider's design.
    fired_times = sorted(moment for moment, _ in fired.values())
    live = [
        len(job_ids) - bisect.bisect_left(fired_times, gate + index * poll)
        for index in range(len(per_window))
    ]
    needed = [math.ceil(count / 100) for count in live]
    gaps = counted["gaps"]
    steady = per_window[:-1] or per_window  # without the last (partial) window
    samples = result["usage_samples"]
    cpu_at_gate = next(
        (cpu for moment, cpu, _ in samples if moment >= gate), samples[-1][1] if samples else 0.0
    )
    cpu_end = result["after"]["cpu_seconds"]
    described = counted["described"]
    first_seen = [described[job_id][1] for job_id in job_ids if job_id in described]
    ids_per_call = [call.job_ids for call in describe_calls]
    peak = result["after"]["max_rss_mb"]
    baseline = ready["baseline"]["max_rss_mb"]
    poller = result.get("poller")
    return {
        "side": side,
        "size": size,
        "job_kind": kind,
        "fired": len(fired),
        "event_statuses": event_statuses,
        "job_statuses": statuses,
        "trigger_errors": result["errors"][:20],
        "trigger_error_count": len(result["errors"]),
        "tracking_seconds": last_fired - go,
        "setup_seconds": gate - go,
        "steady_seconds": last_fired - gate,
        "objects_seconds": result["objects_seconds"],
        "describe_jobs": len(describe_calls),
        "requests_by_path": counted["counts"],
        "proxy_errors": counted["errors"],
        "describe_per_window": per_window,
        # every DescribeJobs call: [seconds after go, seconds it took at the proxy, job ids asked]
        "describe_call_log": [
            [round(call.t - go, 3), round(call.seconds, 4), call.job_ids] for call in describe_calls
        ],
        "describe_per_window_median": median(steady),
        "live_jobs_per_window": live,
        "describe_needed_per_window": needed,
        "windows_over_needed": sum(1 for calls, need in zip(per_window, needed, strict=True) if calls > need),
        "describe_over_needed": sum(
            max(0, calls - need) for calls, need in zip(per_window, needed, strict=True)
        ),
        "redescribe_gap_median": median(gaps),
        "redescribe_gap_p5": percentile(gaps, 0.05),
        "redescribe_gap_min": min(gaps) if gaps else None,
        "redescribes": len(gaps),
        "redescribes_sooner_than_interval": sum(1 for gap in gaps if gap < poll - 0.25),
        "redescribes_sooner_than_half_interval": sum(1 for gap in gaps if gap < poll / 2),
        "describe_per_window_max": max(per_window),
        "describe_per_interval_mean": len(describe_calls) / max(1e-9, (last_fired - go) / poll),
        "ids_per_call_mean": (sum(ids_per_call) / len(ids_per_call)) if ids_per_call else None,
        "describe_seconds_median": median([call.seconds for call in describe_calls]),
        "jobs_described": len(first_seen),
        "first_described_all_after": (max(first_seen) - go) if first_seen else None,
        "times_described_median": median([described[job_id][0] for job_id in job_ids if job_id in described]),
        "poller": poller,
        "poller_calls_per_round": (
            poller["describe_calls"] / poller["rounds"] if poller and poller["rounds"] else None
        ),
        "rss_after_imports_mb": ready["after_imports"]["max_rss_mb"],
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
        "delta_rss_mb": peak - baseline,
        "baseline_seconds": ready["baseline_seconds"],
        "baseline_ok": bool(ready["baseline_fired"]) and not ready["baseline_errors"],
        "tracking_cpu_seconds": result["tracking_cpu_seconds"],
        "setup_cpu_seconds": cpu_at_gate - result["before"]["cpu_seconds"],
        "steady_cpu_seconds": cpu_end - cpu_at_gate,
        "describe_jobs_setup": sum(1 for call in describe_calls if call.t < gate),
        "describe_jobs_steady": sum(1 for call in describe_calls if call.t >= gate),
        "rss_samples_mb": [
            [round(moment - go, 1), round(rss, 1)]
            for moment, _, rss in samples[:: max(1, len(samples) // 120)]
        ],
        "total_cpu_seconds": result["after"]["cpu_seconds"],
        "delay_count": len(delays),
        "delay_median": median(delays),
        "delay_p95": percentile(delays, 0.95),
        "delay_max": max(delays) if delays else None,
        "delay_min": min(delays) if delays else None,
        "delay_over_target": sum(1 for delay in delays if delay >= poll + 1.0),
    }


# -- report -----------------------------------------------------------------------------------------------

ROW_KEYS = (
    ("side", "side"),
    ("N", "size"),
    ("runs", "runs"),
    ("jobs", "job_kind"),
    ("events", "fired"),
    ("setup s", "setup_seconds"),
    ("gate -> last event s", "steady_seconds"),
    ("DescribeJobs", "describe_jobs"),
    ("of which in setup", "describe_jobs_setup"),
    ("per interval, median", "describe_per_window_median"),
    ("per interval, max", "describe_per_window_max"),
    ("ids per call", "ids_per_call_mean"),
    ("re-described after s (median)", "redescribe_gap_median"),
    ("baseline RSS MB", "baseline_rss_mb"),
    ("peak RSS MB", "peak_rss_mb"),
    ("peak - baseline MB", "delta_rss_mb"),
    ("CPU s", "tracking_cpu_seconds"),
    ("of which after gate", "steady_cpu_seconds"),
    ("delay median s", "delay_median"),
    ("delay p95 s", "delay_p95"),
    ("delay max s", "delay_max"),
    ("other CPU s", "other_cpu_seconds"),
)

RATIO_KEYS = (
    ("DescribeJobs", "describe_jobs"),
    ("DescribeJobs per interval (median)", "describe_per_window_median"),
    ("peak RSS", "peak_rss_mb"),
    ("peak - baseline RSS", "delta_rss_mb"),
    ("CPU s", "tracking_cpu_seconds"),
    ("CPU s after gate", "steady_cpu_seconds"),
    ("setup s", "setup_seconds"),
    ("delay median", "delay_median"),
    ("delay p95", "delay_p95"),
    ("delay max", "delay_max"),
)


def ratio_cell(value: float | None) -> str:
    """A ratio with three significant digits, and as 1/x when below one tenth."""
    if value is None:
        return "-"
    if 0 < value < 0.1:
        return f"{value:.3g} (1/{1 / value:,.0f})"
    return f"{value:.3g}"


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (size, side): the median of every number over its runs (the worst for maxima)."""
    summary = []
    for size in sorted({row["size"] for row in rows}):
        for side in SIDES:
            mine = [row for row in rows if row["size"] == size and row["side"] == side]
            if not mine:
                continue
            entry: dict[str, Any] = {"side": side, "size": size, "runs": len(mine)}
            entry["job_kind"] = mine[0]["job_kind"]
            for _, key in ROW_KEYS:
                if key in entry:
                    continue
                values = [row[key] for row in mine]
                entry[key] = max(values) if key == "describe_per_window_max" else median(values)
            summary.append(entry)
    return summary


def ratios(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ours/provider per size where both ran (from the medians)."""
    out = []
    for size in sorted({row["size"] for row in summary}):
        ours = next((row for row in summary if row["size"] == size and row["side"] == "ours"), None)
        theirs = next((row for row in summary if row["size"] == size and row["side"] == "provider"), None)
        if ours is None or theirs is None:
            continue
        entry: dict[str, Any] = {"size": size}
        entry.update({key: ratio(ours[key], theirs[key]) for _, key in RATIO_KEYS})
        out.append(entry)
    return out


def targets(rows: list[dict[str, Any]], poll: float) -> list[dict[str, Any]]:
    """Check the issue's targets on every run (only those the runs cover); a target is met when
    every run meets it."""
    checks: list[dict[str, Any]] = []
    for ours in rows:
        if ours["side"] != "ours":
            continue
        size = ours["size"]
        theirs = next(
            (
                row
                for row in rows
                if row["side"] == "provider" and row["size"] == size and row["run"] == ours["run"]
            ),
            None,
        )
        if size == 1_000 and theirs is not None:
            calls = ratio(ours["describe_jobs"], theirs["describe_jobs"])
            checks.append(
                {
                    "target": "N=1,000: at least 50x fewer DescribeJobs than the provider",
                    "measured": (
                        f"{ours['describe_jobs']:,} against {theirs['describe_jobs']:,} = "
                        f"1/{1 / calls:.0f}; per interval (median) "
                        f"{fmt(ours['describe_per_window_median'])} against "
                        f"{fmt(theirs['describe_per_window_median'])}"
                        if calls
                        else "-"
                    ),
                    "met": calls is not None and calls <= 1 / 50,
                }
            )
            memory = ratio(ours["peak_rss_mb"], theirs["peak_rss_mb"])
            checks.append(
                {
                    "target": "N=1,000: at most 1/5 of the provider's peak RSS",
                    "measured": (
                        f"{ours['peak_rss_mb']:.0f} MB against {theirs['peak_rss_mb']:.0f} MB = {memory:.3f}"
                        if memory
                        else "-"
                    ),
                    "met": memory is not None and memory <= 1 / 5,
                }
            )
        if size == 10_000:
            bound = math.ceil(size / 100)
            checks.append(
                {
                    "target": f"N=10,000: at most ceil(N/100) = {bound} DescribeJobs per poll round",
                    "measured": (
                        f"per {poll:g} s interval after the gate: median "
                        f"{fmt(ours['describe_per_window_median'])}, max {ours['describe_per_window_max']}, "
                        f"{sum(1 for calls in ours['describe_per_window'] if calls > bound)} "
                        f"of {len(ours['describe_per_window'])} intervals over {bound}; "
                        f"{ours['redescribes_sooner_than_interval']:,} of {ours['redescribes']:,} "
                        f"re-descriptions sooner than P - 0.25 s (min {fmt(ours['redescribe_gap_min'])} s); "
                        f"poller rounds: {fmt(ours['poller_calls_per_round'])} calls on average"
                    ),
                    "met": ours["describe_per_window_max"] <= bound,
                }
            )
            checks.append(
                {
                    "target": "N=10,000: peak RSS under 400 MB",
                    "measured": f"{ours['peak_rss_mb']:.0f} MB",
                    "met": ours["peak_rss_mb"] < 400,
                }
            )
        checks.append(
            {
                "target": f"N={size:,}: delay after a job ends under P + 1 s = {poll + 1:g} s",
                "measured": (
                    f"median {ours['delay_median']:.2f} s, p95 {ours['delay_p95']:.2f} s, "
                    f"max {ours['delay_max']:.2f} s; {ours['delay_over_target']} of "
                    f"{ours['delay_count']:,} over"
                ),
                "met": ours["delay_max"] is not None and ours["delay_max"] < poll + 1.0,
            }
        )
    merged: dict[str, dict[str, Any]] = {}
    for check in checks:
        entry = merged.setdefault(check["target"], {"target": check["target"], "measured": [], "met": True})
        entry["measured"].append(check["measured"])
        entry["met"] = entry["met"] and check["met"]
    return [
        {"target": entry["target"], "measured": " / ".join(entry["measured"]), "met": entry["met"]}
        for entry in merged.values()
    ]


def print_report(
    summary: list[dict[str, Any]], quotients: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> None:
    """Print the medians, ratios and targets as Markdown tables."""
    print(
        markdown_table(
            [title for title, _ in ROW_KEYS], [[row[key] for _, key in ROW_KEYS] for row in summary]
        )
    )
    if quotients:
        print()
        print(
            markdown_table(
                ["ours/provider", *(f"N={entry['size']:,}" for entry in quotients)],
                [[title, *(ratio_cell(entry[key]) for entry in quotients)] for title, key in RATIO_KEYS],
            )
        )
    if checks:
        print()
        print(
            markdown_table(
                ["target (every run)", "measured (each run)", "met"],
                [[c["target"], c["measured"], c["met"]] for c in checks],
            )
        )


def run(arguments: argparse.Namespace) -> int:
    """For each size: an emulator and a proxy, then each side in its own child process."""
    info = machine_info()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    with scratch_directory("bench-triggers-") as workdir:
        for size in arguments.size_list:
            sides = [side for side in arguments.side_list if side == "ours" or size <= arguments.provider_max]
            if not sides:
                continue
            capacity = emulator_capacity(size)
            with (
                running_emulator(max_running=capacity) as emulator,
                counting_proxy(emulator.endpoint_url) as proxy,
            ):
                definition = register_definition(emulator.client("batch"))
                for repeat in range(arguments.repeats):
                    for side in sides:
                        try:
                            row = run_side(
                                side, size, arguments, emulator, proxy, definition, workdir, capacity
                            )
                        except Exception as error:  # report what was measured; say what was not
                            failures.append(
                                f"{side} N={size} run {repeat}: {type(error).__name__}: {error}"[:2000]
                            )
                            print(f"[{side} N={size:,}] FAILED: {failures[-1]}", flush=True)
                            continue
                        row["run"] = repeat
                        rows.append(row)
    summary = summarise(rows)
    quotients = ratios(summary)
    checks = targets(rows, arguments.poll_interval)
    print()
    print_report(summary, quotients, checks)
    payload = {
        "benchmark": "triggers",
        "command": "python bench/triggers.py " + " ".join(arguments.argv),
        "machine": info,
        "settings": {
            "sizes": arguments.size_list,
            "repeats": arguments.repeats,
            "sides": arguments.side_list,
            "provider_max": arguments.provider_max,
            "poll_interval_seconds": arguments.poll_interval,
            "job_seconds": [arguments.min_seconds, arguments.max_seconds],
            "array_above": arguments.array_above,
            "log_level": arguments.log_level,
        },
        "wall_seconds": time.perf_counter() - started,
        "summary_medians": summary,
        "ratios_ours_over_provider": quotients,
        "runs": rows,
        "targets": checks,
        "failures": failures,
    }
    path = write_results(arguments.json_name, payload)
    print(f"\nwall {payload['wall_seconds']:.0f} s; results in bench/results/{path.name}")
    return 1 if failures else 0


def stop_on_signal(signum: int, frame: object) -> None:
    """Turn SIGTERM (and SIGINT, which a background job ignores) into an exception: the ``finally``
    blocks then stop the tracking process, the emulator with its jobs, and the proxy."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``child`` first, one side's tracking process)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "child":
        return child_main(args[1:])
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    return run(parse_arguments(args))


if __name__ == "__main__":
    sys.exit(main())
