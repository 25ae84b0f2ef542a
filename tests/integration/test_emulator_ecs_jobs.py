"""ECS multi-container jobs (``ecsProperties``) on the emulator server, driven with boto3.

Every Batch answer of these tests is checked against botocore's output shape of its operation
(member names, types, enum values, required members) on the raw JSON, before boto3 parses it.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

TERMINAL = ("SUCCEEDED", "FAILED")
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
SMALL = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]


# ------------------------------------------------------------------------- botocore shapes


#: Members botocore marks required that AWS leaves out until they have a value: a job that has not
#: started yet has no startedAt (AWS Batch's own job state change events for STARTING show none).
ABSENT_UNTIL_SET = frozenset({("JobDetail", "startedAt")})


def shape_problems(shape: Any, value: Any, path: str) -> list[str]:
    """Return how ``value`` departs from botocore ``shape``: unknown or missing members, types, enums."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        problems = [
            f"{path}.{name}: not a member of {shape.name}" for name in value if name not in shape.members
        ]
        problems += [
            f"{path}.{name}: required by {shape.name} but missing"
            for name in shape.required_members
            if name not in value and (shape.name, name) not in ABSENT_UNTIL_SET
        ]
        for name, item in value.items():
            if name in shape.members:
                problems += shape_problems(shape.members[name], item, f"{path}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in shape_problems(shape.member, item, f"{path}[{index}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [
            problem
            for key, item in value.items()
            for problem in shape_problems(shape.value, item, f"{path}[{key}]")
        ]
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "long": (int,),
        "boolean": (bool,),
        "double": (int, float),
        "float": (int, float),
        "timestamp": (int, float, str),
    }
    types = expected.get(kind)
    if types is not None and (
        not isinstance(value, types) or (kind != "boolean" and isinstance(value, bool))
    ):
        return [f"{path}: expected {kind}, got {value!r}"]
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        return [f"{path}: {value!r} is not one of {enum}"]
    return []


class ShapeWatcher:
    """Check every answer a boto3 client receives against botocore's output shape of its operation."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: dict[str, int] = {}

    def __call__(self, http_response: Any, model: Any, **_: Any) -> None:
        """botocore ``after-call`` handler."""
        self.checked[model.name] = self.checked.get(model.name, 0) + 1
        if http_response.status_code >= 300 or model.output_shape is None:
            return
        body = json.loads(http_response.content or b"{}")
        self.problems += shape_problems(model.output_shape, body, model.name)


@pytest.fixture
def ecs(emulator) -> Iterator[Any]:
    """An ECS client whose every answer must match botocore's model."""
    client = emulator.client("ecs")
    watcher = ShapeWatcher()
    client.meta.events.register("after-call.ecs", watcher)
    yield client
    assert watcher.problems == [], "answers that depart from botocore's model"


@pytest.fixture
def batch(emulator) -> Iterator[Any]:
    """A Batch client whose every answer must match botocore's model."""
    client = emulator.client("batch")
    watcher = ShapeWatcher()
    client.meta.events.register("after-call.batch", watcher)
    yield client
    assert watcher.problems == [], "answers that depart from botocore's model"
    assert watcher.checked, "no answer was checked"


def test_shape_watcher_sees_unknown_members_types_and_enums():
    import botocore.session

    shape = botocore.session.get_session().get_service_model("batch").shape_for("JobDetail")
    detail = {
        "jobName": "n",
        "jobId": "i",
        "jobQueue": "q",
        "status": "DONE",
        "startedAt": "x",
        "jobDefinition": "d",
    }
    detail["oddity"] = 1

    problems = shape_problems(shape, detail, "JobDetail")

    assert "JobDetail.oddity: not a member of JobDetail" in problems
    assert any("'DONE' is not one of" in problem for problem in problems)
    assert "JobDetail.startedAt: expected long, got 'x'" in problems


# ------------------------------------------------------------------------------- helpers


def unique(prefix: str) -> str:
    """Return a name unique within the test session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def container(name: str, script: str, essential: bool = True, **extra: Any) -> dict[str, Any]:
    """Return a TaskContainerProperties running ``sh -c script``."""
    return {
        "name": name,
        "image": "public.ecr.aws/docker/library/alpine:3",
        "essential": essential,
        "command": ["sh", "-c", script],
        "resourceRequirements": SMALL,
        **extra,
    }


def register(batch: Any, containers: list[dict[str, Any]], name: str | None = None, **arguments: Any) -> str:
    """Register an ECS multi-container job definition; return its ARN."""
    return str(
        batch.register_job_definition(
            jobDefinitionName=name or unique("ecs-test"),
            type="container",
            ecsProperties={"taskProperties": [{"containers": containers, **arguments.pop("task", {})}]},
            **arguments,
        )["jobDefinitionArn"]
    )


def submit(batch: Any, queue: str, definition: str, **arguments: Any) -> str:
    """Submit a job; return its id."""
    return str(
        batch.submit_job(jobName=unique("job"), jobQueue=queue, jobDefinition=definition, **arguments)[
            "jobId"
        ]
    )


def wait_for(
    batch: Any, job_id: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll DescribeJobs until the job reaches one of ``statuses``; return its detail."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = batch.describe_jobs(jobs=[job_id])["jobs"]
        if found:
            last = found[0]
            if last["status"] in statuses:
                return dict(last)
        time.sleep(0.04)
    raise AssertionError(
        f"job {job_id} did not reach {statuses} within {timeout}s: {json.dumps(last, default=str)}"
    )


def task_of(detail: dict[str, Any]) -> dict[str, Any]:
    """Return the one task detail of an ECS job."""
    [task] = detail["ecsProperties"]["taskProperties"]
    return dict(task)


def containers_by_name(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the job's container details by name."""
    return {item["name"]: item for item in task_of(detail)["containers"]}


def messages(logs: Any, stream: str, group: str = "/aws/batch/job") -> list[str]:
    """Return every message of a log stream, oldest first."""
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]


def refused(call: Any, **arguments: Any) -> str:
    """Call ``call(**arguments)``, expect a ClientException, return its message."""
    with pytest.raises(ClientError) as caught:
        call(**arguments)
    assert caught.value.response["Error"]["Code"] == "ClientException"
    return str(caught.value.response["Error"]["Message"])


def execution_role(emulator: Any) -> str:
    """Return the ARN of the task execution role the bootstrap created."""
    return str(emulator.client("iam").get_role(RoleName="ecsTaskExecutionRole")["Role"]["Arn"])


# ------------------------------------------------------------------------ registration


def test_registered_definition_is_described_with_its_ecs_properties(batch):
    name = unique("ecs-def")
    containers = [
        container("helper", "echo helper", essential=False),
        container("main", "echo main", dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}]),
    ]
    arn = register(batch, containers, name=name, task={"taskRoleArn": "arn:aws:iam::123456789012:role/job"})

    [described] = batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]

    assert described["jobDefinitionName"] == name
    assert described["type"] == "container"
    assert described["revision"] == 1
    assert described["containerOrchestrationType"] == "ECS"
    assert described["ecsProperties"] == {
        "taskProperties": [{"containers": containers, "taskRoleArn": "arn:aws:iam::123456789012:role/job"}]
    }
    assert "containerProperties" not in described


def test_ecs_revision_after_a_container_revision_keeps_only_its_own_properties(batch):
    name = unique("ecs-rev")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={"image": "alpine", "command": ["true"], "resourceRequirements": SMALL},
    )
    second = register(batch, [container("main", "true")], name=name)
    third = batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={"image": "alpine", "command": ["true"], "resourceRequirements": SMALL},
    )["jobDefinitionArn"]

    described = {
        item["revision"]: item
        for item in batch.describe_job_definitions(jobDefinitions=[second, third])["jobDefinitions"]
    }

    assert "containerProperties" not in described[2]
    assert described[2]["ecsProperties"]["taskProperties"][0]["containers"][0]["name"] == "main"
    assert "ecsProperties" not in described[3]
    assert described[3]["containerProperties"]["image"] == "alpine"


def _task(containers: list[dict[str, Any]], **task: Any) -> dict[str, Any]:
    return {"taskProperties": [{"containers": containers, **task}]}


REGISTRATION_RULES = [
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", essential=False), container("b", "true", essential=False)]
            )
        },
        ["essential false", "at least one essential container"],
        id="no-essential-container",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", dependsOn=[{"containerName": "ghost", "condition": "START"}])]
            )
        },
        ["containers[0].dependsOn[0].containerName", "'ghost'", "must name a container of the task"],
        id="dependency-on-unknown-container",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [
                    container("a", "true"),
                    container("b", "true", dependsOn=[{"containerName": "a", "condition": "COMPLETE"}]),
                ]
            )
        },
        ["containers[1].dependsOn[0].condition", "'COMPLETE'", "can't be set on an essential container (a"],
        id="complete-on-essential-container",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [
                    container("a", "true", essential=False),
                    container("b", "true", dependsOn=[{"containerName": "a", "condition": "HEALTHY"}]),
                ]
            )
        },
        ["dependsOn[0].condition", "'HEALTHY'", "must be one of START, COMPLETE, SUCCESS"],
        id="healthy-condition",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", dependsOn=[{"containerName": "a", "condition": "START"}])]
            )
        },
        ["dependsOn[0].containerName", "'a'", "is the container itself"],
        id="self-dependency",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [
                    container("a", "true", dependsOn=[{"containerName": "b", "condition": "START"}]),
                    container("b", "true", dependsOn=[{"containerName": "a", "condition": "START"}]),
                ]
            )
        },
        ["dependsOn forms a cycle", "a -> b -> a"],
        id="dependency-cycle",
    ),
    pytest.param(
        {"ecsProperties": _task([container("a", "true"), container("a", "true")])},
        ["containers[1].name", "'a'", "names must be unique"],
        id="duplicate-names",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true"), {"image": "alpine", "resourceRequirements": SMALL}]
            )
        },
        ["containers[1].name is missing", "must name each one"],
        id="unnamed-container-among-several",
    ),
    pytest.param(
        {"ecsProperties": _task([container("bad name!", "true")])},
        ["containers[0].name", "'bad name!'", "letters, numbers, hyphens and underscores"],
        id="container-name-pattern",
    ),
    pytest.param(
        {"ecsProperties": _task([container(f"c{index}", "true") for index in range(11)])},
        ["ecsProperties.taskProperties[0].containers", "11", "1 to 10 containers"],
        id="more-than-ten-containers",
    ),
    pytest.param(
        {"ecsProperties": {"taskProperties": [{"containers": [container("a", "true")]}] * 2}},
        ["ecsProperties.taskProperties", "2", "exactly 1 task element"],
        id="two-task-elements",
    ),
    pytest.param(
        {
            "ecsProperties": _task([container("a", "true")]),
            "containerProperties": {"image": "alpine", "resourceRequirements": SMALL},
        },
        ["ecsProperties can't be used in addition to containerProperties"],
        id="with-container-properties",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", environment=[{"name": "AWS_BATCH_X", "value": "1"}])]
            )
        },
        ["containers[0].environment[0].name", "'AWS_BATCH_X'", "must not start with AWS_BATCH"],
        id="reserved-environment-name",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", resourceRequirements=[{"type": "VCPU", "value": "1"}])]
            )
        },
        ["MEMORY (sum over the containers)", "'0'", "at least 4 MiB"],
        id="no-memory",
    ),
    pytest.param(
        {
            "ecsProperties": _task(
                [container("a", "true", resourceRequirements=[*SMALL, {"type": "VCPU", "value": "-1"}])]
            )
        },
        ["resourceRequirements[2].value", "'-1'", "positive number of VCPU"],
        id="negative-vcpus",
    ),
    pytest.param(
        {"ecsProperties": _task([container("a", "true", startTimeout=1)])},
        ["containers[0].startTimeout", "1", "at least 2 seconds"],
        id="start-timeout-below-two",
    ),
    pytest.param(
        {
            "platformCapabilities": ["FARGATE"],
            "ecsProperties": _task(
                [
                    container(
                        "a",
                        "true",
                        resourceRequirements=[
                            {"type": "VCPU", "value": "1"},
                            {"type": "MEMORY", "value": "2048"},
                        ],
                    )
                ]
            ),
        },
        ["executionRoleArn is required", "Fargate"],
        id="fargate-without-execution-role",
    ),
    pytest.param(
        {
            "platformCapabilities": ["FARGATE"],
            "ecsProperties": _task(
                [
                    container(
                        "a",
                        "true",
                        resourceRequirements=[
                            {"type": "VCPU", "value": "1"},
                            {"type": "MEMORY", "value": "100"},
                        ],
                    )
                ],
                executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            ),
        },
        ["task size 1 vCPU / 100 MiB", "not a Fargate vCPU/memory pair"],
        id="fargate-task-size",
    ),
    pytest.param(
        {
            "platformCapabilities": ["FARGATE"],
            "ecsProperties": _task(
                [
                    container(
                        "a",
                        "true",
                        resourceRequirements=[
                            {"type": "VCPU", "value": "1"},
                            {"type": "MEMORY", "value": "2048"},
                            {"type": "GPU", "value": "1"},
                        ],
                    )
                ],
                executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            ),
        },
        ["resourceRequirements[2].type", "'GPU'", "not available for jobs that run on Fargate"],
        id="gpu-on-fargate",
    ),
]


@pytest.mark.parametrize(("arguments", "fragments"), REGISTRATION_RULES)
def test_registration_refuses_what_aws_refuses(batch, arguments, fragments):
    name = unique("ecs-bad")

    message = refused(batch.register_job_definition, jobDefinitionName=name, type="container", **arguments)

    for fragment in fragments:
        assert fragment in message
    assert batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"] == []


def test_multinode_type_with_ecs_properties_is_refused(batch):
    message = refused(
        batch.register_job_definition,
        jobDefinitionName=unique("ecs-bad"),
        type="multinode",
        ecsProperties=_task([container("a", "true")]),
    )

    assert "type 'multinode' must be container" in message


# ------------------------------------------------------------------------------ running


def test_two_containers_run_in_dependency_order_each_logging_to_its_own_stream(
    emulator, batch, tmp_path: Path
):
    logs = emulator.client("logs")
    marker = tmp_path / "helper-done"
    name = unique("ecs-two")
    definition = register(
        batch,
        [
            container("helper", f"echo helper-1; echo helper-2; touch {marker}", essential=False),
            container(
                "main",
                f"test -f {marker} && echo main saw helper; echo main-2",
                dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}],
            ),
        ],
        name=name,
    )
    job_id = submit(batch, emulator.job_queue, definition)

    detail = wait_for(batch, job_id)

    assert detail["status"] == "SUCCEEDED"
    assert detail["statusReason"] == ESSENTIAL_CONTAINER_EXITED
    assert "container" not in detail
    task = task_of(detail)
    task_id = task["taskArn"].rsplit("/", 1)[1]
    assert task["containerInstanceArn"].startswith("arn:aws:ecs:")
    by_name = containers_by_name(detail)
    assert {key: by_name["helper"][key] for key in ("exitCode", "essential")} == {
        "exitCode": 0,
        "essential": False,
    }
    assert by_name["main"]["exitCode"] == 0
    for container_name in ("helper", "main"):
        assert by_name[container_name]["logStreamName"] == f"{name}/{container_name}/{task_id}"
        assert by_name[container_name]["networkInterfaces"] == []
    assert messages(logs, by_name["helper"]["logStreamName"]) == ["helper-1", "helper-2"]
    assert messages(logs, by_name["main"]["logStreamName"]) == ["main saw helper", "main-2"]
    [attempt] = detail["attempts"]
    assert "container" not in attempt
    [attempt_task] = attempt["taskProperties"]
    assert attempt_task["taskArn"] == task["taskArn"]
    assert [(item["name"], item["exitCode"]) for item in attempt_task["containers"]] == [
        ("helper", 0),
        ("main", 0),
    ]
    assert attempt["statusReason"] == ESSENTIAL_CONTAINER_EXITED
    [summary] = [
        item
        for item in batch.list_jobs(jobQueue=emulator.job_queue, jobStatus="SUCCEEDED")["jobSummaryList"]
        if item["jobId"] == job_id
    ]
    assert "container" not in summary


def test_essential_container_exiting_5_fails_the_job_and_stops_the_others(emulator, batch, tmp_path: Path):
    logs = emulator.client("logs")
    marker = tmp_path / "side-up"
    definition = register(
        batch,
        [
            container("side", f"echo side is up; touch {marker}; sleep 60", essential=False),
            container(
                "main",
                f"while [ ! -f {marker} ]; do sleep 0.05; done; echo main failing; exit 5",
                dependsOn=[{"containerName": "side", "condition": "START"}],
            ),
        ],
    )
    started = time.monotonic()

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert time.monotonic() - started < 30, "the essential container's exit must stop the task"
    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == ESSENTIAL_CONTAINER_EXITED
    by_name = containers_by_name(detail)
    assert by_name["main"]["exitCode"] == 5
    assert by_name["side"]["exitCode"] == 143, "SIGTERM when the task stops"
    assert messages(logs, by_name["main"]["logStreamName"]) == ["main failing"]
    assert messages(logs, by_name["side"]["logStreamName"]) == ["side is up"]
    codes = {
        item["name"]: item["exitCode"] for item in detail["attempts"][0]["taskProperties"][0]["containers"]
    }
    assert codes == {"side": 143, "main": 5}


def test_non_essential_container_exiting_5_does_not_fail_the_job(emulator, batch):
    logs = emulator.client("logs")
    definition = register(
        batch,
        [
            container("probe", "echo probe failing; exit 5", essential=False),
            container(
                "main", "echo main fine", dependsOn=[{"containerName": "probe", "condition": "COMPLETE"}]
            ),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    by_name = containers_by_name(detail)
    assert (by_name["probe"]["exitCode"], by_name["main"]["exitCode"]) == (5, 0)
    assert messages(logs, by_name["probe"]["logStreamName"]) == ["probe failing"]
    assert messages(logs, by_name["main"]["logStreamName"]) == ["main fine"]


def test_success_dependency_that_fails_keeps_the_dependent_from_starting(emulator, batch):
    logs = emulator.client("logs")
    definition = register(
        batch,
        [
            container("setup", "echo setup broke; exit 3", essential=False),
            container(
                "main", "echo must not run", dependsOn=[{"containerName": "setup", "condition": "SUCCESS"}]
            ),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "FAILED"
    main = containers_by_name(detail)["main"]
    assert main["exitCode"] == 143
    assert main["reason"].startswith("CannotStartContainerError: dependency graph")
    assert "setup exited with code 3" in main["reason"]
    assert messages(logs, main["logStreamName"]) == []


def test_start_timeout_gives_up_on_a_dependency_that_never_completes(emulator, batch):
    definition = register(
        batch,
        [
            container("slow", "sleep 60", essential=False),
            container(
                "main",
                "echo never",
                startTimeout=2,
                dependsOn=[{"containerName": "slow", "condition": "COMPLETE"}],
            ),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition), timeout=30)

    assert detail["status"] == "FAILED"
    by_name = containers_by_name(detail)
    assert by_name["main"]["exitCode"] == 143
    assert "startTimeout of 2 seconds" in by_name["main"]["reason"]
    assert by_name["slow"]["exitCode"] == 143


def test_overrides_parameters_and_batch_variables_reach_the_named_container(emulator, batch):
    logs = emulator.client("logs")
    definition = register(
        batch,
        [
            container("helper", "echo helper as defined", essential=False),
            container(
                "main",
                "echo main as defined",
                environment=[{"name": "KEPT", "value": "yes"}, {"name": "CHANGED", "value": "old"}],
                dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}],
            ),
        ],
        parameters={"who": "nobody"},
    )
    job_id = submit(
        batch,
        emulator.job_queue,
        definition,
        parameters={"who": "world"},
        ecsPropertiesOverride={
            "taskProperties": [
                {
                    "containers": [
                        {
                            "name": "main",
                            "command": [
                                "sh",
                                "-c",
                                'echo "hello Ref::who $KEPT $CHANGED $ADDED $AWS_BATCH_JOB_ID"',
                            ],
                            "environment": [
                                {"name": "CHANGED", "value": "new"},
                                {"name": "ADDED", "value": "1"},
                            ],
                            "resourceRequirements": [{"type": "MEMORY", "value": "128"}],
                        }
                    ]
                }
            ]
        },
    )

    detail = wait_for(batch, job_id)

    assert detail["status"] == "SUCCEEDED"
    by_name = containers_by_name(detail)
    assert messages(logs, by_name["main"]["logStreamName"]) == [f"hello world yes new 1 {job_id}"]
    assert messages(logs, by_name["helper"]["logStreamName"]) == ["helper as defined"]
    assert by_name["main"]["command"][2].startswith('echo "hello world ')
    assert {"name": "CHANGED", "value": "new"} in by_name["main"]["environment"]
    assert {"type": "MEMORY", "value": "128"} in by_name["main"]["resourceRequirements"]
    assert by_name["helper"]["command"] == ["sh", "-c", "echo helper as defined"]


def test_each_container_gets_its_own_secrets_and_log_configuration(emulator, batch):
    logs = emulator.client("logs")
    parameter = f"/emulator-tests/{unique('parameter')}"
    emulator.client("ssm").put_parameter(Name=parameter, Value="p4ram", Type="SecureString")
    group = f"/emulator-tests/{unique('group')}"
    definition = register(
        batch,
        [
            container(
                "helper",
                'echo "helper [$TOKEN]"',
                essential=False,
                logConfiguration={
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": group, "awslogs-stream-prefix": "app"},
                },
            ),
            container(
                "main",
                'echo "main [$TOKEN]"',
                secrets=[{"name": "TOKEN", "valueFrom": parameter}],
                dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}],
            ),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    by_name = containers_by_name(detail)
    task_id = task_of(detail)["taskArn"].rsplit("/", 1)[1]
    assert detail["status"] == "SUCCEEDED"
    assert by_name["helper"]["logStreamName"] == f"app/helper/{task_id}"
    assert messages(logs, by_name["helper"]["logStreamName"], group=group) == ["helper []"]
    assert messages(logs, by_name["main"]["logStreamName"]) == ["main [p4ram]"]


def test_missing_secret_fails_the_task_before_any_container_runs(emulator, batch):
    missing = f"arn:aws:secretsmanager:{emulator.region}:123456789012:secret:does-not-exist-AbCdEf"
    definition = register(
        batch,
        [
            container("helper", "echo helper", essential=False),
            container("main", "true", secrets=[{"name": "TOKEN", "valueFrom": missing}]),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "FAILED"
    assert detail["statusReason"].startswith("ResourceInitializationError: unable to pull secrets")
    assert all("exitCode" not in item for item in task_of(detail)["containers"])


def test_override_and_kind_rules_are_refused_at_submit(emulator, batch):
    ecs_definition = register(batch, [container("main", "true")])
    container_definition = batch.register_job_definition(
        jobDefinitionName=unique("plain"),
        type="container",
        containerProperties={"image": "alpine", "command": ["true"], "resourceRequirements": SMALL},
    )["jobDefinitionArn"]
    common = {"jobName": "refused", "jobQueue": emulator.job_queue}

    unknown = refused(
        batch.submit_job,
        jobDefinition=ecs_definition,
        ecsPropertiesOverride={"taskProperties": [{"containers": [{"name": "ghost", "command": ["true"]}]}]},
        **common,
    )
    empty = refused(
        batch.submit_job,
        jobDefinition=ecs_definition,
        ecsPropertiesOverride={
            "taskProperties": [{"containers": [{"name": "main", "command": ["echo", ""]}]}]
        },
        **common,
    )
    reserved = refused(
        batch.submit_job,
        jobDefinition=ecs_definition,
        ecsPropertiesOverride={
            "taskProperties": [
                {"containers": [{"name": "main", "environment": [{"name": "AWS_BATCH_Y", "value": "1"}]}]}
            ]
        },
        **common,
    )
    wrong_kind = refused(
        batch.submit_job, jobDefinition=ecs_definition, containerOverrides={"command": ["true"]}, **common
    )
    not_ecs = refused(
        batch.submit_job,
        jobDefinition=container_definition,
        ecsPropertiesOverride={"taskProperties": [{"containers": [{"command": ["true"]}]}]},
        **common,
    )

    assert "containers[0].name 'ghost' names no container of the job definition (main)" in unknown
    assert "command ['echo', ''] can't contain an empty string" in empty
    assert "environment[0].name 'AWS_BATCH_Y' must not start with AWS_BATCH" in reserved
    assert "containerOverrides can't be used" in wrong_kind
    assert "ecsPropertiesOverride applies only to job definitions with ecsProperties" in not_ecs
    assert (
        batch.list_jobs(jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": ["refused"]}])[
            "jobSummaryList"
        ]
        == []
    )


def test_failed_attempt_is_retried_with_its_own_task(emulator, batch):
    definition = register(
        batch,
        [
            container(
                "main", 'echo "attempt $AWS_BATCH_JOB_ATTEMPT"; test "$AWS_BATCH_JOB_ATTEMPT" = 2 || exit 5'
            )
        ],
        retryStrategy={"attempts": 2},
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    first, second = (attempt["taskProperties"][0] for attempt in detail["attempts"])
    assert [item["exitCode"] for item in first["containers"]] == [5]
    assert [item["exitCode"] for item in second["containers"]] == [0]
    assert first["taskArn"] != second["taskArn"]
    assert first["containers"][0]["logStreamName"] != second["containers"][0]["logStreamName"]
    assert task_of(detail)["taskArn"] == second["taskArn"]


@pytest.mark.parametrize(
    ("exit_on", "attempts"),
    [
        pytest.param("5", 1, id="essential-exit-code-matches"),
        pytest.param("7", 3, id="non-essential-code-ignored"),
    ],
)
def test_evaluate_on_exit_matches_the_essential_container_exit_code(emulator, batch, exit_on, attempts):
    definition = register(
        batch,
        [
            container("probe", "exit 7", essential=False),
            container("main", "exit 5", dependsOn=[{"containerName": "probe", "condition": "COMPLETE"}]),
        ],
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": exit_on, "action": "EXIT"}]},
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition), timeout=60)

    assert detail["status"] == "FAILED"
    assert len(detail["attempts"]) == attempts


def test_array_of_an_ecs_definition_runs_one_task_per_child(emulator, batch):
    logs = emulator.client("logs")
    definition = register(
        batch,
        [
            container("helper", 'echo "helper $AWS_BATCH_JOB_ARRAY_INDEX"', essential=False),
            container(
                "main",
                'echo "main $AWS_BATCH_JOB_ARRAY_INDEX"',
                dependsOn=[{"containerName": "helper", "condition": "SUCCESS"}],
            ),
        ],
    )
    parent_id = submit(batch, emulator.job_queue, definition, arrayProperties={"size": 3})

    parent = wait_for(batch, parent_id)
    children = batch.describe_jobs(jobs=[f"{parent_id}:{index}" for index in range(3)])["jobs"]

    assert parent["status"] == "SUCCEEDED"
    assert parent["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    assert len({task_of(child)["taskArn"] for child in children}) == 3
    for child in children:
        index = child["arrayProperties"]["index"]
        by_name = containers_by_name(child)
        assert messages(logs, by_name["helper"]["logStreamName"]) == [f"helper {index}"]
        assert messages(logs, by_name["main"]["logStreamName"]) == [f"main {index}"]


def test_containers_that_exit_at_once_end_by_their_exit_code(emulator, batch):
    """Quick containers may exit before their launch is recorded: each keeps its exit."""
    quick = [f"quick-{index}" for index in range(4)]
    definition = register(
        batch,
        [
            *(container(name, "true", essential=False) for name in quick),
            container(
                "main", "true", dependsOn=[{"containerName": name, "condition": "SUCCESS"} for name in quick]
            ),
        ],
    )

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    expected = dict.fromkeys([*quick, "main"], 0)
    assert {name: item.get("exitCode") for name, item in containers_by_name(detail).items()} == expected
    [attempt] = detail["attempts"]
    assert {
        item["name"]: item.get("exitCode") for item in attempt["taskProperties"][0]["containers"]
    } == expected


def test_an_essential_container_that_exits_at_once_stops_the_container_started_with_it(emulator, batch):
    definition = register(
        batch, [container("side", "sleep 60", essential=False), container("main", "exit 4")]
    )
    started = time.monotonic()

    detail = wait_for(batch, submit(batch, emulator.job_queue, definition))

    assert time.monotonic() - started < 30, "the essential container's exit must stop the task"
    assert (detail["status"], detail["statusReason"]) == ("FAILED", ESSENTIAL_CONTAINER_EXITED)
    by_name = containers_by_name(detail)
    assert (by_name["main"]["exitCode"], by_name["side"]["exitCode"]) == (4, 143)


def test_terminate_stops_every_container(emulator, batch, tmp_path: Path):
    marker = tmp_path / "running"
    definition = register(
        batch,
        [
            container("side", f"touch {marker}; sleep 60", essential=False),
            container("main", "sleep 60", dependsOn=[{"containerName": "side", "condition": "START"}]),
        ],
    )
    job_id = submit(batch, emulator.job_queue, definition)
    wait_for(batch, job_id, ("RUNNING",))
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline, "the side container never ran"
        time.sleep(0.05)

    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    detail = wait_for(batch, job_id)

    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == "stopped by the test"
    assert detail["isTerminated"] is True
    assert {item["name"]: item.get("exitCode") for item in task_of(detail)["containers"]} == {
        "side": 143,
        "main": 143,
    }


def test_fargate_task_has_one_network_interface_and_no_container_instance(emulator, batch):
    definition = register(
        batch,
        [
            container(
                "helper",
                "echo helper",
                essential=False,
                resourceRequirements=[{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
            ),
            container(
                "main",
                'test "$AWS_BATCH_CE_NAME" = airflow-batch-fargate-ce',
                resourceRequirements=[{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
                dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}],
            ),
        ],
        platformCapabilities=["FARGATE"],
        task={
            "executionRoleArn": execution_role(emulator),
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
        },
    )

    detail = wait_for(batch, submit(batch, emulator.fargate_job_queue, definition))

    assert detail["status"] == "SUCCEEDED"
    assert detail["platformCapabilities"] == ["FARGATE"]
    task = task_of(detail)
    assert "containerInstanceArn" not in task
    assert task["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    interfaces = [item["networkInterfaces"] for item in task["containers"]]
    assert interfaces[0] == interfaces[1], "containers of a Fargate task share its network interface"
    [interface] = interfaces[0]
    assert interface["privateIpv4Address"].startswith("10.0.1.")
    assert interface["attachmentId"]
    assert detail["attempts"][0]["taskProperties"][0]["containers"][0]["networkInterfaces"] == [interface]


def test_fargate_override_must_keep_a_fargate_task_size(emulator, batch):
    definition = register(
        batch,
        [
            container(
                "main",
                "true",
                resourceRequirements=[{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            )
        ],
        platformCapabilities=["FARGATE"],
        task={"executionRoleArn": execution_role(emulator)},
    )

    message = refused(
        batch.submit_job,
        jobName="too-small",
        jobQueue=emulator.fargate_job_queue,
        jobDefinition=definition,
        ecsPropertiesOverride={
            "taskProperties": [
                {
                    "containers": [
                        {"name": "main", "resourceRequirements": [{"type": "MEMORY", "value": "700"}]}
                    ]
                }
            ]
        },
    )

    assert "task size 1 vCPU / 700 MiB" in message


# --------------------------------------------------------------------- ECS task definition


def test_ecs_task_definition_behind_a_job_can_be_deregistered_like_the_provider_teardown(
    emulator, batch, ecs
):
    """As apache/airflow's example_batch system test: a Fargate container job, then
    ``EcsDeregisterTaskDefinitionOperator(task_definition=f"{job_definition_name}:1")``."""
    name = unique("teardown")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "command": ["sleep", "0.1"],
            "executionRoleArn": execution_role(emulator),
            "image": "busybox",
            "resourceRequirements": [{"value": "1", "type": "VCPU"}, {"value": "2048", "type": "MEMORY"}],
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
        },
    )
    assert ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"] == [], "none before a job runs"
    for _ in range(2):
        assert wait_for(batch, submit(batch, emulator.fargate_job_queue, name))["status"] == "SUCCEEDED"

    [arn] = ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"]
    described = ecs.describe_task_definition(taskDefinition=f"{name}:1")["taskDefinition"]
    deregistered = ecs.deregister_task_definition(taskDefinition=f"{name}:1")["taskDefinition"]

    assert arn == described["taskDefinitionArn"]
    assert arn.endswith(f":task-definition/{name}:1"), "one task definition, reused by the second job"
    assert described["requiresCompatibilities"] == ["FARGATE"]
    assert described["networkMode"] == "awsvpc"
    assert (described["cpu"], described["memory"]) == ("1024", "2048")
    assert described["executionRoleArn"] == execution_role(emulator)
    [default] = described["containerDefinitions"]
    assert (default["name"], default["image"], default["command"]) == ("default", "busybox", ["sleep", "0.1"])
    assert default["logConfiguration"]["options"]["awslogs-stream-prefix"] == name
    assert deregistered["status"] == "INACTIVE"
    assert ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"] == []


def test_ecs_task_definition_of_a_multi_container_job_names_its_containers(emulator, batch, ecs):
    name = unique("ecs-taskdef")
    register(
        batch,
        [
            container("helper", "true", essential=False),
            container("main", "true", dependsOn=[{"containerName": "helper", "condition": "COMPLETE"}]),
        ],
        name=name,
        task={"taskRoleArn": "arn:aws:iam::123456789012:role/job"},
    )
    assert wait_for(batch, submit(batch, emulator.job_queue, name))["status"] == "SUCCEEDED"
    ecs.deregister_task_definition(taskDefinition=f"{name}:1")

    assert wait_for(batch, submit(batch, emulator.job_queue, name))["status"] == "SUCCEEDED"
    described = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]

    assert described["revision"] == 2, "a deregistered task definition is registered again"
    assert described["taskRoleArn"] == "arn:aws:iam::123456789012:role/job"
    helper, main = described["containerDefinitions"]
    assert (helper["name"], helper["essential"]) == ("helper", False)
    assert (main["name"], main["essential"], main["dependsOn"]) == (
        "main",
        True,
        [{"containerName": "helper", "condition": "COMPLETE"}],
    )
    assert (main["cpu"], main["memory"]) == (1024, 64)
