"""ETags for the view's JSON answers, so a page polling its JSON twin gets 304 while nothing changed.

An ASGI middleware: a ``GET`` under ``api/`` answered 200 with JSON gets a weak
``ETag`` computed from its body and ``Cache-Control: no-cache``; a request whose
``If-None-Match`` names that tag gets ``304 Not Modified`` without the body. The tag leaves out
``duration_seconds`` (it grows every second while a job runs, and the page ticks it itself from
``started_at``): the tag changes when what AWS says changes, not with the clock. Weak, because a
304 means "the same state", not byte-identical.

The answer is still computed on the server (from the view's cache, see
:mod:`~airflow_batch_plugin.ui.cache`): a 304 saves the transfer and the browser's work, and the
cache bounds the AWS calls whatever the number of pollers.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Members left out of the tag: they follow the clock, not AWS.
CLOCK_MEMBERS = frozenset({"duration_seconds"})


def without_clock(value: Any) -> Any:
    """``value`` (decoded JSON) without the members that follow the clock."""
    if isinstance(value, dict):
        return {key: without_clock(item) for key, item in value.items() if key not in CLOCK_MEMBERS}
    if isinstance(value, list):
        return [without_clock(item) for item in value]
    return value


def etag_of(body: bytes) -> str:
    """The weak ETag of a JSON body (see the module)."""
    try:
        canonical = json.dumps(without_clock(json.loads(body)), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    except ValueError:
        digest = hashlib.sha256(body).hexdigest()
    return f'W/"{digest[:32]}"'


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, ``*`` matches all)."""
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class JsonETags:
    """The ASGI middleware (see the module). ``api_prefix``: the paths it tags, after the root path."""

    def __init__(self, app: ASGIApp, api_prefix: str = "/api/") -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not self._tagged(scope):
            await self.app(scope, receive, send)
            return
        if_none_match = ""
        for name, value in scope.get("headers") or []:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def buffered(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                json_ok = message["status"] == 200 and headers.get(b"content-type", b"").startswith(
                    b"application/json"
                )
                if json_ok:
                    start = message
                else:
                    passing = True
                    await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._answer(start, b"".join(chunks), if_none_match, send)
            else:
                await send(message)

        await self.app(scope, receive, buffered)

    def _tagged(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        return path.startswith(self.api_prefix)

    @staticmethod
    async def _answer(start: Message, body: bytes, if_none_match: str, send: Send) -> None:
        etag = etag_of(body)
        tag_headers = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
        if if_none_match and matches(if_none_match, etag):
            await send({"type": "http.response.start", "status": 304, "headers": tag_headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [item for item in start.get("headers") or [] if item[0] not in (b"etag", b"cache-control")]
        await send({**start, "headers": headers + tag_headers})
        await send({"type": "http.response.body", "body": body})
