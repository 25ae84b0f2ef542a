"""BatchHook against moto's in-process AWS: idempotent registration, chunked calls, lost responses."""

from __future__ import annotations

from collections import Counter

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from airflow_batch_plugin.hooks.batch import SPEC_HASH_TAG, BatchHook, chunked
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec
from aws_batch_local.bootstrap import DEFAULT_JOB_QUEUE


def count_calls(hook: BatchHook) -> Counter:
    calls: Counter = Counter()
    hook.conn.meta.events.register("before-call.batch.*", lambda model, **_: calls.update([model.name]))
    return calls


def spec(**overrides) -> JobDefinitionSpec:
    args = {"name": "etl", "image": "python:3.12", "command": ["python", "-V"], "vcpus": 1, "memory": 512}
    return JobDefinitionSpec.container_job(**{**args, **overrides})


def test_chunked_keeps_order_drops_duplicates_and_caps_size():
    assert list(chunked(["a", "b", "a", "c", "d"], 2)) == [["a", "b"], ["c", "d"]]
    assert list(chunked([], 100)) == []
    assert [len(c) for c in chunked((str(i) for i in range(250)), 100)] == [100, 100, 50]


def test_describe_jobs_asks_once_per_hundred_ids(hook):
    calls = count_calls(hook)
    assert hook.describe_jobs(f"job-{i}" for i in range(250)) == {}
    assert calls["DescribeJobs"] == 3


def test_unchanged_spec_reuses_the_active_revision_without_a_write(hook):
    calls = count_calls(hook)
    first = hook.ensure_job_definition(spec())
    again = hook.ensure_job_definition(spec())
    assert first.registered is True
    assert again.registered is False
    assert again.arn == first.arn
    assert calls["RegisterJobDefinition"] == 1


def test_changed_spec_registers_a_new_revision(hook):
    first = hook.ensure_job_definition(spec())
    changed = hook.ensure_job_definition(spec(memory=1024))
    assert changed.registered is True
    assert changed.revision == first.revision + 1
    back = hook.ensure_job_definition(spec())
    assert back.registered is False
    assert back.arn == first.arn


def test_registration_records_the_spec_hash_as_a_tag(hook):
    definition = hook.ensure_job_definition(spec())
    [revision] = hook.list_job_definition_revisions("etl")
    assert revision["jobDefinitionArn"] == definition.arn
    assert revision["tags"][SPEC_HASH_TAG] == spec().content_hash()


def test_revisions_are_listed_newest_first_and_deregistered(hook):
    for memory in (512, 1024, 2048):
        hook.ensure_job_definition(spec(memory=memory))
    revisions = hook.list_job_definition_revisions("etl")
    assert [r["revision"] for r in revisions] == [3, 2, 1]
    hook.deregister_job_definition(revisions[-1]["jobDefinitionArn"])
    assert [r["revision"] for r in hook.list_job_definition_revisions("etl")] == [3, 2]


# -- SubmitJob through lost responses: moto in-process with the emulator's job model ------------


def submit_request(definition_arn: str) -> dict:
    return {
        "jobName": "lost-response",
        "jobQueue": DEFAULT_JOB_QUEUE,
        "jobDefinition": definition_arn,
        "tags": {
            "airflow:dag_id": "d",
            "airflow:run_id": "r",
            "airflow:task_id": "t",
            "airflow:map_index": "-1",
        },
    }


def jobs_named(hook: BatchHook, name: str) -> list[dict]:
    return list(hook.list_jobs(job_queue=DEFAULT_JOB_QUEUE, filters=[{"name": "JOB_NAME", "values": [name]}]))


def fail_once(hook: BatchHook, event: str, error: Exception | None = None) -> list[int]:
    """Make the next SubmitJob fail in transit at ``event`` (before or after AWS handled it)."""
    failures: list[int] = []

    def lose(**_: object) -> None:
        if not failures:
            failures.append(1)
            raise error or ConnectionClosedError(endpoint_url="http://batch")

    hook.client.meta.events.register(f"{event}.batch.SubmitJob", lose)
    return failures


def test_submit_whose_response_was_lost_returns_the_job_it_created(emulated_hook):
    definition = emulated_hook.ensure_job_definition(spec(command=["true"]))
    failures = fail_once(emulated_hook, "after-call")
    calls = count_calls(emulated_hook)
    response = emulated_hook.submit_job(submit_request(definition.arn))
    assert failures == [1]
    assert calls["SubmitJob"] == 1, "the job was created: no second SubmitJob"
    [job] = jobs_named(emulated_hook, "lost-response")
    assert response["jobId"] == job["jobId"]


def test_submit_that_never_reached_aws_is_sent_again(emulated_hook):
    definition = emulated_hook.ensure_job_definition(spec(command=["true"]))
    failures = fail_once(emulated_hook, "before-send", EndpointConnectionError(endpoint_url="http://batch"))
    calls = count_calls(emulated_hook)
    response = emulated_hook.submit_job(submit_request(definition.arn))
    assert failures == [1]
    assert calls["SubmitJob"] == 2
    [job] = jobs_named(emulated_hook, "lost-response")
    assert response["jobId"] == job["jobId"]
