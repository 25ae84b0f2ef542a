"""Operator scenarios run by the end-to-end tests with ``airflow dags test`` against the emulator.

Each task is independent and ends in a known way (one is refused by the checks before SubmitJob);
the tests read the tasks' states, their log output, their XComs and the emulator's jobs. The
queue comes from the ``job_queue`` param.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from airflow_batch_plugin import BatchJobSensor, BatchSubmitJobOperator, JobDefinitionSpec

SHELL = JobDefinitionSpec.container_job(
    name="scenario-shell", image="busybox:latest", command=["sh", "-c", "echo default"], vcpus=1, memory=128
)
QUEUE = "{{ params.job_queue }}"


def shell(script: str) -> dict[str, Any]:
    return {"command": ["sh", "-c", script]}


class CrashAfterSubmitOperator(BatchSubmitJobOperator):
    """Dies on its first try right after the job id was recorded, like a worker lost mid-wait."""

    def poll_until_complete(self, external_id: Any, context: Any) -> None:
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated worker crash after SubmitJob")
        super().poll_until_complete(external_id, context)


class CrashBeforeRecordOperator(BatchSubmitJobOperator):
    """Dies on its first try after SubmitJob but before the job id reached the task state store."""

    def submit_job(self, context: Any) -> str:
        job_id = super().submit_job(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated worker crash before the job id was recorded")
        return job_id


with DAG(
    dag_id="batch_scenarios",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_queue": Param("airflow-batch-queue", type="string")},
    default_args={"poll_interval": 1, "retries": 0},
) as dag:
    BatchSubmitJobOperator(
        task_id="succeeds",
        job_name="scenario-succeeds",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('echo "first line"; sleep 2; echo "second line from $AWS_BATCH_JOB_ID"'),
    )
    BatchSubmitJobOperator(
        task_id="fails_with_exit_code",
        job_name="scenario-fails",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('echo "loading rows"; echo "KeyError: missing column" >&2; exit 3'),
    )
    BatchSubmitJobOperator(
        task_id="array_partial_failure",
        job_name="scenario-array",
        job_queue=QUEUE,
        job_definition=SHELL,
        array_size=3,
        container_overrides=shell(
            'echo "child $AWS_BATCH_JOB_ARRAY_INDEX"; '
            'if [ "$AWS_BATCH_JOB_ARRAY_INDEX" = 1 ]; then echo "bad partition 1"; exit 2; fi'
        ),
    )
    CrashAfterSubmitOperator(
        task_id="reattach_after_crash",
        job_name="scenario-reattach",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell("sleep 3; echo reattached"),
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    CrashBeforeRecordOperator(
        task_id="reattach_lost_record",
        job_name="scenario-lost-record",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell("sleep 3; echo found by tags"),
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    BatchSubmitJobOperator(
        task_id="timeout_terminates",
        job_name="scenario-timeout",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell("echo started; sleep 300"),
        execution_timeout=timedelta(seconds=8),
    )
    BatchSubmitJobOperator(
        task_id="refused_before_submit",
        job_name="scenario-refused",
        job_queue="no-such-queue",
        job_definition=SHELL,
        container_overrides=shell("echo never submitted"),
    )
    BatchSubmitJobOperator(
        task_id="stuck_misconfigured",
        job_name="scenario-stuck",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides={"command": ["sh", "-c", "echo never"], "vcpus": 4096},
    )
    first = BatchSubmitJobOperator(
        task_id="first_no_wait",
        job_name="scenario-first",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell("sleep 2; echo first done"),
        wait_for_completion=False,
    )
    second = BatchSubmitJobOperator(
        task_id="second_depends_on_first",
        job_name="scenario-second",
        job_queue=QUEUE,
        job_definition=SHELL,
        depends_on=[first.output],
        container_overrides=shell("echo second ran"),
    )
    BatchJobSensor(task_id="sensor_on_first", job_id=first.output, poke_interval=1) >> second
    failing = BatchSubmitJobOperator(
        task_id="failing_no_wait",
        job_name="scenario-failing-no-wait",
        job_queue=QUEUE,
        job_definition=SHELL,
        container_overrides=shell('sleep 2; echo "disk full on /data" >&2; exit 7'),
        wait_for_completion=False,
    )
    BatchJobSensor(
        task_id="sensor_reschedule_on_failure", job_id=failing.output, mode="reschedule", poke_interval=1
    )
