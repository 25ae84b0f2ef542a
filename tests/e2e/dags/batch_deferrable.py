"""Deferrable scenarios run by the end-to-end tests with ``airflow dags test`` against the emulator.

Every waiting task defers to the triggerer (``airflow dags test`` runs the trigger inline) and
reads the job's log when it resumes. The queue comes from the ``job_queue`` param.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from airflow_batch_plugin import BatchJobSensor, BatchSubmitJobOperator, JobDefinitionSpec

SHELL = JobDefinitionSpec.container_job(
    name="deferrable-shell", image="busybox:latest", command=["sh", "-c", "echo default"], vcpus=1, memory=128
)
QUEUE = "{{ params.job_queue }}"
#: More lines than one GetLogEvents page holds (10,000), so resuming must read page after page.
LONG_LOG_LINES = 12_000


def shell(script: str) -> dict[str, Any]:
    return {"command": ["sh", "-c", script]}


with DAG(
    dag_id="batch_deferrable",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_queue": Param("airflow-batch-queue", type="string")},
    default_args={"poll_interval": 1, "retries": 0, "deferrable": True},
) as dag:
    BatchSubmitJobOperator(
        task_id="single",
        job_name="deferred-single",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('echo "first deferred line"; sleep 2; echo "last deferred line"'),
    )
    BatchSubmitJobOperator(
        task_id="long_log",
        job_name="deferred-long-log",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell(
            f'i=1; while [ $i -le {LONG_LOG_LINES} ]; do echo "line $i"; i=$((i+1)); done'
        ),
    )
    BatchSubmitJobOperator(
        task_id="array",
        job_name="deferred-array",
        job_queue=QUEUE,
        job_definition=SHELL,
        array_size=3,
        container_overrides=shell('echo "child $AWS_BATCH_JOB_ARRAY_INDEX"'),
    )
    BatchSubmitJobOperator(
        task_id="array_partial_failure",
        job_name="deferred-array-fails",
        job_queue=QUEUE,
        job_definition=SHELL,
        array_size=3,
        container_overrides=shell(
            'if [ "$AWS_BATCH_JOB_ARRAY_INDEX" = 2 ]; then echo "bad partition 2"; exit 5; fi; echo fine'
        ),
    )
    BatchSubmitJobOperator(
        task_id="fails",
        job_name="deferred-fails",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('echo "loading rows"; echo "KeyError: missing column" >&2; exit 3'),
    )
    BatchSubmitJobOperator(
        task_id="stuck",
        job_name="deferred-stuck",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides={"command": ["sh", "-c", "echo never"], "vcpus": 4096},
    )
    no_wait = BatchSubmitJobOperator(
        task_id="no_wait",
        job_name="deferred-sensed",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('sleep 2; echo "sensed line"'),
        wait_for_completion=False,
    )
    no_wait >> BatchJobSensor(task_id="sensor", job_id=no_wait.output, poke_interval=1)
