"""BatchHook: every AWS Batch call the package makes, on the Amazon provider's AwsBaseHook.

The hook takes the Airflow connection, region and assumed roles from ``AwsBaseHook``; it adds
chunked DescribeJobs (100 ids a call), paginated listings, idempotent job definition
registration, and retries through throttling (see :mod:`.retry`). The ``async_*`` methods are
the calls triggers make with an aiobotocore client (one client shared by many triggers, see
:mod:`airflow_batch_plugin.poller`).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from asgiref.sync import sync_to_async
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from airflow_batch_plugin.anatomy import EksCluster, eks_cluster_name
from airflow_batch_plugin.hooks.pacing import hook_bucket
from airflow_batch_plugin.hooks.retry import (
    AmbiguousWriteError,
    async_call_with_retries,
    call_with_retries,
    client_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from contextlib import AbstractAsyncContextManager

    from botocore.config import Config
    from mypy_boto3_batch import BatchClient

    from airflow_batch_plugin.hooks.pacing import TokenBucket
    from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec

#: DescribeJobs accepts at most this many job ids per call.
DESCRIBE_JOBS_CHUNK = 100
#: Tag that records the content hash of the spec a job definition revision was registered from.
SPEC_HASH_TAG = "airflow-batch-plugin:spec-hash"
#: Tag with a token unique to one submit_job call, so a lost response is matched to its job only.
SUBMIT_TOKEN_TAG = "airflow-batch-plugin:submit-token"
#: AWS Batch APIs that only read; every other call counts as a write.
READ_API_PREFIXES = ("Describe", "List", "Get")
#: How many times a SubmitJob lost to a transient fault is looked up and sent again.
MAX_AMBIGUOUS_SUBMITS = 5
#: A SubmitJob lost after it was sent (timed out, connection dropped) may still be creating its
#: job, and ListJobs may lag: before sending it again the hook looks again after these pauses.
IN_FLIGHT_LOOKUP_DELAYS = (2.0, 5.0)
#: The errors that leave a sent request possibly still in flight.
IN_FLIGHT_ERRORS = (ReadTimeoutError, ConnectionClosedError)
#: Which AWS Batch endpoint a client talks to: (connection id, region, endpoint URL or None).
ClientKey = tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class RegisteredDefinition:
    """A job definition revision, and whether this call registered it or reused it."""

    arn: str
    name: str
    revision: int
    registered: bool


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Yield successive lists of at most ``size`` items, without duplicates, in first-seen order."""
    chunk: list[str] = []
    for item in dict.fromkeys(items):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class BatchHook(AwsBaseHook):
    """Interact with AWS Batch through a boto3 client built from an Airflow AWS connection.

    :param aws_conn_id: Airflow connection id (``aws_default`` unless given).
    :param region_name: AWS region; the connection's when not given.
    """

    hook_name = "AWS Batch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "batch"
        super().__init__(*args, **kwargs)

    def _get_config(self, config: Config | None = None) -> Config:
        return client_config(super()._get_config(config))

    @cached_property
    def client(self) -> BatchClient:
        """The boto3 Batch client of this hook's connection; it counts the write calls it sends."""
        client = cast("BatchClient", self.conn)
        client.meta.events.register("before-call.batch.*", self._count_write)
        return client

    @cached_property
    def write_calls(self) -> Counter[str]:
        """How many calls of each AWS Batch write API this hook has sent (reads are not counted)."""
        return Counter()

    def _count_write(self, model: Any, **_: Any) -> None:
        if not model.name.startswith(READ_API_PREFIXES):
            self.write_calls[model.name] += 1

    # -- job definitions -------------------------------------------------------------------

    def ensure_job_definition(self, spec: JobDefinitionSpec) -> RegisteredDefinition:
        """Reuse the ACTIVE revision registered from an identical spec, or register a new one.

        A registration whose answer was lost is looked for (by the spec's hash) before it is sent
        again, so a lost answer does not leave a second identical revision behind.
        """
        spec_hash = spec.content_hash()
        existing = self._revision_with_hash(spec.name, spec_hash)
        if existing is not None:
            return existing
        request = spec.to_request()
        request["tags"] = {**request.get("tags", {}), SPEC_HASH_TAG: spec_hash}
        description = f"RegisterJobDefinition {spec.name}"
        for _ in range(MAX_AMBIGUOUS_SUBMITS):
            try:
                response = call_with_retries(
                    lambda: self.client.register_job_definition(**request),
                    description=description,
                    repeatable=False,
                )
            except AmbiguousWriteError:
                landed = self._revision_with_hash(spec.name, spec_hash)
                if landed is not None:
                    self.log.warning("%s: the lost registration did land: %s", description, landed.arn)
                    return RegisteredDefinition(landed.arn, landed.name, landed.revision, registered=True)
                continue
            return RegisteredDefinition(
                arn=response["jobDefinitionArn"],
                name=response["jobDefinitionName"],
                revision=int(response["revision"]),
                registered=True,
            )
        raise AmbiguousWriteError(
            f"{description}: {MAX_AMBIGUOUS_SUBMITS} registrations were lost in transit"
        )

    def _revision_with_hash(self, name: str, spec_hash: str) -> RegisteredDefinition | None:
        """The newest ACTIVE revision of ``name`` registered from the spec with ``spec_hash``."""
        for revision in self.list_job_definition_revisions(name, status="ACTIVE"):
            if revision.get("tags", {}).get(SPEC_HASH_TAG) == spec_hash:
                return RegisteredDefinition(
                    arn=revision["jobDefinitionArn"],
                    name=revision["jobDefinitionName"],
                    revision=int(revision["revision"]),
                    registered=False,
                )
        return None

    def list_job_definition_revisions(self, name: str, status: str | None = "ACTIVE") -> list[dict[str, Any]]:
        """Return every revision of the job definition ``name``, newest first."""
        request: dict[str, Any] = {"jobDefinitionName": name}
        if status:
            request["status"] = status
        revisions = list(self._paginate("describe_job_definitions", "jobDefinitions", request))
        return sorted(revisions, key=lambda rev: int(rev["revision"]), reverse=True)

    def deregister_job_definition(self, job_definition: str) -> None:
        """Deregister one revision (``name:revision`` or ARN); a missing one is not an error."""
        call_with_retries(
            lambda: self.client.deregister_job_definition(jobDefinition=job_definition),
            description=f"DeregisterJobDefinition {job_definition}",
        )

    # -- jobs ------------------------------------------------------------------------------

    def submit_job(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a job once; return ``{"jobId", "jobArn", "jobName"}``.

        A throttled SubmitJob is retried. A transient fault leaves unknown whether the job was
        created, so before sending it again the hook looks in the queue for the job carrying this
        call's submit token (a tag it adds) and returns that one if it exists; when the request
        may still be in flight (a timeout, a dropped connection) it looks again after a pause.
        """
        token = uuid.uuid4().hex
        request = {**request, "tags": {**(request.get("tags") or {}), SUBMIT_TOKEN_TAG: token}}
        description = f"SubmitJob {request.get('jobName')}"
        for _ in range(MAX_AMBIGUOUS_SUBMITS):
            try:
                response = call_with_retries(
                    lambda: self._send_submit_job(request), description=description, repeatable=False
                )
            except AmbiguousWriteError as lost:
                in_flight = isinstance(lost.__cause__, IN_FLIGHT_ERRORS)
                job = self._find_lost_submission(request, token, in_flight=in_flight)
                if job is not None:
                    self.log.warning(
                        "%s: the lost submission did land, using job %s", description, job["jobId"]
                    )
                    return {"jobId": job["jobId"], "jobArn": job["jobArn"], "jobName": job["jobName"]}
                self.log.warning("%s: the lost submission did not land, submitting again", description)
                continue
            return {key: response[key] for key in ("jobId", "jobArn", "jobName")}
        raise AmbiguousWriteError(f"{description}: {MAX_AMBIGUOUS_SUBMITS} submissions were lost in transit")

    def _find_lost_submission(
        self, request: Mapping[str, Any], token: str, *, in_flight: bool
    ) -> dict[str, Any] | None:
        """Find the job a lost SubmitJob created, or None.

        A request that may still be in flight is looked for again after each of
        :data:`IN_FLIGHT_LOOKUP_DELAYS`: sending it again at once would duplicate a job that
        AWS creates a moment later.
        """
        delays = (0.0, *IN_FLIGHT_LOOKUP_DELAYS) if in_flight else (0.0,)
        for delay in delays:
            if delay:
                time.sleep(delay)
            existing = self.find_jobs(
                job_queue=request["jobQueue"], job_name=request["jobName"], tags={SUBMIT_TOKEN_TAG: token}
            )
            if existing:
                return existing[0]
        return None

    @cached_property
    def submit_job_bucket(self) -> TokenBucket | None:
        """The process's SubmitJob pacing bucket for this hook's account or endpoint and region."""
        return hook_bucket(self, "SubmitJob", "batch")

    def _send_submit_job(self, request: Mapping[str, Any]) -> Any:
        """Send one SubmitJob, paced (every attempt, retries included, takes a token)."""
        if self.submit_job_bucket is not None:
            self.submit_job_bucket.acquire()
        return self.client.submit_job(**request)

    def describe_jobs(self, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Describe jobs by id, one DescribeJobs call per 100 ids; unknown ids are left out."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunked(job_ids, DESCRIBE_JOBS_CHUNK):
            response = call_with_retries(
                lambda chunk=chunk: self.client.describe_jobs(jobs=chunk),  # type: ignore[misc]
                description=f"DescribeJobs ({len(chunk)} jobs)",
            )
            for job in response.get("jobs", []):
                found[job["jobId"]] = dict(job)
        return found

    def describe_job(self, job_id: str) -> dict[str, Any]:
        """Describe one job; raise ``LookupError`` when AWS does not know it."""
        job = self.describe_jobs([job_id]).get(job_id)
        if job is None:
            raise LookupError(f"AWS Batch job {job_id} not found")
        return job

    def terminate_job(self, job_id: str, reason: str) -> None:
        """Terminate a job (cancels it if it has not started yet)."""
        call_with_retries(
            lambda: self.client.terminate_job(jobId=job_id, reason=reason[:1024]),
            description=f"TerminateJob {job_id}",
        )

    def cancel_job(self, job_id: str, reason: str) -> None:
        """Cancel a job that has not started yet (no effect on a started one)."""
        call_with_retries(
            lambda: self.client.cancel_job(jobId=job_id, reason=reason[:1024]),
            description=f"CancelJob {job_id}",
        )

    def list_jobs(
        self,
        *,
        job_queue: str | None = None,
        array_job_id: str | None = None,
        job_status: str | None = None,
        filters: list[dict[str, Any]] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield job summaries page by page (ListJobs), for a queue or an array job's children."""
        request: dict[str, Any] = {}
        if job_queue:
            request["jobQueue"] = job_queue
        if array_job_id:
            request["arrayJobId"] = array_job_id
        if job_status:
            request["jobStatus"] = job_status
        if filters:
            request["filters"] = filters
        if page_size:
            request["maxResults"] = page_size
        yield from self._paginate("list_jobs", "jobSummaryList", request)

    def list_jobs_page(
        self,
        *,
        job_queue: str | None = None,
        array_job_id: str | None = None,
        job_status: str,
        page_size: int = 1000,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Return one ListJobs page of a queue's (or an array's) jobs in ``job_status``.

        The second value says whether more pages follow (the count is then a lower bound).
        """
        request: dict[str, Any] = {"jobStatus": job_status, "maxResults": page_size}
        if job_queue:
            request["jobQueue"] = job_queue
        if array_job_id:
            request["arrayJobId"] = array_job_id
        page = call_with_retries(
            lambda: self.client.list_jobs(**request), description=f"ListJobs {job_status}"
        )
        return [dict(summary) for summary in page.get("jobSummaryList", [])], bool(page.get("nextToken"))

    def describe_job_definition(self, job_definition: str) -> dict[str, Any] | None:
        """Describe one revision (ARN or ``name:revision``) or a name's newest ACTIVE revision."""
        if job_definition.startswith("arn:") or ":" in job_definition:
            response = call_with_retries(
                lambda: self.client.describe_job_definitions(jobDefinitions=[job_definition]),
                description=f"DescribeJobDefinitions {job_definition}",
            )
            found = response.get("jobDefinitions", [])
            return dict(found[0]) if found else None
        revisions = self.list_job_definition_revisions(job_definition, status="ACTIVE")
        return revisions[0] if revisions else None

    def find_jobs(self, *, job_queue: str, job_name: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the full descriptions of jobs in ``job_queue`` named ``job_name`` carrying ``tags``.

        Used to reattach to a job an earlier try submitted; newest first, failed ones included.
        """
        summaries = self.list_jobs(job_queue=job_queue, filters=[{"name": "JOB_NAME", "values": [job_name]}])
        ids = [summary["jobId"] for summary in summaries if summary.get("jobName") == job_name]
        jobs = self.describe_jobs(ids).values()
        matching = [job for job in jobs if all(job.get("tags", {}).get(k) == v for k, v in tags.items())]
        return sorted(matching, key=lambda job: job.get("createdAt", 0), reverse=True)

    # -- queues and compute environments -----------------------------------------------------

    def describe_job_queue(self, job_queue: str) -> dict[str, Any] | None:
        """Describe one job queue by name or ARN, or return None when it does not exist."""
        response = call_with_retries(
            lambda: self.client.describe_job_queues(jobQueues=[job_queue]),
            description=f"DescribeJobQueues {job_queue}",
        )
        queues = response.get("jobQueues", [])
        return dict(queues[0]) if queues else None

    def describe_compute_environments(self, names: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Describe the named compute environments, or every one of the account and region."""
        request: dict[str, Any] = {"computeEnvironments": list(names)} if names else {}
        return list(self._paginate("describe_compute_environments", "computeEnvironments", request))

    def eks_cluster_of_queue(self, job_queue: str) -> EksCluster | None:
        """Return the EKS cluster and namespace of a queue's first EKS compute environment.

        An EKS job's description names its cluster only once an attempt ended
        (``eksAttempts[].eksClusterArn``); while its first pod runs, the queue tells.
        """
        queue = self.describe_job_queue(job_queue)
        if queue is None:
            return None
        order = sorted(queue.get("computeEnvironmentOrder") or [], key=lambda item: item.get("order", 0))
        names = [str(item["computeEnvironment"]) for item in order if item.get("computeEnvironment")]
        for environment in self.describe_compute_environments(names) if names else []:
            eks = environment.get("eksConfiguration") or {}
            name = eks_cluster_name(eks.get("eksClusterArn"))
            if name:
                return EksCluster(name=name, namespace=eks.get("kubernetesNamespace"))
        return None

    # -- async calls (triggers) --------------------------------------------------------------

    async def async_client_key(self) -> ClientKey:
        """Return the connection id, region and endpoint URL the async client will use.

        Reading the connection may block, so it runs in a worker thread, off the event loop.
        """
        return await sync_to_async(self._client_key)()

    def _client_key(self) -> ClientKey:
        endpoint = self.conn_config.get_service_endpoint_url(service_name="batch")
        return (self.aws_conn_id, self.region_name, endpoint)

    async def async_client(self) -> AbstractAsyncContextManager[Any]:
        """Return an aiobotocore Batch client of this hook's connection (use it with ``async with``).

        Like the sync client it has botocore's own retries off: throttles reach our backoff.
        """
        return cast("AbstractAsyncContextManager[Any]", await self.get_async_conn())

    async def async_describe_jobs(self, client: Any, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Describe jobs with an async client, one DescribeJobs call per 100 ids, one after another.

        Faults are not retried here: the shared poller backs off for all its jobs at once.
        """
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunked(job_ids, DESCRIBE_JOBS_CHUNK):
            response = await client.describe_jobs(jobs=chunk)
            for job in response.get("jobs", []):
                found[job["jobId"]] = dict(job)
        return found

    async def async_terminate_job(self, client: Any, job_id: str, reason: str) -> None:
        """Terminate a job with an async client, retrying throttles and transient faults."""
        await async_call_with_retries(
            lambda: client.terminate_job(jobId=job_id, reason=reason[:1024]),
            description=f"TerminateJob {job_id}",
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _paginate(self, operation: str, key: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the items under ``key`` of every page of ``operation``, following nextToken."""
        token: str | None = None
        method = getattr(self.client, operation)
        while True:
            page_request = {**request, **({"nextToken": token} if token else {})}
            page = call_with_retries(lambda r=page_request: method(**r), description=operation)  # type: ignore[misc]
            yield from page.get(key, [])
            token = page.get("nextToken")
            if not token:
                return
