"""Local AWS Batch endpoint: moto's models, with jobs that run as local processes."""

from __future__ import annotations

from airflow_batch_plugin.emulator.batch_extension import install
from airflow_batch_plugin.emulator.server import EmulatorServer

__all__ = ["EmulatorServer", "install"]
