"""Serve the emulated AWS APIs on a local port, with Batch jobs that really run."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import threading
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from aws_batch_local.batch_extension import install, shutdown_all
from aws_batch_local.bootstrap import BootstrapResult, bootstrap
from aws_batch_local.omit_nulls import OmitNullMembers
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

if TYPE_CHECKING:
    from types import TracebackType

    from werkzeug.serving import BaseWSGIServer


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
    """moto's WSGI app (as moto's own server composes it) behind ``middleware``, on a thread."""

    def __init__(self, host: str, port: int, middleware: ShapeCheckMiddleware) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, middleware, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-emulator-http", daemon=True
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


class EmulatorServer:
    """A local AWS endpoint (moto's server) whose Batch jobs run as local processes.

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
        install()
        self._server = _ServingThread(
            self.host, self.port, ShapeCheckMiddleware(moto_app(), self.shape_violations)
        )
        self.port = self._server.port
        install(
            EmulatorSettings(
                max_running=self.max_running,
                step_seconds=self.step_seconds,
                endpoint_url=self.endpoint_url,
                region=self.region,
                deleted_visible_seconds=self.deleted_visible_seconds,
                min_time_limit_seconds=self.min_time_limit_seconds,
            )
        )
        if self.bootstrap:
            self.resources = bootstrap(self.endpoint_url, self.region)
        return self

    def stop(self) -> None:
        """Kill every job process and stop serving."""
        shutdown_all()
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
