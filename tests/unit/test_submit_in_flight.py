"""A write whose answer was lost: looked for before it is sent again, and whatever its late request
still creates is stopped (moto in-process with the emulator's job model).

A request is "lost" by a ``before-send`` handler that raises before moto sees it (a reset or a
read timeout: the client cannot know whether AWS got it); it "lands late" when the same request
(same token) reaches moto from another client a moment later. The lookups' pauses and the
lookup window are shortened: the client's read timeout is 0.5 s, the margin 1 s.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from airflow_batch_plugin.hooks import batch as batch_module
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG, BatchHook
from airflow_batch_plugin.hooks.duplicates import Submission
from airflow_batch_plugin.hooks.write_attempts import WriteAttempt
from airflow_batch_plugin.specs.job_definition import REGISTER_TOKEN_TAG, JobDefinitionSpec
from aws_batch_local.bootstrap import DEFAULT_JOB_QUEUE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

READ_TIMEOUT = 0.5
MARGIN = 1.0
LOOKUPS = (0.2, 0.3)  # looks at 0, 0.2 and 0.5 s after the loss
OWNER = "dag/run/task[3]"


@pytest.fixture
def fast_hook(emulated_hook, monkeypatch) -> Iterator[BatchHook]:
    """A hook with a 0.5 s read timeout and short pauses, on the emulated moto of ``emulated_hook``."""
    extra = {"region_name": "us-east-1", "config_kwargs": {"read_timeout": READ_TIMEOUT}}
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    monkeypatch.setattr(batch_module, "IN_FLIGHT_LOOKUP_DELAYS", LOOKUPS)
    monkeypatch.setattr(batch_module, "RECONCILE_MARGIN", MARGIN)
    monkeypatch.setattr(batch_module, "RECONCILE_INTERVAL", 0.1)
    yield BatchHook()
    for timer in LostRequest.timers:  # late requests land inside the test's moto, never after it
        timer.join(timeout=10)
    LostRequest.timers.clear()


class Logged:
    """What the task log (stdout, through Airflow's structlog) got during a block."""

    text = ""


@contextmanager
def logged(capsys: pytest.CaptureFixture[str]) -> Iterator[Logged]:
    capsys.readouterr()
    result = Logged()
    try:
        yield result
    finally:
        result.text = capsys.readouterr().out


def other_client() -> Any:
    return boto3.client("batch", region_name="us-east-1")


class LostRequest:
    """Lose the first request of ``operation`` before moto sees it; optionally land it later.

    ``land_after``: seconds after the loss (a timer). ``land_before``: ``(operation, n)``, land
    it just before the hook sends its n-th request of that operation after the loss (its n-th
    lookup): the same moment whatever the machine's load, for tests whose point is *when* the
    request lands relative to the hook's lookups.
    """

    timers: ClassVar[list[threading.Timer]] = []

    def __init__(
        self,
        hook: BatchHook,
        operation: str,
        error: Exception,
        land_after: float | None = None,
        land_before: tuple[str, int] | None = None,
    ) -> None:
        self.error = error
        self.land_after = land_after
        self.land_before = land_before
        self.params: dict[str, Any] | None = None
        self.lost_at: float | None = None
        self.landed = threading.Event()
        self.landed_answer: dict[str, Any] = {}
        self._operation = operation
        self._lookups = 0
        events = hook.client.meta.events
        events.register(f"before-parameter-build.batch.{operation}", self._keep_params)
        events.register(f"before-send.batch.{operation}", self._lose)
        if land_before is not None:
            events.register(f"before-send.batch.{land_before[0]}", self._count_lookup)

    def _count_lookup(self, **_: Any) -> None:
        assert self.land_before is not None
        if self.lost_at is None or self.landed.is_set():
            return
        self._lookups += 1
        if self._lookups == self.land_before[1]:
            self._land()

    def _keep_params(self, params: dict[str, Any], **_: Any) -> None:
        if self.params is None:
            self.params = json.loads(json.dumps(params))

    def _lose(self, **_: Any) -> None:
        if self.lost_at is not None:
            return
        self.lost_at = time.monotonic()
        if self.land_after is not None:
            timer = threading.Timer(self.land_after, self._land)
            LostRequest.timers.append(timer)
            timer.start()
        raise self.error

    def _land(self) -> None:
        assert self.params is not None
        method = getattr(other_client(), _snake(self._operation))
        self.landed_answer = method(**self.params)
        self.landed.set()


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def definition_arn(hook: BatchHook, command: list[str] | None = None) -> str:
    spec = JobDefinitionSpec.container_job("in-flight", "busybox", command=command or ["true"], memory=128)
    return hook.ensure_job_definition(spec).arn


def jobs_with_token(token: str, name: str) -> list[dict[str, Any]]:
    batch = other_client()
    listed = batch.list_jobs(jobQueue=DEFAULT_JOB_QUEUE, filters=[{"name": "JOB_NAME", "values": [name]}])
    ids = [job["jobId"] for job in listed["jobSummaryList"]]
    jobs = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
    return [job for job in jobs if job.get("tags", {}).get(SUBMIT_TOKEN_TAG) == token]


def blocker(hook: BatchHook) -> str:
    """A running job later jobs depend on, so that they stay PENDING (not started) meanwhile."""
    arn = definition_arn(hook, ["sleep", "60"])
    return str(
        other_client().submit_job(jobName="blocker", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=arn)["jobId"]
    )


def request(arn: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"jobName": name, "jobQueue": DEFAULT_JOB_QUEUE, "jobDefinition": arn, **extra}


# -- SubmitJob -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [ConnectionClosedError(endpoint_url="http://batch"), ReadTimeoutError(endpoint_url="http://batch")],
    ids=["reset", "timeout"],
)
def test_a_lost_submission_that_lands_during_the_lookups_is_used_not_sent_again(fast_hook, error, capsys):
    arn = definition_arn(fast_hook)
    lost = LostRequest(fast_hook, "SubmitJob", error, land_before=("ListJobs", 2))
    with logged(capsys) as output:
        submission = fast_hook.send_submit_job(request(arn, "lands-early"))
    assert lost.landed.is_set()
    assert submission.job_id == lost.landed_answer["jobId"]
    assert fast_hook.write_calls["SubmitJob"] == 1, "not sent again: it landed"
    assert not submission.needs_reconciling
    assert fast_hook.reconcile_submission(submission) == []
    assert [job["jobId"] for job in jobs_with_token(submission.token, "lands-early")] == [submission.job_id]
    assert f"the lost submission did land (answer lost to {type(error).__name__}" in output.text


def test_a_lost_submission_that_lands_after_the_lookups_is_cancelled_before_it_starts(fast_hook, capsys):
    arn = definition_arn(fast_hook)
    upstream = blocker(fast_hook)
    # Lands just before the window's first look: after the three lookups and the resend.
    lost = LostRequest(
        fast_hook, "SubmitJob", ConnectionClosedError(endpoint_url="u"), land_before=("ListJobs", 4)
    )
    with logged(capsys) as output:
        submission = fast_hook.send_submit_job(request(arn, "lands-late", dependsOn=[{"jobId": upstream}]))
        assert fast_hook.write_calls["SubmitJob"] == 2, "sent again after the lookups found nothing"
        assert submission.needs_reconciling
        assert submission.reconcile_until == pytest.approx(lost.lost_at + READ_TIMEOUT + MARGIN, abs=0.05)
        stopped = fast_hook.reconcile_submission(submission, owner=OWNER)
        finished = time.monotonic()
    assert lost.landed.is_set(), "the late request landed during the window"
    duplicate = lost.landed_answer["jobId"]
    [item] = stopped
    assert (item.job_id, item.action) == (duplicate, "cancelled")
    assert item.status in ("SUBMITTED", "PENDING"), "found before it could start"
    assert finished >= submission.reconcile_until
    jobs = {job["jobId"]: job for job in jobs_with_token(submission.token, "lands-late")}
    assert set(jobs) == {submission.job_id, duplicate}
    assert jobs[submission.job_id]["status"] == "PENDING", "the tracked job is left alone"
    assert jobs[duplicate]["status"] == "FAILED"
    assert jobs[duplicate]["isTerminated"] is True, "stopped with TerminateJob (a cancel before it starts)"
    assert "startedAt" not in jobs[duplicate]
    reason = jobs[duplicate]["statusReason"]
    assert submission.token in reason
    assert OWNER in reason
    assert submission.job_id in reason
    assert "did not land after" in output.text
    assert f"job {duplicate} carries this submission's token" in output.text


def test_a_lost_submission_that_never_lands_is_sent_again_and_nothing_is_stopped(fast_hook):
    arn = definition_arn(fast_hook)
    LostRequest(fast_hook, "SubmitJob", ReadTimeoutError(endpoint_url="u"))
    submission = fast_hook.send_submit_job(request(arn, "never-lands"))
    started = time.monotonic()
    assert fast_hook.reconcile_submission(submission, owner=OWNER) == []
    assert time.monotonic() - started >= submission.reconcile_until - started - 0.01
    assert fast_hook.write_calls["SubmitJob"] == 2
    assert [job["jobId"] for job in jobs_with_token(submission.token, "never-lands")] == [submission.job_id]


def test_a_submission_that_could_not_connect_is_sent_again_at_once(fast_hook, monkeypatch):
    arn = definition_arn(fast_hook)
    LostRequest(fast_hook, "SubmitJob", EndpointConnectionError(endpoint_url="u"))
    lookups: list[int] = []
    monkeypatch.setattr(fast_hook, "_find_lost_submission", lambda *a, **k: lookups.append(1))
    submission = fast_hook.send_submit_job(request(arn, "not-sent"))
    assert lookups == [], "never sent: nothing to look for"
    assert fast_hook.write_calls["SubmitJob"] == 2
    assert [attempt.outcome for attempt in submission.attempts] == ["not sent", "applied"]
    assert not submission.needs_reconciling


def test_an_answer_lost_after_the_job_was_created_is_found_at_once(fast_hook):
    arn = definition_arn(fast_hook)
    lost: list[int] = []

    def lose(**_: Any) -> None:
        if not lost:
            lost.append(1)
            raise ConnectionClosedError(endpoint_url="u")

    fast_hook.client.meta.events.register("after-call.batch.SubmitJob", lose)
    submission = fast_hook.send_submit_job(request(arn, "answer-lost"))
    assert lost == [1]
    assert fast_hook.write_calls["SubmitJob"] == 1
    assert [attempt.outcome for attempt in submission.attempts] == ["applied"]
    assert not submission.needs_reconciling


def same_token_twice(hook: BatchHook, arn: str, name: str, extra: dict[str, Any]) -> tuple[Submission, str]:
    """Two jobs with one submit token, as two requests of one submission leave: (tracked, other)."""
    token = "f" * 32
    batch = other_client()
    tagged = request(arn, name, tags={SUBMIT_TOKEN_TAG: token}, **extra)
    kept = batch.submit_job(**tagged)
    other = batch.submit_job(**tagged)["jobId"]
    now = time.monotonic()
    attempts = (
        WriteAttempt("SubmitJob", "ambiguous", now, "ConnectionClosedError: reset"),
        WriteAttempt("SubmitJob", "applied", now, "HTTP 200"),
    )
    sent_at_ms = int(time.time() * 1000) - 1000
    submission = Submission(
        kept["jobId"],
        kept["jobArn"],
        name,
        DEFAULT_JOB_QUEUE,
        token,
        attempts,
        hook.reconcile_window,
        sent_at_ms,
    )
    return submission, other


def test_a_duplicate_that_started_is_terminated(fast_hook):
    arn = definition_arn(fast_hook, ["sleep", "30"])
    submission, other = same_token_twice(fast_hook, arn, "started", {})
    wait_for(lambda: other_client().describe_jobs(jobs=[other])["jobs"][0]["status"] == "RUNNING")
    stopped = fast_hook.reconcile_submission(submission, owner=OWNER)
    assert [(item.job_id, item.status, item.action) for item in stopped] == [(other, "RUNNING", "terminated")]
    job = wait_for(
        lambda: next(j for j in other_client().describe_jobs(jobs=[other])["jobs"] if j["status"] == "FAILED")
    )
    assert job["isTerminated"] is True
    assert submission.token in job["statusReason"]
    tracked = other_client().describe_jobs(jobs=[submission.job_id])["jobs"][0]
    assert tracked["status"] in ("STARTING", "RUNNING"), "the tracked job runs on"
    other_client().terminate_job(jobId=submission.job_id, reason="test over")


def test_a_duplicate_that_ended_before_it_was_found_is_reported(fast_hook, capsys):
    arn = definition_arn(fast_hook, ["true"])
    submission, other = same_token_twice(fast_hook, arn, "ended", {})
    wait_for(lambda: other_client().describe_jobs(jobs=[other])["jobs"][0]["status"] == "SUCCEEDED")
    with logged(capsys) as output:
        stopped = fast_hook.reconcile_submission(submission, owner=OWNER)
    assert [(item.job_id, item.action) for item in stopped] == [(other, "ended before it could be stopped")]
    assert "it is SUCCEEDED, it had already ended" in output.text
    assert f"job {other} (same submit token {submission.token}) ran to its end (SUCCEEDED)" in output.text


def test_submit_job_stops_duplicates_before_it_returns(fast_hook):
    arn = definition_arn(fast_hook)
    upstream = blocker(fast_hook)
    lost = LostRequest(fast_hook, "SubmitJob", ReadTimeoutError(endpoint_url="u"), land_after=0.9)
    response = fast_hook.submit_job(request(arn, "one-call", dependsOn=[{"jobId": upstream}]), owner=OWNER)
    assert lost.landed.is_set()
    token = other_client().describe_jobs(jobs=[response["jobId"]])["jobs"][0]["tags"][SUBMIT_TOKEN_TAG]
    statuses = {job["jobId"]: job["status"] for job in jobs_with_token(token, "one-call")}
    assert statuses == {response["jobId"]: "PENDING", lost.landed_answer["jobId"]: "FAILED"}


# -- RegisterJobDefinition -------------------------------------------------------------------------------

SPEC = JobDefinitionSpec.container_job("lost-late", "busybox", command=["true"], memory=128)


def active_revisions(hook: BatchHook) -> list[dict[str, Any]]:
    return hook.list_job_definition_revisions(SPEC.name)


def test_a_lost_registration_that_lands_after_the_lookups_is_deregistered_the_first_kept(fast_hook, capsys):
    # Lands just before the window's first look: after the three lookups and the second registration.
    lost = LostRequest(
        fast_hook,
        "RegisterJobDefinition",
        ConnectionClosedError(endpoint_url="u"),
        land_before=("DescribeJobDefinitions", 4),
    )
    with logged(capsys) as output:
        registered = fast_hook.ensure_job_definition(SPEC)
    assert lost.landed.is_set()
    assert fast_hook.write_calls["RegisterJobDefinition"] == 2
    late = int(lost.landed_answer["revision"])
    assert late == registered.revision + 1
    [active] = active_revisions(fast_hook)
    assert (active["revision"], active["jobDefinitionArn"]) == (registered.revision, registered.arn)
    assert active["tags"][REGISTER_TOKEN_TAG] == lost.params["tags"][REGISTER_TOKEN_TAG]
    inactive = fast_hook.list_job_definition_revisions(SPEC.name, status="INACTIVE")
    assert [int(rev["revision"]) for rev in inactive] == [late]
    assert f"revision {late} has the same spec and registration token" in output.text


def test_a_lost_registration_that_lands_during_the_lookups_is_used(fast_hook, capsys):
    lost = LostRequest(
        fast_hook,
        "RegisterJobDefinition",
        ReadTimeoutError(endpoint_url="u"),
        land_before=("DescribeJobDefinitions", 2),
    )
    with logged(capsys) as output:
        registered = fast_hook.ensure_job_definition(SPEC)
    assert lost.landed.is_set()
    assert fast_hook.write_calls["RegisterJobDefinition"] == 1
    assert registered.arn == lost.landed_answer["jobDefinitionArn"]
    assert [rev["jobDefinitionArn"] for rev in active_revisions(fast_hook)] == [registered.arn]
    assert "the lost registration did land (answer lost to ReadTimeoutError" in output.text


# -- TerminateJob and CancelJob ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["before-send", "after-call"])
def test_a_terminate_whose_answer_was_lost_is_retried_and_confirmed(fast_hook, event, capsys):
    arn = definition_arn(fast_hook, ["sleep", "30"])
    job_id = other_client().submit_job(**request(arn, "to-stop"))["jobId"]
    lost: list[int] = []

    def lose(**_: Any) -> None:
        if not lost:
            lost.append(1)
            raise ConnectionClosedError(endpoint_url="u")

    fast_hook.client.meta.events.register(f"{event}.batch.TerminateJob", lose)
    with logged(capsys) as output:
        fast_hook.terminate_job(job_id, "stopped by the test")
    assert lost == [1]
    assert fast_hook.write_calls["TerminateJob"] == 2
    job = other_client().describe_jobs(jobs=[job_id])["jobs"][0]
    assert job["isTerminated"] is True
    assert f"TerminateJob {job_id}: an answer was lost (ConnectionClosedError" in output.text


def test_a_cancel_whose_answer_was_lost_is_retried_and_confirmed(fast_hook, capsys):
    arn = definition_arn(fast_hook)
    upstream = blocker(fast_hook)
    job_id = other_client().submit_job(**request(arn, "to-cancel", dependsOn=[{"jobId": upstream}]))["jobId"]
    LostRequest(fast_hook, "CancelJob", ReadTimeoutError(endpoint_url="u"), land_after=0.2)
    with logged(capsys) as output:
        fast_hook.cancel_job(job_id, "not needed")
    job = other_client().describe_jobs(jobs=[job_id])["jobs"][0]
    assert (job["status"], job["isCancelled"]) == ("FAILED", True)
    assert f"CancelJob {job_id}: an answer was lost (ReadTimeoutError" in output.text


def test_a_resend_by_botocore_itself_is_seen_and_reconciled(emulated_hook, monkeypatch):
    """A connection that configures botocore's retries: botocore resends the SubmitJob on its own."""
    extra = {
        "region_name": "us-east-1",
        "config_kwargs": {
            "read_timeout": READ_TIMEOUT,
            "retries": {"mode": "standard", "total_max_attempts": 3},
        },
    }
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    monkeypatch.setattr(batch_module, "RECONCILE_MARGIN", MARGIN)
    hook = BatchHook()
    arn = definition_arn(hook)
    LostRequest(hook, "SubmitJob", ConnectionClosedError(endpoint_url="u"))
    submission = hook.send_submit_job(request(arn, "botocore-resent"))
    assert hook.write_calls["SubmitJob"] == 1, "one call of ours"
    assert [attempt.outcome for attempt in submission.attempts] == ["ambiguous", "applied"]
    assert submission.needs_reconciling, "botocore sent it twice"
    assert "ConnectionClosedError" in submission.lost


def test_a_duplicate_that_starts_while_being_stopped_is_terminated_not_left_running(fast_hook):
    """The stop is TerminateJob: whether the job starts before or after the call, it is stopped."""
    arn = definition_arn(fast_hook, ["sleep", "30"])
    submission, other = same_token_twice(fast_hook, arn, "racing", {})
    stopped = fast_hook.reconcile_submission(submission, owner=OWNER)
    [item] = stopped
    job = wait_for(
        lambda: next(j for j in other_client().describe_jobs(jobs=[other])["jobs"] if j["status"] == "FAILED")
    )
    assert job["isTerminated"] is True
    assert item.action == ("terminated" if job.get("startedAt") else "cancelled")
    other_client().terminate_job(jobId=submission.job_id, reason="test over")
