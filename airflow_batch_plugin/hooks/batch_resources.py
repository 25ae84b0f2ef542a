"""BatchResourceHook: AWS Batch calls for compute environments, job queues and scheduling policies.

The job calls stay in :class:`~airflow_batch_plugin.hooks.batch.BatchHook`; this subclass adds
the infrastructure calls the ensure/delete operators make. Describe calls return None for a
resource that does not exist, so callers never parse "not found" errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.hooks.retry import call_with_retries

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Job statuses a queue must have none of before it may be deleted without losing work.
ACTIVE_JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


class BatchResourceHook(BatchHook):
    """Create, describe, update, tag and delete AWS Batch infrastructure."""

    hook_name = "AWS Batch resources"

    # -- compute environments ----------------------------------------------------------------

    def describe_compute_environment(self, name: str) -> dict[str, Any] | None:
        """Describe a compute environment by name or ARN; None when it does not exist."""
        response = call_with_retries(
            lambda: self.client.describe_compute_environments(computeEnvironments=[name]),
            description=f"DescribeComputeEnvironments {name}",
        )
        found = response.get("computeEnvironments", [])
        return dict(found[0]) if found else None

    def create_compute_environment(self, request: Mapping[str, Any]) -> str:
        """Create a compute environment; return its ARN."""
        response = call_with_retries(
            lambda: self.client.create_compute_environment(**request),
            description=f"CreateComputeEnvironment {request.get('computeEnvironmentName')}",
            repeatable=False,
        )
        return str(response["computeEnvironmentArn"])

    def update_compute_environment(self, request: Mapping[str, Any]) -> None:
        call_with_retries(
            lambda: self.client.update_compute_environment(**request),
            description=f"UpdateComputeEnvironment {request.get('computeEnvironment')}",
        )

    def delete_compute_environment(self, name: str) -> None:
        call_with_retries(
            lambda: self.client.delete_compute_environment(computeEnvironment=name),
            description=f"DeleteComputeEnvironment {name}",
        )

    def queues_using_compute_environment(self, arn: str) -> list[str]:
        """Name the job queues whose compute environment order includes ``arn``."""
        return [
            queue["jobQueueName"]
            for queue in self.describe_job_queues()
            if queue.get("status") != "DELETED"
            and any(item["computeEnvironment"] == arn for item in queue.get("computeEnvironmentOrder", []))
        ]

    async def async_describe_compute_environment(self, client: Any, name: str) -> dict[str, Any] | None:
        """Describe a compute environment with an async client; None when it does not exist.

        Faults are not retried here: the waiting trigger backs off and asks again.
        """
        response = await client.describe_compute_environments(computeEnvironments=[name])
        found = response.get("computeEnvironments", [])
        return dict(found[0]) if found else None

    # -- job queues ----------------------------------------------------------------------------

    async def async_describe_job_queue(self, client: Any, name: str) -> dict[str, Any] | None:
        """Describe a job queue with an async client; None when it does not exist (no retries)."""
        response = await client.describe_job_queues(jobQueues=[name])
        found = response.get("jobQueues", [])
        return dict(found[0]) if found else None

    def describe_job_queues(self, names: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Describe the named job queues, or every queue of the account and region."""
        request: dict[str, Any] = {"jobQueues": list(names)} if names else {}
        return list(self._paginate("describe_job_queues", "jobQueues", request))

    def get_job_queue_snapshot(self, job_queue: str) -> dict[str, Any]:
        """Return GetJobQueueSnapshot of a queue (name or ARN): ``frontOfQueue`` (the first 100
        RUNNABLE jobs in dispatch order) and, where AWS sends it, ``queueUtilization``.

        A queue that does not exist raises botocore's ClientException, as AWS answers.
        """
        response = call_with_retries(
            lambda: self.client.get_job_queue_snapshot(jobQueue=job_queue),
            description=f"GetJobQueueSnapshot {job_queue}",
        )
        return {key: value for key, value in response.items() if key != "ResponseMetadata"}

    def create_job_queue(self, request: Mapping[str, Any]) -> str:
        """Create a job queue; return its ARN."""
        response = call_with_retries(
            lambda: self.client.create_job_queue(**request),
            description=f"CreateJobQueue {request.get('jobQueueName')}",
            repeatable=False,
        )
        return str(response["jobQueueArn"])

    def update_job_queue(self, request: Mapping[str, Any]) -> None:
        call_with_retries(
            lambda: self.client.update_job_queue(**request),
            description=f"UpdateJobQueue {request.get('jobQueue')}",
        )

    def delete_job_queue(self, name: str) -> None:
        call_with_retries(
            lambda: self.client.delete_job_queue(jobQueue=name), description=f"DeleteJobQueue {name}"
        )

    def active_jobs(self, job_queue: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Return up to ``limit`` jobs of ``job_queue`` that have not finished yet."""
        jobs: list[dict[str, Any]] = []
        for status in ACTIVE_JOB_STATUSES:
            for summary in self.list_jobs(job_queue=job_queue, job_status=status):
                jobs.append(summary)
                if len(jobs) >= limit:
                    return jobs
        return jobs

    # -- scheduling policies -------------------------------------------------------------------

    def scheduling_policy_arn(self, name_or_arn: str) -> str | None:
        """Return the ARN of the scheduling policy named ``name_or_arn`` (or None if absent)."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        suffix = f":scheduling-policy/{name_or_arn}"
        for policy in self._paginate("list_scheduling_policies", "schedulingPolicies", {}):
            if str(policy["arn"]).endswith(suffix):
                return str(policy["arn"])
        return None

    def describe_scheduling_policy(self, name_or_arn: str) -> dict[str, Any] | None:
        """Describe a scheduling policy by name or ARN; None when it does not exist."""
        arn = self.scheduling_policy_arn(name_or_arn)
        if arn is None:
            return None
        response = call_with_retries(
            lambda: self.client.describe_scheduling_policies(arns=[arn]),
            description=f"DescribeSchedulingPolicies {name_or_arn}",
        )
        found = response.get("schedulingPolicies", [])
        return dict(found[0]) if found else None

    def create_scheduling_policy(self, request: Mapping[str, Any]) -> str:
        """Create a scheduling policy; return its ARN."""
        response = call_with_retries(
            lambda: self.client.create_scheduling_policy(**request),
            description=f"CreateSchedulingPolicy {request.get('name')}",
            repeatable=False,
        )
        return str(response["arn"])

    def update_scheduling_policy(self, request: Mapping[str, Any]) -> None:
        call_with_retries(
            lambda: self.client.update_scheduling_policy(**request),
            description=f"UpdateSchedulingPolicy {request.get('arn')}",
        )

    def delete_scheduling_policy(self, arn: str) -> None:
        call_with_retries(
            lambda: self.client.delete_scheduling_policy(arn=arn), description=f"DeleteSchedulingPolicy {arn}"
        )

    def queues_using_scheduling_policy(self, arn: str) -> list[str]:
        """Name the job queues that use the scheduling policy ``arn``."""
        return [
            queue["jobQueueName"]
            for queue in self.describe_job_queues()
            if queue.get("schedulingPolicyArn") == arn and queue.get("status") != "DELETED"
        ]

    # -- tags ------------------------------------------------------------------------------------

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        if tags:
            call_with_retries(
                lambda: self.client.tag_resource(resourceArn=arn, tags=dict(tags)),
                description=f"TagResource {arn}",
            )

    def untag_resource(self, arn: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            call_with_retries(
                lambda: self.client.untag_resource(resourceArn=arn, tagKeys=keys),
                description=f"UntagResource {arn}",
            )

    # -- job definitions, a page at a time (the view's list) -------------------------------------

    def describe_job_definitions_page(
        self,
        *,
        status: str | None = "ACTIVE",
        name: str | None = None,
        next_token: str | None = None,
        page_size: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one DescribeJobDefinitions page (``status``, exactly ``name``) and its nextToken."""
        request: dict[str, Any] = {"maxResults": page_size}
        if status:
            request["status"] = status
        if name:
            request["jobDefinitionName"] = name
        if next_token:
            request["nextToken"] = next_token
        page = call_with_retries(
            lambda: self.client.describe_job_definitions(**request), description="DescribeJobDefinitions"
        )
        return [dict(item) for item in page.get("jobDefinitions", [])], page.get("nextToken") or None
