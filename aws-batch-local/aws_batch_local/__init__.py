"""Local AWS Batch endpoint: AWS Batch from its own models, jobs that run as local processes."""

from __future__ import annotations

from aws_batch_local.server import EmulatorServer

__all__ = ["EmulatorServer"]
