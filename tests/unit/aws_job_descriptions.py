"""DescribeJobs answers of every kind of job, built from the AWS Batch API reference and user guide.

Not from the emulator: these follow the JobDetail shape of botocore's service model and the
documented behaviour of each kind (tests check them against botocore's model too), so readers
written against them read what AWS sends.

- Container jobs: ``container`` (ContainerDetail) and ``attempts[].container``
  (AttemptContainerDetail); the awslogs stream is ``<prefix>/default/<ECS task id>``.
- ECS multi-container jobs ("Create job definitions using EcsProperties"): the containers in
  ``ecsProperties.taskProperties[].containers[]`` (TaskContainerDetails, with ``essential``,
  ``exitCode``, ``logStreamName`` each), ``attempts[].taskProperties[].containers[]``
  (AttemptTaskContainerDetails); awslogs streams ``<prefix>/<container name>/<ECS task id>``.
- EKS jobs: ``eksProperties.podProperties`` (podName, nodeName, containers with exitCode) and
  ``eksAttempts[]`` (EksAttemptDetail: eksClusterArn, podName, podNamespace, nodeName,
  containers with name, containerID, exitCode, reason); no log stream anywhere.
- Multi-node parallel jobs ("Multi-node parallel jobs"): the parent has ``nodeProperties``, and
  its started/stopped/statusReason/exit come from the main node; each node is a job
  ``<jobId>#<N>`` with ``nodeDetails`` and its own ``container``.
- Array jobs: the parent has ``arrayProperties.size`` and ``statusSummary``; child N is
  ``<jobId>:<N>`` with ``arrayProperties.index``.
"""

from __future__ import annotations

import copy
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/etl"
EKS_CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/ml-cluster"
INSTANCE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/batch-ce/ci1"
CREATED, STARTED, STOPPED = 1_700_000_000_000, 1_700_000_030_000, 1_700_000_090_000


def task_arn(task_id: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch-ce_Batch_0a1b/{task_id}"


def _job(job_id: str, name: str, status: str, definition: str, **members: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}",
        "jobName": name,
        "jobId": job_id,
        "jobQueue": QUEUE,
        "status": status,
        "attempts": [],
        "createdAt": CREATED,
        "dependsOn": [],
        "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{definition}:1",
        "parameters": {},
        "tags": {},
        "propagateTags": False,
        "platformCapabilities": ["EC2"],
        "isCancelled": False,
        "isTerminated": False,
    }
    if status in ("STARTING", "RUNNING", "SUCCEEDED", "FAILED"):
        job["startedAt"] = STARTED
    if status in ("SUCCEEDED", "FAILED"):
        job["stoppedAt"] = STOPPED
    job.update(members)
    return job


def container_attempt(stream: str, exit_code: int, task_id: str, reason: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerInstanceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/batch-ce/{task_id}-ci",
        "taskArn": task_arn(task_id),
        "exitCode": exit_code,
        "logStreamName": stream,
        "networkInterfaces": [],
    }
    if reason:
        container["reason"] = reason
    return {
        "container": container,
        "startedAt": STARTED,
        "stoppedAt": STOPPED,
        "statusReason": "Essential container in task exited",
    }


def container_job(
    status: str = "FAILED",
    exit_code: int | None = 5,
    *,
    log_configuration: dict[str, Any] | None = None,
    fargate: bool = False,
    attempts: int = 1,
) -> dict[str, Any]:
    """A container job on EC2 (or Fargate) that ran ``attempts`` times; the last exit code is given."""
    task_ids = [f"task{n}" for n in range(1, attempts + 1)]
    ended = [container_attempt(f"report/default/{t}", 1, t) for t in task_ids[:-1]]
    container: dict[str, Any] = {
        "image": "public.ecr.aws/docker/library/python:3.12-slim",
        "command": ["python3", "report.py"],
        "environment": [],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
    }
    if status in ("RUNNING", "SUCCEEDED", "FAILED"):
        container.update(
            taskArn=task_arn(task_ids[-1]),
            logStreamName=f"report/default/{task_ids[-1]}",
            networkInterfaces=[],
        )
    if log_configuration is not None:
        container["logConfiguration"] = log_configuration
    if status in ("SUCCEEDED", "FAILED") and exit_code is not None:
        container["exitCode"] = exit_code
        ended.append(container_attempt(f"report/default/{task_ids[-1]}", exit_code, task_ids[-1]))
    job = _job("c0ffee00-0000-4000-8000-000000000001", "report", status, "report", container=container)
    job["attempts"] = ended
    if status == "FAILED":
        job["statusReason"] = "Essential container in task exited"
    if fargate:
        job["platformCapabilities"] = ["FARGATE"]
        container["networkConfiguration"] = {"assignPublicIp": "DISABLED"}
        container["fargatePlatformConfiguration"] = {"platformVersion": "LATEST"}
        container["networkInterfaces"] = [
            {"attachmentId": "eni-attach-0abc", "privateIpv4Address": "10.0.1.17"}
        ]
    return job


def _ecs_container(name: str, essential: bool, stream: str | None, exit_code: int | None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "essential": essential,
        "image": f"public.ecr.aws/example/{name}:1",
        "command": ["run"],
        "environment": [],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
    }
    if stream:
        container["logStreamName"] = stream
        container["networkInterfaces"] = []
    if exit_code is not None:
        container["exitCode"] = exit_code
    return container


def ecs_job(
    status: str = "FAILED", app_exit: int | None = 5, sidecar_exit: int | None = 137
) -> dict[str, Any]:
    """An ECS multi-container job: an essential ``app`` and a non-essential ``sidecar``.

    ``app`` exiting ends the task; ECS then stops ``sidecar`` (SIGTERM: exit code 137 after the
    stop timeout, or 143).
    """
    task = "ecs1task"
    ended = status in ("SUCCEEDED", "FAILED")
    app = _ecs_container("app", True, f"train/app/{task}", app_exit if ended else None)
    sidecar = _ecs_container("sidecar", False, f"train/sidecar/{task}", sidecar_exit if ended else None)
    job = _job(
        "e0000000-0000-4000-8000-000000000002",
        "train",
        status,
        "train",
        ecsProperties={
            "taskProperties": [
                {
                    "containers": [app, sidecar],
                    "taskArn": task_arn(task),
                    "containerInstanceArn": INSTANCE_ARN,
                    "networkMode": "bridge",
                }
            ]
        },
    )
    if ended:
        job["attempts"] = [
            {
                "taskProperties": [
                    {
                        "taskArn": task_arn(task),
                        "containerInstanceArn": INSTANCE_ARN,
                        "containers": [
                            {"name": "app", "exitCode": app_exit, "logStreamName": f"train/app/{task}"},
                            {
                                "name": "sidecar",
                                "exitCode": sidecar_exit,
                                "logStreamName": f"train/sidecar/{task}",
                            },
                        ],
                    }
                ],
                "startedAt": STARTED,
                "stoppedAt": STOPPED,
                "statusReason": "Essential container in task exited",
            }
        ]
    if status == "FAILED":
        job["statusReason"] = "Essential container in task exited"
    return job


def eks_attempt(
    pod: str, exit_code: int, container_id: str, node: str = "ip-10-0-1-17.ec2.internal"
) -> dict[str, Any]:
    return {
        "containers": [{"name": "main", "containerID": container_id, "exitCode": exit_code}],
        "initContainers": [],
        "eksClusterArn": EKS_CLUSTER_ARN,
        "podName": pod,
        "podNamespace": "batch-jobs",
        "nodeName": node,
        "startedAt": STARTED,
        "stoppedAt": STOPPED,
        "statusReason": "Essential container in task exited"
        if exit_code == 0
        else f"Container main exited {exit_code}",
    }


def eks_job(status: str = "FAILED", exit_code: int | None = 5, *, attempts: int = 1) -> dict[str, Any]:
    """An EKS job of one container ``main``; each attempt is a new pod."""
    pods = [f"aws-batch.e0000000-0000-4000-8000-00000000000{n}" for n in range(1, attempts + 1)]
    ended = [eks_attempt(pod, 1, f"{n:064x}") for n, pod in enumerate(pods[:-1], start=1)]
    container: dict[str, Any] = {"name": "main", "image": "public.ecr.aws/example/main:1", "command": ["run"]}
    if status in ("SUCCEEDED", "FAILED") and exit_code is not None:
        container["exitCode"] = exit_code
        ended.append(eks_attempt(pods[-1], exit_code, f"{attempts:064x}"))
    pod_properties: dict[str, Any] = {
        "containers": [container],
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirst",
    }
    if status in ("STARTING", "RUNNING", "SUCCEEDED", "FAILED"):
        pod_properties.update(podName=pods[-1], nodeName="ip-10-0-1-17.ec2.internal")
    job = _job(
        "e1c50000-0000-4000-8000-000000000003",
        "score",
        status,
        "score",
        eksProperties={"podProperties": pod_properties},
        eksAttempts=ended,
    )
    if status == "FAILED":
        job["statusReason"] = ended[-1]["statusReason"] if ended else "Essential container in task exited"
    return job


def multi_node_parent(status: str = "FAILED", main_exit: int | None = 5) -> dict[str, Any]:
    """A multi-node parallel job of 2 nodes (main node 0): what AWS says of the parent."""
    node_range = {
        "targetNodes": "0:1",
        "container": {
            "image": "public.ecr.aws/example/mpi:1",
            "command": ["mpirun", "train"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
        },
    }
    job = _job(
        "a0de0000-0000-4000-8000-000000000004",
        "mpi-train",
        status,
        "mpi-train",
        nodeProperties={"numNodes": 2, "mainNode": 0, "nodeRangeProperties": [node_range]},
    )
    if status in ("SUCCEEDED", "FAILED") and main_exit is not None:
        job["attempts"] = [container_attempt("mpi-train/default/node0task", main_exit, "node0task")]
    if status == "FAILED":
        job["statusReason"] = "Essential container in task exited"
    return job


def node_job(parent: dict[str, Any], index: int, status: str, exit_code: int | None) -> dict[str, Any]:
    """Node ``index`` of a multi-node parent: a job of its own, ``<jobId>#<index>``."""
    task = f"node{index}task"
    container: dict[str, Any] = {
        "image": "public.ecr.aws/example/mpi:1",
        "command": ["mpirun", "train"],
        "taskArn": task_arn(task),
        "logStreamName": f"mpi-train/default/{task}",
        "networkInterfaces": [],
    }
    if exit_code is not None:
        container["exitCode"] = exit_code
    job = _job(
        f"{parent['jobId']}#{index}",
        parent["jobName"],
        status,
        "mpi-train",
        container=container,
        nodeDetails={"nodeIndex": index, "isMainNode": index == parent["nodeProperties"]["mainNode"]},
    )
    if exit_code is not None:
        job["attempts"] = [container_attempt(container["logStreamName"], exit_code, task)]
    return job


def array_parent(status: str = "SUCCEEDED", size: int = 4, failed: int = 0) -> dict[str, Any]:
    summary = {
        s: 0 for s in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    }
    summary.update(SUCCEEDED=size - failed, FAILED=failed)
    job = _job(
        "a7700000-0000-4000-8000-000000000005",
        "extract",
        status,
        "extract",
        container={"image": "etl:1", "command": ["extract"], "environment": [], "networkInterfaces": []},
        arrayProperties={"size": size, "statusSummary": summary},
    )
    if status == "FAILED":
        job["statusReason"] = "Array Child Job failed"
    return job


def array_child(parent: dict[str, Any], index: int, exit_code: int = 0) -> dict[str, Any]:
    child = container_job("SUCCEEDED" if exit_code == 0 else "FAILED", exit_code)
    child = copy.deepcopy(child)
    child.update(
        jobId=f"{parent['jobId']}:{index}", jobName=parent["jobName"], arrayProperties={"index": index}
    )
    child["jobArn"] = f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{child['jobId']}"
    child["container"]["logStreamName"] = f"extract/default/child{index}"
    for attempt in child["attempts"]:
        attempt["container"]["logStreamName"] = f"extract/default/child{index}"
    return child
