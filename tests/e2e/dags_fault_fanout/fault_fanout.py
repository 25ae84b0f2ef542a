"""A fan-out the late-landing fault test runs through the fault proxy with ``airflow dags test``.

30 mapped deferrable jobs (one name for all, as a mapped task's jobs have), an array job the task
does not wait for, and a job that depends on the array in Batch (deferrable). Every task
registers (or reuses) the same job definition. No retries: every task must be green at try 1.

A duplicate first sleeps ``FAULT_FANOUT_JOB_SECONDS`` (an environment variable, 0 unless set):
the emulator starts a job within a second of its SubmitJob, where AWS takes seconds to minutes,
and a duplicate that ended within a second could end before a stop whose own answer was lost
(retried after the read timeout) gets through. The test sets it for the run that makes
duplicates. A duplicate is a job that is not the oldest of its submit token (the hook keeps the
oldest): each job looks that up in the emulator as it starts, so the jobs the tasks wait for do
not sleep (the tasks run one after another: 32 sleeps would add minutes).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Param

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG

FANOUT = 30
ARRAY_SIZE = 3
SHELL = JobDefinitionSpec.container_job(
    name="fault-fanout", image="busybox:latest", command=["sh", "-c", "echo default"], vcpus=1, memory=64
)
QUEUE = "{{ params.job_queue }}"
JOB_SECONDS = int(os.environ.get("FAULT_FANOUT_JOB_SECONDS", "0"))
#: Run by a job as it starts (python3 and boto3 of the emulator's environment; AWS_ENDPOINT_URL is
#: the emulator): sleep $DUPLICATE_SLEEP_SECONDS unless this job is the oldest of its submit
#: token. An array child asks about its parent.
SLEEP_IF_DUPLICATE = f"""
import os, time, boto3
batch = boto3.client("batch")
me = batch.describe_jobs(jobs=[os.environ["AWS_BATCH_JOB_ID"].split(":")[0]])["jobs"][0]
token = me["tags"]["{SUBMIT_TOKEN_TAG}"]
pages = batch.get_paginator("list_jobs").paginate(
    jobQueue=me["jobQueue"], filters=[{{"name": "JOB_NAME", "values": [me["jobName"]]}}]
)
ids = [summary["jobId"] for page in pages for summary in page["jobSummaryList"]]
jobs = [job for at in range(0, len(ids), 100) for job in batch.describe_jobs(jobs=ids[at:at + 100])["jobs"]]
same = [job for job in jobs if job["tags"].get("{SUBMIT_TOKEN_TAG}") == token]
oldest = min(same, key=lambda job: (job["createdAt"], job["jobId"]))
if oldest["jobId"] != me["jobId"]:
    time.sleep(float(os.environ["DUPLICATE_SLEEP_SECONDS"]))
"""


def after_a_while(line: str) -> dict[str, object]:
    """The container overrides of a job printing ``line``, a duplicate after JOB_SECONDS."""
    if not JOB_SECONDS:
        return {"command": ["sh", "-c", f'echo "{line}"']}
    return {
        "command": ["sh", "-c", f'python3 -c "$SLEEP_IF_DUPLICATE" && echo "{line}"'],
        "environment": [
            {"name": "SLEEP_IF_DUPLICATE", "value": SLEEP_IF_DUPLICATE},
            {"name": "DUPLICATE_SLEEP_SECONDS", "value": str(JOB_SECONDS)},
        ],
    }


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
    ).expand(container_overrides=[after_a_while(f"fan-out part {index}") for index in range(FANOUT)])
    array = BatchSubmitJobOperator(
        task_id="array",
        job_name="fault-fanout-array",
        job_queue=QUEUE,
        job_definition=SHELL,
        array_size=ARRAY_SIZE,
        container_overrides=after_a_while("child $AWS_BATCH_JOB_ARRAY_INDEX"),
        wait_for_completion=False,
    )
    BatchSubmitJobOperator(
        task_id="dependent",
        job_name="fault-fanout-dependent",
        job_queue=QUEUE,
        job_definition=SHELL,
        depends_on=[array.output],
        container_overrides=after_a_while("after the array"),
    )
