"""Route AWS Batch requests to the emulator's handlers, by botocore's service model.

Each Batch operation is an HTTP method plus a ``requestUri`` (``POST /v1/submitjob``,
``GET /v1/tags/{resourceArn}``); the JSON body carries the members and a URI label the tagged
resource. The answer is the handler's JSON, or an error as restJson1 sends it: the status, the
``x-amzn-ErrorType`` header and a JSON body with ``message`` (ClientException 400,
ServerException 500). The account and region come from the request's SigV4 credential scope.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import botocore.session
from moto.core import DEFAULT_ACCOUNT_ID

from aws_batch_local.batch_api import HANDLERS, BatchRequest
from aws_batch_local.errors import BatchError, ClientException, ServerException

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from aws_batch_local.region import BatchRegions

    StartResponse = Callable[..., Any]

SERVICE = "batch"
_LABEL = re.compile(r"\{([^}+]+)\+?\}")
_ACCOUNT_ID = re.compile(r"^\d{12}$")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Route:
    method: str
    path: re.Pattern[str]
    operation: str


def _compile(request_uri: str) -> re.Pattern[str]:
    template = request_uri.split("?", 1)[0]
    pattern, position = "", 0
    for match in _LABEL.finditer(template):
        pattern += re.escape(template[position : match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
        position = match.end()
    return re.compile(pattern + re.escape(template[position:]) + "/?")


def batch_routes() -> list[_Route]:
    """Return every AWS Batch operation's route, from botocore's service model (fixed paths first)."""
    model = botocore.session.get_session().get_service_model(SERVICE)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes.append(_Route(str(http["method"]).upper(), _compile(str(http["requestUri"])), name))
    return sorted(routes, key=lambda route: route.path.pattern.count("(?P<"))


def _credential_scope(environ: dict[str, Any]) -> list[str]:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    _, found, rest = authorization.partition("Credential=")
    return rest.split(",")[0].split("/") if found else []


def account_of(environ: dict[str, Any]) -> str:
    """Return the account a request acts in, as moto tells it: ``MOTO_ACCOUNT_ID``, the
    ``x-moto-account-id`` header, a 12-digit access key id, else the default account."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    header = str(environ.get("HTTP_X_MOTO_ACCOUNT_ID", ""))
    if header:
        return header
    scope = _credential_scope(environ)
    if scope and _ACCOUNT_ID.match(scope[0]):
        return scope[0]
    return DEFAULT_ACCOUNT_ID


def _json_answer(
    start_response: StartResponse, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
) -> list[bytes]:
    payload = json.dumps(body).encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}.get(status, "")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers],
    )
    return [payload]


class BatchDispatch:
    """The WSGI app of AWS Batch: find the operation, parse the request, call its handler."""

    def __init__(self, regions: BatchRegions, default_region: str) -> None:
        self._regions = regions
        self._default_region = default_region
        self._routes = batch_routes()

    def route(self, environ: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        """Return the operation and URI labels of a request that is for AWS Batch, else None.

        A signed request is Batch's when its credential scope names the service ``batch``; an
        unsigned one when its method and path are a Batch route.
        """
        scope = _credential_scope(environ)
        if len(scope) >= 5 and scope[3] != SERVICE:
            return None
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        # The path as sent (a label such as resourceArn keeps its %2F); PATH_INFO is decoded.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        path = str(raw).split("?", 1)[0]
        for route in self._routes:
            if route.method != method:
                continue
            match = route.path.fullmatch(path)
            if match is not None:
                return route.operation, {key: unquote(value) for key, value in match.groupdict().items()}
        return None

    def handles(self, environ: dict[str, Any]) -> bool:
        """Return whether a request is for AWS Batch."""
        return self.route(environ) is not None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        found = self.route(environ)
        try:
            if found is None:
                raise ClientException("No AWS Batch operation has this method and path")
            operation, labels = found
            handler = HANDLERS.get(operation)
            if handler is None:
                raise ClientException(f"aws-batch-local does not implement {operation}")
            request = BatchRequest(_body(environ), labels, parse_qs(str(environ.get("QUERY_STRING", ""))))
            scope = _credential_scope(environ)
            region = self._regions.get(
                account_of(environ), scope[2] if len(scope) >= 5 else self._default_region
            )
            with region.scheduler.lock:
                answer = handler(region, request)
        except BatchError as error:
            return _json_answer(
                start_response,
                error.status,
                {"message": error.message},
                [("x-amzn-ErrorType", error.error_type)],
            )
        except Exception as error:  # answer as AWS does, keep serving
            logger.exception("AWS Batch request failed")
            failure = ServerException(f"{type(error).__name__}: {error}")
            return _json_answer(
                start_response,
                failure.status,
                {"message": failure.message},
                [("x-amzn-ErrorType", failure.error_type)],
            )
        return _json_answer(start_response, 200, answer, [])


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ClientException("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ClientException("The request body must be a JSON object")
    return body
