"""The "AWS Batch" monitoring view served by the plugin on the Airflow api-server."""

from __future__ import annotations
