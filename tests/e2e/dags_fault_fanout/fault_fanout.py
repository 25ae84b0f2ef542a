"""A fan-out the late-landing fault test runs through the fault proxy with ``airflow dags test``.

30 mapped deferrable jobs (one name for all, as a mapped task's jobs have), an array job the task
does not wait for, and a job that depends on the array in Batch (deferrable). Every task
registers (or reuses) the same job definition. No retries: every task must be green at try 1.

Every job first sleeps ``FAULT_FANOUT_JOB_SECONDS`` (an environment variable, 0 unless set): the
emulator starts a job within a second of its SubmitJob, where AWS takes seconds to minutes, and
a duplicate that ended within a second could end before a stop whose own answer was lost
(retried after the read timeout) gets through. The test sets it for the run that makes
duplicates.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Param

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec

FANOUT = 30
ARRAY_SIZE = 3
SHELL = JobDefinitionSpec.container_job(
    name="fault-fanout", image="busybox:latest", command=["sh", "-c", "echo default"], vcpus=1, memory=64
)
QUEUE = "{{ params.job_queue }}"
JOB_SECONDS = int(os.environ.get("FAULT_FANOUT_JOB_SECONDS", "0"))


def after_a_while(line: str) -> list[str]:
    return ["sh", "-c", f'sleep {JOB_SECONDS}; echo "{line}"']


with DAG(
    dag_id="fault_fanout",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_queue": Param("airflow-batch-queue", type="string")},
    default_args={"poll_interval": 1, "retries": 0, "deferrable": True},
) as dag:
    BatchSubmitJobOperator.partial(
        task_id="fanout", job_name="fault-fanout", job_queue=QUEUE, job_definition=SHELL
    ).expand(
        container_overrides=[{"command": after_a_while(f"fan-out part {index}")} for index in range(FANOUT)]
    )
    array = BatchSubmitJobOperator(
        task_id="array",
        job_name="fault-fanout-array",
        job_queue=QUEUE,
        job_definition=SHELL,
        array_size=ARRAY_SIZE,
        container_overrides={"command": after_a_while("child $AWS_BATCH_JOB_ARRAY_INDEX")},
        wait_for_completion=False,
    )
    BatchSubmitJobOperator(
        task_id="dependent",
        job_name="fault-fanout-dependent",
        job_queue=QUEUE,
        job_definition=SHELL,
        depends_on=[array.output],
        container_overrides={"command": after_a_while("after the array")},
    )
