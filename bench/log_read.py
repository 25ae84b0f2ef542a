"""Benchmark: read a whole CloudWatch Logs stream into a task-style logger, ours against the provider's.

One invocation starts the local emulator, writes one log stream of ``--lines`` lines with boto3
PutLogEvents, then reads it back several times, each read in a fresh child process so that peak
RSS (``ru_maxrss``) belongs to that reader alone. Readers:

``ours``
    ``LogStreamFollower(CloudWatchLogsHook(), group, stream).read_new(to_end=True)``.
``ours_deferred``
    what a deferred ``BatchSubmitJobOperator`` does in ``execute_complete`` once the trigger
    fired: a ``JobMonitor`` (no live streaming) given the job's final description reads the whole
    stream page by page into the task logger (lines prefixed ``[batch]``) and judges the outcome.
``provider_hook``
    ``AwsLogsHook(aws_conn_id="aws_default").get_log_events(group, stream, start_from_head=True)``.
``provider_fetcher``
    the provider's ``AwsTaskLogFetcher`` thread (what ``BatchOperator`` streams logs with). It only
    reads on a timer until ``stop()`` and then once more to the end of the stream; it is driven by
    calling ``stop()`` before ``start()``, so its thread does exactly one full read, the read it
    does when a job ends, without any timer sleep.

Each reader logs every message through a ``logging`` logger writing to a file (as a task log
does); the parent then checks that the file holds every line, once, in order.

Run ``.venv/bin/python bench/log_read.py`` (defaults: 200,000 lines, 3 repeats) or add
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench directory is not a package: see sys.path above
    LOG_GROUP,
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
    from collections.abc import Iterator, Sequence

READERS = ("ours", "ours_deferred", "provider_hook", "provider_fetcher")
#: AWS's PutLogEvents limits: 10,000 events and 1,048,576 bytes (message bytes + 26 per event).
PUT_MAX_EVENTS = 10_000
PUT_MAX_BYTES = 1_048_576
PUT_EVENT_OVERHEAD = 26
SEQ_PATTERN = re.compile(r"seq=(\d+)")
TASK_LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"
WORDS = (
    "partition",
    "rows",
    "bytes",
    "checksum",
    "merged",
    "upload",
    "s3://airflow-batch-demo/orders",
    "status=ok",
    "retry=0",
    "latency_ms",
    "schema=v3",
    "customer",
    "region=eu-west-1",
)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the parent's, or a child's with ``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines in the stream (default 200000)")
    parser.add_argument("--repeats", type=int, default=3, help="reads per reader (default 3)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=PUT_MAX_EVENTS,
        help="events per PutLogEvents call, also capped at AWS's 1 MiB per call (default 10000)",
    )
    parser.add_argument(
        "--events-per-ms",
        type=int,
        default=1,
        help="consecutive events sharing one timestamp (default 1: strictly increasing timestamps)",
    )
    parser.add_argument(
        "--readers", default=",".join(READERS), help=f"comma-separated subset of {', '.join(READERS)}"
    )
    parser.add_argument(
        "--child-timeout", type=float, default=1800.0, help="seconds one read may take (default 1800)"
    )
    parser.add_argument("--seed", type=int, default=20261128, help="seed of the generated lines")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5000 lines, 1 repeat")
    parser.add_argument("--json-name", default=None, help="results file name in bench/results (no .json)")
    # Internal: one read in a child process.
    parser.add_argument("--child", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--stream", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)
    if arguments.quick:
        arguments.lines = 5_000
        arguments.repeats = 1
    arguments.readers = [name.strip() for name in arguments.readers.split(",") if name.strip()]
    unknown = set(arguments.readers) - set(READERS)
    if unknown:
        parser.error(f"unknown readers: {', '.join(sorted(unknown))}")
    if arguments.json_name is None:
        arguments.json_name = "log_read_quick" if arguments.quick else "log_read"
    return arguments


# -- writing the stream ------------------------------------------------------------------------------


def generate_lines(count: int, seed: int) -> Iterator[str]:
    """Yield ``count`` realistic job log lines of 80..120 characters, each with ``seq=N``."""
    rng = random.Random(seed)
    for index in range(count):
        target = rng.randint(80, 120)
        head = f"INFO [etl.transform] worker-{index % 8} seq={index:07d}"
        parts = [head]
        length = len(head)
        while length < target:
            word = rng.choice(WORDS)
            if rng.random() < 0.5:
                word = f"{word}={rng.randint(0, 99999)}"
            parts.append(word)
            length += len(word) + 1
        yield " ".join(parts)[:target]


def write_stream(
    emulator: Emulator, stream: str, lines: int, batch_size: int, events_per_ms: int, seed: int
) -> dict[str, Any]:
    """Create ``stream`` in the job log group and fill it; return what was written."""
    logs = emulator.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    first_ms = int(time.time() * 1000) - lines // max(events_per_ms, 1) - 60_000
    started = time.perf_counter()
    calls = 0
    total_bytes = 0
    batch: list[dict[str, Any]] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal calls, batch, batch_bytes
        if batch:
            logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=batch)
            calls += 1
            batch, batch_bytes = [], 0

    for index, message in enumerate(generate_lines(lines, seed)):
        size = len(message.encode()) + PUT_EVENT_OVERHEAD
        if len(batch) >= batch_size or batch_bytes + size > PUT_MAX_BYTES:
            flush()
        batch.append({"timestamp": first_ms + index // events_per_ms, "message": message})
        batch_bytes += size
        total_bytes += len(message.encode())
    flush()
    return {
        "lines": lines,
        "put_log_events_calls": calls,
        "message_bytes": total_bytes,
        "events_per_ms": events_per_ms,
        "write_seconds": round(time.perf_counter() - started, 3),
    }


# -- one read, in a child process ---------------------------------------------------------------------


def run_child(arguments: argparse.Namespace) -> int:
    """Read the stream once with ``arguments.child``; write the measurements to ``--result``."""
    import logging
    from datetime import timedelta

    from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook
    from airflow.providers.amazon.aws.utils.task_log_fetcher import AwsTaskLogFetcher
    from common import CallCounter, max_rss_mb

    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook, LogStreamFollower

    rss_after_imports = max_rss_mb()
    logger = logging.getLogger(f"bench.log_read.{arguments.child}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(arguments.out, encoding="utf-8")
    handler.setFormatter(logging.Formatter(TASK_LOG_FORMAT))
    logger.addHandler(handler)
    counter = CallCounter()
    stream = arguments.stream
    events = None

    # Build the hook and its client first, so the baseline covers everything but the read itself.
    if arguments.child == "ours":
        ours_hook = CloudWatchLogsHook(aws_conn_id="aws_default")
        counter.watch(ours_hook.client, "logs", "GetLogEvents")
        rss_baseline = max_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        events = 0
        follower = LogStreamFollower(ours_hook, LOG_GROUP, stream)
        for events, event in enumerate(follower.read_new(to_end=True), start=1):  # noqa: B007
            logger.info("%s", event.message)
        wall = time.perf_counter() - started
    elif arguments.child == "ours_deferred":
        from airflow_batch_plugin.hooks.batch import BatchHook
        from airflow_batch_plugin.monitor import JobMonitor

        logs_hook = CloudWatchLogsHook(aws_conn_id="aws_default")
        counter.watch(logs_hook.client, "logs", "GetLogEvents")
        monitor = JobMonitor(
            batch=BatchHook(aws_conn_id="aws_default"),
            logs=logs_hook,
            job_id="bench-job",
            log=logger,
            stream_logs=False,
        )
        final = {"jobId": "bench-job", "status": "SUCCEEDED", "container": {"logStreamName": stream}}
        rss_baseline = max_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        monitor.observe(final)
        monitor.finish(final)
        events = None  # counted in the task log file by the parent
        wall = time.perf_counter() - started
    elif arguments.child == "provider_hook":
        provider_hook = AwsLogsHook(aws_conn_id="aws_default")
        counter.watch(provider_hook.conn, "logs", "GetLogEvents")
        rss_baseline = max_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        events = 0
        reader = provider_hook.get_log_events(LOG_GROUP, stream, start_from_head=True)
        for events, log_event in enumerate(reader, start=1):  # noqa: B007
            logger.info("%s", log_event["message"])
        wall = time.perf_counter() - started
    else:
        fetcher = AwsTaskLogFetcher(
            log_group=LOG_GROUP,
            log_stream_name=stream,
            fetch_interval=timedelta(seconds=30),  # BatchOperator's default; unused, see below
            logger=logger,
            aws_conn_id="aws_default",
        )
        counter.watch(fetcher.hook.conn, "logs", "GetLogEvents")
        rss_baseline = max_rss_mb()
        # stop() before start(): run() skips its timed loop and does its final read to the end.
        fetcher.stop()
        cpu_started = time.process_time()
        started = time.perf_counter()
        fetcher.start()
        fetcher.join()
        wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    handler.close()
    peak = max_rss_mb()
    result = {
        "reader": arguments.child,
        "events_yielded": events,
        "wall_seconds": wall,
        "read_cpu_seconds": cpu,
        "get_log_events_calls": counter.get("GetLogEvents"),
        "rss_after_imports_mb": rss_after_imports,
        "rss_baseline_mb": rss_baseline,
        "rss_peak_mb": peak,
        "rss_delta_mb": peak - rss_baseline,
    }
    Path(arguments.result).write_text(json.dumps(result))
    return 0


def check_output(path: Path, expected: int) -> dict[str, Any]:
    """Count the logged lines and check that ``seq`` runs 0..expected-1 exactly once, in order."""
    lines = matched = out_of_order = 0
    seen: set[int] = set()
    duplicates = 0
    previous = -1
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            lines += 1
            match = SEQ_PATTERN.search(line)
            if match is None:
                continue
            seq = int(match.group(1))
            matched += 1
            if seq in seen:
                duplicates += 1
            seen.add(seq)
            if seq < previous:
                out_of_order += 1
            previous = seq
    missing = expected - len(seen)
    return {
        "lines_in_file": lines,
        "job_lines": matched,
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "complete_in_order": missing == 0 and duplicates == 0 and out_of_order == 0,
    }


def read_once(
    reader: str, stream: str, expected: int, workdir: Path, environment: dict[str, str], timeout: float
) -> dict[str, Any]:
    """Run one read in a child process; return its measurements and the output check."""
    tag = uuid.uuid4().hex[:8]
    out = workdir / f"{reader}-{tag}.log"
    result = workdir / f"{reader}-{tag}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        reader,
        "--stream",
        stream,
        "--out",
        str(out),
        "--result",
        str(result),
    ]
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0 or not result.exists():
        raise RuntimeError(
            f"reader {reader} failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    measured = json.loads(result.read_text())
    measured.update(check_output(out, expected))
    measured["events_per_second"] = expected / measured["wall_seconds"] if measured["wall_seconds"] else None
    out.unlink()
    result.unlink()
    return measured


# -- the run --------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], readers: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Medians per reader over its repeats."""
    summary: dict[str, dict[str, Any]] = {}
    for reader in readers:
        mine = [run for run in runs if run["reader"] == reader]
        summary[reader] = {
            "repeats": len(mine),
            "events_per_second": median([run["events_per_second"] for run in mine]),
            "wall_seconds": median([run["wall_seconds"] for run in mine]),
            "read_cpu_seconds": median([run["read_cpu_seconds"] for run in mine]),
            "rss_after_imports_mb": median([run["rss_after_imports_mb"] for run in mine]),
            "rss_baseline_mb": median([run["rss_baseline_mb"] for run in mine]),
            "rss_peak_mb": median([run["rss_peak_mb"] for run in mine]),
            "rss_delta_mb": median([run["rss_delta_mb"] for run in mine]),
            "get_log_events_calls": median([run["get_log_events_calls"] for run in mine]),
            "lines_logged_min": min(run["job_lines"] for run in mine),
            "all_complete_in_order": all(run["complete_in_order"] for run in mine),
        }
    return summary


def ratios(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each of our readers over each provider reader, for every median."""
    result: dict[str, dict[str, float | None]] = {}
    keys = (
        "events_per_second",
        "wall_seconds",
        "read_cpu_seconds",
        "rss_peak_mb",
        "rss_delta_mb",
        "get_log_events_calls",
    )
    ours = [name for name in summary if name.startswith("ours")]
    for mine in ours:
        for other in summary:
            if other in ours:
                continue
            result[f"{mine}/{other}"] = {key: ratio(summary[mine][key], summary[other][key]) for key in keys}
    return result


def print_report(setup: dict[str, Any], summary: dict[str, Any], quotients: dict[str, Any]) -> None:
    """Print the medians and the ratios as Markdown tables."""
    print(
        f"\nStream: {setup['lines']:,} lines, {setup['message_bytes'] / 1e6:.1f} MB of messages, "
        f"written in {setup['put_log_events_calls']} PutLogEvents calls ({setup['write_seconds']:.1f} s)\n"
    )
    headers = [
        "reader",
        "runs",
        "events/s",
        "wall s",
        "read CPU s",
        "RSS after imports MB",
        "RSS baseline MB",
        "peak RSS MB",
        "delta MB",
        "GetLogEvents",
        "all lines, in order",
    ]
    rows = [
        [
            name,
            row["repeats"],
            row["events_per_second"],
            row["wall_seconds"],
            row["read_cpu_seconds"],
            row["rss_after_imports_mb"],
            row["rss_baseline_mb"],
            row["rss_peak_mb"],
            row["rss_delta_mb"],
            row["get_log_events_calls"],
            f"{'yes' if row['all_complete_in_order'] else 'NO'} (min {row['lines_logged_min']:,})",
        ]
        for name, row in summary.items()
    ]
    print(markdown_table(headers, rows))
    if quotients:
        print()
        headers = ["ratio", "events/s", "wall s", "read CPU s", "peak RSS", "delta RSS", "GetLogEvents"]
        rows = [
            [
                name,
                values["events_per_second"],
                values["wall_seconds"],
                values["read_cpu_seconds"],
                values["rss_peak_mb"],
                values["rss_delta_mb"],
                values["get_log_events_calls"],
            ]
            for name, values in quotients.items()
        ]
        print(markdown_table(headers, rows))


def run_parent(arguments: argparse.Namespace) -> int:
    """Start the emulator, write the stream, run every reader ``repeats`` times, report."""
    info = machine_info()
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with scratch_directory("bench-log-read-") as workdir, running_emulator(max_running=8) as emulator:
        environment = {**os.environ, **emulator.environment(str(workdir / "airflow"))}
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(Path(__file__).resolve().parent), environment.get("PYTHONPATH")) if part
        )
        stream = f"bench-log-read/{uuid.uuid4().hex}"
        print(f"Writing {arguments.lines:,} lines to {LOG_GROUP} {stream} ...", flush=True)
        setup = write_stream(
            emulator, stream, arguments.lines, arguments.batch_size, arguments.events_per_ms, arguments.seed
        )
        readers = list(arguments.readers)
        for repeat in range(arguments.repeats):
            order = readers[repeat % len(readers) :] + readers[: repeat % len(readers)]
            for reader in order:
                run = read_once(
                    reader, stream, arguments.lines, workdir, environment, arguments.child_timeout
                )
                run["repeat"] = repeat
                runs.append(run)
                print(
                    f"  repeat {repeat + 1} {reader:17s} {run['wall_seconds']:7.2f} s "
                    f"{run['events_per_second']:10,.0f} ev/s  peak {run['rss_peak_mb']:6.1f} MB "
                    f"(+{run['rss_delta_mb']:.1f})  GetLogEvents {run['get_log_events_calls']}  "
                    f"lines {run['job_lines']:,}/{arguments.lines:,} "
                    f"{'ok' if run['complete_in_order'] else 'INCOMPLETE OR OUT OF ORDER'}",
                    flush=True,
                )
    summary = summarise(runs, arguments.readers)
    quotients = ratios(summary)
    print_report(setup, summary, quotients)
    command = shlex.join(["bench/log_read.py", *arguments.argv])
    path = write_results(
        arguments.json_name,
        {
            "benchmark": "log_read",
            "command": f".venv/bin/python {command}",
            "arguments": {
                "lines": arguments.lines,
                "repeats": arguments.repeats,
                "batch_size": arguments.batch_size,
                "events_per_ms": arguments.events_per_ms,
                "readers": arguments.readers,
                "seed": arguments.seed,
            },
            "machine": info,
            "stream": setup,
            "medians": summary,
            "ratios": quotients,
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )
    print(f"\nResults written to bench/results/{path.name}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the parent run, or one read when called with ``--child``."""
    arguments = parse_arguments(argv)
    if arguments.child:
        return run_child(arguments)
    return run_parent(arguments)


if __name__ == "__main__":
    sys.exit(main())
