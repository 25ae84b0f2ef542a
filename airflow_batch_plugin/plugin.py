"""The Airflow plugin (``airflow.plugins`` entry point).

It makes the package known to Airflow's plugin manager; the operator extra links and the
monitoring view are registered here as they land.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AwsBatchPlugin(AirflowPlugin):
    """AWS Batch integration for the Airflow UI."""

    name = "aws_batch"
