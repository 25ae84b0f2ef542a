"""Benchmark: a 500-way mapped fan-out of deferrable Batch tasks waits through the shared poller.

A mapped task's instances, as Airflow runs them, in one process and without a scheduler:

1. **defer**: the task's ``MappedOperator`` is unmapped for each map index (``unmap()``, as the
   task runner does) and the instance's ``execute()`` runs: it submits its job and defers with a
   ``BatchJobTrigger`` (``TaskDeferred``).
2. **triggerer**: the N triggers are serialized and rebuilt from their classpath and kwargs, as
   the triggerer does, and each ``run()`` is a task of ONE asyncio event loop until its first
   event. They all register with the one shared ``AsyncJobStatusPoller``.
3. **resume**: each instance's ``execute_complete(event)`` (log read, outcome, XComs; for
   ``@task.batch`` the function's result).

``--operator submit`` (default) maps ``BatchSubmitJobOperator.partial(...).expand(parameters=...)``;
each job is ``sh -c 'exec 9<GATE; flock -s 9'`` and stays RUNNING until the parent releases the
gate it holds, ``--hold`` seconds after every job has been described once, so all N triggers
are watched together for several rounds. ``--operator decorator`` maps ``@task.batch``'s
``.expand(index=...)`` instead: its jobs depend on one gate job (``depends_on``) that waits on the
same gate, so they stay PENDING until then, and run ``--max-running`` at a time afterwards (the
rest wait RUNNABLE, still watched); every instance's returned value is checked.

DescribeJobs calls are counted at a loopback proxy in front of the emulator, per phase. A poll
round is a burst of calls (calls less than a second apart; rounds are ``--poll-interval`` apart).
GetLogEvents pacing is turned off for the resume phase (the emulator does not throttle); nothing
else is changed. Each instance's hook is dropped after its execute and its resume, as its worker
process would end: peak RSS is then this one process's, not N task processes'. Writes
``bench/results/<json-name>.json`` and prints the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib
import math
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench directory is not a package: see sys.path above
    JOB_QUEUE,
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

    from common import CountingProxy

#: Calls closer than this belong to the same poll round.
ROUND_GAP_SECONDS = 1.0


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=500, help="mapped task instances (default 500)")
    parser.add_argument("--operator", choices=("submit", "decorator"), default="submit")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("--hold", type=float, default=20.0, help="gate held after all are watched (20 s)")
    parser.add_argument("--max-running", type=int, default=None, help="emulator concurrency")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 instances, P = 2 s, hold 4 s")
    parser.add_argument("--json-name", default=None, help="results file in bench/results (no .json)")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.size, arguments.poll_interval, arguments.hold = 30, 2.0, 4.0
    if arguments.max_running is None:
        arguments.max_running = arguments.size + 20 if arguments.operator == "submit" else 16
    if arguments.json_name is None:
        suffix = "_quick" if arguments.quick else ""
        arguments.json_name = f"mapped_fanout_{arguments.operator}{suffix}"
    return arguments


# -- the mapped task -----------------------------------------------------------------------------------


def gate_command(gate: Path | str, then: str = "") -> list[str]:
    """A command that waits until the parent releases its lock on ``gate`` (asleep, no CPU)."""
    return ["sh", "-c", f"exec 9<{gate}; flock -s 9; {then or 'true'}"]


def mapped_task(
    operator: str, size: int, poll_interval: float, gate: Path, gate_job: str | None
) -> tuple[Any, list[dict[str, Any]]]:
    """Build the DAG's mapped task; return it and each map index's mapped keyword arguments."""
    from airflow.sdk import DAG

    from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec, batch_task

    with DAG("bench_mapped_fanout", schedule=None):
        if operator == "submit":
            definition = JobDefinitionSpec.container_job(
                name="bench-mapped-fanout",
                image="busybox",
                command=gate_command("Ref::gate", "echo released Ref::index"),
                vcpus=1,
                memory=64,
                parameters={"gate": str(gate), "index": "-1"},
            )
            mapped = BatchSubmitJobOperator.partial(
                task_id="fanout",
                job_name="bench-fanout",
                job_queue=JOB_QUEUE,
                job_definition=definition,
                deferrable=True,
                poll_interval=poll_interval,
            ).expand(parameters=[{"index": str(index)} for index in range(size)])
            return mapped, [{"parameters": {"index": str(index)}} for index in range(size)]

        @batch_task(
            job_queue=JOB_QUEUE,
            image="python:3.12-slim",
            memory=64,
            deferrable=True,
            poll_interval=poll_interval,
            depends_on=[gate_job],
        )
        def fanout(index: int) -> int:
            return index * index

        output = fanout.expand(index=list(range(size)))
        return output.operator, [{"op_kwargs": {"index": index}} for index in range(size)]


class StateStore(dict):
    """Stands in for Airflow's task state store."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def task_context(task_id: str, map_index: int) -> dict[str, Any]:
    """The context one mapped task instance runs with (what these operators read of it)."""
    ti = SimpleNamespace(
        dag_id="bench_mapped_fanout",
        run_id="bench",
        task_id=task_id,
        map_index=map_index,
        try_number=1,
        stats_tags={},
        xcom_push=lambda key, value: None,
    )
    return {"ti": ti, "task_state_store": StateStore(), "run_id": "bench"}


def release_clients(operator: Any) -> None:
    """Drop an instance's cached hook (its boto3 session), as its worker process would on exit."""
    operator.__dict__.pop("hook", None)


def defer_all(mapped: Any, kwargs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every instance up to its deferral; return each one's operator, context and trigger."""
    from airflow.sdk.exceptions import TaskDeferred

    deferred = []
    for index, mapped_kwargs in enumerate(kwargs):
        operator = mapped.unmap(mapped_kwargs)
        context = task_context(operator.task_id, index)
        try:
            operator.execute(context)
        except TaskDeferred as deferral:
            release_clients(operator)
            deferred.append(
                {
                    "operator": operator,
                    "context": context,
                    "trigger": deferral.trigger,
                    "method": deferral.method_name,
                    "kwargs": deferral.kwargs or {},
                }
            )
            continue
        raise RuntimeError(f"map index {index} did not defer")
    return deferred


def rebuilt(trigger: Any) -> Any:
    """Serialize a trigger and build it again from its classpath, as the triggerer does."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


async def run_triggers(
    triggers: list[Any], proxy: CountingProxy, job_ids: list[str], gate_fd: int, hold: float
) -> dict[str, Any]:
    """Run every trigger in this loop to its first event; release the gate once all are watched."""
    from airflow_batch_plugin.poller import registered_pollers

    events: list[Any] = [None] * len(triggers)
    pollers: dict[int, Any] = {}

    async def follow(position: int, trigger: Any) -> None:
        generator = trigger.run()
        try:
            events[position] = await generator.__anext__()
        finally:
            await generator.aclose()

    async def release_gate() -> float:
        while proxy.described_count(job_ids) < len(job_ids):
            for poller in registered_pollers():
                pollers[id(poller)] = poller
            await asyncio.sleep(0.1)
        watched_at = time.time()
        await asyncio.sleep(hold)
        fcntl.flock(gate_fd, fcntl.LOCK_UN)
        for poller in registered_pollers():
            pollers[id(poller)] = poller
        return watched_at

    started = time.time()
    tasks = [asyncio.create_task(follow(position, trigger)) for position, trigger in enumerate(triggers)]
    watched_at = await release_gate()
    gate_released_at = time.time()
    await asyncio.gather(*tasks)
    return {
        "events": events,
        "started_at": started,
        "watched_at": watched_at,
        "gate_released_at": gate_released_at,
        "ended_at": time.time(),
        "poller": {
            "pollers": len(pollers),
            "rounds": sum(poller.rounds for poller in pollers.values()),
            "describe_calls": sum(poller.describe_calls for poller in pollers.values()),
            "faults": sum(poller.faults for poller in pollers.values()),
        },
    }


def resume_all(deferred: list[dict[str, Any]], events: list[Any]) -> list[Any]:
    """Resume every instance with its trigger's event; return what each one returned."""
    values = []
    for entry, event in zip(deferred, events, strict=True):
        method = getattr(entry["operator"], entry["method"])
        values.append(method(entry["context"], event.payload, **entry["kwargs"]))
        release_clients(entry["operator"])
    return values


# -- measurements -----------------------------------------------------------------------------------------


def poll_rounds(calls: list[Any]) -> list[list[Any]]:
    """Group DescribeJobs calls into poll rounds: bursts of calls less than a second apart."""
    rounds: list[list[Any]] = []
    last_end = -math.inf
    for call in sorted(calls, key=lambda call: call.t):
        if call.t - last_end > ROUND_GAP_SECONDS or not rounds:
            rounds.append([])
        rounds[-1].append(call)
        last_end = call.t + call.seconds
    return rounds


def describe_stats(snapshot: dict[str, Any], size: int, poll_interval: float) -> dict[str, Any]:
    """Summarize one phase's DescribeJobs calls: per round, per call, per job."""
    calls = snapshot["describe_calls"]
    rounds = poll_rounds(calls)
    per_round = [len(burst) for burst in rounds]
    ids_per_round = [sum(call.job_ids for call in burst) for burst in rounds]
    gaps = snapshot["gaps"]
    return {
        "describe_jobs": len(calls),
        "rounds": len(rounds),
        "calls_per_round_max": max(per_round, default=0),
        "calls_per_round_median": median(per_round),
        "ids_per_call_mean": (sum(call.job_ids for call in calls) / len(calls)) if calls else None,
        "ids_per_round_max": max(ids_per_round, default=0),
        "bound_per_round": math.ceil(size / 100),
        "rounds_over_bound": sum(1 for count in per_round if count > math.ceil(size / 100)),
        "redescribed_sooner_than_interval": sum(1 for gap in gaps if gap < poll_interval - 0.25),
        "redescription_gap_min": min(gaps, default=None),
        "redescription_gap_median": median(gaps),
        "per_round": per_round,
        "round_starts": [round(burst[0].t - calls[0].t, 3) for burst in rounds] if calls else [],
        "counts": snapshot["counts"],
    }


def submit_gate_job(emulator: Any, gate: Path) -> str:
    """Submit the job the decorated jobs depend on (plain boto3 to the emulator, not counted)."""
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName="bench-fanout-gate",
        type="container",
        containerProperties={
            "image": "busybox",
            "command": gate_command(gate),
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
        },
    )
    job = batch.submit_job(
        jobName="bench-fanout-gate", jobQueue=JOB_QUEUE, jobDefinition=definition["jobDefinitionArn"]
    )
    return str(job["jobId"])


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Run the three phases once; return the measurements."""
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(scratch_directory("bench-fanout-"))
        emulator = stack.enter_context(running_emulator(arguments.max_running))
        proxy = stack.enter_context(counting_proxy(emulator.endpoint_url))
        os.environ.update(emulator.environment(str(scratch / "airflow")))
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = airflow_connection_for(proxy.endpoint_url)
        os.environ["AIRFLOW__AWS_BATCH__GET_LOG_EVENTS_RATE"] = "0"
        from airflow.sdk.bases.operator import ExecutorSafeguard

        ExecutorSafeguard.test_mode = True  # execute() outside a task runner, on purpose
        gate = scratch / "gate"
        gate.touch()
        gate_fd = os.open(gate, os.O_RDONLY)
        fcntl.flock(gate_fd, fcntl.LOCK_EX)
        try:
            gate_job = submit_gate_job(emulator, gate) if arguments.operator == "decorator" else None
            mapped, kwargs = mapped_task(
                arguments.operator, arguments.size, arguments.poll_interval, gate, gate_job
            )
            proxy.reset()
            started = time.time()
            deferred = defer_all(mapped, kwargs)
            defer_seconds = time.time() - started
            defer_phase = proxy.snapshot()
            job_ids = [entry["trigger"].job_id for entry in deferred]
            triggers = [rebuilt(entry["trigger"]) for entry in deferred]
            proxy.reset()
            tracked = asyncio.run(run_triggers(triggers, proxy, job_ids, gate_fd, arguments.hold))
            trigger_phase = proxy.snapshot()
            proxy.reset()
            started = time.time()
            values = resume_all(deferred, tracked["events"])
            resume_seconds = time.time() - started
            resume_phase = proxy.snapshot()
        finally:
            os.close(gate_fd)
    statuses = [event.payload.get("status") for event in tracked["events"]]
    expected = (
        job_ids if arguments.operator == "submit" else [index * index for index in range(arguments.size)]
    )
    return {
        "machine": machine_info(),
        "arguments": {key: value for key, value in vars(arguments).items() if key != "func"},
        "defer": {
            "seconds": defer_seconds,
            "deferred": len(deferred),
            "distinct_jobs": len(set(job_ids)),
            "counts": defer_phase["counts"],
            "describe_jobs": len(defer_phase["describe_calls"]),
        },
        "triggerer": {
            "seconds": tracked["ended_at"] - tracked["started_at"],
            "all_watched_after": tracked["watched_at"] - tracked["started_at"],
            "statuses": {status: statuses.count(status) for status in set(statuses)},
            "poller": tracked["poller"],
            **describe_stats(trigger_phase, arguments.size, arguments.poll_interval),
        },
        "resume": {
            "seconds": resume_seconds,
            "counts": resume_phase["counts"],
            "describe_jobs": len(resume_phase["describe_calls"]),
            "values_as_expected": values == expected,
        },
        "peak_rss_mb": max_rss_mb(),
    }


def report(results: dict[str, Any]) -> str:
    """Render the measurements as Markdown tables."""
    args, triggerer = results["arguments"], results["triggerer"]
    size = args["size"]
    rows = [
        [
            "defer (execute → TaskDeferred)",
            fmt(results["defer"]["seconds"]),
            results["defer"]["describe_jobs"],
            "-",
            "-",
        ],
        [
            "triggerer (one event loop)",
            fmt(triggerer["seconds"]),
            triggerer["describe_jobs"],
            triggerer["rounds"],
            f"{triggerer['calls_per_round_max']} (bound {triggerer['bound_per_round']})",
        ],
        [
            "resume (execute_complete)",
            fmt(results["resume"]["seconds"]),
            results["resume"]["describe_jobs"],
            "-",
            "-",
        ],
    ]
    table = markdown_table(["phase", "seconds", "DescribeJobs", "poll rounds", "calls per round, max"], rows)
    lines = [
        f"{size} mapped instances of {args['operator']}, P = {args['poll_interval']} s",
        table,
        f"ids per call {fmt(triggerer['ids_per_call_mean'], 1)}; rounds over the bound "
        f"{triggerer['rounds_over_bound']}; re-descriptions sooner than P - 0.25 s "
        f"{triggerer['redescribed_sooner_than_interval']}; shortest re-description gap "
        f"{fmt(triggerer['redescription_gap_min'])} s; shared pollers {triggerer['poller']['pollers']}",
        f"events {triggerer['statuses']}; resumed values as expected: "
        f"{results['resume']['values_as_expected']}; peak RSS {fmt(results['peak_rss_mb'], 1)} MB",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its results."""
    arguments = parse_arguments(argv)
    results = run(arguments)
    path = write_results(arguments.json_name, results)
    print(report(results))
    print(f"results: bench/results/{path.name}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
