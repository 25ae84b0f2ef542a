"""@task.batch and BatchSubmitJobOperator mapped by a real Airflow: jobs per instance, arrays, templates."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec

ECHO = JobDefinitionSpec.container_job(
    name="e2e-mapped-echo",
    image="busybox",
    command=["sh", "-c", "echo word=Ref::word"],
    vcpus=1,
    memory=128,
    parameters={"word": "none"},
)

with DAG(
    dag_id="batch_task_mapping",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    params={"factor": 3, "label": "nightly"},
    default_args={"job_queue": "airflow-batch-queue", "image": "python:3.12-slim", "poll_interval": 1},
) as dag:

    @task.batch(memory=256)
    def square(x: int, factor: int) -> int:
        """One Batch job per mapped task instance."""
        return x * x * factor

    @task.batch(memory=256, array=True)
    def plus_one(x: int) -> int:
        """One Batch array job over every output of the mapped task."""
        return x + 1

    @task.batch(memory=256, deferrable=True)
    def label(day: str, text: str, ds: str | None = None) -> dict[str, str]:
        """Templated arguments, a context value by name, multiple outputs, deferred waiting."""
        return {"day": day, "text": text.upper(), "ds": str(ds)}

    @task
    def collect(squares: list[int], plus: list[int], text: str) -> dict[str, Any]:
        return {"squares": list(squares), "plus": list(plus), "text": text}

    squares = square.partial(factor="{{ params.factor }}").expand(x=[1, 2, 3])
    plus = plus_one.expand(x=squares)
    labelled = label("{{ ds }}", "{{ params.label }}")
    BatchSubmitJobOperator.partial(
        task_id="echo", job_name="mapped-echo", job_definition=ECHO, deferrable=True
    ).expand(parameters=[{"word": word} for word in ("alpha", "beta", "gamma")])
    collect(squares, plus, labelled["text"])
