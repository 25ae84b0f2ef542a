"""What compute environments and job queues share: statuses, timed transitions, errors, paging.

AWS Batch answers Create*/Update*/Delete* at once and finishes the work later: a new resource is
CREATING, a changed one UPDATING, a deleted one DELETING, and each settles on VALID or INVALID
(or DELETED, which stays visible for a while and then disappears). ``Lifecycle`` keeps that status
and runs the transitions on the job scheduler's timer thread, under the scheduler's lock, so
infrastructure and jobs change together and never race.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import TYPE_CHECKING, Any

from aws_batch_local.errors import ClientException

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aws_batch_local.scheduler import Scheduler

CREATING = "CREATING"
UPDATING = "UPDATING"
DELETING = "DELETING"
DELETED = "DELETED"
VALID = "VALID"
INVALID = "INVALID"
ENABLED = "ENABLED"
DISABLED = "DISABLED"
STATES = (ENABLED, DISABLED)
#: Statuses in which AWS refuses another change ("resource is being modified").
BEING_MODIFIED = frozenset({CREATING, UPDATING})
#: Statuses in which the resource no longer exists for Update*/Delete*/SubmitJob.
GONE = frozenset({DELETING, DELETED})

# Wordings AWS Batch uses (seen in ClientException messages returned by the service).
BEING_MODIFIED_DELETE = "Cannot delete, resource is being modified"
FOUND_JOB_QUEUE_RELATIONSHIP = "Cannot delete, found existing JobQueue relationship"
OBJECT_ALREADY_EXISTS = "Object already exists"
# The update counterpart of BEING_MODIFIED_DELETE, worded the same way.
BEING_MODIFIED_UPDATE = "Cannot update, resource is being modified"

MAX_PAGE = 100


def client_error(message: str) -> ClientException:
    """Return a ClientException (HTTP 400), the only client error AWS Batch's API has."""
    return ClientException(message)


def request_error(message: str) -> ClientException:
    """Return a ClientException worded as Batch words request validation failures."""
    return ClientException(f"Error executing request, Exception : {message}, RequestId: {uuid.uuid4()}")


def does_not_exist(arn: str) -> ClientException:
    """Return the error Batch gives for a compute environment or job queue that is gone."""
    return ClientException(f"{arn} does not exist")


class Lifecycle:
    """The status of a compute environment or job queue and its pending timed transition.

    A transition is identified by a generation number: starting a new one makes the timers of
    the previous one harmless.
    """

    status: str
    status_reason: str | None

    def init_lifecycle(self, status: str) -> None:
        """Start in ``status`` with no status reason."""
        self.status = status
        self.status_reason = None
        self._generation = 0

    def begin(
        self, status: str, scheduler: Scheduler, then: Callable[[], None], delay: float | None = None
    ) -> None:
        """Enter ``status`` now and call ``then`` (under the scheduler lock) after ``delay`` seconds.

        ``delay`` defaults to the settings' ``infrastructure_seconds``.
        """
        self.status = status
        self._generation += 1
        generation = self._generation

        def finish() -> None:
            if self._generation == generation:
                then()

        scheduler.call_later(scheduler.settings.infrastructure_seconds if delay is None else delay, finish)

    def retire(
        self,
        scheduler: Scheduler,
        registry: dict[str, Any],
        arn: str,
        on_deleted: Callable[[], None] | None = None,
    ) -> None:
        """Go DELETING, then DELETED (calling ``on_deleted``), then leave ``registry`` once deleted
        resources stop being visible (the settings' ``deleted_visible_seconds``)."""

        def deleted() -> None:
            self.status = DELETED
            if on_deleted is not None:
                on_deleted()
            self.begin(DELETED, scheduler, forget, scheduler.settings.deleted_visible_seconds)

        def forget() -> None:
            if registry.get(arn) is self:
                del registry[arn]

        self.begin(DELETING, scheduler, deleted)

    def settle(self, reason: str | None, healthy_reason: str) -> None:
        """End a transition: INVALID with ``reason``, or VALID with ``healthy_reason``."""
        if reason is None:
            self.status, self.status_reason = VALID, healthy_reason
        else:
            self.status, self.status_reason = INVALID, reason


def encode_page_token(offset: int) -> str:
    """Return the opaque nextToken of a Describe* page that starts at ``offset``."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def page(items: Sequence[Any], request: dict[str, Any]) -> tuple[list[Any], str | None]:
    """Return one page of ``items`` for a Describe* request (maxResults 1..100, nextToken)."""
    max_results = request.get("maxResults")
    if max_results is not None and not 1 <= int(max_results) <= MAX_PAGE:
        raise client_error(f"maxResults must be between 1 and {MAX_PAGE}, got {max_results}")
    limit = int(max_results or MAX_PAGE)
    start = 0
    token = request.get("nextToken")
    if token:
        try:
            prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            if prefix != "offset":
                raise ValueError(prefix)
            start = int(offset)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise client_error(f"Invalid nextToken: {token}") from None
    chunk = list(items[start : start + limit])
    return chunk, encode_page_token(start + limit) if start + limit < len(items) else None


def wanted(identifiers: Sequence[str] | None, name: str, arn: str) -> bool:
    """Return whether a Describe* filter (names or ARNs; empty means all) selects this resource."""
    return not identifiers or name in identifiers or arn in identifiers
