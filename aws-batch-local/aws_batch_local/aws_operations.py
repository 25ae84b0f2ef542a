"""Tell which AWS operation an HTTP request calls, from botocore's service models.

A signed request names its service in its SigV4 credential scope (``.../us-east-1/batch/...``);
a JSON-protocol request names its operation in ``X-Amz-Target`` (``Logs_20140328.GetLogEvents``);
a REST-JSON request is its method plus a path matching the operation's ``http.requestUri``
(``POST /v1/describejobs``, ``GET /v1/tags/{resourceArn}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from botocore.model import ServiceModel

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Operation:
    """An AWS operation: the botocore service name and the operation name."""

    service: str
    name: str

    @property
    def key(self) -> str:
        """Return ``service:Operation``, e.g. ``batch:DescribeJobs``."""
        return f"{self.service}:{self.name}"


@dataclass(frozen=True)
class _Route:
    method: str
    path: re.Pattern[str]
    operation: str
    placeholders: int


def signing_service(authorization: str) -> str:
    """Return the service of a SigV4 ``Credential=KEY/DATE/REGION/SERVICE/aws4_request`` scope, or ''."""
    _, found, rest = authorization.partition("Credential=")
    parts = rest.split(",")[0].split("/") if found else []
    return parts[3] if len(parts) >= 5 else ""


def path_pattern(request_uri: str) -> re.Pattern[str]:
    """Return a regular expression for the path part of a ``requestUri`` template.

    ``{name}`` matches one path segment, ``{name+}`` (a greedy label) the rest of the path.
    """
    template = request_uri.split("?", 1)[0].rstrip("/") or "/"
    pattern = ""
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += ".+" if match.group(1).endswith("+") else "[^/]+"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern + "/?")


class OperationFinder:
    """Find the operation of requests to the services of ``models`` (rest-json and json protocols)."""

    def __init__(self, models: Iterable[ServiceModel]) -> None:
        self.models: dict[str, ServiceModel] = {}
        self._by_signing_name: dict[str, str] = {}
        self._by_target_prefix: dict[str, str] = {}
        self._routes: dict[str, list[_Route]] = {}
        for model in models:
            name = model.service_name
            self.models[name] = model
            self._by_signing_name[model.signing_name or name] = name
            prefix = model.metadata.get("targetPrefix")
            if prefix:
                self._by_target_prefix[str(prefix)] = name
            if model.protocol == "rest-json":
                self._routes[name] = _routes_of(model)

    def find(self, method: str, path: str, headers: Mapping[str, str]) -> Operation | None:
        """Return the operation of a request, or None when it is for no known service or operation.

        :param method: the HTTP method.
        :param path: the request path as sent (still percent-encoded), without the query string.
        :param headers: the request headers (names case-insensitive for ``Authorization`` and
            ``X-Amz-Target``).
        """
        lowered = {key.lower(): value for key, value in headers.items()}
        target = lowered.get("x-amz-target", "")
        if target:
            prefix, _, name = target.rpartition(".")
            service = self._by_target_prefix.get(prefix)
            if service is not None and name in self.models[service].operation_names:
                return Operation(service, name)
            return None
        service = self._by_signing_name.get(signing_service(lowered.get("authorization", "")))
        if service is None:
            return None
        for route in self._routes.get(service, ()):
            if route.method == method.upper() and route.path.fullmatch(path):
                return Operation(service, route.operation)
        return None


def _routes_of(model: ServiceModel) -> list[_Route]:
    """Return a rest-json service's routes, fixed paths before templated ones."""
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http.get("requestUri", "/"))
        routes.append(
            _Route(str(http.get("method", "POST")).upper(), path_pattern(uri), name, uri.count("{"))
        )
    return sorted(routes, key=lambda route: route.placeholders)
