"""What the fault proxy injects where: the rule syntax, the AWS action of a request, error answers.

A fault spec is a comma-separated list of rules ``TARGET:KIND=VALUE``:

- ``TARGET``: ``*`` (every AWS Batch and CloudWatch Logs action), ``SERVICE:*`` (``batch:*``,
  ``logs:*``, ``s3:*``...: every action of a service), an action (``SubmitJob``) or a qualified
  action (``logs:GetLogEvents``). The most specific rule of a kind wins for an action.
- ``KIND``: ``throttle`` (429 TooManyRequestsException for Batch, 400 ThrottlingException for
  Logs), ``500``, ``503``, ``reset`` (the connection is closed without an answer), ``timeout`` (no
  answer at all: the proxy holds the connection until the client gives up), ``transient`` (one of
  500, 503 and reset, evenly), ``lost`` (one of 503, reset and timeout, evenly: every way a
  gateway loses an answer), ``slow`` (the request waits the proxy's slow delay, then goes
  through), or ``limit`` (throttle whatever exceeds VALUE calls a second, burst one second).
  Without a suffix a fault happens instead of the request reaching the emulator. ``500``,
  ``503``, ``reset``, ``timeout``, ``transient`` and ``lost`` take a suffix that lets it through:
  ``@after``: the request reaches the emulator, then its answer is lost (a write did happen,
  unknown to the client); ``@late``: the client gets the fault first, and the request reaches
  the emulator the proxy's late delay after that (a gateway's 503, a reset or a timeout in front
  of a service that still acts on the request a moment later).
- ``VALUE``: the fraction of the action's requests (0..1); the fractions of one action add up.

Example: ``SubmitJob:throttle=0.3,*:transient=0.05,SubmitJob:reset@after=0.05,SubmitJob:lost@late=0.2``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qs

if TYPE_CHECKING:
    import random
    from collections.abc import Iterable, Mapping, Sequence

KINDS = ("throttle", "500", "503", "reset", "timeout", "transient", "lost", "slow", "limit")
#: The kinds that take ``@after`` or ``@late`` (the request goes through, the answer is lost).
AFTER_KINDS = frozenset({"500", "503", "reset", "timeout", "transient", "lost"})
#: The suffixes of a kind: when the request reaches the emulator, relative to the fault.
WHENS = ("before", "after", "late")
#: What ``*`` covers: the services whose throttles and faults the plugin must ride out.
DEFAULT_SERVICES = frozenset({"batch", "logs"})
TRANSIENT_CHOICES = ("500", "503", "reset")
LOST_CHOICES = ("503", "reset", "timeout")


class Action(NamedTuple):
    """An AWS API action: its service (the SigV4 signing name) and operation name ('' if unknown)."""

    service: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.service}:{self.name or '*'}"


@dataclass(frozen=True)
class FaultRule:
    """One rule of a fault spec (see the module docstring)."""

    target: str
    kind: str
    value: float
    after: bool = False
    late: bool = False

    @property
    def label(self) -> str:
        """The fault's name in counts: ``throttle``, ``reset@after``, ``503@late``..."""
        if self.after:
            return f"{self.kind}@after"
        return f"{self.kind}@late" if self.late else self.kind

    def specificity(self, action: Action) -> int:
        """How closely the rule names ``action``: -1 no match, 0 ``*`` .. 3 ``service:Name``."""
        service, _, name = self.target.rpartition(":")
        if self.target == "*":
            return 0 if action.service in DEFAULT_SERVICES else -1
        if name == "*":
            return 1 if service == action.service else -1
        if not action.name or name.lower() != action.name.lower():
            return -1
        if not service:
            return 2
        return 3 if service == action.service else -1


def parse_rules(spec: str) -> list[FaultRule]:
    """Parse a fault spec; raise ValueError naming the rule that is wrong."""
    rules: list[FaultRule] = []
    for raw in filter(None, (part.strip() for part in spec.split(","))):
        left, equals, value_text = raw.partition("=")
        target, colon, kind_text = left.rpartition(":")
        kind, at, when = kind_text.partition("@")
        if not equals or not colon or not target:
            raise ValueError(f"fault rule {raw!r}: expected TARGET:KIND=VALUE")
        if kind not in KINDS:
            raise ValueError(f"fault rule {raw!r}: kind must be one of {', '.join(KINDS)}")
        if at and (when not in WHENS or (when != "before" and kind not in AFTER_KINDS)):
            raise ValueError(
                f"fault rule {raw!r}: only {', '.join(sorted(AFTER_KINDS))} take @after or @late"
            )
        try:
            value = float(value_text)
        except ValueError:
            raise ValueError(f"fault rule {raw!r}: {value_text!r} is not a number") from None
        if kind == "limit" and value <= 0:
            raise ValueError(f"fault rule {raw!r}: a limit is a positive number of calls a second")
        if kind != "limit" and not 0 <= value <= 1:
            raise ValueError(f"fault rule {raw!r}: a rate is a fraction between 0 and 1")
        rules.append(FaultRule(target.strip(), kind, value, after=when == "after", late=when == "late"))
    return rules


def plan_for(action: Action, rules: Iterable[FaultRule]) -> tuple[list[tuple[str, float]], float | None]:
    """Return the action's fault slices ``[(label, rate)]`` and its rate limit (or None).

    For each label the most specific matching rule wins. Raises ValueError when the rates add up
    to more than 1.
    """
    best: dict[str, tuple[int, FaultRule]] = {}
    for rule in rules:
        rank = rule.specificity(action)
        if rank >= 0 and (rule.label not in best or rank >= best[rule.label][0]):
            best[rule.label] = (rank, rule)
    limit = best.pop("limit", (0, None))[1]
    slices = [(label, rule.value) for label, (_, rule) in best.items() if rule.value > 0]
    if sum(rate for _, rate in slices) > 1 + 1e-9:
        raise ValueError(f"fault rates of {action.key} add up to more than 1: {slices}")
    return slices, (limit.value if limit is not None else None)


def check_rates(rules: Sequence[FaultRule]) -> None:
    """Raise ValueError if the rates of any action the rules can name add up to more than 1."""
    actions = {Action(service, "") for service in DEFAULT_SERVICES}
    for rule in rules:
        service, _, name = rule.target.rpartition(":")
        name = "" if name == "*" else name
        for candidate in [service] if service else DEFAULT_SERVICES:
            actions.add(Action(candidate, name))
    for action in actions:
        plan_for(action, rules)


def draw(rng: random.Random, slices: list[tuple[str, float]]) -> str | None:
    """Pick the fault of one request (or None) from its slices with one draw, then its variant."""
    point = rng.random()
    for label, rate in slices:
        if point < rate:
            kind, at, when = label.partition("@")
            if kind == "transient":
                kind = rng.choice(TRANSIENT_CHOICES)
            elif kind == "lost":
                kind = rng.choice(LOST_CHOICES)
            return f"{kind}{at}{when}"
        point -= rate
    return None


# -- which action a request is -------------------------------------------------------------------------


@cache
def _service_protocol(service: str) -> tuple[str, dict[tuple[str, str], str]]:
    """Return a service's protocol and, for REST JSON, its operations by (method, fixed path)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return "", {}
    routes: dict[tuple[str, str], str] = {}
    if model.protocol == "rest-json":
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = str(http.get("requestUri", "")).split("?")[0]
            if "{" not in uri:
                routes[(str(http.get("method", "POST")).upper(), uri.lower().rstrip("/"))] = name
    return model.protocol, routes


def identify(method: str, path: str, headers: Mapping[str, str], body: bytes, query: str = "") -> Action:
    """Tell the AWS action of a request from its signature scope, target header, path or form."""
    service = _signing_service(headers.get("Authorization", ""))
    target = headers.get("X-Amz-Target", "")
    if not service and target.startswith("Logs_"):
        service = "logs"
    if not service and path.lower().startswith("/v1/"):
        service = "batch"
    if not service:
        return Action("unknown", "")
    if target:
        return Action(service, target.rpartition(".")[2])
    protocol, routes = _service_protocol(service)
    if protocol == "rest-json":
        return Action(service, routes.get((method.upper(), path.lower().rstrip("/")), ""))
    if protocol in ("query", "ec2"):
        form = parse_qs(query) | parse_qs(body.decode("utf-8", "replace"))
        return Action(service, form.get("Action", [""])[0])
    return Action(service, "")


def _signing_service(authorization: str) -> str:
    """The service of a SigV4 ``Credential=KEY/DATE/REGION/SERVICE/aws4_request`` scope, or ''."""
    _, found, rest = authorization.partition("Credential=")
    parts = rest.split(",")[0].split("/") if found else []
    return parts[3] if len(parts) >= 5 else ""


# -- the answers AWS gives ---------------------------------------------------------------------------------

#: (protocol, kind) -> (HTTP status, error code): what AWS answers, as botocore parses it.
ERROR_CODES: dict[tuple[str, str], tuple[int, str]] = {
    ("rest-json", "throttle"): (429, "TooManyRequestsException"),
    ("rest-json", "500"): (500, "ServerException"),
    ("rest-json", "503"): (503, "ServiceUnavailableException"),
    ("json", "throttle"): (400, "ThrottlingException"),
    ("json", "500"): (500, "InternalServerException"),
    ("json", "503"): (503, "ServiceUnavailableException"),
    ("rest-xml", "throttle"): (503, "SlowDown"),
    ("rest-xml", "500"): (500, "InternalError"),
    ("rest-xml", "503"): (503, "ServiceUnavailable"),
    ("query", "throttle"): (400, "Throttling"),
    ("query", "500"): (500, "InternalFailure"),
    ("query", "503"): (503, "ServiceUnavailable"),
    ("ec2", "throttle"): (503, "RequestLimitExceeded"),
    ("ec2", "500"): (500, "InternalError"),
    ("ec2", "503"): (503, "Unavailable"),
}


def error_answer(action: Action, kind: str) -> tuple[int, dict[str, str], bytes]:
    """Return the status, headers and body AWS sends for a throttle, 500 or 503 of ``action``."""
    protocol = _service_protocol(action.service)[0] or "rest-json"
    status, code = ERROR_CODES.get((protocol, kind), ERROR_CODES[("rest-json", kind)])
    message = "Rate exceeded" if kind == "throttle" else "Injected fault: service unavailable"
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if protocol in ("rest-json", "json"):
        headers["x-amzn-ErrorType"] = code
        headers["Content-Type"] = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        return status, headers, json.dumps({"__type": code, "message": message}).encode()
    headers["Content-Type"] = "text/xml"
    error = f"<Code>{code}</Code><Message>{message}</Message>"
    if protocol == "rest-xml":
        body = f"<Error>{error}<RequestId>{request_id}</RequestId></Error>"
    elif protocol == "ec2":
        body = (
            f"<Response><Errors><Error>{error}</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return status, headers, f'<?xml version="1.0" encoding="UTF-8"?>{body}'.encode()
