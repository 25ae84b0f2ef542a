"""@task.batch against the emulator: each function really runs as a Batch job (a local process)."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.sdk import DAG

from airflow_batch_plugin.decorators.batch import BatchTaskError, batch_task
from airflow_batch_plugin.job_state import BatchJobFailed

pytestmark = pytest.mark.integration

BUCKET = "airflow-batch-demo"
TASK = {"image": "python:3.12-slim", "memory": 512, "poll_interval": 0.5}


class StateStore(dict):
    """Stands in for Airflow's task state store."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def run_task(operator: Any, *, run_id: str = "run-1", **context: Any) -> tuple[Any, dict[str, Any]]:
    """Execute ``operator`` as a task instance would (deferral included); return (value, XComs)."""
    xcoms: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id=operator.dag_id,
        run_id=run_id,
        task_id=operator.task_id,
        map_index=-1,
        try_number=1,
        stats_tags={},
        xcom_push=lambda key, value: xcoms.__setitem__(key, value),
    )
    full = {"ti": ti, "task_state_store": StateStore(), "run_id": run_id, **context}
    try:
        return operator.execute(full), xcoms
    except TaskDeferred as deferred:
        trigger = deferred.trigger

        async def first_event() -> Any:
            async for event in trigger.run():
                return event
            raise AssertionError("the trigger ended without an event")

        event = asyncio.run(first_event())
        return getattr(operator, deferred.method_name)(full, event.payload), xcoms


def unique_dag(prefix: str) -> DAG:
    return DAG(f"{prefix}_{uuid.uuid4().hex[:6]}", schedule=None)


def s3_keys(emulator: Any, prefix: str) -> list[str]:
    listing = emulator.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


JSON_VALUES = {
    "text": 'naïve ☃ "quoted" \n newline',
    "integer": 2**62,
    "negative": -7,
    "float": 0.1 + 0.2,
    "flag": True,
    "nothing": None,
    "nested": {"list": [1, [2, [3, {}]]], "empty": [], "dict": {"a": {"b": False}}},
}


def test_json_arguments_and_result_round_trip(aws_conn_env):
    with unique_dag("roundtrip"):

        @batch_task(job_queue=aws_conn_env.job_queue, **TASK)
        def echo(positional: Any, **values: Any) -> Any:
            return {
                "positional": positional,
                "values": values,
                "types": sorted({type(v).__name__ for v in values.values()}),
            }

        operator = echo(["first", 1.5], **JSON_VALUES).operator
    value, xcoms = run_task(operator)
    assert value["positional"] == ["first", 1.5]
    assert value["values"] == JSON_VALUES
    assert value["types"] == ["NoneType", "bool", "dict", "float", "int", "str"]
    assert xcoms["job_name"] == "echo"
    assert xcoms["array_size"] is None


def test_large_arguments_and_results_travel_through_s3(aws_conn_env, emulator):
    rng = random.Random(1)
    rows = [rng.randbytes(32).hex() for _ in range(2000)]  # ~130 KB that does not compress under 8 KiB
    with unique_dag("s3") as dag:

        @batch_task(job_queue=aws_conn_env.job_queue, xcom_s3_prefix=f"s3://{BUCKET}/xcom-tests", **TASK)
        def reverse(rows: list) -> list:
            return [row[::-1] for row in rows] * 2

        operator = reverse(rows).operator
    value, xcoms = run_task(operator)
    assert value == [row[::-1] for row in rows] * 2
    job_id = xcoms["job_arn"].rsplit("/", 1)[1]
    keys = s3_keys(emulator, f"xcom-tests/{dag.dag_id}/run-1/reverse/-1/")
    assert any("/input-" in key for key in keys)
    assert f"xcom-tests/{dag.dag_id}/run-1/reverse/-1/{job_id}/result" in keys


def test_a_result_too_large_for_the_log_fails_naming_the_limit(aws_conn_env):
    with unique_dag("toolarge"):

        @batch_task(job_queue=aws_conn_env.job_queue, **TASK)
        def noise() -> str:
            import random

            return random.Random(2).randbytes(120_000).hex()

        operator = noise().operator
    with pytest.raises(BatchTaskError, match=r"at most 65536 bytes compressed; set xcom_s3_prefix"):
        run_task(operator)


def test_an_exception_in_the_job_fails_the_task_with_the_remote_traceback(aws_conn_env, capsys):
    with unique_dag("raises"):

        @batch_task(job_queue=aws_conn_env.job_queue, **TASK)
        def parse(record: dict) -> int:
            print("parsing", record)
            return int(record["amount"])

        operator = parse({"amount": "twelve"}).operator
    with pytest.raises(BatchTaskError) as raised:
        run_task(operator)
    error = raised.value
    assert isinstance(error, BatchJobFailed)
    assert error.remote_type == "ValueError"
    message = str(error)
    assert "FAILED" in message
    assert "exit code: 1" in message
    assert "parse() raised ValueError in AWS Batch job" in message
    assert 'File "<@task.batch parse>", line 3, in parse' in message
    assert 'return int(record["amount"])' in message
    assert "ValueError: invalid literal for int() with base 10: 'twelve'" in message
    task_log = capsys.readouterr().out
    assert "[batch] parsing {'amount': 'twelve'}" in task_log  # the job's log is in the task log
    assert "[batch] Traceback (most recent call last):" in task_log


def test_one_array_job_runs_the_mapped_calls_and_gathers_results_in_order(aws_conn_env, emulator):
    words, repeats = ["a", "bb", "ccc"], [1, 2]
    with unique_dag("array"):

        @batch_task(job_queue=aws_conn_env.job_queue, **TASK)
        def combine(word: str, times: int, sep: str) -> dict:
            import os

            return {"text": sep.join([word] * times), "index": int(os.environ["AWS_BATCH_JOB_ARRAY_INDEX"])}

        operator = combine.partial(sep="-").expand_batch(word=words, times=repeats).operator
    value, xcoms = run_task(operator)
    expected = [
        {"text": "-".join([w] * t), "index": i} for i, (w, t) in enumerate(itertools.product(words, repeats))
    ]
    assert value == expected
    assert xcoms["array_size"] == 6  # one Batch array job, not six jobs
    [job] = emulator.client("batch").describe_jobs(jobs=[xcoms["job_arn"].rsplit("/", 1)[1]])["jobs"]
    assert job["arrayProperties"]["size"] == 6


def test_a_failed_array_child_fails_the_task_with_its_traceback(aws_conn_env):
    with unique_dag("arrayfail"):

        @batch_task(job_queue=aws_conn_env.job_queue, array=True, **TASK)
        def invert(x: float) -> float:
            return 1 / x

        operator = invert.expand(x=[1, 0, 2]).operator
    with pytest.raises(BatchTaskError) as raised:
        run_task(operator)
    message = str(raised.value)
    assert "invert() raised ZeroDivisionError in AWS Batch job" in message
    assert re.search(r"raised ZeroDivisionError in AWS Batch job [0-9a-f-]+:1:", message), message
    assert "return 1 / x" in message


def test_templates_in_arguments_and_settings_are_rendered(aws_conn_env, emulator):
    with unique_dag("templated"):

        @batch_task(job_queue="{{ params.queue }}", image="{{ params.image }}", memory="{{ params.memory }}")
        def describe(day: str, label: str, ds=None) -> dict:
            return {"day": day, "label": label, "ds": ds}

        operator = describe("{{ ds }}", label="{{ params.label | upper }}").operator
    params = {
        "queue": aws_conn_env.job_queue,
        "image": "python:3.11-slim",
        "memory": "768",
        "label": "nightly",
    }
    context = {"ds": "2026-03-04", "params": params}
    operator.render_template_fields({**context, "ti": SimpleNamespace(map_index=-1)})
    value, xcoms = run_task(operator, **context)
    assert value == {"day": "2026-03-04", "label": "NIGHTLY", "ds": "2026-03-04"}
    [job] = emulator.client("batch").describe_jobs(jobs=[xcoms["job_arn"].rsplit("/", 1)[1]])["jobs"]
    [definition] = emulator.client("batch").describe_job_definitions(jobDefinitions=[job["jobDefinition"]])[
        "jobDefinitions"
    ]
    assert definition["containerProperties"]["image"] == "python:3.11-slim"
    assert {"type": "MEMORY", "value": "768"} in definition["containerProperties"]["resourceRequirements"]


def test_the_job_definition_is_reused_while_the_function_is_unchanged(aws_conn_env, emulator, capsys):
    dag_id = f"reuse_{uuid.uuid4().hex[:6]}"

    def build(offset: int) -> Any:
        with DAG(dag_id, schedule=None):
            if offset == 1:

                @batch_task(job_queue=aws_conn_env.job_queue, task_id="shift", **TASK)
                def shift(x: int) -> int:
                    return x + 1

            else:

                @batch_task(job_queue=aws_conn_env.job_queue, task_id="shift", **TASK)
                def shift(x: int) -> int:
                    return x + 100

            return shift(1).operator

    first, _ = run_task(build(1), run_id="run-1")
    second, _ = run_task(build(1), run_id="run-2")
    output = capsys.readouterr().out
    assert (first, second) == (2, 2)
    assert "Registered job definition" in output
    assert "Reusing job definition" in output
    changed, _ = run_task(build(100), run_id="run-3")
    assert changed == 101
    revisions = emulator.client("batch").describe_job_definitions(
        jobDefinitionName=f"airflow-{dag_id}-shift", status="ACTIVE"
    )["jobDefinitions"]
    assert sorted(revision["revision"] for revision in revisions) == [1, 2]


def test_a_deferred_task_returns_the_result_after_the_trigger(aws_conn_env):
    with unique_dag("deferred"):

        @batch_task(
            job_queue=aws_conn_env.job_queue,
            deferrable=True,
            xcom_s3_prefix=f"s3://{BUCKET}/xcom-tests",
            **TASK,
        )
        def total(values: list) -> dict[str, float]:
            return {"total": sum(values), "count": len(values)}

        operator = total([1.5, 2.5, 3]).operator
    value, _ = run_task(operator)
    assert value == {"total": 7.0, "count": 3}


def test_a_deferred_array_task_gathers_its_results(aws_conn_env):
    with unique_dag("deferredarray"):

        @batch_task(job_queue=aws_conn_env.job_queue, deferrable=True, **TASK)
        def cube(x: int) -> int:
            return x**3

        operator = cube.expand_batch(x=[1, 2, 3, 4]).operator
    value, _ = run_task(operator)
    assert value == [1, 8, 27, 64]
