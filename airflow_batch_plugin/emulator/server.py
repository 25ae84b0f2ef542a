"""Serve the emulated AWS APIs on a local port, with Batch jobs that really run."""

from __future__ import annotations

import contextlib
import json
import logging
import resource
from typing import TYPE_CHECKING

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from airflow_batch_plugin.emulator.batch_extension import install, shutdown_all
from airflow_batch_plugin.emulator.bootstrap import BootstrapResult, bootstrap
from airflow_batch_plugin.emulator.settings import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    EmulatorSettings,
)

if TYPE_CHECKING:
    from types import TracebackType


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
    ) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.bootstrap = bootstrap
        self.max_running = max_running
        self.step_seconds = step_seconds
        self.deleted_visible_seconds = deleted_visible_seconds
        self.min_time_limit_seconds = min_time_limit_seconds
        self.resources: BootstrapResult | None = None
        self._server: ThreadedMotoServer | None = None

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
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
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
