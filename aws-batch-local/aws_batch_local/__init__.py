"""Local AWS Batch endpoint: moto's models, with jobs that run as local processes."""

from __future__ import annotations

from aws_batch_local.batch_extension import install
from aws_batch_local.server import EmulatorServer

__all__ = ["EmulatorServer", "install"]
