"""The emulator as a client sees it: a subprocess server driven with boto3."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

TERMINAL = ("SUCCEEDED", "FAILED")


def unique(prefix: str) -> str:
    """Return a name unique within the test session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(batch: Any, command: list[str], **container: Any) -> str:
    """Register a one-vCPU container job definition running ``command``; return its ARN."""
    extra = {
        key: value
        for key, value in container.items()
        if key not in ("parameters", "retryStrategy", "timeout")
    }
    properties = {
        "image": "public.ecr.aws/docker/library/alpine:3",
        "command": command,
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
        **extra,
    }
    arguments: dict[str, Any] = {
        "jobDefinitionName": unique("emulator-test"),
        "type": "container",
        "containerProperties": properties,
    }
    for key in ("parameters", "retryStrategy", "timeout"):
        if key in container:
            arguments[key] = container[key]
    return str(batch.register_job_definition(**arguments)["jobDefinitionArn"])


def submit(batch: Any, queue: str, definition: str, **arguments: Any) -> str:
    """Submit a job and return its id."""
    response = batch.submit_job(jobName=unique("job"), jobQueue=queue, jobDefinition=definition, **arguments)
    return str(response["jobId"])


def describe(batch: Any, job_id: str) -> dict[str, Any]:
    """Return the DescribeJobs detail of one job."""
    return dict(batch.describe_jobs(jobs=[job_id])["jobs"][0])


def wait_for(
    batch: Any, job_id: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 30.0
) -> tuple[list[str], dict[str, Any]]:
    """Poll until the job reaches one of ``statuses``; return the statuses seen, in order, and the detail."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = batch.describe_jobs(jobs=[job_id])["jobs"]
        if not found:  # array children appear one step after their parent is submitted
            time.sleep(0.04)
            continue
        detail = found[0]
        if not seen or seen[-1] != detail["status"]:
            seen.append(detail["status"])
        if detail["status"] in statuses:
            return seen, detail
        time.sleep(0.04)
    raise AssertionError(f"job {job_id} did not reach {statuses} within {timeout}s; seen {seen}")


def wait_for_reason(batch: Any, job_id: str, prefix: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the job's statusReason starts with ``prefix``; return its detail."""
    deadline = time.monotonic() + timeout
    while True:
        detail = describe(batch, job_id)
        if str(detail.get("statusReason", "")).startswith(prefix):
            return detail
        assert time.monotonic() < deadline, f"job {job_id} never said {prefix!r}: {detail}"
        time.sleep(0.04)


def log_messages(logs: Any, stream: str, group: str = "/aws/batch/job") -> list[str]:
    """Return every message of a log stream, oldest first."""
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]


FULL_LIFECYCLE = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]


def test_job_goes_through_every_status_in_order(emulator):
    batch = emulator.client("batch")
    job_id = submit(batch, emulator.job_queue, register(batch, ["true"]))

    seen, detail = wait_for(batch, job_id)

    assert seen == FULL_LIFECYCLE
    assert detail["statusReason"] == "Essential container in task exited"
    assert detail["container"]["exitCode"] == 0
    assert detail["createdAt"] <= detail["startedAt"] <= detail["stoppedAt"]
    [attempt] = detail["attempts"]
    assert attempt["container"]["exitCode"] == 0
    assert attempt["container"]["logStreamName"] == detail["container"]["logStreamName"]
    assert attempt["startedAt"] == detail["startedAt"]


def test_failed_job_reports_exit_code_and_reason(emulator):
    batch = emulator.client("batch")
    job_id = submit(batch, emulator.job_queue, register(batch, ["sh", "-c", "exit 3"]))

    seen, detail = wait_for(batch, job_id)

    assert seen[-2:] == ["RUNNING", "FAILED"]
    assert detail["container"]["exitCode"] == 3
    assert detail["statusReason"] == "Essential container in task exited"
    assert detail["attempts"][0]["container"]["exitCode"] == 3


def test_missing_executable_fails_to_start(emulator):
    batch = emulator.client("batch")
    job_id = submit(batch, emulator.job_queue, register(batch, ["no-such-program-here"]))

    _, detail = wait_for(batch, job_id)

    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == "Task failed to start"
    assert 'exec: "no-such-program-here"' in detail["container"]["reason"]


def test_environment_parameters_and_overrides_reach_the_process(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register(
        batch,
        ["sh", "-c", "echo greeting=Ref::greeting target=Ref::target; env | sort"],
        environment=[{"name": "FROM_DEFINITION", "value": "one"}, {"name": "OVERRIDDEN", "value": "old"}],
        parameters={"greeting": "hello", "target": "nobody"},
    )
    job_id = submit(
        batch,
        emulator.job_queue,
        definition,
        parameters={"target": "world"},
        containerOverrides={"environment": [{"name": "OVERRIDDEN", "value": "new"}]},
    )

    _, detail = wait_for(batch, job_id)
    lines = log_messages(logs, detail["container"]["logStreamName"])

    assert detail["status"] == "SUCCEEDED"
    assert lines[0] == "greeting=hello target=world"
    assert detail["container"]["command"][2] == "echo greeting=hello target=world; env | sort"
    assert detail["parameters"] == {"greeting": "hello", "target": "world"}
    environment = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert environment["FROM_DEFINITION"] == "one"
    assert environment["OVERRIDDEN"] == "new"
    assert environment["AWS_BATCH_JOB_ID"] == job_id
    assert environment["AWS_BATCH_JQ_NAME"] == emulator.job_queue
    assert environment["AWS_BATCH_CE_NAME"] == emulator.compute_environment
    assert environment["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert environment["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert environment["AWS_DEFAULT_REGION"] == emulator.region
    assert "AWS_BATCH_JOB_ARRAY_INDEX" not in environment
    assert "PYTHONPATH" not in environment, "the emulator's own environment must not leak into jobs"
    assert {"name": "OVERRIDDEN", "value": "new"} in detail["container"]["environment"]


def test_command_override_runs_instead_of_the_definition(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register(batch, ["sh", "-c", "echo from-definition"])
    job_id = submit(
        batch, emulator.job_queue, definition, containerOverrides={"command": ["echo", "from", "override"]}
    )

    _, detail = wait_for(batch, job_id)

    assert detail["container"]["command"] == ["echo", "from", "override"]
    assert log_messages(logs, detail["container"]["logStreamName"]) == ["from override"]


def test_logs_reach_cloudwatch_while_the_job_runs(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register(batch, ["sh", "-c", "echo first line; echo to stderr >&2; sleep 3; echo last line"])
    job_id = submit(batch, emulator.job_queue, definition)
    _, detail = wait_for(batch, job_id, ("RUNNING",))

    deadline = time.monotonic() + 2.5
    lines: list[str] = []
    while time.monotonic() < deadline and len(lines) < 2:
        lines = log_messages(logs, detail["container"]["logStreamName"])
        time.sleep(0.05)

    assert lines == ["first line", "to stderr"]
    assert describe(batch, job_id)["status"] == "RUNNING"
    _, final = wait_for(batch, job_id)
    assert log_messages(logs, final["container"]["logStreamName"]) == ["first line", "to stderr", "last line"]


def test_log_configuration_names_group_and_stream_prefix(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    group = f"/emulator-tests/{unique('group')}"
    definition = register(
        batch,
        ["echo", "configured"],
        logConfiguration={
            "logDriver": "awslogs",
            "options": {"awslogs-group": group, "awslogs-stream-prefix": "app"},
        },
    )
    job_id = submit(batch, emulator.job_queue, definition)

    _, detail = wait_for(batch, job_id)
    stream = detail["container"]["logStreamName"]

    assert stream.startswith("app/default/")
    assert log_messages(logs, stream, group=group) == ["configured"]


def test_array_job_children_and_parent_status(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register(batch, ["sh", "-c", 'echo "index=$AWS_BATCH_JOB_ARRAY_INDEX id=$AWS_BATCH_JOB_ID"'])
    parent_id = submit(batch, emulator.job_queue, definition, arrayProperties={"size": 3})

    _, parent = wait_for(batch, parent_id)
    children = batch.describe_jobs(jobs=[f"{parent_id}:{index}" for index in range(3)])["jobs"]
    listed = batch.list_jobs(arrayJobId=parent_id, jobStatus="SUCCEEDED")["jobSummaryList"]

    assert parent["status"] == "SUCCEEDED"
    assert parent["arrayProperties"]["size"] == 3
    assert parent["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    assert sorted(summary["jobId"] for summary in listed) == [f"{parent_id}:{index}" for index in range(3)]
    for child in children:
        index = child["arrayProperties"]["index"]
        assert child["jobId"] == f"{parent_id}:{index}"
        assert log_messages(logs, child["container"]["logStreamName"]) == [
            f"index={index} id={parent_id}:{index}"
        ]


def test_array_parent_fails_when_a_child_fails(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["sh", "-c", 'test "$AWS_BATCH_JOB_ARRAY_INDEX" != 1'])
    parent_id = submit(batch, emulator.job_queue, definition, arrayProperties={"size": 3})

    seen, parent = wait_for(batch, parent_id)

    assert seen[0] == "SUBMITTED"
    assert "RUNNING" not in seen
    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == "Array Child Job failed"
    summary = parent["arrayProperties"]["statusSummary"]
    assert (summary["SUCCEEDED"], summary["FAILED"]) == (2, 1)
    assert describe(batch, f"{parent_id}:1")["container"]["exitCode"] == 1


def test_sequential_array_children_run_one_after_another(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["sleep", "0.3"])
    parent_id = submit(
        batch, emulator.job_queue, definition, arrayProperties={"size": 3}, dependsOn=[{"type": "SEQUENTIAL"}]
    )

    _, parent = wait_for(batch, parent_id)
    children = {
        child["arrayProperties"]["index"]: child
        for child in batch.describe_jobs(jobs=[f"{parent_id}:{index}" for index in range(3)])["jobs"]
    }

    assert parent["status"] == "SUCCEEDED"
    assert children[1]["dependsOn"] == [{"jobId": f"{parent_id}:0", "type": "SEQUENTIAL"}]
    assert children[0]["stoppedAt"] <= children[1]["startedAt"]
    assert children[1]["stoppedAt"] <= children[2]["startedAt"]


def test_n_to_n_child_waits_only_for_its_counterpart(emulator):
    batch = emulator.client("batch")
    first = submit(
        batch,
        emulator.job_queue,
        register(batch, ["sh", "-c", "sleep $((AWS_BATCH_JOB_ARRAY_INDEX * 2))"]),
        arrayProperties={"size": 2},
    )
    second = submit(
        batch,
        emulator.job_queue,
        register(batch, ["true"]),
        arrayProperties={"size": 2},
        dependsOn=[{"jobId": first, "type": "N_TO_N"}],
    )

    _, parent = wait_for(batch, second)
    jobs = {
        job["jobId"]: job
        for job in batch.describe_jobs(jobs=[f"{first}:0", f"{first}:1", f"{second}:0", f"{second}:1"])[
            "jobs"
        ]
    }

    assert parent["status"] == "SUCCEEDED"
    assert jobs[f"{second}:0"]["startedAt"] >= jobs[f"{first}:0"]["stoppedAt"]
    assert jobs[f"{second}:0"]["startedAt"] < jobs[f"{first}:1"]["stoppedAt"], (
        "child 0 must not wait for child 1"
    )
    assert jobs[f"{second}:1"]["startedAt"] >= jobs[f"{first}:1"]["stoppedAt"]


def test_failed_dependency_fails_the_dependent(emulator):
    batch = emulator.client("batch")
    failing = submit(batch, emulator.job_queue, register(batch, ["false"]))
    dependent = submit(batch, emulator.job_queue, register(batch, ["true"]), dependsOn=[{"jobId": failing}])

    seen, detail = wait_for(batch, dependent)

    assert seen[-2:] == ["PENDING", "FAILED"]
    assert detail["statusReason"] == "Dependent Job failed"
    assert detail["attempts"] == []
    assert detail["dependsOn"] == [{"jobId": failing}]


def test_dependency_on_array_parent_waits_for_the_whole_array(emulator):
    batch = emulator.client("batch")
    array = submit(
        batch,
        emulator.job_queue,
        register(batch, ["sh", "-c", "sleep $((AWS_BATCH_JOB_ARRAY_INDEX + 1))"]),
        arrayProperties={"size": 2},
    )
    dependent = submit(batch, emulator.job_queue, register(batch, ["true"]), dependsOn=[{"jobId": array}])

    _, detail = wait_for(batch, dependent)
    last_child = describe(batch, f"{array}:1")

    assert detail["status"] == "SUCCEEDED"
    assert detail["startedAt"] >= last_child["stoppedAt"]


def test_terminate_kills_the_running_process(emulator):
    batch = emulator.client("batch")
    job_id = submit(batch, emulator.job_queue, register(batch, ["sleep", "60"]))
    wait_for(batch, job_id, ("RUNNING",))

    started = time.monotonic()
    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    _, detail = wait_for(batch, job_id, timeout=10)

    assert time.monotonic() - started < 5
    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == "stopped by the test"
    assert detail["isTerminated"] is True
    assert detail["container"]["exitCode"] == 143


def test_terminating_an_array_parent_terminates_its_children(emulator):
    batch = emulator.client("batch")
    parent_id = submit(
        batch, emulator.job_queue, register(batch, ["sleep", "60"]), arrayProperties={"size": 2}
    )
    for index in range(2):
        wait_for(batch, f"{parent_id}:{index}", ("RUNNING",))

    batch.terminate_job(jobId=parent_id, reason="array stopped")
    _, parent = wait_for(batch, parent_id, timeout=10)
    children = batch.describe_jobs(jobs=[f"{parent_id}:0", f"{parent_id}:1"])["jobs"]

    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == "array stopped"
    assert [child["status"] for child in children] == ["FAILED", "FAILED"]
    assert {child["statusReason"] for child in children} == {"array stopped"}


def test_cancel_affects_only_jobs_not_yet_starting(emulator):
    batch = emulator.client("batch")
    sleeper = submit(batch, emulator.job_queue, register(batch, ["sleep", "60"]))
    waiting = submit(batch, emulator.job_queue, register(batch, ["true"]), dependsOn=[{"jobId": sleeper}])
    wait_for(batch, sleeper, ("RUNNING",))
    wait_for(batch, waiting, ("PENDING",))

    # CancelJob decides at once (under the scheduler's lock): once the later request took effect,
    # the earlier one has had its (lack of) effect too.
    batch.cancel_job(jobId=sleeper, reason="too late to cancel")
    batch.cancel_job(jobId=waiting, reason="not needed")
    _, cancelled = wait_for(batch, waiting)
    still_running = describe(batch, sleeper)
    batch.terminate_job(jobId=sleeper, reason="clean up")

    assert cancelled["status"] == "FAILED"
    assert cancelled["statusReason"] == "not needed"
    assert cancelled["isCancelled"] is True
    assert still_running["status"] == "RUNNING"
    assert wait_for(batch, sleeper)[1]["statusReason"] == "clean up"


def test_timeout_kills_the_attempt_and_is_not_retried(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["sleep", "60"], retryStrategy={"attempts": 3})
    job_id = submit(batch, emulator.job_queue, definition, timeout={"attemptDurationSeconds": 1})

    _, detail = wait_for(batch, job_id, timeout=15)

    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(detail["attempts"]) == 1
    assert detail["timeout"] == {"attemptDurationSeconds": 1}
    assert detail["stoppedAt"] - detail["startedAt"] < 4000


def test_retries_until_an_attempt_succeeds(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register(
        batch, ["sh", "-c", 'echo "attempt $AWS_BATCH_JOB_ATTEMPT"; test "$AWS_BATCH_JOB_ATTEMPT" -ge 3']
    )
    job_id = submit(batch, emulator.job_queue, definition, retryStrategy={"attempts": 3})

    seen, detail = wait_for(batch, job_id, timeout=20)

    assert detail["status"] == "SUCCEEDED"
    assert [attempt["container"]["exitCode"] for attempt in detail["attempts"]] == [1, 1, 0]
    streams = [attempt["container"]["logStreamName"] for attempt in detail["attempts"]]
    assert len(set(streams)) == 3, "each attempt writes its own log stream"
    assert [log_messages(logs, stream) for stream in streams] == [["attempt 1"], ["attempt 2"], ["attempt 3"]]
    assert "RUNNABLE" in seen[seen.index("RUNNING") :], "a retried job goes back to RUNNABLE"


def test_evaluate_on_exit_exit_action_stops_retries(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["sh", "-c", "exit 2"])
    strategy = {
        "attempts": 5,
        "evaluateOnExit": [{"onExitCode": "2", "action": "EXIT"}, {"onReason": "*", "action": "RETRY"}],
    }
    job_id = submit(batch, emulator.job_queue, definition, retryStrategy=strategy)

    _, detail = wait_for(batch, job_id)

    assert detail["status"] == "FAILED"
    assert len(detail["attempts"]) == 1
    assert detail["retryStrategy"]["attempts"] == 5


def test_evaluate_on_exit_retry_pattern_matches_exit_code(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["sh", "-c", "exit 12"])
    strategy = {"attempts": 2, "evaluateOnExit": [{"onExitCode": "1*", "action": "RETRY"}]}
    job_id = submit(batch, emulator.job_queue, definition, retryStrategy=strategy)

    _, detail = wait_for(batch, job_id)

    assert detail["status"] == "FAILED"
    assert [attempt["container"]["exitCode"] for attempt in detail["attempts"]] == [12, 12]


def test_secrets_come_from_secrets_manager_and_parameter_store(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    secret_arn = emulator.client("secretsmanager").create_secret(
        Name=unique("secret"), SecretString="s3cr3t"
    )["ARN"]
    parameter = f"/emulator-tests/{unique('parameter')}"
    emulator.client("ssm").put_parameter(Name=parameter, Value="p4ram", Type="SecureString")
    definition = register(
        batch,
        ["sh", "-c", 'echo "$FROM_SECRET $FROM_PARAMETER"'],
        secrets=[
            {"name": "FROM_SECRET", "valueFrom": secret_arn},
            {"name": "FROM_PARAMETER", "valueFrom": parameter},
        ],
    )

    _, detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    assert log_messages(logs, detail["container"]["logStreamName"]) == ["s3cr3t p4ram"]


def test_missing_secret_fails_the_job_with_a_clear_reason(emulator):
    batch = emulator.client("batch")
    missing = f"arn:aws:secretsmanager:{emulator.region}:123456789012:secret:does-not-exist-AbCdEf"
    definition = register(batch, ["true"], secrets=[{"name": "TOKEN", "valueFrom": missing}])

    seen, detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "FAILED"
    assert "RUNNING" not in seen
    assert detail["statusReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth"
    )
    assert missing in detail["statusReason"]


def test_job_too_big_for_any_compute_environment_stays_runnable(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["true"])
    job_id = submit(
        batch,
        emulator.job_queue,
        definition,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "512"}]},
    )

    # The scheduler tried to place it (and says why it cannot) before the job is looked at.
    detail = wait_for_reason(batch, job_id, "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - ")
    batch.cancel_job(jobId=job_id, reason="never fits")

    assert detail["status"] == "RUNNABLE"
    assert detail["statusReason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - ")
    assert {"type": "VCPU", "value": "512"} in detail["container"]["resourceRequirements"]
    assert wait_for(batch, job_id)[1]["status"] == "FAILED"


def test_job_above_max_vcpus_reports_compute_environment_max_resource(emulator):
    batch = emulator.client("batch")
    default = batch.describe_compute_environments(computeEnvironments=[emulator.compute_environment])[
        "computeEnvironments"
    ][0]
    resources = {
        key: default["computeResources"][key]
        for key in ("type", "minvCpus", "instanceTypes", "instanceRole", "subnets", "securityGroupIds")
    }
    environment, queue = unique("small-ce"), unique("small-queue")
    batch.create_compute_environment(
        computeEnvironmentName=environment,
        type="MANAGED",
        state="ENABLED",
        serviceRole=default["serviceRole"],
        computeResources={**resources, "maxvCpus": 4},
    )
    batch.create_job_queue(
        jobQueueName=queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    job_id = submit(
        batch,
        queue,
        register(batch, ["true"]),
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "8"}]},
    )

    _, detail = wait_for(batch, job_id, ("RUNNABLE",))
    batch.cancel_job(jobId=job_id, reason="never fits")

    assert detail["statusReason"].startswith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ")


def test_list_jobs_paginates_and_filters(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["true"])
    prefix = unique("paged")
    submitted = {
        batch.submit_job(jobName=f"{prefix}-{index}", jobQueue=emulator.job_queue, jobDefinition=definition)[
            "jobId"
        ]
        for index in range(5)
    }

    pages, token = [], None
    while True:
        arguments = {
            "jobQueue": emulator.job_queue,
            "filters": [{"name": "JOB_NAME", "values": [f"{prefix}*"]}],
        }
        response = batch.list_jobs(maxResults=2, **arguments, **({"nextToken": token} if token else {}))
        pages.append([summary["jobId"] for summary in response["jobSummaryList"]])
        token = response.get("nextToken")
        if not token:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    assert {job_id for page in pages for job_id in page} == submitted
    by_definition = batch.list_jobs(
        jobQueue=emulator.job_queue, filters=[{"name": "JOB_DEFINITION", "values": [definition]}]
    )["jobSummaryList"]
    assert {summary["jobId"] for summary in by_definition} == submitted


def test_list_jobs_defaults_to_running_jobs(emulator):
    batch = emulator.client("batch")
    job_id = submit(batch, emulator.job_queue, register(batch, ["sleep", "60"]))
    wait_for(batch, job_id, ("RUNNING",))

    running = {summary["jobId"] for summary in batch.list_jobs(jobQueue=emulator.job_queue)["jobSummaryList"]}
    succeeded = batch.list_jobs(jobQueue=emulator.job_queue, jobStatus="SUCCEEDED")["jobSummaryList"]
    batch.terminate_job(jobId=job_id, reason="clean up")

    assert job_id in running
    assert job_id not in {summary["jobId"] for summary in succeeded}


def test_submit_job_records_every_field(emulator):
    batch = emulator.client("batch")
    definition = register(batch, ["true"])
    job = batch.submit_job(
        jobName=unique("fields"),
        jobQueue=emulator.job_queue,
        jobDefinition=definition,
        tags={"team": "data", "run": "42"},
        propagateTags=True,
        shareIdentifier="analytics",
        schedulingPriorityOverride=7,
        retryStrategy={"attempts": 2, "evaluateOnExit": [{"onExitCode": "3", "action": "EXIT"}]},
        timeout={"attemptDurationSeconds": 120},
        containerOverrides={"resourceRequirements": [{"type": "MEMORY", "value": "1024"}]},
    )

    _, detail = wait_for(batch, job["jobId"])

    assert detail["tags"] == {"team": "data", "run": "42"}
    assert batch.list_tags_for_resource(resourceArn=job["jobArn"])["tags"] == {"team": "data", "run": "42"}
    assert detail["propagateTags"] is True
    assert detail["shareIdentifier"] == "analytics"
    assert detail["schedulingPriority"] == 7
    assert detail["retryStrategy"] == {
        "attempts": 2,
        "evaluateOnExit": [{"onExitCode": "3", "action": "EXIT"}],
    }
    assert detail["timeout"] == {"attemptDurationSeconds": 120}
    assert detail["jobDefinition"] == definition
    assert detail["jobQueue"].endswith(f":job-queue/{emulator.job_queue}")
    assert {"type": "MEMORY", "value": "1024"} in detail["container"]["resourceRequirements"]


def test_describe_jobs_rejects_more_than_one_hundred_ids(emulator):
    batch = emulator.client("batch")

    with pytest.raises(batch.exceptions.ClientException, match="at most 100"):
        batch.describe_jobs(jobs=[f"missing-{index}" for index in range(101)])


#: The main node waits, through the Batch API as AWS suggests, until node 1 has finished: on AWS
#: as here the other nodes start only once the main node runs, and the main node's exit stops them.
MAIN_WAITS_FOR_NODE_1 = """
import os, sys, time, boto3
parent = os.environ["AWS_BATCH_JOB_ID"].rpartition("#")[0]
batch, deadline = boto3.client("batch"), time.monotonic() + 30
while batch.describe_jobs(jobs=[parent + "#1"])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):
    if time.monotonic() > deadline:
        sys.exit("node 1 never finished")
    time.sleep(0.05)
print("main node saw node 1 finish", flush=True)
"""


def test_multi_node_job_runs_one_process_per_node(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    node_line = (
        'echo "node $AWS_BATCH_JOB_NODE_INDEX of $AWS_BATCH_JOB_NUM_NODES main $AWS_BATCH_JOB_MAIN_NODE_INDEX'
        ' at ${AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS:-itself}"'
    )
    resources = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}]
    definition = batch.register_job_definition(
        jobDefinitionName=unique("multinode"),
        type="multinode",
        nodeProperties={
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [
                {
                    "targetNodes": "0",
                    "container": {
                        "image": "python",
                        "command": ["sh", "-c", f'{node_line} && python3 -c "$WAIT"'],
                        "environment": [{"name": "WAIT", "value": MAIN_WAITS_FOR_NODE_1}],
                        "resourceRequirements": resources,
                    },
                },
                {
                    "targetNodes": "1:",
                    "container": {
                        "image": "alpine",
                        "command": ["sh", "-c", node_line],
                        "resourceRequirements": resources,
                    },
                },
            ],
        },
    )["jobDefinitionArn"]

    job_id = submit(batch, emulator.job_queue, definition)
    _, detail = wait_for(batch, job_id)
    main_node, node_1 = (describe(batch, f"{job_id}#{index}") for index in range(2))

    assert detail["status"] == "SUCCEEDED"
    assert detail["nodeProperties"]["numNodes"] == 2
    assert [main_node["status"], node_1["status"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert log_messages(logs, main_node["container"]["logStreamName"]) == [
        "node 0 of 2 main 0 at itself",
        "main node saw node 1 finish",
    ]
    assert log_messages(logs, node_1["container"]["logStreamName"]) == ["node 1 of 2 main 0 at 127.0.0.1"]


def test_eks_job_runs_every_container_of_its_pod(emulator):
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique("eks"),
        type="container",
        eksProperties={
            "podProperties": {
                "containers": [
                    {
                        "name": "main",
                        "image": "alpine",
                        "command": ["sh", "-c"],
                        "args": ['test "$GREETING" = hello'],
                        "env": [{"name": "GREETING", "value": "hello"}],
                    },
                    {"name": "sidecar", "image": "alpine", "command": ["true"]},
                ]
            }
        },
    )["jobDefinitionArn"]

    _, detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    assert [
        container["exitCode"] for container in detail["eksProperties"]["podProperties"]["containers"]
    ] == [
        0,
        0,
    ]
    assert [container["name"] for container in detail["eksAttempts"][0]["containers"]] == ["main", "sidecar"]


def test_fargate_queue_runs_jobs(emulator):
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique("fargate"),
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "alpine",
            "command": ["sh", "-c", 'test "$AWS_BATCH_CE_NAME" = airflow-batch-fargate-ce'],
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
        },
    )["jobDefinitionArn"]

    _, detail = wait_for(batch, submit(batch, emulator.fargate_job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    assert detail["platformCapabilities"] == ["FARGATE"]
    assert "containerInstanceArn" not in detail["container"]
    [interface] = detail["container"]["networkInterfaces"]
    assert interface["privateIpv4Address"].startswith("10.0.1.")
    assert detail["attempts"][0]["container"]["networkInterfaces"] == [interface]
