"""Read a job's CloudWatch Logs stream page by page, with bounded memory.

GetLogEvents returns at most 10,000 events or 1 MB a page; the end of the stream is reached only
when ``nextForwardToken`` stops changing. A :class:`LogStreamFollower` remembers its token, so
calling :meth:`LogStreamFollower.read_new` again yields only what arrived since: the same reader
serves live streaming (sync waits) and a full read on completion (deferred tasks).
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from botocore.exceptions import ClientError

from airflow_batch_plugin.hooks.base import PluginAwsHook
from airflow_batch_plugin.hooks.pacing import hook_bucket
from airflow_batch_plugin.hooks.retry import call_with_retries, client_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    from botocore.config import Config
    from mypy_boto3_logs import CloudWatchLogsClient

    from airflow_batch_plugin.anatomy import LogLocation
    from airflow_batch_plugin.hooks.pacing import TokenBucket

#: A page this full may not be the last one: GetLogEvents stops at 10,000 events or 1 MB.
FULL_PAGE_EVENTS = 10_000
FULL_PAGE_BYTES = 900_000


class LogEvent(NamedTuple):
    """One line of a job's log (a tuple: the reader builds one per line, so it must be cheap)."""

    timestamp: int
    message: str


class CloudWatchLogsHook(PluginAwsHook):
    """CloudWatch Logs client from an Airflow AWS connection, with our retry policy."""

    hook_name = "AWS Batch job logs"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "logs"
        super().__init__(*args, **kwargs)

    def _get_config(self, config: Config | None = None) -> Config:
        return client_config(super()._get_config(config))

    @property
    def client(self) -> CloudWatchLogsClient:
        """The boto3 CloudWatch Logs client of this hook's connection (cached)."""
        return cast("CloudWatchLogsClient", self.conn)

    @cached_property
    def read_bucket(self) -> TokenBucket | None:
        """The process's GetLogEvents pacing bucket for this hook's account or endpoint and region."""
        return hook_bucket(self, "GetLogEvents", "logs")

    def _get_log_events(self, request: dict[str, Any]) -> Any:
        """Send one GetLogEvents, paced (every attempt, retries included, takes a token)."""
        if self.read_bucket is not None:
            self.read_bucket.acquire()
        return self.client.get_log_events(**request)

    def get_log_events_page(
        self, group: str, stream: str, next_token: str | None, limit: int | None = None
    ) -> dict[str, Any] | None:
        """Return one GetLogEvents page from the head onward, or None if the stream does not exist yet."""
        return self.get_log_events(group, stream, next_token=next_token, start_from_head=True, limit=limit)

    def get_log_events(
        self,
        group: str,
        stream: str,
        *,
        next_token: str | None = None,
        start_from_head: bool = True,
        limit: int | None = None,
    ) -> dict[str, Any] | None:
        """Return one GetLogEvents page in either direction, or None if the stream does not exist.

        Without ``next_token``: the oldest events (``start_from_head``) or the newest. With a
        ``nextForwardToken``, AWS wants ``start_from_head=True``; with a ``nextBackwardToken``,
        False. Events are in time order either way.
        """
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": start_from_head,
        }
        if next_token:
            request["nextToken"] = next_token
        if limit:
            request["limit"] = max(1, min(limit, FULL_PAGE_EVENTS))
        try:
            page = call_with_retries(
                lambda: self._get_log_events(request), description=f"GetLogEvents {stream}"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return dict(page)

    def log_streams_with_prefix(self, group: str, prefix: str) -> list[str]:
        """Return the streams of ``group`` whose names start with ``prefix``, oldest first.

        An empty list when the group or the streams do not exist (yet).
        """
        request: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
        streams: list[Any] = []
        while True:
            try:
                page = call_with_retries(
                    lambda r=dict(request): self.client.describe_log_streams(**r),  # type: ignore[misc]
                    description=f"DescribeLogStreams {group} {prefix}*",
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return []
                raise
            streams.extend(page.get("logStreams", []))
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                break
            request["nextToken"] = token
        streams.sort(key=lambda stream: (stream.get("creationTime", 0), stream.get("logStreamName", "")))
        return [str(stream["logStreamName"]) for stream in streams]

    def tail(self, group: str, stream: str, lines: int = 100) -> list[str] | None:
        """Return the last ``lines`` messages of a stream in one call, or None if it does not exist."""
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": False,
            "limit": max(1, min(lines, 10_000)),
        }
        try:
            page = call_with_retries(
                lambda: self._get_log_events(request), description=f"GetLogEvents {stream} (tail)"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return [str(event.get("message", "")) for event in page.get("events", [])]


class LogStreamFollower:
    """Follow one log stream: each :meth:`read_new` yields the events that arrived since the last."""

    def __init__(
        self, hook: CloudWatchLogsHook, group: str, stream: str, page_limit: int | None = None
    ) -> None:
        self.hook = hook
        self.group = group
        self.stream = stream
        self.page_limit = page_limit
        self._token: str | None = None

    def read_new(self, *, to_end: bool = True) -> Iterator[LogEvent]:
        """Yield new events page by page.

        With ``to_end`` it reads until the forward token stops changing (the only sure end of a
        stream). Without it (while the job still runs) it stops after a page that was not full:
        one call a round, more only to catch up with a burst.
        """
        while True:
            page = self.hook.get_log_events_page(self.group, self.stream, self._token, self.page_limit)
            if page is None:
                return
            events = page.get("events", [])
            size = 0
            for event in events:
                message = event["message"]
                size += len(message)
                yield LogEvent(event["timestamp"], message)
            next_token = page.get("nextForwardToken")
            if not next_token or next_token == self._token:
                return
            self._token = next_token
            if not to_end and len(events) < FULL_PAGE_EVENTS and size < FULL_PAGE_BYTES:
                return


class LogSourceReader:
    """Read one part's log: its stream, or (EKS) every stream whose name starts with its prefix.

    Streams found by prefix are looked for on every read until one exists, and once more when
    reading to the end; each is then followed like an exact stream, oldest first.
    """

    def __init__(self, hook: CloudWatchLogsHook, location: LogLocation) -> None:
        self.hook = hook
        self.location = location
        self._followers: dict[str, LogStreamFollower] = {}
        if location.stream:
            self._followers[location.stream] = LogStreamFollower(hook, location.group, location.stream)

    @property
    def streams(self) -> list[str]:
        """The streams found so far, in the order they are read."""
        return list(self._followers)

    def read_new(self, *, to_end: bool = True) -> Iterator[LogEvent]:
        """Yield what arrived since the last read, stream by stream (see LogStreamFollower)."""
        prefix = self.location.stream_prefix
        if prefix is not None and (to_end or not self._followers):
            for stream in self.hook.log_streams_with_prefix(self.location.group, prefix):
                if stream not in self._followers:
                    self._followers[stream] = LogStreamFollower(self.hook, self.location.group, stream)
        key = self.location.record_key
        for follower in list(self._followers.values()):
            for event in follower.read_new(to_end=to_end):
                yield event if key is None else LogEvent(event.timestamp, record_line(event.message, key))


def record_line(message: str, key: str) -> str:
    """Return the container's line of a log shipper's JSON record (member ``key``, else ``message``).

    A message that is not such a record is returned as it is: the shipper may be set to send the
    line alone (Fluent Bit's ``log_key``).
    """
    if not message.startswith("{"):
        return message
    try:
        record = json.loads(message)
    except ValueError:
        return message
    if not isinstance(record, dict):
        return message
    line = record.get(key, record.get("message"))
    return message if not isinstance(line, str) else line.rstrip("\n")
