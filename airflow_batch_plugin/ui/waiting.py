"""Why is it waiting? Put a RUNNABLE job's (or a queue's) place and capacity together, as data.

:func:`explain` reads what AWS Batch answers — GetJobQueueSnapshot (the front of the queue in
dispatch order), DescribeJobQueues, DescribeComputeEnvironments of the queue's environments, and
DescribeJobs of the job and, optionally, of the jobs at the front (for the share order of a
fair-share queue) — and returns plain-language findings plus the data behind them. Whether a
job could fit an environment is judged from the instance types it may launch
(:mod:`~airflow_batch_plugin.ui.instance_types`), Fargate's vCPU/memory pairs, and ``maxvCpus``.
No HTML here: the pages and their JSON twins render it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.specs.container import fargate_pair_rule
from airflow_batch_plugin.ui.data import JobRow, job_row, queue_name
from airflow_batch_plugin.ui.instance_types import sizes_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

#: How many jobs GetJobQueueSnapshot lists at most.
FRONT_LIMIT = 100
MISCONFIGURATION = "MISCONFIGURATION:"
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_MEMORY_UNITS = {"": 1 / 2**20, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "Ki": 1 / 1024}
_MEMORY_UNITS.update({"Mi": 1.0, "Gi": 1024.0, "Ti": 1024.0**2, "T": 1e12 / 2**20})


@dataclass(frozen=True)
class Needs:
    """What one instance must offer to run the job (or one node of it)."""

    vcpus: float
    memory_mib: float
    gpus: float


@dataclass(frozen=True)
class EnvironmentFit:
    """One compute environment of the queue, in order, and whether the job could run there."""

    order: int
    name: str
    kind: str
    state: str
    status: str
    status_reason: str
    min_vcpus: int | None
    desired_vcpus: int | None
    max_vcpus: int | None
    instance_types: list[str]
    #: True/False when the job's needs were judged; None without a job, or when it cannot be told.
    fits: bool | None
    why: str = ""


@dataclass(frozen=True)
class FrontEntry:
    """One job at the front of the queue (``row`` when it was described, else only its ARN)."""

    position: int
    job_arn: str | None
    earliest_time_at_position: int | None
    share: str | None = None
    row: JobRow | None = None


@dataclass(frozen=True)
class ShareTurn:
    """A share identifier at the front of a fair-share queue: where it first appears, how many jobs."""

    share: str
    first_position: int
    jobs: int


@dataclass(frozen=True)
class Waiting:
    """Why a job (or a queue's jobs) wait: findings in plain words, and the data they come from."""

    queue: str
    queue_state: str
    queue_status: str
    queue_status_reason: str
    fair_share: bool
    findings: list[str]
    environments: list[EnvironmentFit]
    front: list[FrontEntry]
    front_updated_at: int | None
    shares: list[ShareTurn] = field(default_factory=list)
    job_id: str | None = None
    position: int | None = None
    earliest_time_at_position: int | None = None
    misconfiguration: str | None = None
    needs: Needs | None = None
    utilization: dict[str, Any] = field(default_factory=dict)


# -- the job's needs -------------------------------------------------------------------------------


def _requirement(container: Mapping[str, Any], kind: str) -> float | None:
    for requirement in container.get("resourceRequirements") or []:
        if requirement.get("type") == kind:
            try:
                return float(requirement.get("value"))
            except (TypeError, ValueError):
                return None
    return None


def container_needs(container: Mapping[str, Any]) -> Needs:
    """The vCPUs, memory and GPUs of an ECS container (resourceRequirements, else vcpus/memory)."""
    vcpus = _requirement(container, "VCPU") or float(container.get("vcpus") or 0)
    memory = _requirement(container, "MEMORY") or float(container.get("memory") or 0)
    return Needs(vcpus, memory, _requirement(container, "GPU") or 0.0)


def kubernetes_quantity(value: Any, memory: bool) -> float:
    """A Kubernetes quantity as vCPUs (``500m`` = 0.5) or as MiB (``2Gi`` = 2048)."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return 0.0
    number, unit = float(match.group(1)), match.group(2)
    if not memory:
        return number / 1000 if unit == "m" else number
    return number * _MEMORY_UNITS.get(unit, 0.0)


def _eks_needs(containers: Iterable[Mapping[str, Any]]) -> Needs:
    vcpus = memory = gpus = 0.0
    for container in containers:
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        vcpus += kubernetes_quantity(wanted.get("cpu", 0), memory=False)
        memory += kubernetes_quantity(wanted.get("memory", 0), memory=True)
        gpus += kubernetes_quantity(wanted.get("nvidia.com/gpu", 0), memory=False)
    return Needs(vcpus, memory, gpus)


def _sum(needs: Iterable[Needs]) -> Needs:
    items = list(needs)
    return Needs(
        sum(item.vcpus for item in items), sum(item.memory_mib for item in items), sum(i.gpus for i in items)
    )


def job_needs(job: Mapping[str, Any]) -> Needs | None:
    """What one instance must offer for a job (the largest node of a multi-node job); None if unknown."""
    if job.get("container"):
        return container_needs(job["container"])
    tasks = (job.get("ecsProperties") or {}).get("taskProperties") or []
    if tasks:
        containers = [container for task in tasks for container in task.get("containers") or []]
        return _sum(container_needs(container) for container in containers)
    pod = (job.get("eksProperties") or {}).get("podProperties") or {}
    if pod.get("containers"):
        return _eks_needs(pod["containers"])
    ranges = (job.get("nodeProperties") or {}).get("nodeRangeProperties") or []
    nodes = [container_needs(item["container"]) for item in ranges if item.get("container")]
    if nodes:
        return max(nodes, key=lambda need: (need.vcpus, need.memory_mib, need.gpus))
    return None


# -- fitting an environment -------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def _gib(mib: float) -> str:
    return f"{mib / 1024:g} GiB"


def fit(environment: Mapping[str, Any], needs: Needs) -> tuple[bool | None, str]:
    """Whether a job with ``needs`` could run in ``environment``, and why not (or why unknown)."""
    name = str(environment.get("computeEnvironmentName", ""))
    if environment.get("type") != "MANAGED":
        return None, f"{name} is unmanaged: its instances are yours, their sizes unknown here"
    resources = environment.get("computeResources") or {}
    max_vcpus = resources.get("maxvCpus")
    if max_vcpus is not None and needs.vcpus > float(max_vcpus):
        return False, f"{name} allows at most {max_vcpus} vCPUs; the job needs {_number(needs.vcpus)}"
    if str(resources.get("type", "")).startswith("FARGATE"):
        if needs.gpus:
            return False, f"{name} is Fargate, which has no GPUs; the job needs {_number(needs.gpus)}"
        rule = fargate_pair_rule(needs.vcpus, int(needs.memory_mib))
        if rule is not None:
            pair = f"{_number(needs.vcpus)} vCPU / {_number(needs.memory_mib)} MiB"
            return False, f"{pair} {rule} (compute environment {name})"
        return True, ""
    types = list(resources.get("instanceTypes") or [])
    sizes, unknown = sizes_of(types)
    if any(
        size.vcpus >= needs.vcpus and size.memory_mib >= needs.memory_mib and size.gpus >= needs.gpus
        for size in sizes
    ):
        return True, ""
    if unknown:
        return None, f"cannot tell whether the job fits {name}: unknown instance types {', '.join(unknown)}"
    return False, _misfit(name, sizes, needs)


def _misfit(name: str, sizes: list[Any], needs: Needs) -> str:
    """Say which of the job's needs no instance type of the environment meets."""
    short = []
    if not any(size.vcpus >= needs.vcpus for size in sizes):
        short.append(f"{_number(needs.vcpus)} vCPUs")
    if not any(size.memory_mib >= needs.memory_mib for size in sizes):
        short.append(f"{_gib(needs.memory_mib)} memory")
    if needs.gpus and not any(size.gpus >= needs.gpus for size in sizes):
        short.append(f"{_number(needs.gpus)} GPUs")
    if short:
        return f"no instance type of {name} has {' and '.join(short)}"
    wanted = f"{_number(needs.vcpus)} vCPUs, {_gib(needs.memory_mib)} memory"
    if needs.gpus:
        wanted += f" and {_number(needs.gpus)} GPUs"
    return f"no instance type of {name} has {wanted} at once"


def _environment_findings(environment: EnvironmentFit) -> list[str]:
    found = []
    if environment.state == "DISABLED":
        found.append(f"compute environment {environment.name} is DISABLED")
    if environment.status not in ("VALID", "UPDATING", ""):
        reason = f": {environment.status_reason}" if environment.status_reason else ""
        found.append(f"compute environment {environment.name} is {environment.status}{reason}")
    desired, most = environment.desired_vcpus, environment.max_vcpus
    if most and desired is not None and desired >= most:
        found.append(f"compute environment {environment.name} is at max vCPUs {desired} of {most}")
    return found


def environment_fits(
    queue: Mapping[str, Any], environments: Mapping[str, Mapping[str, Any]], needs: Needs | None
) -> list[EnvironmentFit]:
    """The queue's compute environments in order (``environments`` by ARN and name), each judged."""
    rows = []
    order = sorted(queue.get("computeEnvironmentOrder") or [], key=lambda item: item.get("order", 0))
    for item in order:
        reference = str(item.get("computeEnvironment", ""))
        detail = environments.get(reference) or environments.get(queue_name(reference)) or {}
        resources = detail.get("computeResources") or {}
        fits, why = fit(detail, needs) if needs is not None and detail else (None, "")
        kind = str(resources.get("type", "EC2")) if detail.get("type") == "MANAGED" else "UNMANAGED"
        rows.append(
            EnvironmentFit(
                order=int(item.get("order", 0)),
                name=queue_name(reference),
                kind=kind,
                state=str(detail.get("state", "")),
                status=str(detail.get("status", "")),
                status_reason=str(detail.get("statusReason") or ""),
                min_vcpus=resources.get("minvCpus"),
                desired_vcpus=resources.get("desiredvCpus"),
                max_vcpus=resources.get("maxvCpus"),
                instance_types=list(resources.get("instanceTypes") or []),
                fits=fits,
                why=why,
            )
        )
    return rows


# -- the front of the queue --------------------------------------------------------------------------


def front_entries(
    snapshot: Mapping[str, Any], described: Mapping[str, Mapping[str, Any]] | None = None
) -> list[FrontEntry]:
    """The jobs of GetJobQueueSnapshot's ``frontOfQueue``, in order (``described`` by job ARN)."""
    entries = []
    for position, job in enumerate((snapshot.get("frontOfQueue") or {}).get("jobs") or [], start=1):
        arn = job.get("jobArn")
        detail = (described or {}).get(str(arn))
        entries.append(
            FrontEntry(
                position=position,
                job_arn=arn,
                earliest_time_at_position=job.get("earliestTimeAtPosition"),
                share=detail.get("shareIdentifier") if detail else None,
                row=job_row(detail) if detail else None,
            )
        )
    return entries


def share_turns(entries: Iterable[FrontEntry]) -> list[ShareTurn]:
    """The share identifiers at the front, in the order they first appear, with their job counts."""
    turns: dict[str, list[int]] = {}
    for entry in entries:
        if entry.share is not None:
            turns.setdefault(entry.share, []).append(entry.position)
    return [ShareTurn(share, positions[0], len(positions)) for share, positions in turns.items()]


def _position_findings(
    job: Mapping[str, Any], entries: list[FrontEntry]
) -> tuple[list[str], FrontEntry | None]:
    arn = job.get("jobArn")
    mine = next((entry for entry in entries if entry.job_arn == arn), None)
    if mine is not None:
        return [f"position {mine.position} of {len(entries)} at the front of the queue"], mine
    if len(entries) >= FRONT_LIMIT:
        return [f"not among the first {FRONT_LIMIT} jobs at the front of the queue"], None
    return [f"not at the front of the queue ({len(entries)} jobs there; it may have moved since)"], None


def _queue_findings(queue: Mapping[str, Any]) -> list[str]:
    name = str(queue.get("jobQueueName", ""))
    found = []
    if queue.get("state") == "DISABLED":
        found.append(f"queue {name} is DISABLED: it dispatches no new jobs")
    if queue.get("status") not in ("VALID", "UPDATING", None):
        reason = f": {queue['statusReason']}" if queue.get("statusReason") else ""
        found.append(f"queue {name} is {queue.get('status')}{reason}")
    return found


def _utilization_findings(utilization: Mapping[str, Any]) -> list[str]:
    usage = [
        f"{_number(float(item.get('quantity', 0)))} {item.get('capacityUnit', '')}".strip()
        for item in utilization.get("totalCapacityUsage") or []
    ]
    return [f"the queue's dispatched jobs use {', '.join(usage)}"] if usage else []


def explain(
    queue: Mapping[str, Any],
    environments: Iterable[Mapping[str, Any]],
    snapshot: Mapping[str, Any],
    job: Mapping[str, Any] | None = None,
    described: Mapping[str, Mapping[str, Any]] | None = None,
) -> Waiting:
    """Why ``job`` (a RUNNABLE DescribeJobs entry), or the jobs of ``queue``, wait.

    :param queue: the queue's DescribeJobQueues entry.
    :param environments: DescribeComputeEnvironments entries (at least the queue's).
    :param snapshot: the queue's GetJobQueueSnapshot answer.
    :param described: DescribeJobs entries of jobs at the front, by ARN (for names and shares).
    """
    by_reference: dict[str, Mapping[str, Any]] = {}
    for environment in environments:
        by_reference[str(environment.get("computeEnvironmentArn"))] = environment
        by_reference[str(environment.get("computeEnvironmentName"))] = environment
    needs = job_needs(job) if job is not None else None
    fits = environment_fits(queue, by_reference, needs)
    entries = front_entries(snapshot, described)
    fair_share = bool(queue.get("schedulingPolicyArn"))
    findings = _queue_findings(queue)
    for row in fits:
        findings.extend(_environment_findings(row))
    mine: FrontEntry | None = None
    misconfiguration = None
    if job is not None:
        position_found, mine = _position_findings(job, entries)
        findings = position_found + findings
        reason = str(job.get("statusReason") or "")
        if reason.startswith(MISCONFIGURATION):
            misconfiguration = reason
            findings.append(f"AWS Batch reports {reason}")
        if fits and not any(row.fits for row in fits):
            findings.extend(row.why for row in fits if row.why)
    elif not entries:
        findings.append("no RUNNABLE job at the front of the queue")
    else:
        findings.append(f"{len(entries)}{'+' if len(entries) >= FRONT_LIMIT else ''} jobs at the front")
    turns = share_turns(entries) if fair_share else []
    if turns:
        findings.append("fair share: shares in dispatch order " + ", ".join(turn.share for turn in turns))
        share = job.get("shareIdentifier") if job is not None else None
        turn = next((turn for turn in turns if turn.share == share), None)
        if turn is not None:
            findings.append(f"this job's share {share} first comes at position {turn.first_position}")
    utilization = dict(snapshot.get("queueUtilization") or {})
    findings.extend(_utilization_findings(utilization))
    return Waiting(
        queue=str(queue.get("jobQueueName", "")),
        queue_state=str(queue.get("state", "")),
        queue_status=str(queue.get("status", "")),
        queue_status_reason=str(queue.get("statusReason") or ""),
        fair_share=fair_share,
        findings=findings,
        environments=fits,
        front=entries,
        front_updated_at=(snapshot.get("frontOfQueue") or {}).get("lastUpdatedAt"),
        shares=turns,
        job_id=str(job["jobId"]) if job is not None else None,
        position=mine.position if mine else None,
        earliest_time_at_position=mine.earliest_time_at_position if mine else None,
        misconfiguration=misconfiguration,
        needs=needs,
        utilization=utilization,
    )


def redacted(waiting: Waiting, visible: Callable[[JobRow], bool]) -> Waiting:
    """``waiting`` with the jobs at the front a viewer may not see reduced to their position."""
    front = [
        entry
        if entry.row is not None and visible(entry.row)
        else replace(entry, job_arn=None, share=entry.share, row=None)
        for entry in waiting.front
    ]
    return replace(waiting, front=front)
