"""Every kind of AWS Batch job, succeeding and failing, in each way of waiting.

Three DAGs, one per way of waiting: ``batch_job_kinds_sync`` (the operator waits on the worker),
``batch_job_kinds_deferrable`` (it waits in the triggerer) and ``batch_job_kinds_sensor``
(submit without waiting, then ``BatchJobSensor``). Each has a success and a failure of each kind:
a container job on EC2 and on Fargate, an EKS job, an EKS array job, a multi-node parallel job of
2 nodes, an ECS job of 2 containers, and an array job. A failure exits 5 after a recognisable last
line (``<kind> BROKEN-5 last line``), in the part that decides the job: the container, the
essential ECS container, the main node, array child 1.

One job definition per kind: the outcome comes in as SubmitJob parameters (``Ref::outcome``,
``Ref::code``), whole arguments of the command, as AWS substitutes them. No part races another:
the ECS app starts after its sidecar completed, the main node ends after node 1 did (it polls
DescribeJobs; on AWS its image needs boto3 and the job role batch:DescribeJobs).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from airflow_batch_plugin import BatchJobSensor, BatchSubmitJobOperator, JobDefinitionSpec

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
OUTCOMES = {"success": {"outcome": "ok", "code": "0"}, "failure": {"outcome": "BROKEN-5", "code": "5"}}
ARRAY_SIZE = 3


def script(text: str) -> list[str]:
    """``sh -c text`` with the outcome and exit code as ``$1`` and ``$2``."""
    return ["sh", "-c", text, "job", "Ref::outcome", "Ref::code"]


def single(kind: str) -> list[str]:
    return script(f'echo "{kind} started on $AWS_BATCH_JOB_ID"; echo "{kind} $1 last line"; exit "$2"')


def array_child(kind: str) -> list[str]:
    return script(
        f'echo "child $AWS_BATCH_JOB_ARRAY_INDEX of {kind}"; '
        f'if [ "$AWS_BATCH_JOB_ARRAY_INDEX" = 1 ]; then echo "{kind} $1 last line"; exit "$2"; fi'
    )


#: The main node waits until node 1 ended (its exit stops the other nodes), polling DescribeJobs as
#: AWS's multi-node examples do; the emulator runs jobs with its own Python, which has boto3.
WAIT_FOR_NODE_1 = (
    "python3 -c 'import boto3, os, time\n"
    'node = os.environ["AWS_BATCH_JOB_ID"].split("#")[0] + "#1"\n'
    'batch, deadline = boto3.client("batch"), time.monotonic() + 120\n'
    'while batch.describe_jobs(jobs=[node])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):\n'
    "    assert time.monotonic() < deadline\n"
    "    time.sleep(0.5)'"
)
MULTI_NODE = script(
    'if [ "$AWS_BATCH_JOB_NODE_INDEX" = "$AWS_BATCH_JOB_MAIN_NODE_INDEX" ]; then '
    f'{WAIT_FOR_NODE_1}; echo "main node $1 last line"; exit "$2"; '
    'else echo "node $AWS_BATCH_JOB_NODE_INDEX of $AWS_BATCH_JOB_NUM_NODES computed its share"; fi'
)

DEFAULTS = OUTCOMES["success"]


def definitions(execution_role_arn: str) -> dict[str, tuple[JobDefinitionSpec, str, int | None]]:
    """Each kind's definition, the queue param it runs on, and its array size."""
    return {
        "ec2": (
            JobDefinitionSpec.container_job(
                "kinds-ec2", IMAGE, command=single("ec2"), vcpus=1, memory=512, parameters=DEFAULTS
            ),
            "job_queue",
            None,
        ),
        "fargate": (
            JobDefinitionSpec.fargate_job(
                "kinds-fargate",
                IMAGE,
                command=single("fargate"),
                execution_role_arn=execution_role_arn,
                parameters=DEFAULTS,
            ),
            "fargate_job_queue",
            None,
        ),
        "eks": (
            JobDefinitionSpec.eks_job(
                "kinds-eks", IMAGE, command=single("eks"), memory=512, parameters=DEFAULTS
            ),
            "eks_job_queue",
            None,
        ),
        "eks_array": (
            JobDefinitionSpec.eks_job(
                "kinds-eks-array", IMAGE, command=array_child("eks_array"), memory=512, parameters=DEFAULTS
            ),
            "eks_job_queue",
            ARRAY_SIZE,
        ),
        "multinode": (
            JobDefinitionSpec.multinode_job(
                "kinds-multinode",
                IMAGE,
                num_nodes=2,
                vcpus=1,
                memory=512,
                command=MULTI_NODE,
                parameters=DEFAULTS,
            ),
            "job_queue",
            None,
        ),
        "ecs": (
            JobDefinitionSpec.ecs_job(
                "kinds-ecs",
                [
                    {
                        "name": "app",
                        "image": IMAGE,
                        "command": script('echo "app $1 last line"; exit "$2"'),
                        "vcpus": 1,
                        "memory": 512,
                        "depends_on": [("sidecar", "COMPLETE")],  # its line is written before app ends
                    },
                    {
                        "name": "sidecar",
                        "image": IMAGE,
                        "essential": False,
                        "command": ["sh", "-c", 'echo "sidecar ready"'],
                        "vcpus": 1,
                        "memory": 512,
                    },
                ],
                parameters=DEFAULTS,
            ),
            "job_queue",
            None,
        ),
        "array": (
            JobDefinitionSpec.container_job(
                "kinds-array", IMAGE, command=array_child("array"), vcpus=1, memory=512, parameters=DEFAULTS
            ),
            "job_queue",
            ARRAY_SIZE,
        ),
    }


PARAMS = {
    "job_queue": Param("airflow-batch-queue", type="string"),
    "fargate_job_queue": Param("airflow-batch-fargate-queue", type="string"),
    "eks_job_queue": Param("airflow-batch-eks-queue", type="string"),
}
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


def submit(
    task_id: str, kind: str, outcome: str, spec: JobDefinitionSpec, queue: str, size: int | None, **more: Any
) -> BatchSubmitJobOperator:
    return BatchSubmitJobOperator(
        task_id=task_id,
        job_name=f"kinds-{kind}-{outcome}".replace("_", "-"),
        job_queue=f"{{{{ params.{queue} }}}}",
        job_definition=spec,
        parameters=OUTCOMES[outcome],
        array_size=size,
        **more,
    )


for mode in ("sync", "deferrable", "sensor"):
    with DAG(
        dag_id=f"batch_job_kinds_{mode}",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params=PARAMS,
        default_args={"poll_interval": 1, "retries": 0},
        tags=["aws-batch", "test"],
    ) as dag:
        for kind, (spec, queue, size) in definitions(EXECUTION_ROLE).items():
            for outcome in OUTCOMES:
                task_id = f"{kind}_{outcome}"
                if mode == "sensor":
                    submitted = submit(
                        f"{task_id}_submit", kind, outcome, spec, queue, size, wait_for_completion=False
                    )
                    submitted >> BatchJobSensor(
                        task_id=task_id, job_id=submitted.output, poke_interval=1, mode="poke"
                    )
                else:
                    submit(task_id, kind, outcome, spec, queue, size, deferrable=mode == "deferrable")
    globals()[dag.dag_id] = dag
