"""One deferrable Batch task that runs for ten minutes, for tests/e2e/test_kill_deferred.py to kill."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec

with DAG(
    dag_id="kill_deferred",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
):
    BatchSubmitJobOperator(
        task_id="long_job",
        job_name="kill-me",
        job_queue="airflow-batch-queue",
        job_definition=JobDefinitionSpec.container_job(
            name="kill-me",
            image="busybox",
            command=["sh", "-c", "echo started; sleep 600"],
            vcpus=1,
            memory=128,
        ),
        deferrable=True,
        poll_interval=2,
    )
