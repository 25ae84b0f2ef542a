"""One job per submission, one revision per registration, whatever the network did.

AWS Batch's SubmitJob and RegisterJobDefinition take no idempotency token. When an answer is lost
(a 5xx, a closed connection, a read timeout) the hook looks for what the request created before
it sends it again; but a request may still reach AWS after those looks, and then two jobs (or
two revisions) exist. Every request of one submission carries the same token (a tag), so
whatever it created can be found afterwards:

- :func:`stop_duplicate_jobs` keeps looking, for a bounded window after the last lost answer,
  for jobs carrying the submission's token besides the one the caller tracks, and stops them:
  cancelled if they had not started, terminated if they had;
- :func:`keep_first_revision` does the same for job definition revisions carrying one
  registration's token: the first (lowest) revision is kept, later ones are deregistered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow_batch_plugin.hooks.write_attempts import describe_losses, landed_count, lost_answers

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_batch_plugin.hooks.batch import BatchHook, RegisteredDefinition
    from airflow_batch_plugin.hooks.write_attempts import WriteAttempt

#: Tag with a token unique to one submit_job call: every request it sends carries it, so a lost
#: answer is matched to its job only, and a duplicate job is recognised.
SUBMIT_TOKEN_TAG = "airflow-batch-plugin:submit-token"
#: How the reason given to a stopped duplicate begins.
DUPLICATE_REASON_PREFIX = "Duplicate of AWS Batch job"
ENDED = frozenset({"SUCCEEDED", "FAILED"})

StopAction = Literal["cancelled", "terminated", "ended before it could be stopped"]


@dataclass(frozen=True)
class Submission:
    """What one SubmitJob call left: the job the caller tracks and every attempt it took.

    :param window: seconds after the last lost answer during which a duplicate is looked for.
    """

    job_id: str
    job_arn: str
    job_name: str
    job_queue: str
    token: str
    attempts: tuple[WriteAttempt, ...]
    window: float
    #: Wall-clock milliseconds when the first request was sent (ListJobs' createdAt unit).
    sent_at_ms: int

    def response(self) -> dict[str, Any]:
        """SubmitJob's answer: ``{"jobId", "jobArn", "jobName"}``."""
        return {"jobId": self.job_id, "jobArn": self.job_arn, "jobName": self.job_name}

    @property
    def requests_that_may_have_landed(self) -> int:
        """How many SubmitJob requests may have created a job (applied or answer lost)."""
        return landed_count(self.attempts)

    @property
    def needs_reconciling(self) -> bool:
        """Whether a second job may exist: more than one request may have created one."""
        return self.requests_that_may_have_landed > 1

    @property
    def lost(self) -> str:
        """What the lost answers were, in one line."""
        return describe_losses(self.attempts)

    @property
    def reconcile_until(self) -> float:
        """``time.monotonic()`` until which duplicates are looked for: the window after the last loss."""
        times = [attempt.at for attempt in lost_answers(self.attempts)] or [a.at for a in self.attempts]
        return max(times, default=time.monotonic()) + self.window


@dataclass(frozen=True)
class StoppedDuplicate:
    """A job of the same submission besides the tracked one, and what was done to it."""

    job_id: str
    #: Its status when it was found.
    status: str
    action: StopAction

    def as_xcom(self) -> dict[str, str]:
        return {"jobId": self.job_id, "status": self.status, "action": self.action}


def duplicate_reason(submission: Submission, owner: str | None) -> str:
    """The reason given to TerminateJob: the kept job, the token, the task."""
    who = f"task {owner}" if owner else "the same SubmitJob call"
    return (
        f"{DUPLICATE_REASON_PREFIX} {submission.job_id} ({who}): same submit token "
        f"{submission.token}, a request that landed after its answer was lost; stopped by Airflow"
    )


def stop_duplicate_jobs(
    hook: BatchHook,
    submission: Submission,
    *,
    owner: str | None = None,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[StoppedDuplicate]:
    """Until ``submission.reconcile_until``, stop every other job carrying the submission's token.

    Each round (every ``interval`` seconds) lists the queue's jobs of the submission's name and
    keeps those tagged with its token. A new one is stopped with TerminateJob, which in AWS's
    words cancels a job that has not reached STARTING and terminates one that has: a job that
    starts between the look and the call is stopped all the same (CancelJob would leave it
    running). When the window closes, each one found is described once more and reported as it
    ended: cancelled (it never started), terminated (it had), or ended before it could be stopped
    (it ran to its end first: a job shorter than the time a stop takes to get through).
    Returns them in the order found.
    """
    reason = duplicate_reason(submission, owner)
    first_seen: dict[str, str] = {}
    latest: dict[str, dict[str, Any]] = {}
    until = submission.reconcile_until
    while True:
        for job in _jobs_with_token(hook, submission):
            job_id, status = str(job["jobId"]), str(job["status"])
            if job_id == submission.job_id:
                continue
            latest[job_id] = job
            if job_id in first_seen:
                continue
            first_seen[job_id] = status
            if status not in ENDED:
                hook.terminate_job(job_id, reason)
            _say_found(hook, submission, job_id, status)
        remaining = until - clock()
        if remaining <= 0:
            break
        sleep(min(interval, remaining))
    final = {**latest, **hook.describe_jobs(first_seen)}
    stopped = [
        StoppedDuplicate(job_id, status, _outcome(final[job_id])) for job_id, status in first_seen.items()
    ]
    for item in stopped:
        if item.action == "ended before it could be stopped":
            hook.log.warning(
                "SubmitJob %s: job %s (same submit token %s) ran to its end (%s) before a stop got "
                "through; job %s stays the task's job",
                submission.job_name,
                item.job_id,
                submission.token,
                final[item.job_id].get("status"),
                submission.job_id,
            )
    return stopped


def _jobs_with_token(hook: BatchHook, submission: Submission) -> list[dict[str, Any]]:
    return hook.find_jobs(
        job_queue=submission.job_queue,
        job_name=submission.job_name,
        tags={SUBMIT_TOKEN_TAG: submission.token},
        created_after_ms=submission.sent_at_ms,
    )


def _say_found(hook: BatchHook, submission: Submission, job_id: str, status: str) -> None:
    done = "it had already ended" if status in ENDED else "stopping it"
    hook.log.warning(
        "SubmitJob %s: job %s carries this submission's token %s too (a lost request that landed "
        "after all, answer lost to %s); it is %s, %s; job %s stays the task's job",
        submission.job_name,
        job_id,
        submission.token,
        submission.lost,
        status,
        done,
        submission.job_id,
    )


def _outcome(job: dict[str, Any]) -> StopAction:
    """What became of a duplicate: cancelled before it ran, terminated, or ended on its own first."""
    stopped = bool(job.get("isTerminated") or job.get("isCancelled"))
    stopped = stopped or str(job.get("statusReason", "")).startswith(DUPLICATE_REASON_PREFIX)
    if job.get("status") == "SUCCEEDED" or (job.get("status") in ENDED and not stopped):
        return "ended before it could be stopped"
    return "terminated" if job.get("startedAt") else "cancelled"


def keep_first_revision(
    hook: BatchHook,
    registered: RegisteredDefinition,
    token: str,
    *,
    until: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[RegisteredDefinition, list[str]]:
    """Until ``until``, deregister every revision of one registration but its first.

    A registration sent again after a lost answer may leave a second ACTIVE revision of the same
    spec (both tagged with the registration's ``token``). Each round keeps the lowest revision
    and deregisters the others. Returns the kept revision and the ARNs deregistered.
    """
    kept = registered
    deregistered: list[str] = []
    while True:
        revisions = hook.revisions_with_token(registered.name, token)
        if revisions:
            first = kept = revisions[-1]  # newest first: the last is the lowest revision
            for revision in revisions[:-1]:
                hook.deregister_job_definition(revision.arn)
                deregistered.append(revision.arn)
                hook.log.warning(
                    "RegisterJobDefinition %s: revision %d has the same spec and registration token "
                    "%s as revision %d (a lost request that landed after all): deregistered it, "
                    "the first is kept",
                    registered.name,
                    revision.revision,
                    token,
                    first.revision,
                )
        remaining = until - clock()
        if remaining <= 0:
            return kept, deregistered
        sleep(min(interval, remaining))
