"""Serve the emulated AWS APIs on a local port, with Batch jobs that really run.

One WSGI app: AWS Batch requests go to the emulator's own dispatch (``dispatch``), every other
request to moto's server app, which serves the other services; ``/_emulator/...`` paths are the
emulator's own (``shape_middleware``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import threading
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from aws_batch_local.bootstrap import BootstrapResult, bootstrap
from aws_batch_local.dispatch import BatchDispatch
from aws_batch_local.omit_nulls import OmitNullMembers
from aws_batch_local.region import BatchRegions
from aws_batch_local.settings import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    EmulatorSettings,
)
from aws_batch_local.shape_middleware import (
    ShapeCheckMiddleware,
    ShapeViolationLog,
    enabled_by_environment,
)

try:  # moto's own server keeps S3 metadata headers with underscores (newer moto 5 releases)
    from moto.moto_server.werkzeug_app import MotoRequestHandler as RequestHandler
except ImportError:  # older moto 5 releases: werkzeug's handler, as their server used
    RequestHandler = WSGIRequestHandler  # type: ignore[misc, assignment]

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from werkzeug.serving import BaseWSGIServer

    StartResponse = Callable[..., Any]


#: How often the serving loop looks for a stop request (a stop waits for the next look).
SHUTDOWN_POLL_SECONDS = 0.05


def airflow_connection_json(endpoint_url: str, region: str) -> str:
    """Return the ``aws_default`` Airflow connection (JSON form) that points at ``endpoint_url``."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": DUMMY_ACCESS_KEY_ID,
            "password": DUMMY_SECRET_ACCESS_KEY,
            "extra": {"endpoint_url": endpoint_url, "region_name": region},
        },
        separators=(",", ":"),
    )


def _raise_open_file_limit() -> None:
    """Allow as many open files as the hard limit: each running job holds a pipe and a pidfd."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _ServingThread:
    """The emulator's WSGI app behind ``middleware``, on a thread."""

    def __init__(self, host: str, port: int, middleware: ShapeCheckMiddleware) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, middleware, threaded=True, request_handler=RequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="aws-emulator-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def moto_app() -> Any:
    """Return moto's WSGI app that dispatches each request to its service's backend.

    Its CloudWatch Logs answers leave out members without a value, as AWS's do.
    """
    return OmitNullMembers(DomainDispatcherApplication(create_backend_app))


class EmulatorApp:
    """AWS Batch requests to ``batch``, every other request to ``other`` (moto's app)."""

    def __init__(self, batch: BatchDispatch, other: Any) -> None:
        self._batch = batch
        self._other = other

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self._batch.handles(environ):
            return self._batch(environ, start_response)
        return self._other(environ, start_response)


class _Endpoint:
    """The served app, set once the port (and so the settings handed to jobs) is known."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)


class EmulatorServer:
    """A local AWS endpoint whose Batch jobs run as local processes (the other services are moto's).

    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one (see ``port`` after ``start()``).
    :param region: region of the bootstrap resources and of the Airflow connection.
    :param bootstrap: create the default network, roles, compute environments and queues.
    :param max_running: most job processes running at once.
    :param step_seconds: least time a job spends in each status (compute environments and job
        queues take twice that to settle after each change).
    :param deleted_visible_seconds: how long a deleted compute environment or job queue stays
        visible as DELETED.
    :param min_time_limit_seconds: least maxTimeSeconds of a job queue's jobStateTimeLimitActions.
    :param check_shapes: check every Batch and CloudWatch Logs answer against botocore's output
        shapes and serve the violations at ``/_emulator/shape-violations``; None: on when the
        environment variable ``AWS_BATCH_LOCAL_CHECK_SHAPES`` is ``1``/``true``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        bootstrap: bool = True,
        max_running: int = 16,
        step_seconds: float = 0.2,
        deleted_visible_seconds: float = 2.0,
        min_time_limit_seconds: int = 1,
        check_shapes: bool | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.bootstrap = bootstrap
        self.max_running = max_running
        self.step_seconds = step_seconds
        self.deleted_visible_seconds = deleted_visible_seconds
        self.min_time_limit_seconds = min_time_limit_seconds
        self.check_shapes = enabled_by_environment(os.environ) if check_shapes is None else check_shapes
        self.resources: BootstrapResult | None = None
        self.shape_violations: ShapeViolationLog | None = ShapeViolationLog() if self.check_shapes else None
        self._server: _ServingThread | None = None
        self.regions: BatchRegions | None = None

    @property
    def endpoint_url(self) -> str:
        """Return the URL clients on this machine use, e.g. ``http://127.0.0.1:5000``.

        A server listening on every address (``0.0.0.0``) is reached through loopback.
        """
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def airflow_connection(self) -> str:
        """Return the ``AIRFLOW_CONN_AWS_DEFAULT`` value that points Airflow at this server."""
        return airflow_connection_json(self.endpoint_url, self.region)

    def start(self) -> EmulatorServer:
        """Start serving (and bootstrap, unless disabled); return self."""
        _raise_open_file_limit()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        endpoint = _Endpoint()
        self._server = _ServingThread(
            self.host, self.port, ShapeCheckMiddleware(endpoint, self.shape_violations)
        )
        self.port = self._server.port
        self.regions = BatchRegions(
            EmulatorSettings(
                max_running=self.max_running,
                step_seconds=self.step_seconds,
                endpoint_url=self.endpoint_url,
                region=self.region,
                deleted_visible_seconds=self.deleted_visible_seconds,
                min_time_limit_seconds=self.min_time_limit_seconds,
            )
        )
        endpoint.app = EmulatorApp(BatchDispatch(self.regions, self.region), moto_app())
        if self.bootstrap:
            self.resources = bootstrap(self.endpoint_url, self.region)
        return self

    def stop(self) -> None:
        """Stop every region's scheduler and job processes, then stop serving."""
        if self.regions is not None:
            self.regions.shutdown()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
