"""BatchHook.check_submission_target on moto in-process: the one call before any write, and its opt-out.

The reads are counted by a botocore event handler on the hook's own client, so what is asserted
is what was sent to (moto's) AWS.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from airflow_batch_plugin import (
    BatchSubmitJobOperator,
    JobDefinitionSpec,
    JobSubmissionSpec,
    SpecValidationError,
)
from aws_batch_local.bootstrap import DEFAULT_JOB_QUEUE

if TYPE_CHECKING:
    from airflow_batch_plugin.hooks.batch import BatchHook

READS = ("DescribeJobQueues", "DescribeJobDefinitions", "DescribeJobs")


def record_calls(hook: BatchHook) -> Counter[str]:
    """Count every Batch operation the hook's client sends from now on."""
    calls: Counter[str] = Counter()
    hook.conn.meta.events.register("before-call.batch.*", lambda model, **_: calls.update([model.name]))
    return calls


def submission(**fields: Any) -> JobSubmissionSpec:
    return JobSubmissionSpec(**{"job_name": "j", "job_queue": "nowhere", "job_definition": "d", **fields})


def context(try_number: int = 1) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=try_number, xcom_push=lambda **_: None
    )
    return {"ti": ti}


def test_an_unknown_queue_and_definition_are_refused_after_two_reads(hook):
    calls = record_calls(hook)
    with pytest.raises(SpecValidationError) as refused:
        hook.check_submission_target(submission())
    assert [problem.field for problem in refused.value.problems] == ["job_queue", "job_definition"]
    assert set(calls) == {"DescribeJobQueues", "DescribeJobDefinitions"}


def test_the_jobs_of_depends_on_are_read_too(hook):
    calls = record_calls(hook)
    with pytest.raises(SpecValidationError, match=r"depends_on\[0\]\.job_id"):
        hook.check_submission_target(submission(depends_on=["no-such-job"]))
    assert calls["DescribeJobs"] == 1


def test_the_opt_out_makes_no_read_at_all(hook):
    calls = record_calls(hook)
    hook.check_submission_target(submission(depends_on=["no-such-job"]), check_target=False)
    assert calls == Counter()


def test_a_good_target_passes(emulated_hook):
    definition = emulated_hook.ensure_job_definition(JobDefinitionSpec.container_job("checked", "busybox"))
    calls = record_calls(emulated_hook)
    emulated_hook.check_submission_target(submission(job_queue=DEFAULT_JOB_QUEUE, job_definition="checked"))
    assert definition.registered
    assert set(calls) <= set(READS)
    assert calls["DescribeJobQueues"] == 1


def test_the_operator_fails_on_an_unknown_queue_before_registering_its_definition(hook):
    operator = BatchSubmitJobOperator(
        task_id="t",
        job_name="j",
        job_queue="nowhere",
        job_definition=JobDefinitionSpec.container_job("d", "busybox"),
    )
    operator.__dict__["hook"] = hook  # the operators' hook is a cached property
    calls = record_calls(hook)
    with pytest.raises(SpecValidationError, match="no such job queue"):
        operator.submit_job(context())  # type: ignore[arg-type]
    assert list(calls) == ["DescribeJobQueues"], "one read, no write"


def test_an_operator_that_opts_out_submits_with_no_describe_read(emulated_hook):
    emulated_hook.ensure_job_definition(JobDefinitionSpec.container_job("unchecked", "busybox"))
    operator = BatchSubmitJobOperator(
        task_id="t",
        job_name="job",
        job_queue=DEFAULT_JOB_QUEUE,
        job_definition="unchecked",
        check_target=False,
        wait_for_completion=False,
    )
    operator.__dict__["hook"] = emulated_hook
    calls = record_calls(emulated_hook)
    job_id = operator.submit_job(context())  # type: ignore[arg-type]
    assert calls["SubmitJob"] == 1
    assert not any(calls[read] for read in READS), calls
    emulated_hook.terminate_job(job_id, "test over")  # no job thread outlives the test's moto


def test_an_operator_that_opts_out_is_refused_by_submitjob_itself(hook):
    operator = BatchSubmitJobOperator(
        task_id="t", job_name="job", job_queue="nowhere", job_definition="d", check_target=False
    )
    operator.__dict__["hook"] = hook
    calls = record_calls(hook)
    with pytest.raises(ClientError):  # AWS's refusal, not the field-naming SpecValidationError
        operator.submit_job(context())  # type: ignore[arg-type]
    assert calls["SubmitJob"] >= 1
    assert not any(calls[read] for read in READS), calls
