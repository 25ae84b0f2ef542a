"""A SubmitJob that timed out while still in flight must not be sent a second time.

The fault proxy holds the first SubmitJob for 1.5 s before forwarding it; the client gives up
after 0.5 s (``read_timeout``). The job is created after the client's first lookup found
nothing, so the hook must look again after a pause before it submits again.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from airflow_batch_plugin import JobDefinitionSpec
from airflow_batch_plugin.hooks import pacing
from airflow_batch_plugin.hooks.batch import BatchHook
from aws_batch_local.faults import FaultProxy

pytestmark = pytest.mark.integration

#: Seed 5 makes the first SubmitJob slow and the second one not.
SLOW_FIRST = "SubmitJob:slow=0.5"


def test_a_timed_out_submit_that_lands_late_is_found_not_duplicated(aws_conn_env, monkeypatch):
    batch = aws_conn_env.client("batch")
    name = f"in-flight-{uuid.uuid4().hex[:8]}"
    with FaultProxy(aws_conn_env.endpoint_url, SLOW_FIRST, seed=5, slow_seconds=1.5) as proxy:
        extra = {
            "endpoint_url": proxy.endpoint_url,
            "region_name": aws_conn_env.region,
            "config_kwargs": {"read_timeout": 0.5, "connect_timeout": 2},
        }
        connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        pacing.reset_buckets()
        hook = BatchHook()
        definition = hook.ensure_job_definition(
            JobDefinitionSpec.container_job(name, "busybox", command=["true"])
        )
        response = hook.submit_job(
            {"jobName": name, "jobQueue": aws_conn_env.job_queue, "jobDefinition": definition.arn}
        )
        time.sleep(2.0)  # anything still held by the proxy has landed by now
        submits = proxy.snapshot()["batch:SubmitJob"]
    jobs = batch.list_jobs(jobQueue=aws_conn_env.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    assert submits.faults == {"slow": 1}
    assert [job["jobId"] for job in jobs["jobSummaryList"]] == [response["jobId"]]
    assert submits.succeeded == 1, "one SubmitJob reached the emulator"
