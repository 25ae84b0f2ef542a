"""Answer ListJobs as AWS does: by queue, array or multi-node parent, status or filters, page by page.

As AWS's API reference says: one filter at a time; a filter makes AWS ignore ``jobStatus`` (jobs
of every status come back), except ``SHARE_IDENTIFIER``, which goes with ``jobStatus``; filtered
results come newest first (``createdAt``), other listings in submission order; a page holds up
to 1,000 jobs listed by status and up to 100 listed with a filter.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from aws_batch_local.errors import ClientException
from aws_batch_local.jobs import RUNNING, STATUSES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aws_batch_local.jobs import BatchJob
    from aws_batch_local.multinode import NodeJob
    from aws_batch_local.store import JobStore

STATUS_PAGE_LIMIT = 1000
FILTER_PAGE_LIMIT = 100
FILTER_NAMES = ("JOB_NAME", "JOB_DEFINITION", "BEFORE_CREATED_AT", "AFTER_CREATED_AT", "SHARE_IDENTIFIER")
#: The filter that goes with ``jobStatus`` instead of replacing it.
SHARE_FILTER = "SHARE_IDENTIFIER"


def encode_token(sequence: int, newest_first: bool = False) -> str:
    """Return the opaque nextToken that resumes past the job with this sequence number."""
    direction = "before" if newest_first else "after"
    return base64.urlsafe_b64encode(f"{direction}:{sequence}".encode()).decode()


def decode_token(token: str, newest_first: bool = False) -> int:
    """Return the sequence number a nextToken resumes past (in the listing's order)."""
    try:
        prefix, _, sequence = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix != ("before" if newest_first else "after"):
            raise ValueError(prefix)
        return int(sequence)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ClientException(f"Invalid nextToken: {token}") from None


def _matches_prefix_pattern(value: str, pattern: str) -> bool:
    value, pattern = value.lower(), pattern.lower()
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _definition_matches(job: BatchJob | NodeJob, pattern: str) -> bool:
    definition = job.definition
    if pattern.startswith("arn:"):
        return definition.arn == pattern
    if ":" in pattern and not pattern.endswith("*"):
        return f"{definition.name}:{definition.revision}" == pattern
    return _matches_prefix_pattern(definition.name, pattern)


def _filter_predicate(name: str, values: Sequence[str]) -> Callable[[BatchJob | NodeJob], bool]:
    if name not in FILTER_NAMES:
        raise ClientException(f"Invalid filter name {name}; valid names are {', '.join(FILTER_NAMES)}")
    if not values:
        raise ClientException(f"Filter {name} needs a value")
    value = values[0]
    if name == "JOB_NAME":
        return lambda job: _matches_prefix_pattern(job.name, value)
    if name == "JOB_DEFINITION":
        return lambda job: _definition_matches(job, value)
    if name == SHARE_FILTER:
        return lambda job: getattr(job, "share_identifier", None) == value
    try:
        moment = int(value)
    except ValueError:
        raise ClientException(f"Filter {name} needs epoch milliseconds, got {value}") from None
    if name == "BEFORE_CREATED_AT":
        return lambda job: job.created_at < moment
    return lambda job: job.created_at > moment


def _candidates(store: JobStore, region: Any, request: dict[str, Any]) -> Sequence[BatchJob | NodeJob]:
    if request.get("arrayJobId"):
        parent = store.get(request["arrayJobId"])
        return parent.children if parent is not None else []
    if request.get("multiNodeJobId"):
        parent = store.get(request["multiNodeJobId"])
        return parent.node_jobs if parent is not None else []
    if request.get("jobQueue"):
        queue = region.get_job_queue(request["jobQueue"])
        if queue is None:
            raise ClientException(f"Job queue {request['jobQueue']} does not exist")
        return store.queue_jobs(queue.arn)
    raise ClientException("One of jobQueue, arrayJobId or multiNodeJobId must be specified")


def _status_predicate(request: dict[str, Any]) -> Callable[[BatchJob | NodeJob], bool]:
    status = request.get("jobStatus") or RUNNING
    if status not in STATUSES:
        raise ClientException(f"Job status is not one of {' | '.join(STATUSES)}")
    return lambda job: job.status == status


def list_jobs(store: JobStore, region: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Return the ListJobs response for ``request`` (the SubmitJob-style JSON body)."""
    filters = request.get("filters") or []
    if len(filters) > 1:
        raise ClientException("Only one filter can be used at a time")
    if filters:
        name = filters[0].get("name", "")
        predicates = [_filter_predicate(name, filters[0].get("values") or [])]
        if name == SHARE_FILTER:
            predicates.append(_status_predicate(request))
        page_limit = FILTER_PAGE_LIMIT
    else:
        predicates = [_status_predicate(request)]
        page_limit = STATUS_PAGE_LIMIT
    newest_first = bool(filters)
    max_results = request.get("maxResults")
    if max_results is not None and int(max_results) < 1:
        raise ClientException("maxResults must be at least 1")
    limit = min(int(max_results or page_limit), page_limit)
    token = request.get("nextToken")
    resume = decode_token(token, newest_first) if token else None

    def past_token(job: BatchJob | NodeJob) -> bool:
        if resume is None:
            return True
        return job.seq < resume if newest_first else job.seq > resume

    candidates = _candidates(store, region, request)
    ordered = reversed(candidates) if newest_first else iter(candidates)
    summaries: list[dict[str, Any]] = []
    last_sequence: int | None = None
    has_more = False
    for job in ordered:
        if not past_token(job) or not all(predicate(job) for predicate in predicates):
            continue
        if len(summaries) == limit:
            has_more = True
            break
        summaries.append(job.summary())
        last_sequence = job.seq
    response: dict[str, Any] = {"jobSummaryList": summaries}
    if has_more and last_sequence is not None:
        response["nextToken"] = encode_token(last_sequence, newest_first)
    return response
