"""Triggers and the shared async poller against the emulator, over HTTP with aiobotocore.

Throttling goes through the real HTTP path: a small proxy in front of the emulator answers 429
TooManyRequestsException to some DescribeJobs calls and counts every call it sees.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
import uuid
from typing import Any

import pytest
from aiohttp import ClientSession, web
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_batch_plugin import (
    BatchComputeEnvironmentSensor,
    BatchComputeEnvironmentTrigger,
    BatchEnsureComputeEnvironmentOperator,
    BatchJobQueueTrigger,
    BatchJobTrigger,
    BatchResourceHook,
    BatchResourceInvalid,
    ComputeEnvironmentSpec,
)
from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.poller import registered_pollers, shared_job_poller

pytestmark = pytest.mark.integration

TERMINAL = ("SUCCEEDED", "FAILED")


def import_string(classpath: str) -> Any:
    """Import a class from its dotted path, as the triggerer does with ``serialize()``'s classpath."""
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def definition(emulator) -> str:
    batch = emulator.client("batch")
    return str(
        batch.register_job_definition(
            jobDefinitionName=unique("trigger-test"),
            type="container",
            containerProperties={
                "image": "busybox",
                "command": ["true"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "128"}],
            },
        )["jobDefinitionArn"]
    )


def submit(emulator, definition: str, script: str, **overrides: Any) -> str:
    batch = emulator.client("batch")
    response = batch.submit_job(
        jobName=unique("trigger"),
        jobQueue=emulator.job_queue,
        jobDefinition=definition,
        containerOverrides={"command": ["sh", "-c", script], **overrides},
    )
    return str(response["jobId"])


def describe(emulator, job_id: str) -> dict[str, Any]:
    return dict(emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"][0])


def wait_for_status(emulator, job_id: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = describe(emulator, job_id)
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {statuses} in {timeout}s")


async def first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


async def closed_pollers() -> None:
    for poller in registered_pollers():
        await poller.wait_closed()


class ThrottlingProxy:
    """Forward requests to the emulator; answer 429 to every ``throttle_every``-th DescribeJobs."""

    def __init__(self, upstream: str, throttle_every: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.throttle_every = throttle_every
        self.describe_calls = 0
        self.throttled = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def __aenter__(self) -> ThrottlingProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._session = ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        assert self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.lower() == "/v1/describejobs":
            self.describe_calls += 1
            if self.throttle_every and self.describe_calls % self.throttle_every == 1:
                self.throttled += 1
                return web.json_response(
                    {"__type": "TooManyRequestsException", "message": "Too Many Requests"},
                    status=429,
                    headers={"x-amzn-ErrorType": "TooManyRequestsException"},
                )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        assert self._session is not None
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            data = await upstream.read()
            kept = {
                k: v for k, v in upstream.headers.items() if k.lower().startswith(("content-type", "x-amz"))
            }
            return web.Response(status=upstream.status, body=data, headers=kept)


def connection_to(url: str, region: str) -> str:
    extra = {"endpoint_url": url, "region_name": region}
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra})


def test_a_job_ending_after_two_seconds_fires_within_poll_interval_plus_one(aws_conn_env, definition):
    job_id = submit(aws_conn_env, definition, "sleep 2; echo done")

    async def scenario() -> tuple[dict[str, Any], float]:
        event = await first_event(BatchJobTrigger(job_id=job_id, poll_interval=1))
        fired = time.time()
        await closed_pollers()
        return event, fired

    event, fired = asyncio.run(scenario())
    assert event == {"status": "success", "job_id": job_id}
    stopped = describe(aws_conn_env, job_id)["stoppedAt"] / 1000
    assert fired - stopped <= 1 + 1, f"fired {fired - stopped:.2f}s after the job stopped"
    assert registered_pollers() == []


def test_a_failed_job_fires_failed(aws_conn_env, definition):
    job_id = submit(aws_conn_env, definition, "exit 4")
    event = asyncio.run(first_event(BatchJobTrigger(job_id=job_id, poll_interval=0.5)))
    assert event == {"status": "failed", "job_id": job_id}


def test_a_trigger_rebuilt_from_serialize_resumes_the_wait(aws_conn_env, definition):
    job_id = submit(aws_conn_env, definition, "sleep 3")
    trigger = BatchJobTrigger(
        job_id=job_id, poll_interval=0.5, max_runnable_seconds=300, termination_reason="because"
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_batch_plugin.triggers.job.BatchJobTrigger"
    json.dumps(kwargs)  # what Airflow stores must be plain JSON

    async def scenario() -> dict[str, Any]:
        first = asyncio.ensure_future(first_event(trigger))
        # The trigger is waiting (its poller described the job) when the triggerer restarts.
        deadline = time.monotonic() + 30
        while not any(job_id in poller.job_ids and poller.describe_calls for poller in registered_pollers()):
            assert time.monotonic() < deadline, "the trigger never polled the job"
            await asyncio.sleep(0.05)
        first.cancel()  # the triggerer restarts: run() is cancelled, cleanup() runs, no on_kill()
        await asyncio.gather(first, return_exceptions=True)
        await trigger.cleanup()
        # TerminateJob and CancelJob mark the job at once, before its process ends.
        after = describe(aws_conn_env, job_id)
        assert after["status"] not in TERMINAL, "cleanup must not stop the job"
        assert not after.get("isTerminated"), "cleanup must not terminate the job"
        assert not after.get("isCancelled"), "cleanup must not cancel the job"
        rebuilt = import_string(classpath)(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)
        return await first_event(rebuilt)

    assert asyncio.run(scenario()) == {"status": "success", "job_id": job_id}
    assert describe(aws_conn_env, job_id)["status"] == "SUCCEEDED"


def test_a_job_that_can_never_start_is_reported_stuck(aws_conn_env, definition):
    job_id = submit(
        aws_conn_env, definition, "echo never", resourceRequirements=[{"type": "VCPU", "value": "4096"}]
    )
    try:
        event = asyncio.run(first_event(BatchJobTrigger(job_id=job_id, poll_interval=0.5)))
    finally:
        aws_conn_env.client("batch").terminate_job(jobId=job_id, reason="test cleanup")
    assert event["status"] == "stuck"
    assert event["reason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")


def test_on_kill_terminates_the_job_with_the_reason(aws_conn_env, definition):
    job_id = submit(aws_conn_env, definition, "sleep 60")
    wait_for_status(aws_conn_env, job_id, ("RUNNING",))
    reason = "Terminated by Airflow: task dag/run/task was stopped"
    trigger = BatchJobTrigger(job_id=job_id, poll_interval=0.5, termination_reason=reason)
    asyncio.run(trigger.on_kill())
    job = wait_for_status(aws_conn_env, job_id, TERMINAL)
    assert job["status"] == "FAILED"
    assert reason in job["statusReason"]


def test_a_second_cancellation_does_not_abort_on_kills_termination(aws_conn_env, definition):
    """Airflow's triggerer cancels a killed trigger again on each loop until it is seen finished.

    A second cancellation landing while on_kill's TerminateJob is still in flight (seen on a busy
    machine: the job of a cleared task kept running) must not stop the termination.
    """
    job_id = submit(aws_conn_env, definition, "sleep 60")
    wait_for_status(aws_conn_env, job_id, ("RUNNING",))
    reason = "Terminated by Airflow: task dag/run/task was cleared"
    trigger = BatchJobTrigger(job_id=job_id, poll_interval=0.5, termination_reason=reason)
    batch = aws_conn_env.client("batch")

    async def scenario() -> dict[str, Any]:
        killing = asyncio.ensure_future(trigger.on_kill())
        await asyncio.sleep(0)  # on_kill has started: its client and TerminateJob are on their way
        assert describe(aws_conn_env, job_id)["status"] == "RUNNING", "nothing terminated it yet"
        killing.cancel()  # the triggerer's next pass cancels the trigger again
        with pytest.raises(asyncio.CancelledError):
            await killing
        # The triggerer's event loop runs on: poll without blocking it.
        deadline = time.monotonic() + 30
        while (job := batch.describe_jobs(jobs=[job_id])["jobs"][0])["status"] not in TERMINAL:
            assert time.monotonic() < deadline, f"job {job_id} kept running after the second cancel"
            await asyncio.sleep(0.1)
        return dict(job)

    job = asyncio.run(scenario())
    assert job["status"] == "FAILED"
    assert reason in job["statusReason"]


def test_a_sensors_trigger_leaves_the_job_alone_on_kill(aws_conn_env, definition):
    job_id = submit(aws_conn_env, definition, "sleep 2")
    asyncio.run(BatchJobTrigger(job_id=job_id, terminate_on_kill=False).on_kill())
    assert wait_for_status(aws_conn_env, job_id, TERMINAL)["status"] == "SUCCEEDED"


def test_cancelled_triggers_unregister_and_the_poller_closes(aws_conn_env, definition):
    job_ids = [submit(aws_conn_env, definition, "sleep 5") for _ in range(3)]

    async def scenario() -> None:
        tasks = [
            asyncio.ensure_future(first_event(BatchJobTrigger(job_id=job_id, poll_interval=0.5)))
            for job_id in job_ids
        ]
        while not registered_pollers() or registered_pollers()[0].describe_calls < 2:
            await asyncio.sleep(0.05)
        [poller] = registered_pollers()
        assert sorted(poller.job_ids) == sorted(job_ids)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await poller.wait_closed()
        assert poller.job_ids == []
        assert not poller.running
        assert registered_pollers() == []

    asyncio.run(scenario())


@pytest.mark.parametrize(("jobs", "calls_per_round"), [(101, 2), (250, 3)])
def test_one_describe_jobs_per_hundred_jobs_per_round_over_http(
    aws_conn_env, definition, monkeypatch, jobs, calls_per_round
):
    real = submit(aws_conn_env, definition, "sleep 5")
    job_ids = [real, *(str(uuid.uuid4()) for _ in range(jobs - 1))]  # unknown ids cost the same

    async def scenario() -> tuple[int, int, int]:
        async with ThrottlingProxy(aws_conn_env.endpoint_url) as proxy:
            monkeypatch.setenv("AIRFLOW_CONN_AWS_COUNTED", connection_to(proxy.url, aws_conn_env.region))
            hook = BatchHook(aws_conn_id="aws_counted")
            poller = shared_job_poller(await hook.async_client_key(), hook)
            watches = [poller.register(job_id, 1.0) for job_id in job_ids]
            # Each call's jobs are due one interval after that call: wait for every job's second
            # description, then a little less than an interval, in which no third may come.
            while poller.describe_calls < 2 * calls_per_round:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            seen = (proxy.describe_calls, poller.describe_calls, poller.rounds)
            for watch in watches:
                poller.unregister(watch)
            await poller.wait_closed()
            return seen

    http_calls, counted, rounds = asyncio.run(scenario())
    assert http_calls == counted == 2 * calls_per_round, "two descriptions of every job, 100 ids a call"
    assert rounds >= 2


def test_throttled_describe_jobs_back_off_and_never_fail_a_trigger(aws_conn_env, definition, monkeypatch):
    job_ids = [submit(aws_conn_env, definition, f"sleep 1; echo {i}") for i in range(3)]

    async def scenario() -> tuple[list[dict[str, Any]], int, int]:
        async with ThrottlingProxy(aws_conn_env.endpoint_url, throttle_every=2) as proxy:
            monkeypatch.setenv("AIRFLOW_CONN_AWS_THROTTLED", connection_to(proxy.url, aws_conn_env.region))
            triggers = [
                BatchJobTrigger(job_id=job_id, aws_conn_id="aws_throttled", poll_interval=0.3)
                for job_id in job_ids
            ]
            events = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
            [poller] = registered_pollers() or [None]
            faults = poller.faults if poller is not None else -1
            await closed_pollers()
            return list(events), proxy.throttled, faults

    events, throttled, faults = asyncio.run(scenario())
    assert events == [{"status": "success", "job_id": job_id} for job_id in job_ids]
    assert throttled >= 2
    assert faults in (-1, throttled)


def test_compute_environment_and_queue_triggers(aws_conn_env):
    async def scenario() -> list[dict[str, Any]]:
        return [
            await first_event(
                BatchComputeEnvironmentTrigger(compute_environment=aws_conn_env.compute_environment)
            ),
            await first_event(BatchJobQueueTrigger(job_queue=aws_conn_env.job_queue, poll_interval=0.2)),
            await first_event(BatchJobQueueTrigger(job_queue=unique("gone"), target_status="DELETED")),
        ]

    valid_ce, valid_queue, gone = asyncio.run(scenario())
    assert valid_ce["status"] == valid_queue["status"] == "success"
    assert valid_ce["resource_status"] == "VALID"
    assert gone == {"status": "success", "name": gone["name"], "resource_status": "DELETED", "reason": None}


@pytest.fixture(scope="module")
def network(emulator):
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["airflow-batch-vpc"]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["airflow-batch-sg"]}])
    return {
        "subnets": [subnet["SubnetId"] for subnet in subnets],
        "security_group_ids": [group["GroupId"] for group in groups["SecurityGroups"]],
    }


def ec2_spec(name: str, network: dict, **overrides: Any) -> ComputeEnvironmentSpec:
    fields = {
        "name": name,
        "type": "EC2",
        "allocation_strategy": "BEST_FIT_PROGRESSIVE",
        "min_vcpus": 0,
        "max_vcpus": 16,
        "instance_types": ["optimal"],
        "instance_role": "ecsInstanceRole",
        "service_role": "AWSBatchServiceRole",
        **network,
        **overrides,
    }
    return ComputeEnvironmentSpec(**fields)


def test_an_invalid_compute_environment_fails_the_trigger_with_its_reason(aws_conn_env, network):
    broken = ec2_spec(unique("ce"), network, instance_role="no-such-instance-profile")
    BatchResourceHook().create_compute_environment(broken.to_create_request())
    trigger = BatchComputeEnvironmentTrigger(compute_environment=broken.name, poll_interval=0.2)
    classpath, kwargs = trigger.serialize()
    event = asyncio.run(first_event(import_string(classpath)(**kwargs)))
    assert event["status"] == "failed"
    assert event["resource_status"] == "INVALID"
    assert "Invalid IamInstanceProfile" in event["reason"]


def test_deferrable_ensure_operator_defers_then_finishes_on_resume(aws_conn_env, network):
    spec = ec2_spec(unique("ce"), network)
    operator = BatchEnsureComputeEnvironmentOperator(
        task_id="ensure", spec=spec, poll_interval=0.2, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, BatchComputeEnvironmentTrigger)
    assert deferred.value.method_name == "execute_complete"
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "success"
    arn = operator.execute_complete({}, event)
    assert arn == BatchResourceHook().describe_compute_environment(spec.name)["computeEnvironmentArn"]
    assert operator.hook.write_calls["CreateComputeEnvironment"] == 1, "resuming creates nothing again"


def test_deferrable_compute_environment_sensor_fails_with_the_reason(aws_conn_env, network):
    broken = ec2_spec(unique("ce"), network, instance_role="no-such-instance-profile")
    sensor = BatchComputeEnvironmentSensor(
        task_id="s", compute_environment=broken.name, poke_interval=0.2, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})  # it does not exist yet: the sensor defers
    BatchResourceHook().create_compute_environment(broken.to_create_request())
    event = asyncio.run(first_event(deferred.value.trigger))
    with pytest.raises(BatchResourceInvalid, match="Invalid IamInstanceProfile"):
        sensor.execute_complete({}, event)
