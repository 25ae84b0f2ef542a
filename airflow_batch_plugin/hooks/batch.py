"""BatchHook: every AWS Batch call the package makes, on the Amazon provider's AwsBaseHook.

The hook takes the Airflow connection, region and assumed roles from ``AwsBaseHook``; it adds
chunked DescribeJobs (100 ids a call), paginated listings, idempotent job definition
registration, retries through throttling (see :mod:`.retry`), explicit timeouts
(:func:`~.retry.batch_client_config`), and one job per submission whatever the network did (see
:mod:`.duplicates`). The ``async_*`` methods are the calls triggers make with an aiobotocore
client (one client shared by many triggers, see :mod:`airflow_batch_plugin.poller`).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asgiref.sync import sync_to_async

from airflow_batch_plugin.anatomy import EksCluster, eks_cluster_name
from airflow_batch_plugin.hooks.base import PluginAwsHook
from airflow_batch_plugin.hooks.duplicates import (
    SUBMIT_TOKEN_TAG,
    StoppedDuplicate,
    Submission,
    keep_first_revision,
    stop_duplicate_jobs,
)
from airflow_batch_plugin.hooks.pacing import hook_bucket
from airflow_batch_plugin.hooks.retry import (
    BATCH_READ_TIMEOUT,
    AmbiguousWriteError,
    async_call_with_retries,
    batch_client_config,
    call_with_retries,
    is_ambiguous,
    short_error,
)
from airflow_batch_plugin.hooks.submit_checks import target_problems
from airflow_batch_plugin.hooks.write_attempts import (
    WriteJournal,
    describe_losses,
    landed_count,
    lost_answers,
)
from airflow_batch_plugin.job_state import ACTIVE_STATUSES
from airflow_batch_plugin.specs.job_definition import REGISTER_TOKEN_TAG, SPEC_HASH_TAG
from airflow_batch_plugin.specs.validation import SpecValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from contextlib import AbstractAsyncContextManager

    from botocore.config import Config
    from mypy_boto3_batch import BatchClient

    from airflow_batch_plugin.hooks.pacing import TokenBucket
    from airflow_batch_plugin.specs.job import JobSubmissionSpec
    from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec

T = TypeVar("T")

#: DescribeJobs accepts at most this many job ids per call.
DESCRIBE_JOBS_CHUNK = 100
#: AWS Batch APIs that only read; every other call counts as a write.
READ_API_PREFIXES = ("Describe", "List", "Get")
#: The writes whose every attempt the hook records (see :mod:`.write_attempts`).
JOURNALED_WRITES = ("SubmitJob", "RegisterJobDefinition")
#: How many times a SubmitJob (or a registration) lost to a transient fault is looked up and sent again.
MAX_AMBIGUOUS_SUBMITS = 5
#: A write whose answer was lost (a 5xx, a closed connection, a read timeout) may still be on its
#: way, and ListJobs may lag: before sending it again the hook looks after these pauses too.
IN_FLIGHT_LOOKUP_DELAYS = (2.0, 5.0)
#: After a write had to be sent again, the hook keeps looking for what the lost requests created
#: for the client's read timeout plus this margin (seconds), counted from the last lost answer:
#: ListJobs' visibility lag, one lookup interval, and room for a request AWS holds a little longer
#: than the client waited (on the emulator a landed job was seen and stopped within about one
#: interval; see the README, "Lost answers").
RECONCILE_MARGIN = 10.0
#: Seconds between two lookups of that window.
RECONCILE_INTERVAL = 1.0
#: How far before the first request a duplicate's createdAt may be (clock skew between us and AWS).
CLOCK_SKEW_MS = 300_000
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


class BatchHook(PluginAwsHook):
    """Interact with AWS Batch through a boto3 client built from an Airflow AWS connection.

    :param aws_conn_id: Airflow connection id (``aws_default`` unless given).
    :param region_name: AWS region; the connection's when not given.
    """

    hook_name = "AWS Batch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "batch"
        super().__init__(*args, **kwargs)

    def _get_config(self, config: Config | None = None) -> Config:
        return batch_client_config(super()._get_config(config))

    @cached_property
    def client(self) -> BatchClient:
        """The boto3 Batch client of this hook's connection; it counts the write calls it sends
        and records every attempt of the writes that may duplicate (:data:`JOURNALED_WRITES`)."""
        client = cast("BatchClient", self.conn)
        client.meta.events.register("before-call.batch.*", self._count_write)
        self.write_journal.attach(client)
        return client

    @cached_property
    def write_journal(self) -> WriteJournal:
        """The record of every attempt of :data:`JOURNALED_WRITES` this hook's client sent."""
        return WriteJournal(JOURNALED_WRITES)

    @property
    def reconcile_window(self) -> float:
        """Seconds after a lost answer during which duplicates are looked for: read timeout + margin."""
        return float(getattr(self.client.meta.config, "read_timeout", BATCH_READ_TIMEOUT)) + RECONCILE_MARGIN

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

        Each registration carries a token of its own (a tag). A registration whose answer was lost
        is looked for by that token, again after :data:`IN_FLIGHT_LOOKUP_DELAYS`, before it is sent
        again; when it had to be sent again, a later revision the lost request still creates is
        deregistered (the first kept) for :attr:`reconcile_window` after the last lost answer.
        """
        spec_hash = spec.content_hash()
        existing = self._revision_with_hash(spec.name, spec_hash)
        if existing is not None:
            return existing
        token = uuid.uuid4().hex
        request = spec.to_request()
        request["tags"] = {**request.get("tags", {}), SPEC_HASH_TAG: spec_hash, REGISTER_TOKEN_TAG: token}
        description = f"RegisterJobDefinition {spec.name}"
        with self.write_journal.recording() as attempts:
            registered = self._register_once(request, spec.name, token, description)
        if landed_count(attempts) <= 1:
            return registered
        losses = lost_answers(attempts)
        until = max(attempt.at for attempt in losses) + self.reconcile_window if losses else 0.0
        self.log.warning(
            "%s was sent %d times after lost answers (%s): for %.0fs, revisions with registration "
            "token %s besides the first are deregistered",
            description,
            landed_count(attempts),
            describe_losses(attempts),
            max(0.0, until - time.monotonic()),
            token,
        )
        kept, _ = keep_first_revision(
            self, registered, token, until=until, interval=RECONCILE_INTERVAL, sleep=time.sleep
        )
        return kept

    def _register_once(
        self, request: dict[str, Any], name: str, token: str, description: str
    ) -> RegisteredDefinition:
        """Send RegisterJobDefinition until a revision exists; look for a lost one before each resend."""
        for _ in range(MAX_AMBIGUOUS_SUBMITS):
            try:
                response = call_with_retries(
                    lambda: self.client.register_job_definition(**request),
                    description=description,
                    repeatable=False,
                )
            except AmbiguousWriteError as lost:
                cause = short_error(lost.__cause__) if lost.__cause__ else str(lost)
                landed = self._look_for(lambda: self.revisions_with_token(name, token))
                if landed:
                    first = landed[-1]
                    self.log.warning(
                        "%s: the lost registration did land (answer lost to %s): revision %d",
                        description,
                        cause,
                        first.revision,
                    )
                    return first
                self.log.warning(
                    "%s: the lost registration did not land after %.0fs of looking (answer lost to "
                    "%s); registering again",
                    description,
                    sum(IN_FLIGHT_LOOKUP_DELAYS),
                    cause,
                )
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

    def revisions_with_token(self, name: str, token: str) -> list[RegisteredDefinition]:
        """The ACTIVE revisions of ``name`` one registration (``token``) created, newest first."""
        return [
            RegisteredDefinition(
                arn=revision["jobDefinitionArn"],
                name=revision["jobDefinitionName"],
                revision=int(revision["revision"]),
                registered=True,
            )
            for revision in self.list_job_definition_revisions(name, status="ACTIVE")
            if revision.get("tags", {}).get(REGISTER_TOKEN_TAG) == token
        ]

    def _look_for(self, look: Callable[[], T]) -> T:
        """Look now, then again after each of :data:`IN_FLIGHT_LOOKUP_DELAYS` until ``look`` finds it.

        A request whose answer was lost may still reach AWS a moment later, and what it created
        may show in listings with a lag: sending it again at once would duplicate it.
        """
        found = look()
        for delay in IN_FLIGHT_LOOKUP_DELAYS:
            if found:
                break
            time.sleep(delay)
            found = look()
        return found

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

    def submit_job(self, request: Mapping[str, Any], *, owner: str | None = None) -> dict[str, Any]:
        """Submit a job once; return ``{"jobId", "jobArn", "jobName"}``.

        :meth:`send_submit_job`, then :meth:`reconcile_submission` (which waits out the lookup
        window only when a request had to be sent again). ``owner`` names who submitted (a task)
        in the reason given to a duplicate it stops.
        """
        submission = self.send_submit_job(request)
        self.reconcile_submission(submission, owner=owner)
        return submission.response()

    def send_submit_job(self, request: Mapping[str, Any]) -> Submission:
        """Send SubmitJob until one job exists; return it with every attempt it took.

        Each call tags its requests with a token of its own (:data:`SUBMIT_TOKEN_TAG`). A
        throttled SubmitJob is retried, and so is one that could not connect. One whose answer was
        lost (a 5xx, a closed connection, a read timeout) may have created its job, or may still:
        the hook looks in the queue for a job carrying the token, again after each of
        :data:`IN_FLIGHT_LOOKUP_DELAYS`, and returns it if it is there; otherwise it sends the
        request again. When more than one request may have created a job the returned
        :class:`Submission` ``needs_reconciling``: see :meth:`reconcile_submission`.
        """
        token = uuid.uuid4().hex
        request = {**request, "tags": {**(request.get("tags") or {}), SUBMIT_TOKEN_TAG: token}}
        description = f"SubmitJob {request.get('jobName')}"
        sent_at_ms = int(time.time() * 1000)
        with self.write_journal.recording() as attempts:
            job = self._submit_once(request, token, description, sent_at_ms)
        return Submission(
            job_id=str(job["jobId"]),
            job_arn=str(job["jobArn"]),
            job_name=str(job["jobName"]),
            job_queue=str(request["jobQueue"]),
            token=token,
            attempts=tuple(attempts),
            window=self.reconcile_window,
            sent_at_ms=sent_at_ms,
        )

    def _submit_once(
        self, request: Mapping[str, Any], token: str, description: str, sent_at_ms: int
    ) -> Mapping[str, Any]:
        for _ in range(MAX_AMBIGUOUS_SUBMITS):
            try:
                return cast(
                    "Mapping[str, Any]",
                    call_with_retries(
                        lambda: self._send_submit_job(request), description=description, repeatable=False
                    ),
                )
            except AmbiguousWriteError as lost:
                cause = short_error(lost.__cause__) if lost.__cause__ else str(lost)
                job = self._find_lost_submission(request, token, sent_at_ms)
                if job is not None:
                    self.log.warning(
                        "%s: the lost submission did land (answer lost to %s), using job %s",
                        description,
                        cause,
                        job["jobId"],
                    )
                    return job
                self.log.warning(
                    "%s: the lost submission did not land after %.0fs of looking (answer lost to %s), "
                    "submitting again",
                    description,
                    sum(IN_FLIGHT_LOOKUP_DELAYS),
                    cause,
                )
        raise AmbiguousWriteError(f"{description}: {MAX_AMBIGUOUS_SUBMITS} submissions were lost in transit")

    def _find_lost_submission(
        self, request: Mapping[str, Any], token: str, sent_at_ms: int | None = None
    ) -> dict[str, Any] | None:
        """Find the job a SubmitJob whose answer was lost created, or None.

        Looked for now and again after each of :data:`IN_FLIGHT_LOOKUP_DELAYS`; the oldest job
        carrying the token is the first request's.
        """
        found = self._look_for(
            lambda: self.find_jobs(
                job_queue=request["jobQueue"],
                job_name=request["jobName"],
                tags={SUBMIT_TOKEN_TAG: token},
                created_after_ms=sent_at_ms,
            )
        )
        return found[-1] if found else None

    def reconcile_submission(
        self, submission: Submission, *, owner: str | None = None
    ) -> list[StoppedDuplicate]:
        """Stop every other job the submission's lost requests create; return what was stopped.

        Does nothing unless more than one request may have created a job. Then, until
        :attr:`reconcile_window` after the last lost answer, every :data:`RECONCILE_INTERVAL`
        seconds, it lists the jobs carrying the submission's token: one besides the submission's
        job is cancelled (not started yet) or terminated (started), with a reason naming the
        job kept, the token and ``owner``. What it looks for and what it stopped go to the log.
        """
        if not submission.needs_reconciling:
            return []
        self.log.warning(
            "SubmitJob was sent %d times after lost answers (%s): for %.0fs, any other job with "
            "submit token %s is stopped (cancelled, or terminated if it started) so that job %s "
            "stays the only one",
            submission.requests_that_may_have_landed,
            submission.lost,
            max(0.0, submission.reconcile_until - time.monotonic()),
            submission.token,
            submission.job_id,
        )
        stopped = stop_duplicate_jobs(self, submission, owner=owner, interval=RECONCILE_INTERVAL)
        if stopped:
            self.log.warning(
                "%d other job(s) carried submit token %s; job %s stays the only one: %s",
                len(stopped),
                submission.token,
                submission.job_id,
                ", ".join(f"{item.job_id} {item.action} (found {item.status})" for item in stopped),
            )
        else:
            self.log.info(
                "No other job with submit token %s appeared: job %s is the only one",
                submission.token,
                submission.job_id,
            )
        return stopped

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
        """Terminate a job (cancels it if it has not started yet).

        TerminateJob is idempotent: a fault is retried; when an answer was lost the job's state is
        read back to confirm the termination took (see :meth:`_confirm_stopped`).
        """
        self._stop_job("TerminateJob", job_id, reason)

    def cancel_job(self, job_id: str, reason: str) -> None:
        """Cancel a job that has not started yet (no effect on a started one); retried like terminate."""
        self._stop_job("CancelJob", job_id, reason)

    def _stop_job(self, operation: str, job_id: str, reason: str) -> None:
        faults: list[BaseException] = []

        def attempt() -> Any:
            try:
                return self._send_stop(operation, job_id, reason)
            except Exception as error:
                faults.append(error)
                raise

        call_with_retries(attempt, description=f"{operation} {job_id}")
        lost = [short_error(fault) for fault in faults if is_ambiguous(fault)]
        if lost:
            self._confirm_stopped(operation, job_id, reason, "; ".join(dict.fromkeys(lost)))

    def _confirm_stopped(self, operation: str, job_id: str, reason: str, lost: str) -> None:
        """Read the job back after a stop whose answer was lost; send it once more if it did not take.

        Taken: the job ended, or AWS marks it terminated (or cancelled; for CancelJob also a job
        that had started, which CancelJob leaves alone).
        """
        job = self.describe_jobs([job_id]).get(job_id)
        if job is None or _stop_took(operation, job):
            state = "unknown to AWS" if job is None else _stop_state(job)
            self.log.warning("%s %s: an answer was lost (%s); the job is %s", operation, job_id, lost, state)
            return
        self.log.warning(
            "%s %s: an answer was lost (%s) and the job is still %s: sending it again",
            operation,
            job_id,
            lost,
            job.get("status"),
        )
        call_with_retries(
            lambda: self._send_stop(operation, job_id, reason), description=f"{operation} {job_id}"
        )

    def _send_stop(self, operation: str, job_id: str, reason: str) -> Any:
        if operation == "TerminateJob":
            return self.client.terminate_job(jobId=job_id, reason=reason[:1024])
        return self.client.cancel_job(jobId=job_id, reason=reason[:1024])

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

    def list_jobs_at(
        self,
        *,
        job_queue: str | None = None,
        array_job_id: str | None = None,
        job_status: str | None = None,
        filters: list[dict[str, Any]] | None = None,
        page_size: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one ListJobs page from ``next_token`` (None: the first) and the token of the next.

        AWS ignores ``job_status`` when ``filters`` are given (except ``SHARE_IDENTIFIER``).
        """
        request: dict[str, Any] = {"maxResults": page_size}
        for key, value in (
            ("jobQueue", job_queue),
            ("arrayJobId", array_job_id),
            ("jobStatus", job_status),
            ("filters", filters),
            ("nextToken", next_token),
        ):
            if value:
                request[key] = value
        page = call_with_retries(lambda: self.client.list_jobs(**request), description="ListJobs")
        token = page.get("nextToken")
        return [dict(summary) for summary in page.get("jobSummaryList", [])], str(token) if token else None

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

    def find_jobs(
        self,
        *,
        job_queue: str,
        job_name: str,
        tags: Mapping[str, str],
        created_after_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return the full descriptions of jobs in ``job_queue`` named ``job_name`` carrying ``tags``.

        Used to reattach to a job an earlier try submitted, and to find what a SubmitJob whose
        answer was lost created; newest first, failed ones included. ``created_after_ms`` (epoch
        milliseconds) leaves out older jobs of the same name before describing them (allowing
        :data:`CLOCK_SKEW_MS` between this machine's clock and AWS's).
        """
        summaries = self.list_jobs(job_queue=job_queue, filters=[{"name": "JOB_NAME", "values": [job_name]}])
        oldest = None if created_after_ms is None else created_after_ms - CLOCK_SKEW_MS
        ids = [
            summary["jobId"]
            for summary in summaries
            if summary.get("jobName") == job_name
            and (oldest is None or summary.get("createdAt", oldest) >= oldest)
        ]
        jobs = self.describe_jobs(ids).values()
        matching = [job for job in jobs if all(job.get("tags", {}).get(k) == v for k, v in tags.items())]
        return sorted(matching, key=lambda job: job.get("createdAt", 0), reverse=True)

    def find_job_to_reattach(self, *, job_queue: str, job_name: str, tags: Mapping[str, str]) -> str | None:
        """Return the id of the newest live or SUCCEEDED job named ``job_name`` carrying ``tags``.

        A retried task reattaches to it (see :meth:`find_jobs`) instead of submitting again.
        """
        for job in self.find_jobs(job_queue=job_queue, job_name=job_name, tags=tags):
            if job["status"] in ACTIVE_STATUSES or job["status"] == "SUCCEEDED":
                return str(job["jobId"])
        return None

    def check_submission_target(
        self,
        submission: JobSubmissionSpec,
        definition: JobDefinitionSpec | None = None,
        *,
        check_target: bool = True,
        spec_name: str = "BatchSubmitJobOperator",
    ) -> None:
        """Refuse, with reads only, a submission SubmitJob would refuse for what only AWS knows.

        The checks are :func:`~airflow_batch_plugin.hooks.submit_checks.target_problems`: the
        queue (exists, ENABLED, fair-share rules), a named definition's ACTIVE revision, the jobs
        of ``depends_on``. They cost one DescribeJobQueues, one DescribeJobDefinitions (none
        for a ``definition`` spec the caller registers) and one DescribeJobs (only with
        ``depends_on``).

        :param submission: the validated submission.
        :param definition: the spec the caller registers before submitting, or None.
        :param check_target: False makes no read at all (SubmitJob then refuses what the checks
            would have found, without naming the field).
        :param spec_name: who the error names.
        :raises SpecValidationError: naming each problem's field, value and rule.
        """
        if not check_target:
            return
        problems = target_problems(self, submission, definition)
        if problems:
            raise SpecValidationError(spec_name, problems)

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
        """Terminate a job with an async client, retrying throttles and transient faults.

        When an answer was lost the job's state is read back to confirm the termination took.
        """
        faults: list[BaseException] = []

        async def attempt() -> Any:
            try:
                return await client.terminate_job(jobId=job_id, reason=reason[:1024])
            except Exception as error:
                faults.append(error)
                raise

        await async_call_with_retries(attempt, description=f"TerminateJob {job_id}")
        lost = [short_error(fault) for fault in faults if is_ambiguous(fault)]
        if not lost:
            return
        found = await self.async_describe_jobs(client, [job_id])
        job = found.get(job_id)
        if job is None or _stop_took("TerminateJob", job):
            state = "unknown to AWS" if job is None else _stop_state(job)
            self.log.warning(
                "TerminateJob %s: an answer was lost (%s); the job is %s", job_id, "; ".join(lost), state
            )
            return
        self.log.warning(
            "TerminateJob %s: an answer was lost and the job is still %s: sending it again",
            job_id,
            job.get("status"),
        )
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


def _stop_took(operation: str, job: Mapping[str, Any]) -> bool:
    """Whether a TerminateJob (or CancelJob) shows on the job: ended, or marked by AWS."""
    if job.get("status") in ("SUCCEEDED", "FAILED") or job.get("isTerminated") or job.get("isCancelled"):
        return True
    return operation == "CancelJob" and job.get("status") in ("STARTING", "RUNNING")


def _stop_state(job: Mapping[str, Any]) -> str:
    marks = [
        name for name, key in (("terminated", "isTerminated"), ("cancelled", "isCancelled")) if job.get(key)
    ]
    return f"{job.get('status')}{' (marked ' + ' and '.join(marks) + ')' if marks else ''}"
