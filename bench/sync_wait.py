"""Benchmark: wait synchronously for a Batch job while streaming its log, ours against the provider's.

One invocation starts the local emulator, registers a job definition whose job prints ``--lines``
lines over about ``--lines / --burst`` seconds, and for each of ``--repeats`` repetitions submits
two identical jobs and waits for one with each implementation, with the same poll interval:

``ours``
    what ``BatchSubmitJobOperator.poll_until_complete`` does: ``JobStatusPoller(BatchHook(),
    interval).wait([job_id], on_round=monitor.observe)`` with a ``JobMonitor`` streaming the
    job's log into the task logger, then ``monitor.finish(job)``.
``provider``
    what ``BatchOperator.monitor_job`` does with ``awslogs_enabled=True`` (links left out):
    ``BatchClientHook.wait_for_job(job_id, delay, get_batch_log_fetcher=...)``, where the fetcher
    factory is ``BatchOperator._get_batch_log_fetcher`` (``get_job_awslogs_info`` then an
    ``AwsTaskLogFetcher`` thread on the job's stream, stopped and joined when the job ends), then
    ``check_job_success``.

By default both waits run at the same time, in two threads (``--mode concurrent``); with
``--mode sequential`` they run one after the other, alternating which goes first.

Each waiter gets its own boto3 clients, so botocore event hooks count its DescribeJobs and
GetLogEvents calls exactly (the JSON keeps every call with its time and answer). Each writes to
its own log file; afterwards the script checks that all lines arrived once and in order, and how
many arrived while the job was still running. The job of pair ``r`` first sleeps
``r / repeats`` of a poll interval, so that the jobs' ends fall at different phases of the poll
rounds (a fixed-length job and a fixed-interval poller would otherwise always meet at one phase).

Run ``.venv/bin/python bench/sync_wait.py`` (defaults: 5 repeats, 2,000 lines, 2 s poll interval)
or add ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench directory is not a package: see sys.path above
    JOB_QUEUE,
    CallCounter,
    Emulator,
    machine_info,
    markdown_table,
    median,
    ratio,
    running_emulator,
    scratch_directory,
    write_results,
)

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence

WAITERS = ("ours", "provider")
LINE_PATTERN = re.compile(r"line (\d+) of the benchmark job")
#: Each record carries its creation time, so lines logged before the job stopped can be told apart.
RECORD_FORMAT = "%(created).6f %(levelname)s - %(message)s"


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="job pairs to wait for (default 5)")
    parser.add_argument("--lines", type=int, default=2_000, help="lines each job prints (default 2000)")
    parser.add_argument(
        "--burst", type=int, default=250, help="lines the job prints between 1 s sleeps (default 250)"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=2.0, help="seconds between status polls, both sides (2)"
    )
    parser.add_argument(
        "--fetch-interval",
        type=float,
        default=None,
        help="AwsTaskLogFetcher's fetch interval in seconds (default: the poll interval; "
        "BatchOperator's own default is 30)",
    )
    parser.add_argument(
        "--mode",
        choices=("concurrent", "sequential"),
        default="concurrent",
        help="run both waits at once in two threads, or one after the other (default concurrent)",
    )
    parser.add_argument(
        "--provider-delay",
        default=None,
        help="delay passed to BatchClientHook.wait_for_job: seconds, or 'none' for BatchOperator's "
        "own call (no delay: random 1..10 s sleeps) (default: the poll interval)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="give up on one wait after (300 s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 500 lines")
    parser.add_argument("--json-name", default=None, help="results file name in bench/results (no .json)")
    arguments = parser.parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)
    if arguments.quick:
        arguments.repeats = 1
        arguments.lines = 500
    if arguments.fetch_interval is None:
        arguments.fetch_interval = arguments.poll_interval
    if arguments.provider_delay is None:
        arguments.provider_delay = arguments.poll_interval
    elif str(arguments.provider_delay).lower() == "none":
        arguments.provider_delay = None
    else:
        arguments.provider_delay = float(arguments.provider_delay)
    if arguments.json_name is None:
        arguments.json_name = "sync_wait_quick" if arguments.quick else "sync_wait"
    return arguments


def job_script(lines: int, burst: int, offset: float = 0.0) -> str:
    """The job's shell script: ``lines`` numbered lines, a 1 s sleep after every ``burst``.

    ``offset`` seconds of sleep come first: it moves the job's end against the poll rounds.
    """
    return (
        (f"sleep {offset:.2f}; " if offset > 0 else "") + f"i=0; while [ $i -lt {lines} ]; do "
        'echo "line $i of the benchmark job: partition=$((i % 8)) rows=$((i * 37 % 10007)) status=ok"; '
        f"i=$((i+1)); [ $((i % {burst})) -eq 0 ] && sleep 1; done; true"
    )


def register_definition(emulator: Emulator, lines: int, burst: int) -> str:
    """Register the benchmark job definition with plain boto3; return its ARN."""
    batch = emulator.client("batch")
    response = batch.register_job_definition(
        jobDefinitionName=f"bench-sync-wait-{uuid.uuid4().hex[:8]}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/alpine:3",
            "command": ["sh", "-c", job_script(lines, burst)],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
        },
    )
    return str(response["jobDefinitionArn"])


# -- the two waiters --------------------------------------------------------------------------------------


@dataclass
class Wait:
    """One job waited for by one implementation, and what was measured."""

    waiter: str
    job_id: str
    log_path: Path
    submitted_at: float
    offset: float = 0.0
    counter: CallCounter = field(default_factory=CallCounter)
    returned_at: float | None = None
    error: str | None = None


def task_logger(name: str, path: Path) -> tuple[logging.Logger, logging.Handler]:
    """A logger writing to ``path`` only, like a task log file."""
    import logging

    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(RECORD_FORMAT))
    logger.addHandler(handler)
    return logger, handler


def wait_ours(wait: Wait, logger: logging.Logger, poll_interval: float) -> None:
    """Wait as BatchSubmitJobOperator.poll_until_complete does."""
    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
    from airflow_batch_plugin.monitor import JobMonitor
    from airflow_batch_plugin.poller import JobStatusPoller

    batch = BatchHook(aws_conn_id="aws_default")
    logs = CloudWatchLogsHook(aws_conn_id="aws_default")
    wait.counter.watch(batch.client, "batch", "DescribeJobs")
    wait.counter.watch(logs.client, "logs", "GetLogEvents")
    monitor = JobMonitor(batch=batch, logs=logs, job_id=wait.job_id, log=logger, stream_logs=True)
    poller = JobStatusPoller(batch, poll_interval)

    def observe(found: dict[str, dict[str, Any]]) -> None:
        if wait.job_id in found:
            monitor.observe(found[wait.job_id])

    jobs = poller.wait([wait.job_id], on_round=observe)
    monitor.finish(jobs[wait.job_id])


def wait_provider(wait: Wait, logger: logging.Logger, delay: float | None, fetch_interval: float) -> None:
    """Wait as BatchOperator.monitor_job does with awslogs_enabled=True (links left out)."""
    from datetime import timedelta

    from airflow.providers.amazon.aws.hooks.batch_client import BatchClientHook
    from airflow.providers.amazon.aws.utils.task_log_fetcher import AwsTaskLogFetcher

    hook = BatchClientHook(aws_conn_id="aws_default")
    wait.counter.watch(hook.client, "batch", "DescribeJobs")

    def get_batch_log_fetcher(job_id: str) -> AwsTaskLogFetcher | None:
        # BatchOperator._get_batch_log_fetcher, with a counter on the fetcher's client.
        info = hook.get_job_awslogs_info(job_id)
        if not info:
            return None
        fetcher = AwsTaskLogFetcher(
            aws_conn_id="aws_default",
            region_name=info["awslogs_region"],
            log_group=info["awslogs_group"],
            log_stream_name=info["awslogs_stream_name"],
            fetch_interval=timedelta(seconds=fetch_interval),
            logger=logger,
        )
        wait.counter.watch(fetcher.hook.conn, "logs", "GetLogEvents")
        return fetcher

    hook.wait_for_job(wait.job_id, delay=delay, get_batch_log_fetcher=get_batch_log_fetcher)
    hook.check_job_success(wait.job_id)


def run_wait(wait: Wait, body: Callable[[logging.Logger], None]) -> None:
    """Run one waiter with its own task logger; record when it returned or what it raised."""
    logger, handler = task_logger(f"bench.sync_wait.{wait.waiter}.{wait.job_id}", wait.log_path)
    try:
        body(logger)
    except Exception as error:  # a failed wait is a result to report, not a crash of the benchmark
        wait.error = f"{type(error).__name__}: {error}"[:500]
    finally:
        wait.returned_at = time.time()
        logger.removeHandler(handler)
        handler.close()


def preload() -> None:
    """Import both implementations up front, so that no wait pays for first imports."""
    for module in (
        "airflow.providers.amazon.aws.hooks.batch_client",
        "airflow.providers.amazon.aws.utils.task_log_fetcher",
        "airflow_batch_plugin.hooks.batch",
        "airflow_batch_plugin.hooks.logs",
        "airflow_batch_plugin.monitor",
        "airflow_batch_plugin.poller",
    ):
        importlib.import_module(module)


# -- checking and reporting --------------------------------------------------------------------------------


def check_log(path: Path, expected: int, stopped_at: float | None) -> dict[str, Any]:
    """Check that lines 0..expected-1 reached the log once and in order; count those logged live."""
    seen: set[int] = set()
    matched = duplicates = out_of_order = live = 0
    previous = -1
    first_line_at: float | None = None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            match = LINE_PATTERN.search(line)
            if match is None:
                continue
            created = float(line.split(" ", 1)[0])
            if first_line_at is None:
                first_line_at = created
            seq = int(match.group(1))
            matched += 1
            if seq in seen:
                duplicates += 1
            seen.add(seq)
            if seq < previous:
                out_of_order += 1
            previous = seq
            if stopped_at is not None and created < stopped_at:
                live += 1
    missing = expected - len(seen)
    return {
        "lines_logged": matched,
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "complete_in_order": missing == 0 and duplicates == 0 and out_of_order == 0,
        "lines_logged_before_stop": live,
        "first_line_at": first_line_at,
    }


def measure(wait: Wait, job: dict[str, Any], expected: int) -> dict[str, Any]:
    """Turn one finished wait and the job's final description into a result row."""
    stopped_at = job["stoppedAt"] / 1000.0 if job.get("stoppedAt") else None
    started_at = job["startedAt"] / 1000.0 if job.get("startedAt") else None
    checked = check_log(wait.log_path, expected, stopped_at)
    returned_at = wait.returned_at or time.time()
    first_line_at = checked.pop("first_line_at")
    return {
        "waiter": wait.waiter,
        "job_status": job.get("status"),
        "error": wait.error,
        "wall_seconds": returned_at - wait.submitted_at,
        "job_run_seconds": (stopped_at - started_at) if stopped_at and started_at else None,
        "stopped_to_return_seconds": (returned_at - stopped_at) if stopped_at else None,
        "job_offset_seconds": wait.offset,
        # From the moment the job printed its first line (start + leading sleep) to the task log.
        "start_to_first_line_seconds": (
            (first_line_at - started_at - wait.offset) if first_line_at and started_at else None
        ),
        "describe_jobs_calls": wait.counter.get("DescribeJobs"),
        "get_log_events_calls": wait.counter.get("GetLogEvents"),
        **checked,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Medians per waiter over the repetitions."""
    keys = (
        "wall_seconds",
        "job_run_seconds",
        "stopped_to_return_seconds",
        "start_to_first_line_seconds",
        "describe_jobs_calls",
        "get_log_events_calls",
        "lines_logged",
        "lines_logged_before_stop",
    )
    summary: dict[str, dict[str, Any]] = {}
    for waiter in WAITERS:
        mine = [run for run in runs if run["waiter"] == waiter]
        if not mine:
            continue
        row: dict[str, Any] = {"repeats": len(mine)}
        row.update({key: median([run[key] for run in mine]) for key in keys})
        row["lines_logged_min"] = min(run["lines_logged"] for run in mine)
        row["all_complete_in_order"] = all(run["complete_in_order"] for run in mine)
        row["errors"] = sum(1 for run in mine if run["error"])
        summary[waiter] = row
    return summary


def print_report(summary: dict[str, dict[str, Any]], quotients: dict[str, float | None], lines: int) -> None:
    """Print the medians and ratios as Markdown tables."""
    headers = [
        "waiter",
        "runs",
        "wall s",
        "job ran s",
        "stoppedAt -> return s",
        "first line -> task log s",
        "DescribeJobs",
        "GetLogEvents",
        "lines logged",
        "logged before stop",
        f"all {lines:,}, in order",
        "errors",
    ]
    rows = [
        [
            name,
            row["repeats"],
            row["wall_seconds"],
            row["job_run_seconds"],
            row["stopped_to_return_seconds"],
            row["start_to_first_line_seconds"],
            row["describe_jobs_calls"],
            row["get_log_events_calls"],
            row["lines_logged"],
            row["lines_logged_before_stop"],
            f"{'yes' if row['all_complete_in_order'] else 'NO'} (min {row['lines_logged_min']:,})",
            row["errors"],
        ]
        for name, row in summary.items()
    ]
    print(markdown_table(headers, rows))
    if quotients:
        print()
        print(markdown_table(["ours/provider", "value"], [[key, value] for key, value in quotients.items()]))


def run(arguments: argparse.Namespace) -> int:
    """Start the emulator, wait for ``repeats`` job pairs, report."""
    info = machine_info()
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with scratch_directory("bench-sync-wait-") as workdir, running_emulator(max_running=8) as emulator:
        os.environ.update(emulator.environment(str(workdir / "airflow")))
        # The hooks' own progress lines ("status check ... in the next 2.3 seconds") are not measured.
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        preload()
        definition = register_definition(emulator, arguments.lines, arguments.burst)
        batch = emulator.client("batch")  # submissions and final descriptions: not counted

        def submit(waiter: str, repeat: int) -> Wait:
            # Both jobs of a pair are identical; from pair to pair a leading sleep of
            # repeat/repeats of a poll interval spreads the jobs' ends evenly over a poll period
            # (with a fixed-length job, a fixed-interval poller would otherwise always see the
            # end at the same phase).
            offset = arguments.poll_interval * repeat / arguments.repeats
            name = f"bench-{waiter}-{repeat}-{uuid.uuid4().hex[:6]}"
            command = ["sh", "-c", job_script(arguments.lines, arguments.burst, offset)]
            submitted_at = time.time()
            job_id = batch.submit_job(
                jobName=name,
                jobQueue=JOB_QUEUE,
                jobDefinition=definition,
                containerOverrides={"command": command},
            )["jobId"]
            wait = Wait(waiter, job_id, workdir / f"{name}.log", submitted_at, offset)
            wait.counter = CallCounter(trace=True)  # every call's time and answer go to the JSON
            return wait

        def body(wait: Wait) -> Callable[[logging.Logger], None]:
            if wait.waiter == "ours":
                return lambda logger: wait_ours(wait, logger, arguments.poll_interval)
            return lambda logger: wait_provider(
                wait, logger, arguments.provider_delay, arguments.fetch_interval
            )

        for repeat in range(arguments.repeats):
            order = list(WAITERS) if repeat % 2 == 0 else list(reversed(WAITERS))
            waits: list[Wait] = []
            if arguments.mode == "concurrent":
                waits = [submit(waiter, repeat) for waiter in order]
                threads = [
                    threading.Thread(target=run_wait, args=(wait, body(wait)), name=wait.waiter, daemon=True)
                    for wait in waits
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(arguments.timeout)
            else:
                for waiter in order:
                    wait = submit(waiter, repeat)
                    thread = threading.Thread(target=run_wait, args=(wait, body(wait)), daemon=True)
                    thread.start()
                    thread.join(arguments.timeout)
                    waits.append(wait)
            jobs = batch.describe_jobs(jobs=[wait.job_id for wait in waits])["jobs"]
            described = {job["jobId"]: job for job in jobs}
            for wait in waits:
                if wait.returned_at is None:
                    wait.error = f"did not return within {arguments.timeout:.0f}s"
                row = measure(wait, described.get(wait.job_id, {}), arguments.lines)
                row["repeat"] = repeat
                if wait.counter.trace is not None:
                    row["trace"] = _relative_trace(wait, described.get(wait.job_id, {}))
                runs.append(row)
                print(
                    f"  repeat {repeat + 1} {wait.waiter:8s} wall {row['wall_seconds']:6.2f} s  "
                    f"stop->return {_seconds(row['stopped_to_return_seconds'])}  "
                    f"DescribeJobs {row['describe_jobs_calls']:3d}  "
                    f"GetLogEvents {row['get_log_events_calls']:3d}  "
                    f"lines {row['lines_logged']:,}/{arguments.lines:,} "
                    f"({row['lines_logged_before_stop']:,} before stop) "
                    f"{'ok' if row['complete_in_order'] else 'INCOMPLETE OR OUT OF ORDER'}"
                    f"{'  ERROR ' + row['error'] if row['error'] else ''}",
                    flush=True,
                )
    summary = summarise(runs)
    quotients: dict[str, float | None] = {}
    if "ours" in summary and "provider" in summary:
        for key in (
            "wall_seconds",
            "stopped_to_return_seconds",
            "describe_jobs_calls",
            "get_log_events_calls",
        ):
            quotients[key] = ratio(summary["ours"][key], summary["provider"][key])
    print()
    print_report(summary, quotients, arguments.lines)
    command = shlex.join(["bench/sync_wait.py", *arguments.argv])
    path = write_results(
        arguments.json_name,
        {
            "benchmark": "sync_wait",
            "command": f".venv/bin/python {command}",
            "arguments": {
                "repeats": arguments.repeats,
                "lines": arguments.lines,
                "burst": arguments.burst,
                "poll_interval": arguments.poll_interval,
                "fetch_interval": arguments.fetch_interval,
                "provider_delay": arguments.provider_delay,
                "mode": arguments.mode,
            },
            "machine": info,
            "medians": summary,
            "ratios": quotients,
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )
    print(f"\nResults written to bench/results/{path.name}")
    return 0


def _relative_trace(wait: Wait, job: dict[str, Any]) -> dict[str, Any]:
    """The traced calls with times in seconds after submission, and the job's own milestones."""
    assert wait.counter.trace is not None

    def since(moment: float | None) -> float | None:
        return None if moment is None else round(moment - wait.submitted_at, 3)

    return {
        "job_started_s": since(job["startedAt"] / 1000.0) if job.get("startedAt") else None,
        "job_stopped_s": since(job["stoppedAt"] / 1000.0) if job.get("stoppedAt") else None,
        "returned_s": since(wait.returned_at),
        "calls": [{**entry, "t": since(entry["t"])} for entry in wait.counter.trace],
    }


def _seconds(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.2f} s"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    return run(parse_arguments(argv))


if __name__ == "__main__":
    sys.exit(main())
