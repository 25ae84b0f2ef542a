"""Benchmark: an ended array job's children's logs read into a task log, bounded in the array's size.

For each size N (default 1,000 and 10,000) the script starts the local emulator behind a
counting loopback proxy, submits one real array job of N children with plain boto3 (not
counted) and waits until it has ended. Each child prints ``--lines`` lines naming its index
(``bench-array child=<i> line=<n>/<L>``); ``--failures`` children spread over the array print one
more line (``... line=<L+1>/<L> exit 5``) and exit with code 5, so the array ends FAILED and the
failed-children path is measured too. Then every reader reads the ended array once per repeat,
each in a fresh child process whose AWS connection points at the proxy, logging into a file
handler in Airflow's task-log format:

``ours_default``
    what ``BatchSubmitJobOperator`` does in ``execute_complete`` with its defaults: DescribeJobs of
    the parent, then ``JobMonitor(stream_logs=False, array_children_logs=3, failed_children=3)``
    ``.observe(job)`` and ``.finish(job)`` (children 0-2 and the first 3 failed children, their
    lines labelled ``[batch child N]``), then the XComs (``job_result_xcoms``).
``ours_all``
    the same with ``array_children_logs="all"``: every child, described 100 at a time, each
    child's stream read to its end.
``provider``
    what the Amazon provider's ``BatchOperator`` does for the same job: ``_get_batch_log_fetcher``
    (``BatchClientHook.get_job_awslogs_info(job_id)`` on the parent, and an ``AwsTaskLogFetcher``
    on the stream it names, if any, doing its final read to the end), then
    ``check_job_success(job_id)``. Its deferrable path (``execute_complete``) asks the same
    ``get_job_awslogs_info`` first. Its docstring says that for an array job "only the logs of the
    first task will be printed"; the check below holds it to that.

Measured per read: the DescribeJobs, ListJobs and GetLogEvents calls the proxy saw, the lines in
the task log and whether each expected line is there exactly once and labelled with its own
child, wall time, CPU time of the read (``time.process_time``), peak RSS and RSS over the baseline
taken after imports, hooks and clients. GetLogEvents pacing is off (``[aws_batch]
get_log_events_rate = 0``; the emulator does not throttle): the calls are counted, and at the
default rate of 10 a second each call costs 0.1 s of wall time on top.

The script checks its own claims and exits 1 when one fails: the default reader's calls do not
grow from the smallest N to the largest (of the sizes whose failing children all lie past the
first 3, so that it reads the same children at both), "all" reads every child (at least one GetLogEvents per
child, 1 + ceil(N/100) DescribeJobs), both of ours log every expected line exactly once, and
every reader's RSS over baseline at the largest N stays within ``delta(smallest N) + max(5 MB,
50 %)``: a reader that kept even 1 KB per child would exceed it between 1,000 and 10,000
children (9 MB more), and one parsed child description is several KB.

Run ``.venv/bin/python bench/array_logs.py`` (N = 1,000 and 10,000, 3 repeats), ``--sizes`` to
choose N, ``--quick`` for a smoke run (N = 50 and 200, 1 repeat).
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
    JOB_QUEUE,
    CountingProxy,
    airflow_connection_for,
    counting_proxy,
    fmt,
    machine_info,
    markdown_table,
    max_rss_mb,
    median,
    running_emulator,
    scratch_directory,
    write_results,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from common import Emulator

READERS = ("ours_default", "ours_all", "provider")
TASK_LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"
#: A job line anywhere in the task log, labelled or not.
JOB_LINE = re.compile(r"bench-array child=(\d+) line=(\d+)/\d+")
#: The label our monitor puts before a child's line.
CHILD_LABEL = re.compile(r"\[batch child (\d+)\] bench-array child=")
#: The proxy's keys of the counted calls.
DESCRIBE_JOBS = CountingProxy.DESCRIBE_JOBS
LIST_JOBS = "/v1/listjobs"
GET_LOG_EVENTS = "Logs_20140328.GetLogEvents"
#: Our defaults (BatchSubmitJobOperator's array_children_logs and failed_children_logs).
DEFAULT_FIRST_CHILDREN = 3
DEFAULT_FAILED_CHILDREN = 3
#: DescribeJobs takes at most this many job ids.
DESCRIBE_CHUNK = 100
#: The memory bound: RSS over baseline at the largest N may exceed the smallest N's by this much.
RSS_SLACK_MB = 5.0
RSS_SLACK_FRACTION = 0.5


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the parent's, or a child's with ``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="array sizes N, comma-separated (2 to 10000)")
    parser.add_argument("--lines", type=int, default=3, help="lines each child prints (default 3)")
    parser.add_argument(
        "--failures", type=int, default=5, help="children that exit with code 5, spread over the array"
    )
    parser.add_argument("--repeats", type=int, default=3, help="reads per reader and size (default 3)")
    parser.add_argument(
        "--readers", default=",".join(READERS), help=f"comma-separated subset of {', '.join(READERS)}"
    )
    parser.add_argument(
        "--max-running", type=int, default=128, help="emulator: most child processes at once (default 128)"
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=0.05,
        help="emulator: least time a child spends in each status (default 0.05)",
    )
    parser.add_argument(
        "--array-timeout", type=float, default=1800.0, help="seconds the array may take to end"
    )
    parser.add_argument(
        "--child-timeout", type=float, default=1800.0, help="seconds one read may take (default 1800)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N = 50 and 200, 1 repeat")
    parser.add_argument("--json-name", default=None, help="results file name in bench/results (no .json)")
    # Internal: one read in a child process.
    parser.add_argument("--child", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--job-id", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)
    if arguments.quick:
        arguments.sizes = "50,200"
        arguments.repeats = 1
    try:
        arguments.size_list = sorted({int(size) for size in arguments.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error(f"--sizes={arguments.sizes!r}: must be comma-separated whole numbers")
    if not arguments.size_list or not all(2 <= size <= 10_000 for size in arguments.size_list):
        parser.error(f"--sizes={arguments.sizes!r}: each size must be 2 to 10000 (AWS's array sizes)")
    if arguments.lines < 1:
        parser.error(f"--lines={arguments.lines}: must be at least 1")
    if not 0 <= arguments.failures <= min(arguments.size_list):
        parser.error(f"--failures={arguments.failures}: must be 0 to the smallest size")
    if arguments.repeats < 1:
        parser.error(f"--repeats={arguments.repeats}: must be at least 1")
    arguments.readers = [name.strip() for name in arguments.readers.split(",") if name.strip()]
    unknown = set(arguments.readers) - set(READERS)
    if unknown:
        parser.error(f"unknown readers: {', '.join(sorted(unknown))}")
    if arguments.json_name is None:
        arguments.json_name = "array_logs_quick" if arguments.quick else "array_logs"
    return arguments


# -- the array job --------------------------------------------------------------------------------


def failing_indexes(size: int, failures: int) -> list[int]:
    """The children that exit with code 5: ``failures`` of them, spread evenly, none among 0-2."""
    if failures == 0:
        return []
    indexes = sorted({(2 * k + 1) * size // (2 * failures) for k in range(failures)})
    return [index for index in indexes if index >= DEFAULT_FIRST_CHILDREN] or indexes


def child_script(lines: int, failing: Sequence[int]) -> str:
    """The shell script of every child: ``lines`` lines naming its index; the failing ones exit 5."""
    script = (
        "i=$AWS_BATCH_JOB_ARRAY_INDEX; n=1; "
        f'while [ $n -le {lines} ]; do echo "bench-array child=$i line=$n/{lines}"; n=$((n + 1)); done; '
    )
    if failing:
        cases = "|".join(str(index) for index in failing)
        script += (
            f'case $i in {cases}) echo "bench-array child=$i line={lines + 1}/{lines} exit 5"; exit 5;; esac'
        )
    return script


def run_array(
    emulator: Emulator, size: int, lines: int, failing: Sequence[int], timeout: float
) -> dict[str, Any]:
    """Submit the array job with plain boto3 (not counted) and wait, polling, until it has ended."""
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=f"bench-array-logs-{uuid.uuid4().hex[:8]}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/alpine:3",
            "command": ["sh", "-c", "true"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
        },
    )["jobDefinitionArn"]
    started = time.perf_counter()
    job_id = str(
        batch.submit_job(
            jobName=f"bench-array-{size}",
            jobQueue=JOB_QUEUE,
            jobDefinition=definition,
            arrayProperties={"size": size},
            containerOverrides={"command": ["sh", "-c", child_script(lines, failing)]},
        )["jobId"]
    )
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        parent = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        summary = (parent.get("arrayProperties") or {}).get("statusSummary") or {}
        if parent["status"] in ("SUCCEEDED", "FAILED"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"array job {job_id} still {parent['status']} after {timeout:.0f} s: {summary}"
            )
        if time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            done = summary.get("SUCCEEDED", 0) + summary.get("FAILED", 0)
            print(f"  array of {size:,}: {parent['status']}, {done:,} children ended", flush=True)
        time.sleep(1.0)
    seconds = time.perf_counter() - started
    expected = {"SUCCEEDED": size - len(failing), "FAILED": len(failing)}
    got = {status: summary.get(status, 0) for status in expected}
    if got != expected:
        raise RuntimeError(f"array job {job_id} ended {parent['status']} with {summary}, expected {expected}")
    child = batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"][0]
    return {
        "job_id": job_id,
        "size": size,
        "status": parent["status"],
        "status_summary": got,
        "failing_indexes": list(failing),
        "lines_per_child": lines,
        "array_seconds": round(seconds, 1),
        "child_description_json_bytes": len(json.dumps(child)),
    }


# -- one read, in a child process ------------------------------------------------------------------


def run_child(arguments: argparse.Namespace) -> int:
    """Read the ended array's logs once with ``arguments.child``; write the measurements to ``--result``."""
    import logging
    from datetime import timedelta

    from airflow.providers.amazon.aws.hooks.batch_client import BatchClientHook
    from airflow.providers.amazon.aws.utils.task_log_fetcher import AwsTaskLogFetcher

    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
    from airflow_batch_plugin.job_state import BatchJobFailed
    from airflow_batch_plugin.monitor import JobMonitor, job_result_xcoms

    rss_after_imports = max_rss_mb()
    logger = logging.getLogger(f"bench.array_logs.{arguments.child}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(arguments.out, encoding="utf-8")
    handler.setFormatter(logging.Formatter(TASK_LOG_FORMAT))
    logger.addHandler(handler)
    job_id = arguments.job_id
    result: dict[str, Any] = {"reader": arguments.child}

    # Build the hooks and their clients first, so the baseline covers everything but the read.
    if arguments.child.startswith("ours"):
        batch = BatchHook(aws_conn_id="aws_default")
        logs = CloudWatchLogsHook(aws_conn_id="aws_default")
        _ = batch.client, logs.client
        children = "all" if arguments.child == "ours_all" else DEFAULT_FIRST_CHILDREN
        rss_baseline = max_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        job = batch.describe_job(job_id)
        monitor = JobMonitor(
            batch=batch,
            logs=logs,
            job_id=job_id,
            log=logger,
            stream_logs=False,
            failed_children=DEFAULT_FAILED_CHILDREN,
            array_children_logs=children,
        )
        monitor.observe(job)
        failure = None
        try:
            monitor.finish(job)
        except BatchJobFailed as error:
            failure = str(error)
        xcoms = job_result_xcoms(job, monitor)
        wall = time.perf_counter() - started
        result["log_stream_names"] = len(xcoms["log_stream_names"])
    else:
        hook = BatchClientHook(aws_conn_id="aws_default")
        _ = hook.client
        rss_baseline = max_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        # BatchOperator._get_batch_log_fetcher, then wait_for_job's stop() and join() of the fetcher
        # (the job has ended: the fetcher's final read to the end of the stream is all it does).
        info = hook.get_job_awslogs_info(job_id)
        if info:
            fetcher = AwsTaskLogFetcher(
                aws_conn_id="aws_default",
                region_name=info["awslogs_region"],
                log_group=info["awslogs_group"],
                log_stream_name=info["awslogs_stream_name"],
                fetch_interval=timedelta(seconds=30),  # BatchOperator's default
                logger=logger,
            )
            fetcher.stop()
            fetcher.start()
            fetcher.join()
        failure = None
        try:
            hook.check_job_success(job_id)
        except Exception as error:  # AirflowException: the array failed
            failure = str(error)
        wall = time.perf_counter() - started
        result["log_info_found"] = info is not None
    cpu = time.process_time() - cpu_started
    handler.close()
    peak = max_rss_mb()
    result.update(
        {
            "wall_seconds": wall,
            "read_cpu_seconds": cpu,
            "rss_after_imports_mb": rss_after_imports,
            "rss_baseline_mb": rss_baseline,
            "rss_peak_mb": peak,
            "rss_delta_mb": peak - rss_baseline,
            "failure_message_chars": len(failure) if failure is not None else None,
            # The failed children the failure message names, by their ids ``<jobId>:<index>``.
            "failure_message_children": sorted(
                {int(index) for index in re.findall(re.escape(job_id) + r":(\d+)", failure or "")}
            ),
            "failure_message_head": (failure or "")[:1500],
        }
    )
    Path(arguments.result).write_text(json.dumps(result))
    return 0


# -- checking a task log -----------------------------------------------------------------------------


def expected_children(reader: str, array: dict[str, Any], failed_read: set[int]) -> set[int]:
    """The children whose every line the reader should put in the task log, by its own design."""
    size = array["size"]
    if reader == "ours_all":
        return set(range(size))
    if reader == "ours_default":
        return set(range(min(DEFAULT_FIRST_CHILDREN, size))) | failed_read
    return {0}  # the provider's docstring: "only the logs of the first task will be printed"


def check_task_log(path: Path, reader: str, array: dict[str, Any]) -> dict[str, Any]:
    """Count the task log's lines and check each expected job line is there once, labelled right."""
    lines = job_lines = labelled = mislabelled = 0
    seen: dict[tuple[int, int], int] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            lines += 1
            match = JOB_LINE.search(line)
            if match is None:
                continue
            job_lines += 1
            child, number = int(match.group(1)), int(match.group(2))
            seen[(child, number)] = seen.get((child, number), 0) + 1
            label = CHILD_LABEL.search(line)
            if label is not None:
                labelled += 1
                if int(label.group(1)) != child:
                    mislabelled += 1
    failing = set(array["failing_indexes"])
    children_in_log = {child for child, _ in seen}
    failed_read = children_in_log & failing - set(range(DEFAULT_FIRST_CHILDREN))
    expected = expected_children(reader, array, failed_read)
    per_child = array["lines_per_child"]
    wanted = {
        (child, number)
        for child in expected
        for number in range(1, per_child + (2 if child in failing else 1))
    }
    missing = len(wanted - set(seen))
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    unexpected = len(set(seen) - wanted)
    if reader == "ours_default":
        # The first failed children ListJobs names: as many as failed_children allows, no fewer.
        missing += max(
            0,
            min(DEFAULT_FAILED_CHILDREN, len(failing - set(range(DEFAULT_FIRST_CHILDREN))))
            - len(failed_read),
        )
    return {
        "task_log_lines": lines,
        "job_lines": job_lines,
        "labelled_lines": labelled,
        "mislabelled_lines": mislabelled,
        "children_in_log": len(children_in_log),
        "failed_children_in_log": len(children_in_log & failing),
        "expected_children": len(expected),
        "expected_lines": len(wanted),
        "missing_lines": missing,
        "duplicate_lines": duplicates,
        "unexpected_lines": unexpected,
        "each_expected_line_once": missing == 0 and duplicates == 0 and unexpected == 0 and mislabelled == 0,
    }


def read_once(
    reader: str,
    array: dict[str, Any],
    proxy: CountingProxy,
    workdir: Path,
    environment: dict[str, str],
    timeout: float,
) -> dict[str, Any]:
    """Run one read in a child process behind the proxy; return its measurements and checks."""
    tag = uuid.uuid4().hex[:8]
    out = workdir / f"{reader}-{tag}.log"
    result = workdir / f"{reader}-{tag}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        reader,
        "--job-id",
        array["job_id"],
        "--out",
        str(out),
        "--result",
        str(result),
    ]
    proxy.reset()
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    counted = proxy.snapshot()["counts"]
    if completed.returncode != 0 or not result.exists():
        raise RuntimeError(
            f"reader {reader} failed (exit {completed.returncode}):\n{completed.stdout[-4000:]}\n"
            f"{completed.stderr[-4000:]}"
        )
    measured = json.loads(result.read_text())
    measured["describe_jobs"] = counted.get(DESCRIBE_JOBS, 0)
    measured["list_jobs"] = counted.get(LIST_JOBS, 0)
    measured["get_log_events"] = counted.get(GET_LOG_EVENTS, 0)
    measured["all_calls"] = counted
    measured.update(check_task_log(out, reader, array))
    # What the reader's own hooks said outside the task logger (the provider's hook logs through
    # structlog to stdout): its messages about this job.
    measured["hook_messages"] = sorted(
        {
            line.split("] ", 1)[-1].strip()[:300]
            for line in completed.stdout.splitlines()
            if "AWS Batch job (" in line
        }
    )
    out.unlink()
    result.unlink()
    return measured


# -- the run -----------------------------------------------------------------------------------------


SUMMARY_KEYS = (
    "describe_jobs",
    "list_jobs",
    "get_log_events",
    "task_log_lines",
    "job_lines",
    "children_in_log",
    "failed_children_in_log",
    "wall_seconds",
    "read_cpu_seconds",
    "rss_after_imports_mb",
    "rss_baseline_mb",
    "rss_peak_mb",
    "rss_delta_mb",
)


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (size, reader) over the repeats."""
    rows = []
    for size in sorted({run["size"] for run in runs}):
        for reader in READERS:
            mine = [run for run in runs if run["size"] == size and run["reader"] == reader]
            if not mine:
                continue
            row: dict[str, Any] = {"size": size, "reader": reader, "repeats": len(mine)}
            row.update({key: median([run[key] for run in mine]) for key in SUMMARY_KEYS})
            row["each_expected_line_once"] = all(run["each_expected_line_once"] for run in mine)
            row["expected_lines"] = mine[0]["expected_lines"]
            row["log_stream_names"] = median([run.get("log_stream_names") for run in mine])
            row["get_log_events_per_child"] = row["get_log_events"] / size
            row["rss_delta_range_mb"] = [
                min(run["rss_delta_mb"] for run in mine),
                max(run["rss_delta_mb"] for run in mine),
            ]
            rows.append(row)
    return rows


def check_bounds(summary: list[dict[str, Any]], arrays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims this benchmark tests; each with what was measured and whether it holds.

    The default reader's calls are compared between the smallest and the largest N whose failing
    children all lie past the first 3: it then reads 3 + min(3, failures) children at any N.
    """
    checks: list[dict[str, Any]] = []

    def claim(name: str, holds: bool, measured: str) -> None:
        checks.append({"claim": name, "holds": bool(holds), "measured": measured})

    by = {(row["size"], row["reader"]): row for row in summary}
    sizes = sorted({row["size"] for row in summary})
    small, large = sizes[0], sizes[-1]
    for row in summary:
        if row["reader"].startswith("ours"):
            claim(
                f"{row['reader']} N={row['size']:,}: every expected line in the task log once, "
                "labelled with its child",
                row["each_expected_line_once"],
                f"{fmt(row['job_lines'])} job lines, {fmt(row['expected_lines'])} expected",
            )
        if row["reader"] == "ours_all":
            size = row["size"]
            most = 1 + math.ceil(size / DESCRIBE_CHUNK)
            claim(
                f"ours_all N={size:,}: every child described, at most {most} DescribeJobs (1 + ceil(N/100))",
                row["describe_jobs"] <= most and row["children_in_log"] == size,
                f"{fmt(row['describe_jobs'])} DescribeJobs, "
                f"{fmt(row['children_in_log'])} children in the log",
            )
            claim(
                f"ours_all N={size:,}: at least one GetLogEvents per child",
                row["get_log_events"] >= size,
                f"{fmt(row['get_log_events'])} GetLogEvents "
                f"({row['get_log_events_per_child']:.2f} per child)",
            )
    if large == small:
        return checks
    comparable = sorted(
        array["size"]
        for array in arrays
        if all(index >= DEFAULT_FIRST_CHILDREN for index in array["failing_indexes"])
        and array["size"] > DEFAULT_FIRST_CHILDREN
    )
    default_small = by.get((comparable[0], "ours_default")) if comparable else None
    default_large = by.get((comparable[-1], "ours_default")) if comparable else None
    if default_small and default_large and default_small is not default_large:
        for key, name in (
            ("describe_jobs", "DescribeJobs"),
            ("list_jobs", "ListJobs"),
            ("get_log_events", "GetLogEvents"),
        ):
            claim(
                f"ours_default: {name} do not grow from N={comparable[0]:,} to N={comparable[-1]:,}",
                default_large[key] <= default_small[key],
                f"{fmt(default_small[key])} -> {fmt(default_large[key])}",
            )
    for reader in READERS:
        row_small, row_large = by.get((small, reader)), by.get((large, reader))
        if not (row_small and row_large):
            continue
        bound = row_small["rss_delta_mb"] + max(RSS_SLACK_MB, RSS_SLACK_FRACTION * row_small["rss_delta_mb"])
        claim(
            f"{reader}: RSS over baseline at N={large:,} within delta(N={small:,}) "
            f"+ max(5 MB, 50 %) = {bound:.1f} MB",
            row_large["rss_delta_mb"] <= bound,
            f"{row_small['rss_delta_mb']:.1f} MB -> {row_large['rss_delta_mb']:.1f} MB",
        )
    return checks


def print_report(
    arrays: list[dict[str, Any]], summary: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> None:
    """Print the arrays, the medians and the checks as Markdown tables."""
    print()
    print(
        markdown_table(
            ["N", "ended", "children SUCCEEDED / FAILED", "lines per child", "array ran s"],
            [
                [
                    array["size"],
                    array["status"],
                    f"{array['status_summary']['SUCCEEDED']:,} / {array['status_summary']['FAILED']:,}",
                    array["lines_per_child"],
                    array["array_seconds"],
                ]
                for array in arrays
            ],
        )
    )
    print()
    headers = [
        "N",
        "reader",
        "runs",
        "DescribeJobs",
        "ListJobs",
        "GetLogEvents",
        "task log lines",
        "children in log",
        "each expected line once",
        "wall s",
        "read CPU s",
        "peak RSS MB",
        "RSS delta MB",
    ]
    rows = [
        [
            row["size"],
            row["reader"],
            row["repeats"],
            row["describe_jobs"],
            row["list_jobs"],
            row["get_log_events"],
            row["task_log_lines"],
            row["children_in_log"],
            f"{'yes' if row['each_expected_line_once'] else 'NO'} ({fmt(row['expected_lines'])} expected)",
            row["wall_seconds"],
            row["read_cpu_seconds"],
            row["rss_peak_mb"],
            row["rss_delta_mb"],
        ]
        for row in summary
    ]
    print(markdown_table(headers, rows))
    print()
    print(
        markdown_table(
            ["claim", "measured", "holds"], [[c["claim"], c["measured"], c["holds"]] for c in checks]
        )
    )


def run_parent(arguments: argparse.Namespace) -> int:
    """For each size: an emulator and a proxy, the array job, then every reader ``repeats`` times."""
    info = machine_info()
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    arrays: list[dict[str, Any]] = []
    with scratch_directory("bench-array-logs-") as workdir:
        for size in arguments.size_list:
            with (
                running_emulator(arguments.max_running, arguments.step_seconds) as emulator,
                counting_proxy(emulator.endpoint_url) as proxy,
            ):
                failing = failing_indexes(size, arguments.failures)
                print(f"Array of {size:,} children, {len(failing)} failing ...", flush=True)
                array = run_array(emulator, size, arguments.lines, failing, arguments.array_timeout)
                arrays.append(array)
                print(f"  ended {array['status']} after {array['array_seconds']} s", flush=True)
                environment = {**os.environ, **emulator.environment(str(workdir / "airflow"))}
                environment["AIRFLOW_CONN_AWS_DEFAULT"] = airflow_connection_for(proxy.endpoint_url)
                environment["AIRFLOW__AWS_BATCH__GET_LOG_EVENTS_RATE"] = "0"
                environment["PYTHONPATH"] = os.pathsep.join(
                    part
                    for part in (str(Path(__file__).resolve().parent), environment.get("PYTHONPATH"))
                    if part
                )
                readers = list(arguments.readers)
                for repeat in range(arguments.repeats):
                    order = readers[repeat % len(readers) :] + readers[: repeat % len(readers)]
                    for reader in order:
                        run = read_once(reader, array, proxy, workdir, environment, arguments.child_timeout)
                        run.update({"size": size, "repeat": repeat})
                        runs.append(run)
                        print(
                            f"  N={size:,} repeat {repeat + 1} {reader:12s} {run['wall_seconds']:7.2f} s "
                            f"DescribeJobs {run['describe_jobs']:4d} ListJobs {run['list_jobs']} "
                            f"GetLogEvents {run['get_log_events']:6d}  lines {run['job_lines']:,} "
                            f"of {run['children_in_log']:,} children  peak {run['rss_peak_mb']:.1f} MB "
                            f"(+{run['rss_delta_mb']:.1f})  "
                            f"{'ok' if run['each_expected_line_once'] else 'NOT each expected line once'}",
                            flush=True,
                        )
    summary = summarise(runs)
    checks = check_bounds(summary, arrays)
    print_report(arrays, summary, checks)
    command = shlex.join(["bench/array_logs.py", *arguments.argv])
    failed = [check for check in checks if not check["holds"]]
    path = write_results(
        arguments.json_name,
        {
            "benchmark": "array_logs",
            "command": f".venv/bin/python {command}",
            "arguments": {
                "sizes": arguments.size_list,
                "lines": arguments.lines,
                "failures": arguments.failures,
                "repeats": arguments.repeats,
                "readers": arguments.readers,
                "max_running": arguments.max_running,
                "step_seconds": arguments.step_seconds,
                "get_log_events_rate": 0,
            },
            "machine": info,
            "arrays": arrays,
            "medians": summary,
            "checks": checks,
            "all_checks_hold": not failed,
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )
    print(f"\nResults written to bench/results/{path.name}")
    if failed:
        print(
            f"{len(failed)} check(s) failed:",
            *(f"  {check['claim']}: {check['measured']}" for check in failed),
            sep="\n",
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the parent run, or one read when called with ``--child``."""
    arguments = parse_arguments(argv)
    if arguments.child:
        return run_child(arguments)
    return run_parent(arguments)


if __name__ == "__main__":
    sys.exit(main())
