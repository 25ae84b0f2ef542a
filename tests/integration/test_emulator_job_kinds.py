"""Multi-node parallel and EKS jobs on the emulator, described and run as AWS Batch documents them.

Every answer is checked against botocore's model of the Batch API by the emulator's
``--check-shapes`` (tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

TERMINAL = ("SUCCEEDED", "FAILED")
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
RESOURCES = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}]
WORKER_LOG_GROUP = "/emulator-tests/mnp-workers"
CLUSTER_NAME = "airflow-batch-emulator"
NAMESPACE = "airflow-batch"
INSIGHTS_GROUP = f"/aws/containerinsights/{CLUSTER_NAME}/application"
EKS_ATTEMPT_MEMBERS = {
    "containers",
    "initContainers",
    "eksClusterArn",
    "podName",
    "podNamespace",
    "nodeName",
    "startedAt",
    "stoppedAt",
    "statusReason",
}

#: What every node of the multi-node tests runs. It says who it is; then, as told by its
#: environment, waits (through the Batch API, as AWS suggests) for other nodes to reach a
#: status, hangs until stopped, or exits with a code (5 on the first attempt if asked).
NODE_SCRIPT = """
import os, sys, time
import boto3
index = os.environ["AWS_BATCH_JOB_NODE_INDEX"]
print(
    f"node {index} is {os.environ['AWS_BATCH_JOB_ID']} attempt {os.environ['AWS_BATCH_JOB_ATTEMPT']}"
    f" main {os.environ['AWS_BATCH_JOB_MAIN_NODE_INDEX']} of {os.environ['AWS_BATCH_JOB_NUM_NODES']}"
    f" main address {os.environ.get('AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS', 'none')}",
    flush=True,
)
if os.environ.get("WAIT_FOR_NODE"):
    nodes, _, statuses = os.environ["WAIT_FOR_NODE"].partition(":")
    batch, deadline = boto3.client("batch"), time.monotonic() + 30
    for node in nodes.split(","):
        target = os.environ["AWS_BATCH_JOB_ID"].rpartition("#")[0] + "#" + node
        while (status := batch.describe_jobs(jobs=[target])["jobs"][0]["status"]) not in statuses.split(","):
            if time.monotonic() > deadline:
                sys.exit(f"node {node} never reached {statuses}")
            time.sleep(0.05)
        print(f"node {node} is {status}", flush=True)
if os.environ.get("HANG"):
    time.sleep(120)
code = int(os.environ.get("EXIT_CODE", "0"))
if os.environ.get("FAIL_FIRST_ATTEMPT") and os.environ["AWS_BATCH_JOB_ATTEMPT"] == "1":
    code = 5
print(f"node {index} exits {code}", flush=True)
sys.exit(code)
"""


def unique(prefix: str) -> str:
    """Return a name unique within the test session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def describe(batch: Any, job_id: str) -> dict[str, Any]:
    """Return the DescribeJobs detail of one job."""
    [detail] = batch.describe_jobs(jobs=[job_id])["jobs"]
    return dict(detail)


def wait_for(
    batch: Any, job_id: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 40.0
) -> dict[str, Any]:
    """Poll until the job (or node job) reaches one of ``statuses``; return its detail."""
    deadline = time.monotonic() + timeout
    while True:
        found = batch.describe_jobs(jobs=[job_id])["jobs"]
        if found and found[0]["status"] in statuses:
            return describe(batch, job_id)
        assert time.monotonic() < deadline, f"{job_id} did not reach {statuses}: {found}"
        time.sleep(0.05)


def log_messages(logs: Any, group: str, stream: str) -> list[str]:
    """Return every message of a log stream, oldest first."""
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]


def submit(batch: Any, queue: str, definition: str, **arguments: Any) -> str:
    """Submit a job; return its id."""
    return str(
        batch.submit_job(jobName=unique("kind"), jobQueue=queue, jobDefinition=definition, **arguments)[
            "jobId"
        ]
    )


# ---------------------------------------------------------------------------------- multi-node


def node_range(target: str, **environment: str) -> dict[str, Any]:
    """Return a node range running NODE_SCRIPT with ``environment``."""
    return {
        "targetNodes": target,
        "container": {
            "image": "python",
            "command": ["python3", "-c", NODE_SCRIPT],
            "environment": [{"name": name, "value": value} for name, value in environment.items()],
            "resourceRequirements": RESOURCES,
        },
    }


def register_multinode(batch: Any, main: dict[str, Any], others: dict[str, Any], **extra: Any) -> str:
    """Register a two-node job definition: node 0 (main) and node 1; return its ARN."""
    return str(
        batch.register_job_definition(
            jobDefinitionName=unique("mnp"),
            type="multinode",
            nodeProperties={"numNodes": 2, "mainNode": 0, "nodeRangeProperties": [main, others]},
            **extra,
        )["jobDefinitionArn"]
    )


def test_each_node_is_a_job_with_its_own_task_stream_and_log_configuration(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    worker = node_range("1:")
    worker["container"]["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": WORKER_LOG_GROUP, "awslogs-stream-prefix": "workers"},
    }
    definition = register_multinode(batch, node_range("0", WAIT_FOR_NODE="1:SUCCEEDED,FAILED"), worker)

    job_id = submit(batch, emulator.job_queue, definition)
    parent = wait_for(batch, job_id)
    main_node = describe(batch, f"{job_id}#0")
    worker_node = describe(batch, f"{parent['jobArn']}#1")
    [node_list] = [batch.list_jobs(multiNodeJobId=job_id, jobStatus="SUCCEEDED")["jobSummaryList"]]

    assert parent["status"] == "SUCCEEDED"
    assert parent["statusReason"] == main_node["statusReason"] == ESSENTIAL_CONTAINER_EXITED
    assert parent["nodeProperties"]["numNodes"] == 2
    assert "nodeDetails" not in parent
    assert parent["container"] == {"exitCode": 0}
    assert [attempt["container"] for attempt in parent["attempts"]] == [{"exitCode": 0}]
    assert (parent["startedAt"], parent["stoppedAt"]) == (main_node["startedAt"], main_node["stoppedAt"])
    assert main_node["jobId"] == f"{job_id}#0"
    assert worker_node["jobArn"] == f"{parent['jobArn']}#1"
    assert main_node["nodeDetails"] == {"nodeIndex": 0, "isMainNode": True}
    assert worker_node["nodeDetails"] == {"nodeIndex": 1, "isMainNode": False}
    assert main_node["startedAt"] < worker_node["startedAt"], "the main node starts first"
    tasks = {node["container"]["taskArn"] for node in (main_node, worker_node)}
    assert len(tasks) == 2, "each node is its own task"
    main_stream, worker_stream = (node["container"]["logStreamName"] for node in (main_node, worker_node))
    assert (
        main_stream
        == f"{main_node['jobDefinition'].split('/')[-1].split(':')[0]}/default/"
        + (main_node["container"]["taskArn"].rsplit("/", 1)[1])
    )
    assert worker_stream == "workers/default/" + worker_node["container"]["taskArn"].rsplit("/", 1)[1]
    assert [node["container"]["exitCode"] for node in (main_node, worker_node)] == [0, 0]
    assert worker_node["container"]["networkInterfaces"][0]["privateIpv4Address"] == "127.0.0.1"
    assert worker_node["attempts"][0]["container"]["logStreamName"] == worker_stream
    assert log_messages(logs, "/aws/batch/job", main_stream) == [
        f"node 0 is {job_id}#0 attempt 1 main 0 of 2 main address none",
        "node 1 is SUCCEEDED",
        "node 0 exits 0",
    ]
    assert log_messages(logs, WORKER_LOG_GROUP, worker_stream) == [
        f"node 1 is {job_id}#1 attempt 1 main 0 of 2 main address 127.0.0.1",
        "node 1 exits 0",
    ]
    assert [(item["jobId"], item["nodeProperties"]) for item in node_list] == [
        (f"{job_id}#0", {"isMainNode": True, "nodeIndex": 0}),
        (f"{job_id}#1", {"isMainNode": False, "nodeIndex": 1}),
    ]
    [parent_summary] = batch.list_jobs(
        jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": [parent["jobName"]]}]
    )["jobSummaryList"]
    assert parent_summary["nodeProperties"] == {"numNodes": 2}


def test_a_failed_node_other_than_the_main_node_leaves_the_job_to_the_main_node(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register_multinode(
        batch, node_range("0", WAIT_FOR_NODE="1:SUCCEEDED,FAILED"), node_range("1", EXIT_CODE="5")
    )

    job_id = submit(batch, emulator.job_queue, definition)
    parent = wait_for(batch, job_id)
    main_node, failed_node = describe(batch, f"{job_id}#0"), describe(batch, f"{job_id}#1")

    assert parent["status"] == "SUCCEEDED"
    assert parent["container"]["exitCode"] == 0
    assert (main_node["status"], failed_node["status"]) == ("SUCCEEDED", "FAILED")
    assert failed_node["container"]["exitCode"] == 5
    assert failed_node["attempts"][0]["container"]["exitCode"] == 5
    stream = failed_node["container"]["logStreamName"]
    assert log_messages(logs, "/aws/batch/job", stream)[-1] == "node 1 exits 5"
    assert (
        log_messages(logs, "/aws/batch/job", main_node["container"]["logStreamName"])[1] == "node 1 is FAILED"
    )


def test_the_main_node_failure_fails_the_job_and_stops_the_other_nodes(emulator):
    batch = emulator.client("batch")
    definition = register_multinode(
        batch, node_range("0", WAIT_FOR_NODE="1:RUNNING", EXIT_CODE="5"), node_range("1", HANG="1")
    )

    job_id = submit(batch, emulator.job_queue, definition)
    parent = wait_for(batch, job_id, timeout=30)
    main_node, stopped_node = describe(batch, f"{job_id}#0"), describe(batch, f"{job_id}#1")

    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == ESSENTIAL_CONTAINER_EXITED
    assert parent["container"]["exitCode"] == 5
    assert parent["attempts"][0]["container"]["exitCode"] == 5
    assert (main_node["status"], main_node["container"]["exitCode"]) == ("FAILED", 5)
    assert stopped_node["status"] == "FAILED", "the node was stopped, so it did not exit 0"
    assert stopped_node["container"]["exitCode"] == 143, "stopped with SIGTERM"
    assert stopped_node["stoppedAt"] - stopped_node["startedAt"] < 60_000


def test_a_retried_job_gives_every_node_another_attempt(emulator):
    batch = emulator.client("batch")
    definition = register_multinode(
        batch,
        node_range("0", WAIT_FOR_NODE="1:SUCCEEDED,FAILED", FAIL_FIRST_ATTEMPT="1"),
        node_range("1"),
        retryStrategy={"attempts": 2},
    )

    job_id = submit(batch, emulator.job_queue, definition)
    parent = wait_for(batch, job_id)
    nodes = [describe(batch, f"{job_id}#{index}") for index in range(2)]

    assert parent["status"] == "SUCCEEDED"
    assert [attempt["container"]["exitCode"] for attempt in parent["attempts"]] == [5, 0]
    assert [attempt["container"]["exitCode"] for attempt in nodes[0]["attempts"]] == [5, 0]
    assert [attempt["container"]["exitCode"] for attempt in nodes[1]["attempts"]] == [0, 0]
    for node in nodes:
        first, second = node["attempts"]
        assert first["container"]["taskArn"] != second["container"]["taskArn"]
        assert first["container"]["logStreamName"] != second["container"]["logStreamName"]
        assert node["container"]["taskArn"] == second["container"]["taskArn"]


def test_nodes_that_exit_at_once_end_by_their_exit_code(emulator):
    batch = emulator.client("batch")
    quick = node_range("1:")
    quick["container"]["command"] = ["true"]
    definition = str(
        batch.register_job_definition(
            jobDefinitionName=unique("mnp-quick"),
            type="multinode",
            nodeProperties={
                "numNodes": 5,
                "mainNode": 0,
                "nodeRangeProperties": [node_range("0", WAIT_FOR_NODE="1,2,3,4:SUCCEEDED,FAILED"), quick],
            },
        )["jobDefinitionArn"]
    )

    job_id = submit(batch, emulator.job_queue, definition)
    parent = wait_for(batch, job_id)
    nodes = [describe(batch, f"{job_id}#{index}") for index in range(5)]

    assert parent["status"] == "SUCCEEDED"
    assert [node["status"] for node in nodes] == ["SUCCEEDED"] * 5
    for node in nodes:
        assert node["container"]["exitCode"] == 0
        assert node["attempts"][0]["startedAt"] <= node["attempts"][0]["stoppedAt"]
        assert node["attempts"][0]["container"]["logStreamName"] == node["container"]["logStreamName"]


def test_terminating_the_job_stops_every_node_with_the_reason(emulator):
    batch = emulator.client("batch")
    definition = register_multinode(batch, node_range("0", HANG="1"), node_range("1", HANG="1"))
    job_id = submit(batch, emulator.job_queue, definition)
    wait_for(batch, f"{job_id}#1", ("RUNNING",))

    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    parent = wait_for(batch, job_id)
    nodes = [describe(batch, f"{job_id}#{index}") for index in range(2)]

    assert (parent["status"], parent["statusReason"], parent["isTerminated"]) == (
        "FAILED",
        "stopped by the test",
        True,
    )
    for node in nodes:
        assert (node["status"], node["statusReason"], node["isTerminated"]) == (
            "FAILED",
            "stopped by the test",
            True,
        )
        assert node["container"]["exitCode"] == 143


def test_each_node_group_gets_the_ecs_task_definition_of_its_nodes(emulator):
    batch, ecs = emulator.client("batch"), emulator.client("ecs")
    name = unique("mnp-taskdef")
    worker = node_range("1:")
    worker["container"]["image"] = "worker-image"
    batch.register_job_definition(
        jobDefinitionName=name,
        type="multinode",
        nodeProperties={"numNodes": 2, "mainNode": 0, "nodeRangeProperties": [node_range("0"), worker]},
    )
    assert ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"] == [], "none before a job runs"

    for _ in range(2):
        assert wait_for(batch, submit(batch, emulator.job_queue, name))["status"] == "SUCCEEDED"

    arns = ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"]
    assert [arn.rsplit("/", 1)[1] for arn in arns] == [f"{name}:1", f"{name}:2"], "reused by the second job"
    for arn, image in zip(arns, ("python", "worker-image"), strict=True):
        described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        [default] = described["containerDefinitions"]
        assert (default["name"], default["image"]) == ("default", image)
        assert described["networkMode"] == "awsvpc", "each node is an awsvpc task"
        assert described["requiresCompatibilities"] == ["EC2"]


def test_an_unknown_node_is_not_found(emulator):
    batch = emulator.client("batch")
    definition = register_multinode(batch, node_range("0"), node_range("1"))
    job_id = submit(batch, emulator.job_queue, definition)
    wait_for(batch, job_id)

    assert batch.describe_jobs(jobs=[f"{job_id}#2", f"{job_id}#x", "no-such-job#0"])["jobs"] == []
    assert batch.list_jobs(multiNodeJobId="no-such-job", jobStatus="SUCCEEDED")["jobSummaryList"] == []


# ----------------------------------------------------------------------------------------- EKS


def register_eks(
    batch: Any,
    containers: list[dict[str, Any]],
    init_containers: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """Register an EKS job definition with these containers; return its ARN."""
    pod: dict[str, Any] = {"containers": containers}
    if init_containers:
        pod["initContainers"] = init_containers
    return str(
        batch.register_job_definition(
            jobDefinitionName=unique("eks"), type="container", eksProperties={"podProperties": pod}, **extra
        )["jobDefinitionArn"]
    )


def shell_container(name: str, script: str) -> dict[str, Any]:
    """Return an EKS container running ``script`` with sh."""
    return {"name": name, "image": "alpine", "command": ["sh", "-c"], "args": [script]}


def insights_stream(attempt: dict[str, Any], container: dict[str, Any]) -> str:
    """Return the Container Insights stream of a container of an EKS attempt (Fluent Bit's naming)."""
    log_file = (
        f"{attempt['podName']}_{attempt['podNamespace']}_{container['name']}-{container['containerID']}.log"
    )
    return f"{attempt['nodeName']}-application.var.log.containers.{log_file}"


def insights_records(logs: Any, attempt: dict[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the Fluent Bit records of a container's stream, oldest first."""
    return [
        json.loads(message)
        for message in log_messages(logs, INSIGHTS_GROUP, insights_stream(attempt, container))
    ]


def test_eks_job_runs_its_pod_and_logs_to_container_insights(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register_eks(
        batch,
        [
            shell_container("main", "echo main line one; echo main line two"),
            shell_container("sidecar", "echo sidecar"),
        ],
        [shell_container("setup", "echo setting up")],
    )

    job_id = submit(batch, emulator.eks_job_queue, definition)
    detail = wait_for(batch, job_id)
    pod = detail["eksProperties"]["podProperties"]
    [attempt] = detail["eksAttempts"]
    account = emulator.client("sts").get_caller_identity()["Account"]

    assert detail["status"] == "SUCCEEDED"
    assert detail["attempts"] == []
    assert "container" not in detail
    assert re.fullmatch(r"aws-batch\.[0-9a-f-]{36}", pod["podName"])
    assert re.fullmatch(r"ip-10-0-1-\d+\.ec2\.internal", pod["nodeName"])
    assert [(item["name"], item["exitCode"], item["reason"]) for item in pod["containers"]] == [
        ("main", 0, "Completed"),
        ("sidecar", 0, "Completed"),
    ]
    assert [(item["name"], item["exitCode"]) for item in pod["initContainers"]] == [("setup", 0)]
    assert set(attempt) == EKS_ATTEMPT_MEMBERS
    assert attempt["eksClusterArn"] == f"arn:aws:eks:{emulator.region}:{account}:cluster/{CLUSTER_NAME}"
    assert (attempt["podName"], attempt["nodeName"]) == (pod["podName"], pod["nodeName"])
    assert attempt["podNamespace"] == NAMESPACE
    assert attempt["statusReason"] == detail["statusReason"]
    assert attempt["startedAt"] == detail["startedAt"]
    assert attempt["stoppedAt"] <= detail["stoppedAt"]
    for container in [*attempt["containers"], *attempt["initContainers"]]:
        assert set(container) == {"name", "containerID", "exitCode", "reason"}
        assert re.fullmatch(r"[0-9a-f]{64}", container["containerID"])
    main, sidecar = attempt["containers"]
    [setup] = attempt["initContainers"]
    main_records = insights_records(logs, attempt, main)
    assert [record["log"] for record in main_records] == ["main line one", "main line two"]
    assert [record["log"] for record in insights_records(logs, attempt, sidecar)] == ["sidecar"]
    setup_records = insights_records(logs, attempt, setup)
    assert [record["log"] for record in setup_records] == ["setting up"]
    assert main_records[0]["kubernetes"] == {
        "pod_name": pod["podName"],
        "namespace_name": NAMESPACE,
        "pod_id": main_records[0]["kubernetes"]["pod_id"],
        "host": pod["nodeName"],
        "container_name": "main",
        "docker_id": main["containerID"],
        "container_image": "alpine",
    }
    assert main_records[0]["stream"] == "stdout"
    first_main_event = logs.get_log_events(
        logGroupName=INSIGHTS_GROUP, logStreamName=insights_stream(attempt, main), startFromHead=True
    )["events"][0]
    last_setup_event = logs.get_log_events(
        logGroupName=INSIGHTS_GROUP, logStreamName=insights_stream(attempt, setup), startFromHead=True
    )["events"][-1]
    assert last_setup_event["timestamp"] <= first_main_event["timestamp"], "init containers run first"
    definition_name = definition.split("/")[-1].split(":")[0]
    try:
        batch_streams = logs.describe_log_streams(
            logGroupName="/aws/batch/job", logStreamNamePrefix=definition_name
        )
    except logs.exceptions.ResourceNotFoundException:
        batch_streams = {"logStreams": []}
    assert batch_streams["logStreams"] == [], "an EKS job writes nothing to /aws/batch/job"


def test_eks_job_gets_no_ecs_task_definition(emulator):
    batch, ecs = emulator.client("batch"), emulator.client("ecs")
    definition = register_eks(batch, [shell_container("main", "true")])

    assert wait_for(batch, submit(batch, emulator.eks_job_queue, definition))["status"] == "SUCCEEDED"

    family = definition.split("/")[-1].split(":")[0]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == [], "a pod, no ECS task"


def test_eks_job_failure_reports_the_container_exit_code_and_last_lines(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register_eks(
        batch,
        [shell_container("main", "echo working; echo last words; exit 5"), shell_container("helper", "true")],
    )

    detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))
    [attempt] = detail["eksAttempts"]

    assert detail["status"] == "FAILED"
    main, helper = detail["eksProperties"]["podProperties"]["containers"]
    assert (main["exitCode"], main["reason"]) == (5, "Error")
    assert (helper["exitCode"], helper["reason"]) == (0, "Completed")
    assert [(item["name"], item["exitCode"]) for item in attempt["containers"]] == [
        ("main", 5),
        ("helper", 0),
    ]
    assert attempt["initContainers"] == []
    records = insights_records(logs, attempt, attempt["containers"][0])
    assert [record["log"] for record in records] == ["working", "last words"]


def test_init_containers_that_exit_at_once_start_one_after_another(emulator):
    batch = emulator.client("batch")
    definition = register_eks(
        batch,
        [shell_container("main", "echo done")],
        [{"name": f"init-{index}", "image": "alpine", "command": ["true"]} for index in range(4)],
    )

    detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))
    [attempt] = detail["eksAttempts"]

    assert detail["status"] == "SUCCEEDED"
    assert [(item["name"], item["exitCode"]) for item in attempt["initContainers"]] == [
        (f"init-{index}", 0) for index in range(4)
    ]
    assert [(item["name"], item["exitCode"]) for item in attempt["containers"]] == [("main", 0)]


def test_a_failed_init_container_fails_the_pod_before_its_containers_start(emulator):
    batch = emulator.client("batch")
    definition = register_eks(
        batch, [shell_container("main", "echo never")], [shell_container("setup", "echo broken; exit 3")]
    )

    detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))
    [attempt] = detail["eksAttempts"]

    assert detail["status"] == "FAILED"
    assert [(item["name"], item["exitCode"]) for item in attempt["initContainers"]] == [("setup", 3)]
    assert attempt["containers"] == [{"name": "main"}], "the container never started"


def test_a_retried_eks_job_runs_a_new_pod_per_attempt(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    script = 'echo "attempt $AWS_BATCH_JOB_ATTEMPT"; test "$AWS_BATCH_JOB_ATTEMPT" = 2 || exit 5'
    definition = register_eks(batch, [shell_container("main", script)], retryStrategy={"attempts": 2})

    detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))
    first, second = detail["eksAttempts"]

    assert detail["status"] == "SUCCEEDED"
    assert [attempt["containers"][0]["exitCode"] for attempt in (first, second)] == [5, 0]
    assert first["podName"] != second["podName"]
    assert detail["eksProperties"]["podProperties"]["podName"] == second["podName"]
    for number, attempt in enumerate((first, second), start=1):
        assert [record["log"] for record in insights_records(logs, attempt, attempt["containers"][0])] == [
            f"attempt {number}"
        ]


def test_eks_array_children_each_run_their_own_pod(emulator):
    batch, logs = emulator.client("batch"), emulator.client("logs")
    definition = register_eks(batch, [shell_container("main", 'echo "child $AWS_BATCH_JOB_ARRAY_INDEX"')])

    job_id = submit(batch, emulator.eks_job_queue, definition, arrayProperties={"size": 2})
    parent = wait_for(batch, job_id)
    children = [wait_for(batch, f"{job_id}:{index}") for index in range(2)]

    assert parent["status"] == "SUCCEEDED"
    assert parent["eksAttempts"] == []
    assert len({child["eksAttempts"][0]["podName"] for child in children}) == 2
    for index, child in enumerate(children):
        [attempt] = child["eksAttempts"]
        assert [record["log"] for record in insights_records(logs, attempt, attempt["containers"][0])] == [
            f"child {index}"
        ]


def test_submit_refuses_jobs_on_a_queue_of_the_other_orchestration(emulator):
    batch = emulator.client("batch")
    eks_definition = register_eks(batch, [shell_container("main", "true")])
    ecs_definition = str(
        batch.register_job_definition(
            jobDefinitionName=unique("ecs"),
            type="container",
            containerProperties={"image": "alpine", "command": ["true"], "resourceRequirements": RESOURCES},
        )["jobDefinitionArn"]
    )
    name = unique("refused")
    refusals = [
        (
            {"jobQueue": emulator.job_queue, "jobDefinition": eks_definition},
            rf"uses eksProperties .* job queue {emulator.job_queue} is of type ECS: Amazon EKS jobs can only",
        ),
        (
            {"jobQueue": emulator.fargate_job_queue, "jobDefinition": eks_definition},
            "is of type ECS_FARGATE",
        ),
        (
            {"jobQueue": emulator.eks_job_queue, "jobDefinition": ecs_definition},
            rf"queue {emulator.eks_job_queue} is of type EKS: .* only accepts job definitions with eksProp",
        ),
        (
            {
                "jobQueue": emulator.eks_job_queue,
                "jobDefinition": eks_definition,
                "containerOverrides": {"command": ["false"]},
            },
            "Container overrides or node overrides should not be set for Batch on EKS jobs.",
        ),
        (
            {
                "jobQueue": emulator.job_queue,
                "jobDefinition": ecs_definition,
                "eksPropertiesOverride": {"podProperties": {"containers": [{"command": ["false"]}]}},
            },
            "eksPropertiesOverride can only be specified for jobs that run on Amazon EKS resources",
        ),
    ]
    for arguments, message in refusals:
        with pytest.raises(batch.exceptions.ClientException, match=message):
            batch.submit_job(jobName=name, **arguments)

    for queue in (emulator.job_queue, emulator.fargate_job_queue, emulator.eks_job_queue):
        listed = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}])
        assert listed["jobSummaryList"] == [], "a refused job is not created"


# ------------------------------------------------------------------------------------- Fargate


def test_fargate_job_has_a_network_interface_and_an_ec2_job_none(emulator):
    batch = emulator.client("batch")
    properties = {
        "image": "alpine",
        "command": ["true"],
        "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
    }
    fargate_definition = batch.register_job_definition(
        jobDefinitionName=unique("fargate"),
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties=properties,
    )["jobDefinitionArn"]
    ec2_definition = batch.register_job_definition(
        jobDefinitionName=unique("ec2"), type="container", containerProperties=properties
    )["jobDefinitionArn"]

    fargate = wait_for(batch, submit(batch, emulator.fargate_job_queue, fargate_definition))
    ec2 = wait_for(batch, submit(batch, emulator.job_queue, ec2_definition))

    [interface] = fargate["container"]["networkInterfaces"]
    assert set(interface) == {"attachmentId", "privateIpv4Address"}
    assert re.fullmatch(r"10\.0\.1\.\d+", interface["privateIpv4Address"])
    assert fargate["attempts"][0]["container"]["networkInterfaces"] == [interface]
    assert ec2["container"]["networkInterfaces"] == []
    assert ec2["attempts"][0]["container"]["networkInterfaces"] == []
    assert "containerInstanceArn" in ec2["container"]


def test_an_unnamed_eks_container_is_described_by_the_name_its_pod_gives_it(emulator):
    batch = emulator.client("batch")
    definition = register_eks(batch, [{"image": "alpine", "command": ["sh", "-c"], "args": ["echo hi"]}])

    detail = wait_for(batch, submit(batch, emulator.eks_job_queue, definition))

    [container] = detail["eksProperties"]["podProperties"]["containers"]
    [ran] = detail["eksAttempts"][0]["containers"]
    assert container["name"] == ran["name"] == "default"
