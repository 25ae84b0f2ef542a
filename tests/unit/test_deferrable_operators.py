"""How the deferrable operators and sensors defer and resume (AWS stood in for by a stub hook)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

from airflow_batch_plugin import (
    BatchComputeEnvironmentTrigger,
    BatchJobFailed,
    BatchJobQueueTrigger,
    BatchJobSensor,
    BatchJobTrigger,
    BatchSubmitJobOperator,
)
from airflow_batch_plugin.compat import TaskDeferralTimeout
from airflow_batch_plugin.hooks.batch import BatchHook
from tests.airflow_versions import needs_task_state_store

ARGS = {"task_id": "t", "job_name": "job", "job_queue": "q", "job_definition": "def", "poll_interval": 2}


class StubBatch:
    """Answers describe_job from a table and records terminations."""

    def __init__(self, **jobs: dict[str, Any]) -> None:
        self.jobs = jobs
        self.terminated: list[tuple[str, str]] = []

    def describe_job(self, job_id: str) -> dict[str, Any]:
        return {"jobId": job_id, "jobName": "job", **self.jobs[job_id]}

    def describe_jobs(self, job_ids: Any) -> dict[str, dict[str, Any]]:
        return {job_id: self.describe_job(job_id) for job_id in job_ids if job_id in self.jobs}

    def terminate_job(self, job_id: str, reason: str) -> None:
        self.terminated.append((job_id, reason))


class StateStore(dict):
    def set(self, key: str, value: Any) -> None:
        self[key] = value


def context(**extra: Any) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, xcom_push=lambda **_: None)
    return {"ti": ti, **extra}


def with_hook(operator: Any, hook: StubBatch) -> Any:
    operator.__dict__["hook"] = hook  # the operators' hook is a cached property
    return operator


def rebuild(trigger: Any) -> Any:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


@pytest.mark.parametrize(
    "trigger",
    [
        BatchJobTrigger(job_id="j", region_name="eu-west-1", poll_interval=3, max_runnable_seconds=60),
        BatchJobTrigger(job_id="j", termination_reason="why", terminate_on_kill=False),
        BatchComputeEnvironmentTrigger(compute_environment="ce", target_status="DELETED", poll_interval=5),
        BatchJobQueueTrigger(job_queue="q", aws_conn_id="other"),
    ],
)
def test_every_trigger_round_trips_through_serialize(trigger):
    classpath, kwargs = trigger.serialize()
    assert classpath == f"{type(trigger).__module__}.{type(trigger).__qualname__}"
    again = rebuild(trigger)
    assert type(again) is type(trigger)
    assert again.serialize() == (classpath, kwargs)


def test_deferrable_operator_defers_with_everything_the_trigger_needs():
    operator = BatchSubmitJobOperator(
        **ARGS, deferrable=True, max_runnable_seconds=600, execution_timeout=timedelta(hours=1)
    )
    operator._termination_reason = "Terminated by Airflow: task d/r/t was stopped"
    with pytest.raises(TaskDeferred) as deferred:
        operator.poll_until_complete("job-1", context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, BatchJobTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["job_id"] == "job-1"
    assert kwargs["poll_interval"] == 2
    assert kwargs["max_runnable_seconds"] == 600
    assert kwargs["termination_reason"] == "Terminated by Airflow: task d/r/t was stopped"
    assert kwargs["terminate_on_kill"] is True
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(hours=1)


def test_not_waiting_means_not_deferring():
    operator = BatchSubmitJobOperator(**ARGS, deferrable=True, wait_for_completion=False)
    assert operator.poll_until_complete("job-1", context()) is None


def test_a_stuck_event_fails_with_the_reason_and_terminates_the_job():
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - too big"
    batch = StubBatch(**{"job-1": {"status": "RUNNABLE", "statusReason": reason}})
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    event = {"status": "stuck", "job_id": "job-1", "reason": reason}
    with pytest.raises(BatchJobFailed, match="cannot start: MISCONFIGURATION"):
        operator.execute_complete(context(), event)
    [(job_id, why)] = batch.terminated
    assert job_id == "job-1"
    assert "d/r/t" in why


def test_an_error_event_fails_the_task_with_its_message():
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), StubBatch())
    with pytest.raises(AirflowException, match="not found"):
        operator.execute_complete(context(), {"status": "error", "job_id": "j", "message": "j not found"})


def test_resuming_to_a_job_still_running_defers_again():
    batch = StubBatch(**{"job-1": {"status": "RUNNING"}})
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    with pytest.raises(TaskDeferred):
        operator.execute_complete(context(), {"status": "success", "job_id": "job-1"})


def test_a_failed_job_fails_the_resumed_task_with_its_exit_code():
    batch = StubBatch(**{"job-1": {"status": "FAILED", "container": {"exitCode": 9}}})
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    with pytest.raises(BatchJobFailed, match="exit code: 9"):
        operator.execute_complete(context(), {"status": "failed", "job_id": "job-1"})


def kept_in_xcom(key: str, job_id: str) -> dict[str, Any]:
    """A context without a task state store (Airflow before 3.3): the job id is in this try's XCom."""
    xcoms = {("t", key, -1): job_id}
    ti = SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        xcom_push=lambda **_: None,
        xcom_pull=lambda task_ids, key, map_indexes: xcoms.get((task_ids, key, map_indexes)),
    )
    return {"ti": ti}


@pytest.mark.parametrize("kept_in", ["task_state_store", "xcom"])
def test_a_deferral_timeout_terminates_the_kept_job(kept_in):
    batch = StubBatch()
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    key = operator.external_id_key
    if kept_in == "xcom":
        ctx = kept_in_xcom(key, "job-1")
    else:
        ctx = context(task_state_store=StateStore({key: "job-1"}))
    with pytest.raises(TaskDeferralTimeout):
        # The Task SDK's own resume_execution raises the timeout this Airflow raises.
        operator.resume_execution(TRIGGER_FAIL_REPR, {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, ctx)
    [(job_id, why)] = batch.terminated
    assert job_id == "job-1"
    assert "timed out" in why


def test_deferrable_sensor_looks_once_then_defers_without_terminating_on_kill():
    batch = StubBatch(**{"job-1": {"status": "RUNNING"}})
    sensor = with_hook(BatchJobSensor(task_id="s", job_id="job-1", poke_interval=4, deferrable=True), batch)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["terminate_on_kill"] is False
    assert kwargs["poll_interval"] == 4


def test_deferrable_sensor_on_a_finished_job_does_not_defer():
    batch = StubBatch(**{"job-1": {"status": "SUCCEEDED"}})
    sensor = with_hook(BatchJobSensor(task_id="s", job_id="job-1", deferrable=True), batch)
    assert sensor.execute(context()) is None


STOPPED_BY_EARLIER_TRY = "Terminated by Airflow: task d/r/t was stopped"


def replacing_operator(batch: StubBatch, *, deferrable: bool) -> tuple[Any, list[str]]:
    """An operator whose SubmitJob returns job-2 (recorded) instead of calling AWS."""
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=deferrable), batch)
    submitted: list[str] = []

    def submit_job(context: Any) -> str:
        submitted.append("job-2")
        return "job-2"

    operator.submit_job = submit_job
    return operator, submitted


def test_a_reattached_job_stopped_with_an_earlier_try_is_replaced_not_reported():
    # A deferred task was cleared: its trigger terminates job-1 while the new try reattaches to it.
    batch = StubBatch(**{"job-1": {"status": "FAILED", "statusReason": STOPPED_BY_EARLIER_TRY}})
    operator, submitted = replacing_operator(batch, deferrable=True)
    store = StateStore({operator.external_id_key: "job-1"})
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute_complete(
            context(task_state_store=store), {"status": "failed", "job_id": "job-1"}, reattached=True
        )
    assert submitted == ["job-2"]
    assert store[operator.external_id_key] == "job-2", "a retry of this try follows the new job"
    assert deferred.value.trigger.serialize()[1]["job_id"] == "job-2"
    assert deferred.value.kwargs is None, "the new job is this try's own"


def test_a_reattached_sync_wait_replaces_the_stopped_job_and_returns_the_new_one():
    batch = StubBatch(**{"job-1": {"status": "RUNNING"}, "job-2": {"status": "SUCCEEDED"}})
    operator, submitted = replacing_operator(batch, deferrable=False)
    ctx = context(task_state_store=StateStore())
    assert operator.get_job_status("job-1", ctx) == "RUNNING"  # the mixin decides to reattach
    batch.jobs["job-1"] = {"status": "FAILED", "statusReason": STOPPED_BY_EARLIER_TRY}
    operator.poll_until_complete("job-1", ctx)
    assert submitted == ["job-2"]
    assert operator.get_job_result("job-1", ctx) == "job-2"


@pytest.mark.parametrize(
    ("reattached", "job"),
    [
        (False, {"status": "FAILED", "statusReason": STOPPED_BY_EARLIER_TRY}),  # this try's own job
        (True, {"status": "FAILED", "container": {"exitCode": 2}}),  # failed by itself
        (True, {"status": "FAILED", "statusReason": "Terminated by Airflow: task d/r/other was stopped"}),
    ],
)
def test_any_other_failure_of_a_job_fails_the_task(reattached, job):
    operator, submitted = replacing_operator(StubBatch(**{"job-1": job}), deferrable=True)
    with pytest.raises(BatchJobFailed):
        operator.execute_complete(context(), {"status": "failed", "job_id": "job-1"}, reattached=reattached)
    assert submitted == []


def test_a_reattaching_try_tells_its_resumed_self_that_the_job_is_an_earlier_trys():
    batch = StubBatch(**{"job-1": {"status": "RUNNING"}})
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    operator.get_job_status("job-1", context())
    with pytest.raises(TaskDeferred) as deferred:
        operator.poll_until_complete("job-1", context())
    assert deferred.value.kwargs == {"reattached": True}


@needs_task_state_store
def test_a_retry_that_reattaches_to_a_running_job_returns_that_job_and_pushes_its_xcoms():
    class EndsOnSecondLook(StubBatch):
        def describe_job(self, job_id: str) -> dict[str, Any]:
            looks[job_id] = looks.get(job_id, 0) + 1
            status = "RUNNING" if looks[job_id] == 1 else "SUCCEEDED"
            return {"jobId": job_id, "jobName": "job", "status": status, "jobQueue": "q"}

    looks: dict[str, int] = {}
    operator = with_hook(BatchSubmitJobOperator(**ARGS), EndsOnSecondLook(**{"job-1": {}}))
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=2,
        stats_tags={},
        xcom_push=lambda key, value: pushed.update({key: value}),
    )
    store = StateStore({operator.external_id_key: "job-1"})
    assert operator.execute({"ti": ti, "task_state_store": store}) == "job-1"
    assert pushed["job_queue"] == "q", "the XComs of the job it reattached to"


def test_a_resumed_task_describes_its_ended_job_once():
    class Counting(StubBatch):
        def describe_job(self, job_id: str) -> dict[str, Any]:
            looks.append(job_id)
            return super().describe_job(job_id)

    looks: list[str] = []
    batch = Counting(**{"job-1": {"status": "SUCCEEDED", "jobQueue": "q"}})
    operator = with_hook(BatchSubmitJobOperator(**ARGS, deferrable=True), batch)
    assert operator.execute_complete(context(), {"status": "success", "job_id": "job-1"}) == "job-1"
    assert looks == ["job-1"], "execute_complete's description serves the result too"


def test_without_a_task_state_store_a_retry_finds_the_running_job_by_its_tags():
    # Airflow before 3.3 (or a worker that died before the store was written): tags + ListJobs.
    class Tagged(StubBatch):
        find_job_to_reattach = BatchHook.find_job_to_reattach  # the hook's choice, on these answers

        def find_jobs(self, *, job_queue: str, job_name: str, tags: dict[str, str]) -> list[dict[str, Any]]:
            searched.append((job_queue, job_name, tags))
            return [{"jobId": "job-1", "status": "RUNNING"}]

        def describe_job(self, job_id: str) -> dict[str, Any]:
            looks[job_id] = looks.get(job_id, 0) + 1
            status = "RUNNING" if looks[job_id] == 1 else "SUCCEEDED"
            return {"jobId": job_id, "jobName": "job", "status": status, "jobQueue": "q"}

    searched: list[tuple[str, str, dict[str, str]]] = []
    looks: dict[str, int] = {}
    operator = with_hook(BatchSubmitJobOperator(**ARGS, stream_logs=False), Tagged(**{"job-1": {}}))
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=2,
        stats_tags={},
        xcom_push=lambda key, value: pushed.update({key: value}),
    )
    assert operator.execute({"ti": ti}) == "job-1"
    [(queue, name, tags)] = searched
    assert (queue, name) == ("q", "job")
    assert tags["airflow:dag_id"] == "d"
    assert pushed[operator.external_id_key] == "job-1", "kept for a deferral timeout of this try"
    assert pushed["job_queue"] == "q", "the XComs of the job it reattached to"
