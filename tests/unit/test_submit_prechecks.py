"""The checks before any write: tag room, queue, definition, dependencies (stub AWS answers).

The hook's one call and its opt-out, on moto, are in test_submit_target_check.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_batch_plugin import (
    BatchSubmitJobOperator,
    JobDefinitionSpec,
    JobSubmissionSpec,
    SpecValidationError,
)
from airflow_batch_plugin.hooks.submit_checks import target_problems
from airflow_batch_plugin.operators.submit_job import ADDED_TAGS

QUEUE = {"jobQueueName": "q", "state": "ENABLED", "status": "VALID"}
FAIR = {**QUEUE, "schedulingPolicyArn": "arn:aws:batch:us-east-1:123456789012:scheduling-policy/p"}
DEFINITION = {"jobDefinitionName": "d", "revision": 1, "status": "ACTIVE"}


class StubBatch:
    """Answers the reads the checks make, and records every call."""

    conn_region_name = "eu-west-1"

    def __init__(self, queue: Any = QUEUE, definition: Any = DEFINITION, jobs: tuple[str, ...] = ()) -> None:
        self.queue, self.definition, self.jobs = queue, definition, jobs
        self.calls: list[str] = []

    def describe_job_queue(self, name: str) -> Any:
        self.calls.append("DescribeJobQueues")
        return self.queue

    def describe_job_definition(self, name: str) -> Any:
        self.calls.append("DescribeJobDefinitions")
        return self.definition

    def describe_jobs(self, ids: Any) -> dict[str, Any]:
        self.calls.append("DescribeJobs")
        return {job_id: {"jobId": job_id} for job_id in ids if job_id in self.jobs}

    def ensure_job_definition(self, spec: Any) -> Any:
        self.calls.append("RegisterJobDefinition")
        raise AssertionError("no write may happen")

    def submit_job(self, request: Any) -> Any:
        self.calls.append("SubmitJob")
        raise AssertionError("no write may happen")

    def send_submit_job(self, request: Any) -> Any:
        self.calls.append("SubmitJob")
        raise AssertionError("no write may happen")


def submission(**fields: Any) -> JobSubmissionSpec:
    return JobSubmissionSpec(**{"job_name": "j", "job_queue": "q", "job_definition": "d", **fields})


def rules(problems: list[Any]) -> list[tuple[str, str]]:
    return [(problem.field, problem.rule) for problem in problems]


def test_a_good_submission_passes_with_two_reads():
    hook = StubBatch()
    assert target_problems(hook, submission(), None) == []  # type: ignore[arg-type]
    assert hook.calls == ["DescribeJobQueues", "DescribeJobDefinitions"]


@pytest.mark.parametrize(
    ("hook", "fields", "field", "rule"),
    [
        (StubBatch(queue=None), {}, "job_queue", "no such job queue in eu-west-1"),
        (StubBatch(queue={**QUEUE, "status": "DELETED"}), {}, "job_queue", "no such job queue"),
        (StubBatch(queue={**QUEUE, "state": "DISABLED"}), {}, "job_queue", "is DISABLED"),
        (StubBatch(definition=None), {}, "job_definition", "no ACTIVE job definition"),
        (StubBatch(definition={**DEFINITION, "status": "INACTIVE"}), {}, "job_definition", "INACTIVE"),
        (StubBatch(queue=FAIR), {"scheduling_priority_override": 1}, "share_identifier", "is required"),
        (StubBatch(queue=FAIR), {"share_identifier": "a"}, "scheduling_priority_override", "is required"),
        (StubBatch(), {"share_identifier": "a"}, "share_identifier", "must not be given"),
        (
            StubBatch(jobs=("known",)),
            {"depends_on": ["known", "gone"]},
            "depends_on[1].job_id",
            "no such job",
        ),
    ],
)
def test_what_only_aws_knows_is_checked_with_reads(hook, fields, field, rule):
    problems = rules(target_problems(hook, submission(**fields), None))
    assert any(f == field and rule in r for f, r in problems), problems


def test_a_fair_share_priority_may_come_from_the_definition():
    hook = StubBatch(queue=FAIR, definition={**DEFINITION, "schedulingPriority": 5})
    assert target_problems(hook, submission(share_identifier="a"), None) == []  # type: ignore[arg-type]
    spec = JobDefinitionSpec.container_job("d", "busybox", scheduling_priority=5)
    hook = StubBatch(queue=FAIR)
    assert target_problems(hook, submission(share_identifier="a"), spec) == []  # type: ignore[arg-type]
    assert "DescribeJobDefinitions" not in hook.calls, "a spec is registered by the operator itself"


def test_tags_leave_room_for_the_ones_the_operator_adds():
    room = 50 - len(ADDED_TAGS)
    BatchSubmitJobOperator(
        task_id="t", job_name="j", job_queue="q", job_definition="d", tags={f"k{i}": "v" for i in range(room)}
    )
    with pytest.raises(SpecValidationError, match=f"at most {room} of your own"):
        BatchSubmitJobOperator(
            task_id="t",
            job_name="j",
            job_queue="q",
            job_definition="d",
            tags={f"k{i}": "v" for i in range(room + 1)},
        )
