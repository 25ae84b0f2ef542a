"""A job's whole log for the view: its streams, pages in both directions, a download.

A job's log page reads CloudWatch Logs' GetLogEvents one page at a time, following AWS's own
tokens: ``nextForwardToken`` (newer events, asked with ``startFromHead``) and
``nextBackwardToken`` (older events). The streams a page may read are only the job's own, as its
description names them (:func:`~airflow_batch_plugin.anatomy.read_job`: every attempt and every
container; an EKS job's streams are found by their prefix): a query never names a log group, and
a stream not among them is refused. Pages go through the view's cache like everything else, so
any number of people reading (or tailing) the same page cost one call per cache period.

The download reads the stream from its start to its end (10,000 events a call) and stops after
``[aws_batch] view_log_download_mb`` (default 50) megabytes, saying so on its last line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.anatomy import read_job
from airflow_batch_plugin.hooks.logs import FULL_PAGE_EVENTS, record_line
from airflow_batch_plugin.job_state import primary_log

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_batch_plugin.ui.data import BatchWorld, JobPage

CONFIG_SECTION = "aws_batch"
#: Events on a log page unless the query asks for another number (1 to 10,000).
DEFAULT_PAGE_EVENTS = 500
DEFAULT_DOWNLOAD_MB = 50.0
#: Statuses after which a job's log grows no more.
ENDED = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class LogSource:
    """One stream of a job a log page may show: which attempt and part it is, and where it is."""

    label: str
    group: str
    stream: str
    record_key: str | None = None


@dataclass(frozen=True)
class LogEventRow:
    """One event: its time (epoch ms) and line."""

    timestamp: int
    message: str


@dataclass(frozen=True)
class LogPage:
    """One page of a stream and the tokens to the pages around it."""

    source: LogSource
    events: list[LogEventRow]
    next_forward_token: str | None
    next_backward_token: str | None
    #: The stream does not exist (yet): the job has not written anything.
    missing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def download_cap_bytes() -> int:
    """The download's size cap in bytes (``[aws_batch] view_log_download_mb``)."""
    from airflow.providers.common.compat.sdk import conf

    megabytes = float(conf.getfloat(CONFIG_SECTION, "view_log_download_mb", fallback=DEFAULT_DOWNLOAD_MB))
    return max(1, int(megabytes * 1024 * 1024))


def log_sources(world: BatchWorld, page: JobPage) -> list[LogSource]:
    """The streams of a job, oldest attempt first; empty for an array or multi-node parent."""
    anatomy = read_job(page.job)
    if not anatomy.has_own_logs:
        return []
    sources: list[LogSource] = []
    for number, part in anatomy.log_locations():
        location = part.log
        if location is None:
            continue
        label = " · ".join(filter(None, [f"attempt {number}" if number else "", part.label])) or "log"
        if location.stream:
            sources.append(LogSource(label, location.group, location.stream, location.record_key))
        elif location.stream_prefix:
            group, prefix = location.group, location.stream_prefix
            streams = world.cached(
                ("log-streams", group, prefix), partial(world.logs.log_streams_with_prefix, group, prefix)
            )
            sources.extend(LogSource(label, group, stream, location.record_key) for stream in streams)
    unique = {source.stream: source for source in sources}
    return list(unique.values())


def chosen_source(page: JobPage, sources: list[LogSource], stream: str | None) -> LogSource | None:
    """The source a query names (None when it names a stream that is not the job's), else the
    job's primary log (the latest attempt's first essential container), else the newest."""
    if stream:
        return next((source for source in sources if source.stream == stream), None)
    primary = primary_log(page.job)
    if primary is not None:
        for source in sources:
            if source.stream == primary.stream:
                return source
    return sources[-1] if sources else None


def read_page(
    world: BatchWorld, source: LogSource, token: str | None, from_head: bool, limit: int
) -> LogPage:
    """One page of ``source`` (through the cache): after/before ``token``, or the first/last page."""
    limit = max(1, min(limit, FULL_PAGE_EVENTS))
    answer = world.cached(
        ("log-page", source.group, source.stream, token, from_head, limit),
        lambda: world.logs.get_log_events(
            source.group, source.stream, next_token=token, start_from_head=from_head, limit=limit
        ),
    )
    if answer is None:
        return LogPage(source, [], None, None, missing=True)
    return LogPage(
        source=source,
        events=[_event(source, event) for event in answer.get("events") or []],
        next_forward_token=answer.get("nextForwardToken"),
        next_backward_token=answer.get("nextBackwardToken"),
    )


def _event(source: LogSource, event: dict[str, Any]) -> LogEventRow:
    message = str(event.get("message", ""))
    if source.record_key:
        message = record_line(message, source.record_key)
    return LogEventRow(int(event.get("timestamp") or 0), message)


def download_lines(world: BatchWorld, source: LogSource, cap_bytes: int) -> Iterator[bytes]:
    """Every line of ``source`` from its start, read page by page without the cache, up to
    ``cap_bytes`` (then one last line saying the download stopped there)."""
    token: str | None = None
    written = 0
    while True:
        answer = world.logs.get_log_events(
            source.group, source.stream, next_token=token, start_from_head=True, limit=FULL_PAGE_EVENTS
        )
        if answer is None:
            return
        chunk: list[bytes] = []
        for event in answer.get("events") or []:
            line = (_event(source, event).message + "\n").encode("utf-8", errors="replace")
            if written + len(line) > cap_bytes:
                yield b"".join(chunk)
                yield (
                    f"[download stopped after {written} bytes: [aws_batch] view_log_download_mb; "
                    "the rest is in CloudWatch Logs]\n"
                ).encode()
                return
            written += len(line)
            chunk.append(line)
        yield b"".join(chunk)
        next_token = answer.get("nextForwardToken")
        if not next_token or next_token == token:
            return
        token = next_token
