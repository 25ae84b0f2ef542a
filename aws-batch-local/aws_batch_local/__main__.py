"""Command line: ``aws-batch-local --port PORT`` (or ``python -m aws_batch_local``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from aws_batch_local.bootstrap import (
    DEFAULT_COMPUTE_ENVIRONMENT,
    DEFAULT_JOB_QUEUE,
    DEMO_BUCKET,
    EKS_COMPUTE_ENVIRONMENT,
    EKS_JOB_QUEUE,
    FARGATE_COMPUTE_ENVIRONMENT,
    FARGATE_JOB_QUEUE,
)
from aws_batch_local.server import EmulatorServer
from aws_batch_local.shape_middleware import ENVIRONMENT_VARIABLE, REPORT_PATH

if TYPE_CHECKING:
    from types import FrameType


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="aws-batch-local",
        description="Serve local AWS APIs (Batch, CloudWatch Logs, IAM, EC2...); jobs run as processes.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0 picks a free one")
    parser.add_argument("--region", default="us-east-1", help="region of the bootstrap resources")
    parser.add_argument("--max-running", type=int, default=16, help="most job processes at once (default 16)")
    parser.add_argument(
        "--step-seconds", type=float, default=0.2, help="least time a job spends in each status (default 0.2)"
    )
    parser.add_argument(
        "--deleted-visible-seconds",
        type=float,
        default=2.0,
        help="how long deleted compute environments and job queues stay visible as DELETED (default 2)",
    )
    parser.add_argument(
        "--min-time-limit-seconds",
        type=int,
        default=1,
        help="least maxTimeSeconds of jobStateTimeLimitActions (AWS: 600; default 1 for quick demos)",
    )
    parser.add_argument(
        "--bootstrap",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="create the default VPC, roles, compute environments, job queues and demo bucket (default on)",
    )
    parser.add_argument(
        "--check-shapes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check every Batch and CloudWatch Logs answer against botocore's output shapes; violations "
        f"are logged and served at {REPORT_PATH} (default: on when {ENVIRONMENT_VARIABLE}=1)",
    )
    return parser.parse_args(argv)


def startup_lines(server: EmulatorServer) -> list[str]:
    """Return what the emulator prints once it is ready; the Airflow connection comes last."""
    lines = [f"AWS Batch emulator listening on {server.endpoint_url}", f"Region: {server.region}"]
    if server.bootstrap:
        lines += [
            f"Job queue: {DEFAULT_JOB_QUEUE} (compute environment {DEFAULT_COMPUTE_ENVIRONMENT})",
            f"Fargate job queue: {FARGATE_JOB_QUEUE} (compute environment {FARGATE_COMPUTE_ENVIRONMENT})",
            f"EKS job queue: {EKS_JOB_QUEUE} (compute environment {EKS_COMPUTE_ENVIRONMENT})",
            f"S3 bucket: {DEMO_BUCKET}",
        ]
    if server.check_shapes:
        lines.append(f"Checking answers against botocore's shapes: {server.endpoint_url}{REPORT_PATH}")
    lines += [
        f"export AWS_ENDPOINT_URL={server.endpoint_url}",
        f"export AIRFLOW_CONN_AWS_DEFAULT='{server.airflow_connection}'",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGINT or SIGTERM; kill every job process on the way out."""
    arguments = parse_arguments(argv)
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = EmulatorServer(
        host=arguments.host,
        port=arguments.port,
        region=arguments.region,
        bootstrap=arguments.bootstrap,
        max_running=arguments.max_running,
        step_seconds=arguments.step_seconds,
        deleted_visible_seconds=arguments.deleted_visible_seconds,
        min_time_limit_seconds=arguments.min_time_limit_seconds,
        check_shapes=arguments.check_shapes,
    )
    server.start()
    try:
        print("\n".join(startup_lines(server)), flush=True)
        while not stop_requested.wait(timeout=1.0):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
