"""Bad input, table-driven: every case fails with the field and the rule, and no write reaches AWS.

Each case runs as a DAG author meets it: building a spec or an operator (parse time), or, for
templated values and for what only AWS knows (an unknown queue or definition), running the
operator's ``execute`` with a minimal task context. The operators' hooks talk to the emulator
through a counting HTTP proxy, so "no write" is counted on the wire: the proxy sees every call
of every client the hooks create, and a write is any call that is not a Describe, List or Get.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError

import botocore.session
import pytest

from airflow_batch_plugin import (
    BatchComputeEnvironmentSensor,
    BatchDeleteJobQueueOperator,
    BatchDeregisterJobDefinitionOperator,
    BatchEnsureComputeEnvironmentOperator,
    BatchEnsureJobQueueOperator,
    BatchEnsureSchedulingPolicyOperator,
    BatchJobQueueSensor,
    BatchRegisterJobDefinitionOperator,
    BatchSubmitJobOperator,
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    JobQueueSpec,
    RetryStrategy,
    SchedulingPolicySpec,
    SpecValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.integration

READ_PREFIXES = ("Describe", "List", "Get")
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- the counting proxy ---------------------------------------------------------------------------


def _batch_routes() -> dict[str, str]:
    """Map Batch's REST paths (``/v1/submitjob``) to operation names, from botocore's model."""
    model = botocore.session.get_session().get_service_model("batch")
    return {model.operation_model(name).http["requestUri"].lower(): name for name in model.operation_names}


class CountingProxy:
    """Forward every request to the emulator and record the AWS operation it carries."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.calls: list[str] = []
        self._lock = threading.Lock()
        routes = _batch_routes()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                operation = target.rsplit(".", 1)[-1] if target else routes.get(self.path.lower(), self.path)
                with proxy._lock:
                    proxy.calls.append(operation)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body or None, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, data, answer_headers = answer.status, answer.read(), answer.headers
                except HTTPError as error:
                    status, data, answer_headers = error.code, error.read(), error.headers
                self.send_response(status)
                for key, value in answer_headers.items():
                    if key.lower().startswith(("content-type", "x-amz")):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def writes(self) -> list[str]:
        with self._lock:
            return [call for call in self.calls if not call.startswith(READ_PREFIXES)]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def proxy(emulator) -> Iterator[CountingProxy]:
    counting = CountingProxy(emulator.endpoint_url)
    yield counting
    counting.close()


# -- what the cases run against -------------------------------------------------------------------


@dataclass
class World:
    """Names of what exists on the emulator, and the proxy every hook goes through."""

    proxy: CountingProxy
    queue: str
    definition: str
    inactive_revision: str
    disabled_queue: str
    fair_share_queue: str


@pytest.fixture(scope="module")
def resources(emulator) -> dict[str, str]:
    """A definition (one ACTIVE and one deregistered revision), a disabled and a fair-share queue."""
    batch = emulator.client("batch")
    name = unique("bad-input")
    container = {
        "image": "busybox",
        "command": ["true"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "128"}],
    }
    first = batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=container
    )
    batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=container)
    batch.deregister_job_definition(jobDefinition=first["jobDefinitionArn"])
    order = [{"order": 1, "computeEnvironment": emulator.compute_environment}]
    disabled = unique("disabled")
    batch.create_job_queue(jobQueueName=disabled, state="DISABLED", priority=1, computeEnvironmentOrder=order)
    policy = batch.create_scheduling_policy(name=unique("shares"), fairsharePolicy={"shareDecaySeconds": 0})
    fair = unique("fair")
    batch.create_job_queue(
        jobQueueName=fair,
        state="ENABLED",
        priority=1,
        schedulingPolicyArn=policy["arn"],
        computeEnvironmentOrder=order,
    )
    return {
        "definition": name,
        "inactive": f"{name}:{first['revision']}",
        "disabled": disabled,
        "fair": fair,
    }


@pytest.fixture
def world(emulator, proxy, resources, monkeypatch) -> World:
    """Point ``aws_default`` at the proxy for one case; start counting from zero."""
    extra = {"endpoint_url": proxy.url, "region_name": emulator.region}
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.region)
    proxy.reset()
    return World(
        proxy=proxy,
        queue=emulator.job_queue,
        definition=resources["definition"],
        inactive_revision=resources["inactive"],
        disabled_queue=resources["disabled"],
        fair_share_queue=resources["fair"],
    )


def context(**params: Any) -> dict[str, Any]:
    """A minimal task context: the task instance the operators read, and the DAG's params."""
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="bad_input",
        run_id="manual__bad",
        task_id="t",
        map_index=-1,
        try_number=1,
        stats_tags={},
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
    )
    return {"ti": ti, "params": params, "ds": "2026-12-01", "pushed": pushed}


def run(operator: Any, **params: Any) -> Any:
    """Render the operator's templates as Airflow does, then execute it."""
    ctx = context(**params)
    operator.render_template_fields(ctx)
    return operator.execute(ctx)


def submit(w: World, **arguments: Any) -> BatchSubmitJobOperator:
    fields = {
        "task_id": "t",
        "job_name": "bad-input",
        "job_queue": w.queue,
        "job_definition": w.definition,
        "wait_for_completion": False,
        **arguments,
    }
    return BatchSubmitJobOperator(**fields)


def fargate(**container: Any) -> JobDefinitionSpec:
    """A Fargate definition; the container is a dict, so errors name their path (container.vcpus)."""
    fields = {"image": "busybox", "vcpus": 0.25, "memory": 512, "execution_role_arn": EXECUTION_ROLE}
    return JobDefinitionSpec(name="f", platform="FARGATE", container={**fields, **container})


def ec2(**container: Any) -> JobDefinitionSpec:
    """An EC2 definition with the container as a dict (see :func:`fargate`)."""
    return JobDefinitionSpec(name="e", container={"image": "busybox", "vcpus": 1, "memory": 512, **container})


def register(spec_factory: Callable[[], JobDefinitionSpec]) -> Any:
    return BatchRegisterJobDefinitionOperator(task_id="r", spec=spec_factory())


def network(**fields: Any) -> ComputeEnvironmentSpec:
    base = {
        "name": "ce",
        "type": "FARGATE",
        "max_vcpus": 4,
        "subnets": ["subnet-1"],
        "security_group_ids": ["sg-1"],
    }
    return ComputeEnvironmentSpec(**{**base, **fields})


# -- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One invalid input: how a DAG author meets it, and what the error must name."""

    id: str
    action: Callable[[World], Any]
    field: str
    rule: str
    error: type[Exception] = SpecValidationError


BIG = "x" * 9000
CASES = [
    # -- BatchSubmitJobOperator, at parse time
    Case(
        "job name with a space",
        lambda w: submit(w, job_name="nightly report"),
        "job_name",
        "letters, numbers",
    ),
    Case("empty job name", lambda w: submit(w, job_name=""), "job_name", "non-empty"),
    Case("job name of 129 characters", lambda w: submit(w, job_name="a" * 129), "job_name", "1 to 128"),
    Case("queue name with a bang", lambda w: submit(w, job_queue="queue!"), "job_queue", "job queue name"),
    Case(
        "definition revision 0",
        lambda w: submit(w, job_definition="etl:0"),
        "job_definition",
        "name:revision",
    ),
    Case("array of 1", lambda w: submit(w, array_size=1), "array_size", "at least 2"),
    Case("array of 10,001", lambda w: submit(w, array_size=10_001), "array_size", "at most 10000"),
    Case("array size not a number", lambda w: submit(w, array_size="many"), "array_size", "whole number"),
    Case(
        "21 dependencies",
        lambda w: submit(w, depends_on=[f"job-{i}" for i in range(21)]),
        "depends_on",
        "at most 20 jobs",
    ),
    Case(
        "N_TO_N on a single job",
        lambda w: submit(w, depends_on=[{"jobId": "a", "type": "N_TO_N"}]),
        "depends_on[0].type",
        "only for array jobs",
    ),
    Case(
        "SEQUENTIAL with a job id",
        lambda w: submit(w, array_size=2, depends_on=[{"jobId": "a", "type": "SEQUENTIAL"}]),
        "depends_on[0].job_id",
        "takes no job id",
    ),
    Case(
        "unknown dependency type",
        lambda w: submit(w, depends_on=[{"jobId": "a", "type": "AFTER"}]),
        "depends_on[0].type",
        "must be one of N_TO_N, SEQUENTIAL",
    ),
    Case(
        "container overrides over 8 KiB",
        lambda w: submit(w, container_overrides={"environment": {"BIG": BIG}}),
        "container_overrides",
        "limit of 8192 bytes",
    ),
    Case(
        "override memory of 2 MiB",
        lambda w: submit(w, container_overrides={"memory": 2}),
        "container_overrides.memory",
        "at least 4",
    ),
    Case(
        "override of -1 vCPU",
        lambda w: submit(w, container_overrides={"vcpus": -1}),
        "container_overrides.vcpus",
        "positive number",
    ),
    Case(
        "override variable in AWS_BATCH_",
        lambda w: submit(w, container_overrides={"environment": {"AWS_BATCH_JOB_ID": "x"}}),
        "container_overrides.environment['AWS_BATCH_JOB_ID']",
        "must not start with 'AWS_BATCH'",
    ),
    Case(
        "override command as one string",
        lambda w: submit(w, container_overrides={"command": "echo hi"}),
        "container_overrides.command",
        "not one string",
    ),
    Case(
        "override command with an empty argument",
        lambda w: submit(w, container_overrides={"command": ["echo", ""]}),
        "container_overrides.command[1]",
        "must not be an empty string",
    ),
    Case(
        "unknown override field",
        lambda w: submit(w, container_overrides={"cpu": 1}),
        "container_overrides",
        "unknown ContainerOverrides field",
    ),
    Case(
        "secret in override environment",
        lambda w: submit(w, container_overrides={"environment": {"DB_PASSWORD": "hunter2"}}),
        "container_overrides.environment['DB_PASSWORD']",
        "looks like a secret",
    ),
    Case(
        "SubmitJob payload over 30 KiB",
        lambda w: submit(w, parameters={f"p{i}": "y" * 7000 for i in range(5)}),
        "JobSubmissionSpec",
        "limit of 30720 bytes",
    ),
    Case("11 attempts", lambda w: submit(w, retry_strategy=11), "retry_strategy.attempts", "at most 10"),
    Case(
        "unknown retry action",
        lambda w: submit(
            w, retry_strategy={"attempts": 2, "evaluate_on_exit": [{"action": "RESTART", "on_exit_code": 1}]}
        ),
        "retry_strategy.evaluate_on_exit[0].action",
        "must be one of RETRY, EXIT",
    ),
    Case(
        "timeout of 30 s", lambda w: submit(w, timeout_seconds=30), "timeout_seconds", "at least 60 seconds"
    ),
    Case(
        "46 tags of one's own",
        lambda w: submit(w, tags={f"k{i}": "v" for i in range(46)}),
        "tags",
        "at most 45 of your own",
    ),
    Case(
        "aws: tag key", lambda w: submit(w, tags={"aws:owner": "me"}), "tags['aws:owner']", "reserved by AWS"
    ),
    Case("tag value of 257", lambda w: submit(w, tags={"k": "v" * 257}), "tags['k']", "at most 256"),
    Case(
        "share identifier with a space",
        lambda w: submit(w, share_identifier="team a"),
        "share_identifier",
        "letters and numbers",
    ),
    Case(
        "priority override of 10,000",
        lambda w: submit(w, scheduling_priority_override=10_000),
        "scheduling_priority_override",
        "at most 9999",
    ),
    Case(
        "ECS and EKS overrides together",
        lambda w: submit(
            w, container_overrides={"memory": 64}, eks_properties_override={"podProperties": {}}
        ),
        "eks_properties_override",
        "not both",
    ),
    Case(
        "poll interval of 0", lambda w: submit(w, poll_interval=0), "poll_interval=0", "positive", ValueError
    ),
    # -- job definitions, when the DAG declares them
    Case(
        "definition name with a space",
        lambda w: register(
            lambda: JobDefinitionSpec(
                name="my def", container={"image": "busybox", "vcpus": 1, "memory": 512}
            )
        ),
        "name",
        "1 to 128",
    ),
    Case(
        "Fargate 0.3 vCPU",
        lambda w: register(lambda: fargate(vcpus=0.3)),
        "container.vcpus",
        "on Fargate must be one of",
    ),
    Case(
        "Fargate 1 vCPU with 512 MiB",
        lambda w: register(lambda: fargate(vcpus=1, memory=512)),
        "container.memory",
        "Fargate vCPU/memory pairs",
    ),
    Case(
        "Fargate with a GPU",
        lambda w: register(lambda: fargate(gpus=1)),
        "container.gpus",
        "not available on Fargate",
    ),
    Case(
        "Fargate without an execution role",
        lambda w: register(lambda: fargate(execution_role_arn=None)),
        "container.execution_role_arn",
        "required on Fargate",
    ),
    Case(
        "EC2 1.5 vCPU", lambda w: register(lambda: ec2(vcpus=1.5)), "container.vcpus", "whole number of vCPUs"
    ),
    Case("EC2 2 MiB", lambda w: register(lambda: ec2(memory=2)), "container.memory", "at least 4 MiB"),
    Case("-1 GPU", lambda w: register(lambda: ec2(gpus=-1)), "container.gpus", "at least 0"),
    Case(
        "0 attempts",
        lambda w: register(lambda: JobDefinitionSpec.container_job("d", "busybox", retry_strategy=0)),
        "retry_strategy.attempts",
        "at least 1",
    ),
    Case(
        "definition timeout of 59 s",
        lambda w: register(lambda: JobDefinitionSpec.container_job("d", "busybox", timeout_seconds=59)),
        "timeout_seconds",
        "at least 60 seconds",
    ),
    Case(
        "definition over 24 KiB",
        lambda w: register(lambda: ec2(command=["echo", "z" * 25_000])),
        "JobDefinitionSpec",
        "limit of 24576 bytes",
    ),
    Case(
        "password in the environment",
        lambda w: register(lambda: ec2(environment={"DB_PASSWORD": "hunter2"})),
        "container.environment['DB_PASSWORD']",
        "pass it by reference: secrets=",
    ),
    Case(
        "secret reference that is none",
        lambda w: register(lambda: ec2(secrets={"DB_PASSWORD": "not a reference!"})),
        "container.secrets['DB_PASSWORD']",
        "Secrets Manager secret or SSM parameter",
    ),
    Case(
        "AWS_BATCH_ variable",
        lambda w: register(lambda: ec2(environment={"AWS_BATCH_JOB_ID": "1"})),
        "container.environment['AWS_BATCH_JOB_ID']",
        "reserved for the variables AWS Batch sets",
    ),
    Case(
        "job role that is no ARN",
        lambda w: register(lambda: ec2(job_role_arn="etl-role")),
        "container.job_role_arn",
        "ARN of an IAM role",
    ),
    Case(
        "empty image",
        lambda w: register(lambda: JobDefinitionSpec.container_job("d", "")),
        "container.image",
        "non-empty",
    ),
    Case(
        "51 definition tags",
        lambda w: register(
            lambda: JobDefinitionSpec.container_job("d", "busybox", tags={f"k{i}": "v" for i in range(51)})
        ),
        "tags",
        "at most 48 tags of your own",
    ),
    Case(
        "node ranges leave a node out",
        lambda w: register(
            lambda: JobDefinitionSpec(
                name="mnp",
                node={
                    "num_nodes": 3,
                    "main_node": 0,
                    "node_range_properties": [
                        {"target_nodes": "0:1", "container": {"image": "busybox", "vcpus": 1, "memory": 512}}
                    ],
                },
            )
        ),
        "node.node_range_properties",
        "no range covers node(s) 2",
    ),
    Case(
        "platform LAMBDA",
        lambda w: register(lambda: JobDefinitionSpec.container_job("d", "busybox", platform="LAMBDA")),
        "platform",
        "must be EC2 or FARGATE",
    ),
    Case(
        "register operator given a dict",
        lambda w: BatchRegisterJobDefinitionOperator(task_id="r", spec={"name": "d"}),  # type: ignore[arg-type]
        "spec must be a JobDefinitionSpec",
        "got dict",
        TypeError,
    ),
    Case(
        "keep_latest of -1",
        lambda w: BatchDeregisterJobDefinitionOperator(task_id="d", job_definition="d", keep_latest=-1),
        "keep_latest=-1",
        "whole number, 0 or more",
        ValueError,
    ),
    # -- templates that render to invalid values (execute)
    Case(
        "templated array size renders 1",
        lambda w: run(submit(w, array_size="{{ params.n }}"), n=1),
        "array_size",
        "at least 2",
    ),
    Case(
        "templated job name renders a space",
        lambda w: run(submit(w, job_name="{{ params.name }}"), name="nightly report"),
        "job_name",
        "letters, numbers",
    ),
    Case(
        "templated timeout renders 30",
        lambda w: run(submit(w, timeout_seconds="{{ params.t }}"), t=30),
        "timeout_seconds",
        "at least 60 seconds",
    ),
    Case(
        "templated override renders over 8 KiB",
        lambda w: run(submit(w, container_overrides={"environment": {"BIG": "{{ params.big }}"}}), big=BIG),
        "container_overrides",
        "limit of 8192 bytes",
    ),
    Case(
        "templated parameters render over 30 KiB",
        lambda w: run(submit(w, parameters={f"p{i}": "{{ params.big }}" for i in range(4)}), big=BIG),
        "JobSubmissionSpec",
        "limit of 30720 bytes",
    ),
    Case(
        "templated definition memory renders 2",
        lambda w: run(register(lambda: ec2(memory="{{ params.memory }}")), memory=2),
        "container.memory",
        "at least 4 MiB",
    ),
    Case(
        "spec definition with a bad templated array size registers nothing",
        lambda w: run(
            submit(
                w,
                job_definition=JobDefinitionSpec.container_job(unique("never"), "busybox"),
                array_size="{{ params.n }}",
            ),
            n=20_000,
        ),
        "array_size",
        "at most 10000",
    ),
    # -- what only AWS knows, found with reads before any write (execute)
    Case(
        "unknown queue", lambda w: run(submit(w, job_queue="no-such-queue")), "job_queue", "no such job queue"
    ),
    Case(
        "unknown definition",
        lambda w: run(submit(w, job_definition="no-such-definition")),
        "job_definition",
        "no ACTIVE job definition",
    ),
    Case(
        "unknown revision",
        lambda w: run(submit(w, job_definition=f"{w.definition}:999")),
        "job_definition",
        "no ACTIVE job definition",
    ),
    Case(
        "deregistered revision",
        lambda w: run(submit(w, job_definition=w.inactive_revision)),
        "job_definition",
        "ACTIVE",  # AWS shows the revision INACTIVE; the emulator shows none: either message says so
    ),
    Case(
        "disabled queue",
        lambda w: run(submit(w, job_queue=w.disabled_queue)),
        "job_queue",
        "is DISABLED: it accepts no new jobs",
    ),
    Case(
        "fair-share queue without a share identifier",
        lambda w: run(submit(w, job_queue=w.fair_share_queue, scheduling_priority_override=1)),
        "share_identifier",
        "is required",
    ),
    Case(
        "fair-share queue without a scheduling priority",
        lambda w: run(submit(w, job_queue=w.fair_share_queue, share_identifier="teamA")),
        "scheduling_priority_override",
        "sets no scheduling_priority",
    ),
    Case(
        "share identifier on a FIFO queue",
        lambda w: run(submit(w, share_identifier="teamA")),
        "share_identifier",
        "has no scheduling policy",
    ),
    Case(
        "dependency on an unknown job",
        lambda w: run(submit(w, depends_on=["00000000-0000-0000-0000-000000000000"])),
        "depends_on[0].job_id",
        "no such job",
    ),
    # -- compute environments, queues, scheduling policies
    Case("compute environment name with a space", lambda w: network(name="my ce"), "name", "letters"),
    Case("compute environment type GPU", lambda w: network(type="GPU"), "type", "must be one of"),
    Case("max vCPUs of -1", lambda w: network(max_vcpus=-1), "max_vcpus", "at least"),
    Case(
        "min vCPUs above max on EC2",
        lambda w: network(
            type="EC2", instance_role="ecsInstanceRole", instance_types=["optimal"], min_vcpus=8, max_vcpus=4
        ),
        "max_vcpus",
        "at least min_vcpus (8)",
    ),
    Case(
        "templated max vCPUs renders -1",
        lambda w: run(
            BatchEnsureComputeEnvironmentOperator(task_id="c", spec=network(max_vcpus="{{ params.m }}")), m=-1
        ),
        "max_vcpus",
        "at least",
    ),
    Case(
        "queue priority of 1001",
        lambda w: JobQueueSpec(name="q", priority=1001, compute_environment_order=["ce"]),
        "priority",
        "at most 1000",
    ),
    Case(
        "four compute environments in a queue",
        lambda w: JobQueueSpec(name="q", priority=1, compute_environment_order=["a", "b", "c", "d"]),
        "compute_environment_order",
        "3",
    ),
    Case(
        "queue over Fargate and EC2",
        lambda w: JobQueueSpec(
            name="q",
            priority=1,
            compute_environment_order=[
                network(name="f"),
                network(name="e", type="EC2", instance_role="ecsInstanceRole", instance_types=["optimal"]),
            ],
        ),
        "compute_environment_order",
        "must all be EC2/Spot, all Fargate, or all EKS",
    ),
    Case(
        "queue over a compute environment that does not exist",
        lambda w: run(
            BatchEnsureJobQueueOperator(
                task_id="q",
                spec=JobQueueSpec(name=unique("q"), priority=1, compute_environment_order=["no-such-ce"]),
            )
        ),
        "compute_environment_order[0]",
        "no such compute environment",
    ),
    Case(
        "delete a queue ignoring its jobs",
        lambda w: BatchDeleteJobQueueOperator(task_id="d", job_queue="q", active_jobs="ignore"),  # type: ignore[arg-type]
        "active_jobs='ignore'",
        "must be 'refuse', 'cancel' or 'terminate'",
        ValueError,
    ),
    Case(
        "policy operator given a queue spec",
        lambda w: BatchEnsureSchedulingPolicyOperator(
            task_id="p", spec=JobQueueSpec(name="q", priority=1, compute_environment_order=["ce"])
        ),
        "spec must be a SchedulingPolicySpec",
        "got JobQueueSpec",
        TypeError,
    ),
    Case(
        "queue sensor waiting for ENABLED",
        lambda w: BatchJobQueueSensor(task_id="s", job_queue="q", target_status="ENABLED"),
        "target_status='ENABLED'",
        "must be 'VALID' or 'DELETED'",
        ValueError,
    ),
    Case(
        "compute environment sensor waiting for GONE",
        lambda w: BatchComputeEnvironmentSensor(task_id="s", compute_environment="ce", target_status="GONE"),
        "target_status='GONE'",
        "must be 'VALID' or 'DELETED'",
        ValueError,
    ),
    Case(
        "share decay over a week",
        lambda w: SchedulingPolicySpec(name="p", share_decay_seconds=700_000),
        "share_decay_seconds",
        "at most 604800",
    ),
    Case(
        "compute reservation of 100",
        lambda w: SchedulingPolicySpec(name="p", compute_reservation=100),
        "compute_reservation",
        "at most 99",
    ),
    Case(
        "share weight of 0",
        lambda w: SchedulingPolicySpec(name="p", share_distribution={"teamA": 0}),
        "share_distribution",
        "0.0001",
    ),
    Case("retry strategy of 11 attempts", lambda w: RetryStrategy(attempts=11), "attempts", "at most 10"),
]


def test_the_table_is_big_enough():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_names_field_and_rule_and_writes_nothing(case: Case, world: World):
    with pytest.raises(case.error) as caught:
        case.action(world)
    message = str(caught.value)
    assert case.field in message, message
    assert case.rule in message, message
    if isinstance(caught.value, SpecValidationError):
        fields = [problem.field for problem in caught.value.problems]
        assert (
            any(field.startswith(case.field) for field in fields) or case.field == caught.value.spec_name
        ), fields
    assert world.proxy.writes() == [], f"write calls reached AWS: {world.proxy.writes()}"


def test_the_secret_refusal_tells_the_author_what_to_do_instead(world: World):
    with pytest.raises(SpecValidationError) as caught:
        ec2(environment={"DB_PASSWORD": "hunter2"})
    message = str(caught.value)
    assert "secrets={name: 'arn:aws:secretsmanager:...'}" in message
    assert "hunter2" not in message


def test_an_unknown_queue_is_found_with_one_read(world: World):
    with pytest.raises(SpecValidationError, match="no such job queue"):
        run(submit(world, job_queue="no-such-queue"))
    assert "DescribeJobQueues" in world.proxy.calls, "the proxy sees the operator's calls"
    assert world.proxy.writes() == []


def test_a_valid_submission_is_one_write_at_the_proxy(world: World):
    """The control: the same path with good input reaches AWS with exactly one SubmitJob."""
    job_id = run(submit(world, job_name=unique("good")))
    assert job_id
    assert world.proxy.writes() == ["SubmitJob"]
