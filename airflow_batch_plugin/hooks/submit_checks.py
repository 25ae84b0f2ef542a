"""What SubmitJob would refuse that only AWS knows, found with reads before any write.

The queue (exists, ENABLED, its fair-share rules), the job definition (an ACTIVE revision), the
jobs of ``depends_on`` (they exist). :meth:`BatchHook.check_submission_target
<airflow_batch_plugin.hooks.batch.BatchHook.check_submission_target>` is the one call operators make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow_batch_plugin.specs.job import JobDependency
from airflow_batch_plugin.specs.validation import Problem

if TYPE_CHECKING:
    from collections.abc import Iterable

    from airflow_batch_plugin.specs.job import JobSubmissionSpec
    from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec


class TargetReader(Protocol):
    """The reads the checks make (a :class:`~airflow_batch_plugin.hooks.batch.BatchHook`)."""

    @property
    def conn_region_name(self) -> str | None: ...

    def describe_job_queue(self, job_queue: str) -> dict[str, Any] | None: ...

    def describe_job_definition(self, job_definition: str) -> dict[str, Any] | None: ...

    def describe_jobs(self, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def target_problems(
    hook: TargetReader, submission: JobSubmissionSpec, definition: JobDefinitionSpec | None
) -> list[Problem]:
    """Check with reads only what SubmitJob would refuse: the queue, the definition, the dependencies.

    The queue must exist and be ENABLED; a fair-share queue (one with a scheduling policy) needs a
    share identifier and a scheduling priority, a FIFO queue takes no share identifier. A
    definition named (not given as a spec, which the operator registers itself) must have an
    ACTIVE revision. Jobs named in ``depends_on`` must exist.

    :param hook: what makes the reads.
    :param submission: the validated submission.
    :param definition: the spec the caller registers itself (its revision is not read), or None.
    """
    problems: list[Problem] = []
    region = hook.conn_region_name or "the connection's region"
    queue = hook.describe_job_queue(submission.job_queue)
    fair_share: str | None = None
    if queue is None or queue.get("status") == "DELETED":
        problems.append(
            Problem(
                "job_queue",
                submission.job_queue,
                f"no such job queue in {region} (DescribeJobQueues knows none by this name or ARN)",
            )
        )
    else:
        name = queue.get("jobQueueName", submission.job_queue)
        if queue.get("state", "ENABLED") != "ENABLED":
            problems.append(
                Problem(
                    "job_queue",
                    submission.job_queue,
                    f"job queue {name} is {queue.get('state')}: it accepts no new jobs until it is ENABLED",
                )
            )
        fair_share = queue.get("schedulingPolicyArn")
        if fair_share and not submission.share_identifier:
            problems.append(
                Problem(
                    "share_identifier",
                    None,
                    f"is required: job queue {name} is a fair-share queue (scheduling policy {fair_share})",
                )
            )
        elif not fair_share and submission.share_identifier:
            problems.append(
                Problem(
                    "share_identifier",
                    submission.share_identifier,
                    f"must not be given: job queue {name} has no scheduling policy (first in, first out)",
                )
            )
    priority: Any = None
    if definition is None:
        described = hook.describe_job_definition(submission.job_definition)
        if described is None:
            problems.append(
                Problem(
                    "job_definition",
                    submission.job_definition,
                    f"no ACTIVE job definition in {region} by this name, name:revision or ARN "
                    "(DescribeJobDefinitions found none)",
                )
            )
        elif described.get("status") == "INACTIVE":
            problems.append(
                Problem(
                    "job_definition",
                    submission.job_definition,
                    f"revision {described.get('revision')} is INACTIVE (deregistered): name an ACTIVE one",
                )
            )
        else:
            priority = described.get("schedulingPriority")
    else:
        priority = definition.scheduling_priority
    if fair_share and priority is None and submission.scheduling_priority_override is None:
        problems.append(
            Problem(
                "scheduling_priority_override",
                None,
                "is required: the queue is fair-share and job definition "
                f"{_shown(submission.job_definition)} sets no scheduling_priority",
            )
        )
    ids = [
        str(dependency.job_id)
        for dependency in submission.depends_on or ()
        if isinstance(dependency, JobDependency) and dependency.job_id
    ]
    if ids:
        known = hook.describe_jobs(ids)
        for index, dependency in enumerate(submission.depends_on or ()):
            job_id = getattr(dependency, "job_id", None)
            if job_id and str(job_id) not in known:
                problems.append(
                    Problem(f"depends_on[{index}].job_id", job_id, "no such job (DescribeJobs knows none)")
                )
    return problems
