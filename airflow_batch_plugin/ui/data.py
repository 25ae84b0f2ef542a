"""What the monitoring view shows, read from AWS Batch through the hooks, with bounded calls.

:class:`BatchWorld` answers for one connection and region. Every answer is cached (see
:class:`~airflow_batch_plugin.ui.cache.TtlCache`) so that a page view costs at most:

- the overview: 1 DescribeJobQueues, 1 DescribeComputeEnvironments, 7 ListJobs per queue (one
  page of up to 1,000 jobs per status: a count shown as "more than 1000" is a lower bound, exact on
  the jobs page, :mod:`~airflow_batch_plugin.ui.finder`) and one
  DescribeJobs per 100 of the newest jobs (for the Airflow tags and array progress);
- a job page: 1 DescribeJobs, 1 GetLogEvents (the log tail), and for an array job one ListJobs
  per child status (up to 100 children each); a RUNNABLE job adds "why is it waiting?":
  1 GetJobQueueSnapshot, 1 DescribeJobQueues, 1 DescribeComputeEnvironments (the queue's), and
  for a fair-share queue 1 DescribeJobs (the jobs at the front, for their shares);
- a queue page adds the same for the queue, with the DescribeJobs of the front always;

and nothing at all while the cache is fresh (default 15 s). A request reads through
:meth:`BatchWorld.for_request`, whose memo keeps those bounds with the cache off too.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_batch_plugin.anatomy import JobAnatomy, read_job
from airflow_batch_plugin.identity import DAG_TAG, MAP_INDEX_TAG, RUN_TAG, TASK_TAG
from airflow_batch_plugin.job_state import primary_log
from airflow_batch_plugin.ui.job_details import JobDetails, job_details

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
    from airflow_batch_plugin.ui.cache import TtlCache
    from airflow_batch_plugin.ui.definition_list import DefinitionsPage
    from airflow_batch_plugin.ui.scheduling_policies import SchedulingPolicyPage
    from airflow_batch_plugin.ui.waiting import Waiting

#: Job statuses in their lifecycle order.
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
#: ListJobs page size when counting a queue's jobs by status (AWS's maximum).
COUNT_PAGE = 1000
#: How many of the newest jobs the overview describes to find the ones Airflow started.
RECENT_JOBS = 100
#: How many children of each status a job page lists.
CHILDREN_PAGE = 100
#: How many last log lines a job page shows.
LOG_TAIL_LINES = 100


@dataclass(frozen=True)
class QueueRow:
    """One job queue with its jobs counted by status."""

    name: str
    arn: str
    state: str
    status: str
    status_reason: str
    priority: int
    compute_environments: list[str]
    scheduling_policy: str | None
    counts: dict[str, int]
    #: Statuses with more jobs than one ListJobs page: their count is a lower bound.
    more: frozenset[str] = frozenset()
    scheduling_policy_arn: str | None = None

    def count_label(self, status: str) -> str:
        count = self.counts.get(status, 0)
        return f"more than {count}" if status in self.more else str(count)


@dataclass(frozen=True)
class ComputeEnvironmentRow:
    """One compute environment: its kind, state and capacity."""

    name: str
    arn: str
    kind: str
    managed: bool
    state: str
    status: str
    status_reason: str
    min_vcpus: int | None
    desired_vcpus: int | None
    max_vcpus: int | None
    instance_types: list[str]


@dataclass(frozen=True)
class TaskRef:
    """The Airflow task instance that submitted a job (from the job's tags)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True)
class JobRow:
    """One job as the tables show it."""

    job_id: str
    name: str
    queue: str
    status: str
    status_reason: str
    created_at: int | None
    started_at: int | None
    stopped_at: int | None
    array_size: int | None
    progress: dict[str, int] = field(default_factory=dict)
    task: TaskRef | None = None
    #: The DAG named by the job's ``airflow:dag_id`` tag (even when other tags are missing).
    dag_id: str | None = None

    #: Properties the JSON twins include besides the fields.
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("duration_seconds",)

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to stop, or to now while it runs; None before it starts."""
        return self.elapsed_seconds()

    def elapsed_seconds(self, now_ms: Callable[[], float] | None = None) -> float | None:
        """Seconds from start to stop, or to ``now_ms()`` (epoch milliseconds) while it runs.

        :param now_ms: the clock (default: the system's); None before the job starts.
        """
        if self.started_at is None:
            return None
        end = self.stopped_at if self.stopped_at is not None else (now_ms or epoch_ms)()
        return max(0.0, (end - self.started_at) / 1000)

    @property
    def done_fraction(self) -> float | None:
        """For an array job, the share of children that ended (succeeded or failed)."""
        if not self.array_size:
            return None
        ended = self.progress.get("SUCCEEDED", 0) + self.progress.get("FAILED", 0)
        return ended / self.array_size


@dataclass(frozen=True)
class PartRow:
    """One part of a job on its page: a container of an ECS or EKS job, or a multi-node job's node.

    ``job_id`` is set for a node (a job of its own, with its own page).
    """

    label: str
    exit_code: int | None
    reason: str | None
    essential: bool
    log: str | None
    job_id: str | None = None


@dataclass(frozen=True)
class AttemptRow:
    """One attempt on a job page: its times, each part's exit code and why it ended, its streams."""

    number: int
    started_at: int | None
    stopped_at: int | None
    outcome: str
    streams: list[str]


@dataclass(frozen=True)
class JobPage:
    """Everything the job page shows."""

    row: JobRow
    job: dict[str, Any]
    kind: str
    attempts: list[AttemptRow]
    parts: list[PartRow]
    exit_code: int | None
    children: dict[str, list[dict[str, Any]]]
    log_group: str | None
    log_stream: str | None
    log_tail: list[str] | None
    #: How the job was asked to run (:mod:`~airflow_batch_plugin.ui.job_details`).
    details: JobDetails | None = None


def part_rows(anatomy: JobAnatomy) -> list[PartRow]:
    """The parts a job page lists: every container of a multi-container job, or every node."""
    if anatomy.is_multi_node_parent:
        main = anatomy.main_node
        return [
            PartRow(f"node {index}" + (" (main)" if index == main else ""), None, None, True, None, job_id)
            for index, job_id in enumerate(anatomy.node_job_ids())
        ]
    attempt = anatomy.latest_attempt
    if attempt is None or len(attempt.parts) < 2:
        return []
    return [
        PartRow(part.label, part.exit_code, part.reason, part.essential, str(part.log) if part.log else None)
        for part in attempt.parts
    ]


def attempt_rows(anatomy: JobAnatomy) -> list[AttemptRow]:
    """The attempts that ended, oldest first, as a job page lists them."""
    return [
        AttemptRow(
            number=attempt.number,
            started_at=attempt.started_at,
            stopped_at=attempt.stopped_at,
            outcome=attempt.summary(),
            streams=[str(part.log) for part in attempt.parts if part.log is not None],
        )
        for attempt in anatomy.attempts
    ]


#: Keys under which AWS returns environment variables (ECS containers, EKS containers).
ENVIRONMENT_KEYS = ("environment", "env")
HIDDEN = "***"


def without_environment_values(value: Any) -> Any:
    """Return a copy of a description with every environment variable's value hidden.

    AWS returns environment values in plain text (DescribeJobs, DescribeJobDefinitions); the view
    shows only their names. Secrets given by reference (``secrets``/``valueFrom``) stay as they are.
    """
    if isinstance(value, dict):
        return {
            key: _hidden_values(item) if key in ENVIRONMENT_KEYS else without_environment_values(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_environment_values(item) for item in value]
    return value


def _hidden_values(variables: Any) -> Any:
    if not isinstance(variables, list):
        return without_environment_values(variables)
    return [
        {**variable, "value": HIDDEN} if isinstance(variable, dict) and "value" in variable else variable
        for variable in variables
    ]


def queue_name(arn_or_name: str) -> str:
    """The name at the end of an ARN (``...:job-queue/NAME``), or the name itself."""
    return arn_or_name.rsplit("/", 1)[-1]


def epoch_ms() -> float:
    """Now, in milliseconds since the epoch (AWS's timestamps)."""
    return time.time() * 1000


def dag_of(tags: Mapping[str, str]) -> str | None:
    """The DAG a job belongs to (its ``airflow:dag_id`` tag), or None when it has none."""
    return tags.get(DAG_TAG) or None


def task_ref(tags: Mapping[str, str]) -> TaskRef | None:
    """The task instance named by our operators' tags, or None for a job Airflow did not submit."""
    if not tags.get(DAG_TAG) or not tags.get(RUN_TAG) or not tags.get(TASK_TAG):
        return None
    try:
        map_index = int(tags.get(MAP_INDEX_TAG, "-1"))
    except ValueError:
        map_index = -1
    return TaskRef(tags[DAG_TAG], tags[RUN_TAG], tags[TASK_TAG], map_index)


def job_row(job: Mapping[str, Any]) -> JobRow:
    """Turn a DescribeJobs entry (or a ListJobs summary) into a :class:`JobRow`."""
    array = job.get("arrayProperties") or {}
    return JobRow(
        job_id=str(job["jobId"]),
        name=str(job.get("jobName", "")),
        queue=queue_name(str(job.get("jobQueue", ""))),
        status=str(job.get("status", "")),
        status_reason=str(job.get("statusReason") or ""),
        created_at=job.get("createdAt"),
        started_at=job.get("startedAt"),
        stopped_at=job.get("stoppedAt"),
        array_size=array.get("size") if "index" not in array else None,
        progress={status: int(count) for status, count in (array.get("statusSummary") or {}).items()},
        task=task_ref(job.get("tags") or {}),
        dag_id=dag_of(job.get("tags") or {}),
    )


def compute_environment_row(environment: Mapping[str, Any]) -> ComputeEnvironmentRow:
    """Turn a DescribeComputeEnvironments entry into a :class:`ComputeEnvironmentRow`."""
    resources = environment.get("computeResources") or {}
    managed = environment.get("type") == "MANAGED"
    kind = str(resources.get("type", "EC2")) if managed else "UNMANAGED"
    if environment.get("containerOrchestrationType") == "EKS":
        kind = f"EKS ({kind})"
    return ComputeEnvironmentRow(
        name=str(environment["computeEnvironmentName"]),
        arn=str(environment["computeEnvironmentArn"]),
        kind=kind,
        managed=managed,
        state=str(environment.get("state", "")),
        status=str(environment.get("status", "")),
        status_reason=str(environment.get("statusReason") or ""),
        min_vcpus=resources.get("minvCpus"),
        desired_vcpus=resources.get("desiredvCpus"),
        max_vcpus=resources.get("maxvCpus"),
        instance_types=list(resources.get("instanceTypes") or []),
    )


class BatchWorld:
    """The AWS Batch resources and jobs of one connection and region, as the view shows them.

    :param batch: the hook reading Batch (jobs, queues, compute environments).
    :param logs: the hook reading CloudWatch Logs (job log tails).
    :param cache: where answers are kept (shared by every page of the view).
    :param key: what distinguishes this world's entries in ``cache`` (connection, region).
    """

    def __init__(
        self, batch: BatchResourceHook, logs: CloudWatchLogsHook, cache: TtlCache, key: tuple[str, str]
    ) -> None:
        self.batch = batch
        self.logs = logs
        self.cache = cache
        self.key = key
        self._memo: dict[tuple[Any, ...], Any] | None = None

    def for_request(self) -> BatchWorld:
        """This world with a memo of its own: one request reads each thing once, cache on or off."""
        scoped = copy.copy(self)
        scoped._memo = {}
        return scoped

    def _cached(self, what: tuple[Any, ...], compute: Any) -> Any:
        if self._memo is None:
            return self.cache.get((*self.key, *what), compute)
        if what not in self._memo:
            self._memo[what] = self.cache.get((*self.key, *what), compute)
        return self._memo[what]

    def cached(self, what: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Read ``what`` through the cache and this request's memo (for the view's other readers)."""
        return self._cached(what, compute)

    # -- the overview ---------------------------------------------------------------------------

    def queues(self) -> list[QueueRow]:
        """Every job queue, by priority, with its jobs counted by status."""
        return list(self._cached(("queues",), self._read_queues))

    def _read_queues(self) -> list[QueueRow]:
        rows = []
        for queue in self.batch.describe_job_queues():
            if queue.get("status") == "DELETED":
                continue
            counts, more, _ = self._queue_jobs(str(queue["jobQueueArn"]))
            order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda item: item.get("order", 0))
            policy = queue.get("schedulingPolicyArn")
            rows.append(
                QueueRow(
                    name=str(queue["jobQueueName"]),
                    arn=str(queue["jobQueueArn"]),
                    state=str(queue.get("state", "")),
                    status=str(queue.get("status", "")),
                    status_reason=str(queue.get("statusReason") or ""),
                    priority=int(queue.get("priority", 0)),
                    compute_environments=[queue_name(str(item["computeEnvironment"])) for item in order],
                    scheduling_policy=queue_name(str(policy)) if policy else None,
                    counts=counts,
                    more=frozenset(more),
                    scheduling_policy_arn=str(policy) if policy else None,
                )
            )
        return sorted(rows, key=lambda row: (-row.priority, row.name))

    def _queue_jobs(self, queue_arn: str) -> tuple[dict[str, int], set[str], list[dict[str, Any]]]:
        """Count a queue's jobs by status (one page each); also return their summaries."""
        return tuple(self._cached(("queue-jobs", queue_arn), lambda: self._read_queue_jobs(queue_arn)))

    def _read_queue_jobs(self, queue_arn: str) -> tuple[dict[str, int], set[str], list[dict[str, Any]]]:
        counts: dict[str, int] = {}
        more: set[str] = set()
        summaries: list[dict[str, Any]] = []
        for status in STATUSES:
            page, has_more = self.batch.list_jobs_page(
                job_queue=queue_arn, job_status=status, page_size=COUNT_PAGE
            )
            counts[status] = len(page)
            if has_more:
                more.add(status)
            summaries.extend({**summary, "status": summary.get("status", status)} for summary in page)
        return counts, more, summaries

    def compute_environments(self) -> list[ComputeEnvironmentRow]:
        """Every compute environment, by name."""
        return list(self._cached(("compute-environments",), self._read_compute_environments))

    def _read_compute_environments(self) -> list[ComputeEnvironmentRow]:
        rows = [
            compute_environment_row(environment)
            for environment in self.batch.describe_compute_environments()
            if environment.get("status") != "DELETED"
        ]
        return sorted(rows, key=lambda row: row.name)

    def recent_jobs(self, dag_ids: Collection[str] | None = None, limit: int = RECENT_JOBS) -> list[JobRow]:
        """The newest jobs of every queue that Airflow submitted (tagged with a DAG), newest first.

        :param dag_ids: only jobs of these DAGs (the ones the user may read); None for all.
        """
        rows: list[JobRow] = self._cached(("recent-jobs", limit), lambda: self._read_recent_jobs(limit))
        return [row for row in rows if row.dag_id is not None and (dag_ids is None or row.dag_id in dag_ids)]

    def _read_recent_jobs(self, limit: int) -> list[JobRow]:
        summaries: list[dict[str, Any]] = []
        for queue in self.queues():
            summaries.extend(self._queue_jobs(queue.arn)[2])
        newest = sorted(summaries, key=lambda summary: summary.get("createdAt") or 0, reverse=True)[:limit]
        described = self.batch.describe_jobs(summary["jobId"] for summary in newest)
        rows = [job_row(described[summary["jobId"]]) for summary in newest if summary["jobId"] in described]
        return rows

    # -- one resource ---------------------------------------------------------------------------

    def job(self, job_id: str) -> JobPage | None:
        """The job page of ``job_id``, or None when AWS does not know the job."""
        return self._cached(("job", job_id), lambda: self._read_job(job_id))

    def _read_job(self, job_id: str) -> JobPage | None:
        described = self.batch.describe_jobs([job_id]).get(job_id)
        if described is None:
            return None
        job = without_environment_values(described)
        row = job_row(job)
        children: dict[str, list[dict[str, Any]]] = {}
        if row.array_size:
            for status in STATUSES:
                if row.progress.get(status, 0) == 0:
                    continue  # statusSummary says there are none: no call
                page, _ = self.batch.list_jobs_page(
                    array_job_id=job_id, job_status=status, page_size=CHILDREN_PAGE
                )
                children[status] = page
        anatomy = read_job(job)
        location = None if row.array_size else primary_log(job)
        group = location.group if location else None
        stream = location.stream if location else None
        tail = self.logs.tail(group, stream, LOG_TAIL_LINES) if group and stream else None
        return JobPage(
            row=row,
            job=job,
            kind=anatomy.description,
            attempts=attempt_rows(anatomy),
            parts=part_rows(anatomy),
            exit_code=anatomy.exit_code,
            children=children,
            log_group=group,
            log_stream=stream,
            log_tail=tail,
            details=job_details(job, anatomy),
        )

    def job_definition(self, name_or_arn: str) -> dict[str, Any] | None:
        """One job definition revision (an ARN, ``name:revision``, or a name's newest ACTIVE one)."""
        return self._cached(
            ("job-definition", name_or_arn),
            lambda: without_environment_values(self.batch.describe_job_definition(name_or_arn)),
        )

    def scheduling_policy(self, name_or_arn: str) -> SchedulingPolicyPage | None:
        """A scheduling policy (by ARN, or by name through ListSchedulingPolicies) and its queues."""
        from airflow_batch_plugin.ui.scheduling_policies import scheduling_policy_page

        def read() -> SchedulingPolicyPage | None:
            policy = self.batch.describe_scheduling_policy(name_or_arn)
            if policy is None:
                return None
            return scheduling_policy_page(policy, self.batch.describe_job_queues())

        return self._cached(("scheduling-policy", name_or_arn), read)

    def job_definitions(self, status: str, name: str | None, token: str | None) -> DefinitionsPage:
        """One page of job definitions (DescribeJobDefinitions: by status, exact name, nextToken)."""
        from airflow_batch_plugin.ui.definition_list import DEFINITIONS_PAGE, definitions_page

        def read() -> DefinitionsPage:
            found, next_token = self.batch.describe_job_definitions_page(
                status=status, name=name, next_token=token, page_size=DEFINITIONS_PAGE
            )
            return definitions_page(found, status=status, name=name, token=token, next_token=next_token)

        return self._cached(("job-definitions", status, name, token), read)

    def queue(self, name_or_arn: str) -> QueueRow | None:
        """One job queue of the overview, by name or ARN."""
        wanted = queue_name(name_or_arn)
        return next((row for row in self.queues() if row.name == wanted), None)

    def compute_environment(self, name_or_arn: str) -> ComputeEnvironmentRow | None:
        """One compute environment of the overview, by name or ARN."""
        wanted = queue_name(name_or_arn)
        return next((row for row in self.compute_environments() if row.name == wanted), None)

    # -- why is it waiting? ----------------------------------------------------------------------

    def waiting_for_job(self, page: JobPage) -> Waiting | None:
        """Why a RUNNABLE job waits (None for a job in any other status or an array parent)."""
        if page.row.status != "RUNNABLE" or page.row.array_size:
            return None
        queue_arn = str(page.job.get("jobQueue") or "")
        return self._waiting(queue_arn, page.job, describe_front=False)

    def waiting_for_queue(self, name_or_arn: str) -> Waiting | None:
        """Why the jobs of a queue wait: its front (described), state and compute environments."""
        return self._waiting(name_or_arn, None, describe_front=True)

    def _waiting(self, queue_ref: str, job: dict[str, Any] | None, describe_front: bool) -> Waiting | None:
        from airflow_batch_plugin.ui.waiting import explain

        queue = self._cached(("queue-detail", queue_ref), lambda: self.batch.describe_job_queue(queue_ref))
        if queue is None:
            return None
        snapshot = self._cached(
            ("queue-snapshot", queue_ref), lambda: self.batch.get_job_queue_snapshot(queue_ref)
        )
        environments = self._cached(
            ("queue-environments", queue_ref),
            lambda: self.batch.describe_compute_environments(
                [str(item["computeEnvironment"]) for item in queue.get("computeEnvironmentOrder") or []]
            ),
        )
        described = None
        if describe_front or queue.get("schedulingPolicyArn"):
            described = self._cached(("queue-front", queue_ref), lambda: self._describe_front(snapshot))
        return explain(queue, environments, snapshot, job=job, described=described)

    def _describe_front(self, snapshot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """DescribeJobs of the jobs at the front of a queue (at most 100: one call), by ARN."""
        arns = [str(job["jobArn"]) for job in (snapshot.get("frontOfQueue") or {}).get("jobs") or []]
        if not arns:
            return {}
        described = self.batch.describe_jobs(arns)
        by_arn = {str(job.get("jobArn")): without_environment_values(job) for job in described.values()}
        return by_arn
