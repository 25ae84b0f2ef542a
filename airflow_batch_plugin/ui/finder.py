"""Every job, findable: a queue's (or an array's) jobs read page by page with ListJobs' nextToken,
filtered by status, time window, name and the ``airflow:*`` tags, searched by id, counted exactly.

How a query becomes AWS calls (AWS's ListJobs reference: one filter at a time; with a filter AWS
ignores ``jobStatus`` and returns jobs of every status, newest first, up to 100 a page; listed by
status, up to 1,000 a page; filters do not apply to an array's children):

- a name (``JOB_NAME``: case-insensitive, a trailing ``*`` matches a prefix) is sent as the
  filter; else the end of a time window (``BEFORE_CREATED_AT``), reading stops at the first job
  older than its start (filtered results come newest first); else its start
  (``AFTER_CREATED_AT``); else a status (``jobStatus``); with none of them, every status is
  read with ``AFTER_CREATED_AT = 0`` (newest first). Whatever AWS was not sent (the status with a
  filter, the other end of the window) is checked here on each summary;
- a job summary has no tags, so every listed page is described (DescribeJobs, one call per 100)
  to show the Airflow task, to keep only the jobs the user may see and to filter by DAG, task or
  run. An array's children are shown with their parent's DAG (described once), not described;
- a search by id is DescribeJobs alone (one call per 100 ids), no ListJobs.

One request reads at most :data:`SCAN_PAGES` ListJobs pages of ``page_size`` (at most 100) jobs,
stopping once a page of matches is full; the "next page" link carries AWS's nextToken from where
it stopped. Counts (:meth:`JobFinder.counts`) page ListJobs by status, 1,000 a call, up to
``[aws_batch] view_count_limit`` jobs (default 10,000): exact below it, "more than N" above.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.identity import DAG_TAG, RUN_TAG, TASK_TAG
from airflow_batch_plugin.ui.data import STATUSES, JobRow, dag_of, job_row, queue_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_batch_plugin.ui.data import BatchWorld
    from airflow_batch_plugin.ui.permissions import Rights

CONFIG_SECTION = "aws_batch"
#: The setting bounding exact counts (jobs of one queue and status).
COUNT_LIMIT_SETTING = "view_count_limit"
DEFAULT_COUNT_LIMIT = 10_000
DEFAULT_PAGE_SIZE = 50
#: Jobs a ListJobs page of the finder holds at most: one DescribeJobs describes them.
MAX_PAGE_SIZE = 100
#: ListJobs pages one request reads at most while filling a page of matches.
SCAN_PAGES = 10
#: ListJobs page size when counting (AWS's maximum when listing by status).
COUNT_PAGE = 1000
#: Job ids one search takes at most (one DescribeJobs).
MAX_JOB_IDS = 100


def count_limit() -> int:
    """``[aws_batch] view_count_limit``: how many jobs of a queue and status are counted exactly."""
    from airflow.providers.common.compat.sdk import conf

    return max(1, int(conf.getint(CONFIG_SECTION, COUNT_LIMIT_SETTING, fallback=DEFAULT_COUNT_LIMIT)))


def parse_time(text: str | None, zone: datetime.tzinfo = datetime.UTC) -> int | None:
    """Epoch milliseconds from epoch milliseconds or an ISO 8601 time (in ``zone`` unless it names
    an offset: the pages read and show times in Airflow's configured timezone)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)


def name_matches(name: str, pattern: str) -> bool:
    """AWS's JOB_NAME filter: case-insensitive; a trailing ``*`` matches any name it begins."""
    name, pattern = name.lower(), pattern.lower()
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


@dataclass(frozen=True)
class JobQuery:
    """What a user looks for: where (a queue, an array's children, or ids) and which jobs."""

    queue: str | None = None
    array_job_id: str | None = None
    job_ids: tuple[str, ...] = ()
    #: None: every status.
    status: str | None = None
    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    name: str | None = None
    created_after: int | None = None
    created_before: int | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    token: str | None = None

    @property
    def reads_tags(self) -> bool:
        return bool(self.dag_id or self.task_id or self.run_id)

    def aws_listing(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        """The ``jobStatus`` and ``filters`` ListJobs is sent (see the module)."""
        if self.array_job_id:
            return self.status or "RUNNING", None
        if self.name:
            return None, [{"name": "JOB_NAME", "values": [self.name]}]
        if self.created_before is not None:
            return None, [{"name": "BEFORE_CREATED_AT", "values": [str(self.created_before)]}]
        if self.created_after is not None:
            return None, [{"name": "AFTER_CREATED_AT", "values": [str(self.created_after)]}]
        if self.status:
            return self.status, None
        return None, [{"name": "AFTER_CREATED_AT", "values": ["0"]}]

    def keeps(self, summary: Mapping[str, Any]) -> bool:
        """Whether a ListJobs summary passes the filters AWS was not sent (or applies differently)."""
        created = summary.get("createdAt")
        if self.status and summary.get("status") != self.status:
            return False
        if self.name and not name_matches(str(summary.get("jobName", "")), self.name):
            return False
        if self.created_after is not None and (created is None or created <= self.created_after):
            return False
        return not (self.created_before is not None and (created is None or created >= self.created_before))

    def ends_listing(self, summary: Mapping[str, Any]) -> bool:
        """Whether no later summary can match: listed newest first by BEFORE_CREATED_AT, this job
        is older than the window's start."""
        _, filters = self.aws_listing()
        if not filters or filters[0]["name"] != "BEFORE_CREATED_AT" or self.created_after is None:
            return False
        created = summary.get("createdAt")
        return created is not None and created <= self.created_after

    def tags_match(self, tags: Mapping[str, str]) -> bool:
        wanted = ((DAG_TAG, self.dag_id), (TASK_TAG, self.task_id), (RUN_TAG, self.run_id))
        return all(tags.get(key) == value for key, value in wanted if value)


@dataclass(frozen=True)
class Count:
    """Jobs counted exactly up to a bound; ``more``: there are more than ``count``."""

    count: int
    more: bool = False

    JSON_PROPERTIES = ("label",)

    @property
    def label(self) -> str:
        return f"more than {self.count:,}" if self.more else f"{self.count:,}"


@dataclass(frozen=True)
class FinderPage:
    """One page of the finder: the jobs found, where the next page starts, what was read."""

    query: JobQuery
    jobs: list[JobRow]
    next_token: str | None
    #: ListJobs pages read for this page (0 for a search by id).
    listed_pages: int
    #: The array job whose children are listed (its row), if any.
    parent: JobRow | None = None
    #: Jobs by status, exactly up to ``count_limit`` (only for users who see the account).
    counts: dict[str, Count] | None = None
    count_limit: int = DEFAULT_COUNT_LIMIT
    notes: list[str] = field(default_factory=list)


class JobFinder:
    """Find jobs for one user (their :class:`~airflow_batch_plugin.ui.permissions.Rights`).

    Raw AWS answers are cached in the world's cache (keys independent of the user); what the user
    may see is decided on every request.
    """

    def __init__(self, world: BatchWorld, rights: Rights) -> None:
        self.world = world
        self.rights = rights

    def find(self, query: JobQuery) -> FinderPage:
        """The page ``query`` asks for. Raises LookupError for an array job the user may not see."""
        limit = count_limit()
        if query.job_ids:
            return FinderPage(query, self._by_ids(query), None, 0, count_limit=limit)
        parent = self._parent(query.array_job_id) if query.array_job_id else None
        jobs, token, pages = self._listing(query, parent)
        counts = None
        if query.queue and not query.array_job_id and self.rights.sees_account:
            counts = self.counts(query.queue, limit)
        elif parent is not None and parent.array_size:
            counts = {status: Count(parent.progress.get(status, 0)) for status in STATUSES}
        return FinderPage(query, jobs, token, pages, parent, counts, limit, notes_for(query, self.rights))

    # -- by id -----------------------------------------------------------------------------------

    def _by_ids(self, query: JobQuery) -> list[JobRow]:
        described = self._describe(query.job_ids)
        rows = [job_row(described[job_id]) for job_id in query.job_ids if job_id in described]
        return [row for row in rows if self.rights.may_see_job(row.dag_id)]

    # -- listings --------------------------------------------------------------------------------

    def _parent(self, job_id: str) -> JobRow:
        described = self._describe((job_id,)).get(job_id)
        if described is None:
            raise LookupError(job_id)
        row = job_row(described)
        if not self.rights.may_see_job(row.dag_id):
            raise LookupError(job_id)
        return row

    def _listing(self, query: JobQuery, parent: JobRow | None) -> tuple[list[JobRow], str | None, int]:
        rows: list[JobRow] = []
        token = query.token
        pages = 0
        while True:
            summaries, token = self._list_page(query, token)
            pages += 1
            kept = []
            for summary in summaries:
                if query.ends_listing(summary):
                    token = None
                    break
                if query.keeps(summary):
                    kept.append(summary)
            rows.extend(self._children(kept, parent, query) if parent else self._described_rows(kept, query))
            if token is None or len(rows) >= query.page_size or pages >= SCAN_PAGES:
                return rows, token, pages

    def _list_page(self, query: JobQuery, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        status, filters = query.aws_listing()
        where = query.array_job_id or query.queue
        key = ("finder-page", bool(query.array_job_id), where, status, repr(filters), query.page_size, token)
        return tuple(
            self.world._cached(
                key,
                lambda: self.world.batch.list_jobs_at(
                    job_queue=None if query.array_job_id else query.queue,
                    array_job_id=query.array_job_id,
                    job_status=status,
                    filters=filters,
                    page_size=query.page_size,
                    next_token=token,
                ),
            )
        )

    def _described_rows(self, summaries: list[dict[str, Any]], query: JobQuery) -> list[JobRow]:
        if not summaries:
            return []
        described = self._describe(tuple(str(summary["jobId"]) for summary in summaries))
        rows = []
        for summary in summaries:
            job = described.get(str(summary["jobId"]))
            if job is None:
                continue  # gone between the two calls (AWS keeps ended jobs for a while only)
            tags = job.get("tags") or {}
            if self.rights.may_see_job(dag_of(tags)) and query.tags_match(tags):
                rows.append(job_row(job))
        return rows

    def _children(self, summaries: list[dict[str, Any]], parent: JobRow, query: JobQuery) -> list[JobRow]:
        """An array's children as rows, with the parent's queue, DAG and task (not described)."""
        if query.reads_tags and (parent.task is None or not self._parent_matches(parent, query)):
            return []
        return [
            replace(job_row(summary), queue=parent.queue, dag_id=parent.dag_id, task=parent.task)
            for summary in summaries
        ]

    def _parent_matches(self, parent: JobRow, query: JobQuery) -> bool:
        task = parent.task
        assert task is not None
        tags = {DAG_TAG: task.dag_id, TASK_TAG: task.task_id, RUN_TAG: task.run_id}
        return query.tags_match(tags)

    def _describe(self, job_ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        return dict(
            self.world._cached(("finder-describe", job_ids), lambda: self.world.batch.describe_jobs(job_ids))
        )

    # -- counts ----------------------------------------------------------------------------------

    def counts(self, queue: str, limit: int) -> dict[str, Count]:
        """A queue's jobs by status, exactly up to ``limit`` each (account data: callers check)."""
        return {
            status: self.world._cached(
                ("finder-count", queue_name(queue), status, limit, COUNT_PAGE),
                lambda status=status: self._count(queue, status, limit),
            )
            for status in STATUSES
        }

    def _count(self, queue: str, status: str, limit: int) -> Count:
        """Page ListJobs (``COUNT_PAGE`` a call) until the end or ``limit``: at most
        ceil(limit / COUNT_PAGE) calls."""
        total, token = 0, None
        for _ in range(count_calls(limit)):
            page, token = self.world.batch.list_jobs_at(
                job_queue=queue, job_status=status, page_size=COUNT_PAGE, next_token=token
            )
            total += len(page)
            if token is None:
                return Count(total)
            if total >= limit:
                break
        return Count(limit, more=True)


def count_calls(limit: int) -> int:
    """ListJobs calls counting one status costs at most."""
    return max(1, math.ceil(limit / COUNT_PAGE))


def notes_for(query: JobQuery, rights: Rights) -> list[str]:
    """What a page says about how it was read (what AWS filtered, what the view did)."""
    status, filters = query.aws_listing()
    notes = []
    window = query.created_after is not None and query.created_before is not None
    if query.array_job_id:
        notes.append(
            f"Children of array job {query.array_job_id} in status {status}, read with ListJobs "
            "(arrayJobId, jobStatus); AWS applies no name or time filter to children, the view does."
        )
    elif filters:
        sent = f"{filters[0]['name']} = {filters[0]['values'][0]}"
        notes.append(
            f"Listed with the ListJobs filter {sent}: with a filter AWS returns jobs of every status, "
            "newest first"
            + (f"; the view keeps the {query.status} ones" if query.status else "")
            + ("; the view applies the window's start" if window and not query.name else "")
            + (
                "; the view applies the time window"
                if query.name and (query.created_after or query.created_before)
                else ""
            )
            + "."
        )
    if query.reads_tags or not rights.sees_account:
        notes.append(
            "Job summaries carry no tags: each page's jobs are described (DescribeJobs) to filter by "
            "DAG, task or run and to show only the jobs of DAGs you may read."
        )
    return notes
