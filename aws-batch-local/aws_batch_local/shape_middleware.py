"""The emulator's ``--check-shapes`` switch: check every answer against botocore's output shape.

``ShapeCheckMiddleware`` wraps the emulator's WSGI app. When checking is on, it works out the
operation of each request to a checked service (AWS Batch and CloudWatch Logs by default), lets
the app answer, and checks a 2xx answer's JSON body with :func:`.shape_check.check_output`. Each
distinct violation (operation, path with indices generalized, problem) is recorded and logged
once, with how often it was seen. ``GET /_emulator/shape-violations`` (a path no AWS service
uses) answers the record as JSON; :func:`read_shape_report` reads it.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aws_batch_local.aws_operations import Operation, OperationFinder
from aws_batch_local.shape_check import Violation, check_output

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    StartResponse = Callable[..., Any]
    WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

REPORT_PATH = "/_emulator/shape-violations"
CHECKED_SERVICES = ("batch", "logs")
ENVIRONMENT_VARIABLE = "AWS_BATCH_LOCAL_CHECK_SHAPES"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

logger = logging.getLogger(__name__)


def enabled_by_environment(environ: dict[str, str] | Any) -> bool:
    """Return whether ``AWS_BATCH_LOCAL_CHECK_SHAPES`` turns shape checking on."""
    return str(environ.get(ENVIRONMENT_VARIABLE, "")).strip().lower() in TRUE_WORDS


@dataclass
class RecordedViolation:
    """A distinct violation: where and what, the first concrete path, how many answers had it."""

    operation: str
    pattern: str
    problem: str
    path: str
    count: int = 1

    def __str__(self) -> str:
        seen = f" (in {self.count} answers)" if self.count > 1 else ""
        return f"{self.operation}: {self.path}: {self.problem}{seen}"


class ShapeViolationLog:
    """Thread-safe record of the answers checked and the distinct violations found."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[str, int] = {}
        self._violations: dict[tuple[str, str, str], RecordedViolation] = {}

    def record(self, operation: Operation, violations: Sequence[Violation]) -> None:
        """Count one checked answer of ``operation``; record (and log once) each new violation."""
        new: list[str] = []
        with self._lock:
            self._checked[operation.key] = self._checked.get(operation.key, 0) + 1
            for violation in violations:
                key = (operation.key, violation.pattern, violation.problem)
                known = self._violations.get(key)
                if known is not None:
                    known.count += 1
                    continue
                recorded = RecordedViolation(
                    operation.key, violation.pattern, violation.problem, violation.path
                )
                self._violations[key] = recorded
                new.append(str(recorded))
        for text in new:
            logger.warning("answer differs from botocore's output shape: %s", text)

    def describe(self) -> str:
        """Return the violations found as lines a test failure or a log can show."""
        return describe_violations(self.report()["violations"])

    def report(self) -> dict[str, Any]:
        """Return what ``GET /_emulator/shape-violations`` answers."""
        with self._lock:
            return {
                "enabled": True,
                "checked": dict(sorted(self._checked.items())),
                "violations": [asdict(violation) for violation in self._violations.values()],
            }


class ShapeCheckMiddleware:
    """WSGI middleware: check answers when ``log`` is given, and serve the report at REPORT_PATH.

    :param app: the WSGI app answering AWS requests.
    :param log: where violations go; None turns checking off (the report says ``enabled: false``).
    :param finder: which requests are checked; default: the services of ``CHECKED_SERVICES``.
    """

    def __init__(
        self, app: WsgiApp, log: ShapeViolationLog | None, finder: OperationFinder | None = None
    ) -> None:
        self.app = app
        self.log = log
        self._finder = finder
        self._finder_lock = threading.Lock()

    def finder(self) -> OperationFinder:
        """Return the operation finder, loading botocore's models on first use."""
        with self._finder_lock:
            if self._finder is None:
                import botocore.session

                session = botocore.session.get_session()
                self._finder = OperationFinder(session.get_service_model(name) for name in CHECKED_SERVICES)
            return self._finder

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == REPORT_PATH:
            return self._serve_report(environ, start_response)
        if self.log is None:
            return self.app(environ, start_response)
        operation = self.finder().find(
            str(environ.get("REQUEST_METHOD", "GET")), _raw_path(environ), _headers(environ)
        )
        if operation is None:
            return self.app(environ, start_response)
        return self._answer_and_check(operation, environ, start_response)

    def _answer_and_check(
        self, operation: Operation, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        status: list[str] = []

        def remember_status(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            return (
                start_response(status_line, headers, exc_info)
                if exc_info
                else start_response(status_line, headers)
            )

        answer = self.app(environ, remember_status)
        try:
            body = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        if status and status[-1][:1] == "2":
            self._check(operation, body)
        return [body]

    def _check(self, operation: Operation, body: bytes) -> None:
        assert self.log is not None
        try:
            parsed = json.loads(body) if body.strip() else {}
        except ValueError:
            self.log.record(operation, [Violation("<answer>", f"answer is not JSON: {body[:80]!r}")])
            return
        model = self.finder().models[operation.service]
        self.log.record(operation, check_output(model, operation.name, parsed))

    def _serve_report(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET"), ("Content-Length", "0")])
            return [b""]
        report = (
            self.log.report() if self.log is not None else {"enabled": False, "checked": {}, "violations": []}
        )
        body = json.dumps(report).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def _raw_path(environ: dict[str, Any]) -> str:
    """Return the request path as sent (percent-encoded: an ARN in a path keeps its ``%2F``)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    return str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-"): str(value) for key, value in environ.items() if key.startswith("HTTP_")
    }
    return headers


def read_shape_report(endpoint_url: str, timeout: float = 30.0) -> dict[str, Any]:
    """Return an emulator's shape report (``GET /_emulator/shape-violations``)."""
    with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}{REPORT_PATH}", timeout=timeout) as answer:
        return dict(json.load(answer))


def describe_violations(violations: Iterable[dict[str, Any]]) -> str:
    """Return report violations as lines a test failure or a log can show."""
    return "\n".join(str(RecordedViolation(**violation)) for violation in violations)
