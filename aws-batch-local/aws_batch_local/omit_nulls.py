"""Leave members without a value out of moto's CloudWatch Logs answers, as AWS does.

AWS's JSON protocols never send a member as ``null``: a member without a value is absent.
moto's Logs answers send some as null (``"nextToken": null`` on the last page of
DescribeLogGroups, DescribeLogStreams, FilterLogEvents...). ``OmitNullMembers`` wraps the
emulator's WSGI app and drops such members from the JSON answers of requests whose
``X-Amz-Target`` names a service of ``TARGET_PREFIXES``; everything else passes untouched.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    StartResponse = Callable[..., Any]
    WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: ``X-Amz-Target`` prefixes of the answers cleaned: CloudWatch Logs.
TARGET_PREFIXES = ("Logs_",)


def without_nulls(value: Any) -> Any:
    """Return ``value`` with every object member whose value is null left out, at any depth."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


class OmitNullMembers:
    """WSGI middleware: drop null members from the JSON answers of the services of TARGET_PREFIXES."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(TARGET_PREFIXES):
            return self.app(environ, start_response)
        captured: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            captured.append((status, headers))
            return written.append

        answer = self.app(environ, hold)
        try:
            body = b"".join([*written, *answer])
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        if not captured:
            return [body]
        status, headers = captured[-1]
        body = _clean(body)
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]


def _clean(body: bytes) -> bytes:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    cleaned = without_nulls(parsed)
    return body if cleaned == parsed else json.dumps(cleaned).encode()
