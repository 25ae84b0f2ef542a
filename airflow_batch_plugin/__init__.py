"""AWS Batch for Apache Airflow 3: everything a DAG imports is exported here.

Exports load lazily (PEP 562), so ``python -m airflow_batch_plugin.emulator`` does not import
Airflow, and a DAG file pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.version import __version__

_EXPORTS = {
    "BatchDeregisterJobDefinitionOperator": "airflow_batch_plugin.operators.job_definition",
    "BatchRegisterJobDefinitionOperator": "airflow_batch_plugin.operators.job_definition",
    "BatchSubmitJobOperator": "airflow_batch_plugin.operators.submit_job",
    "BatchJobSensor": "airflow_batch_plugin.sensors.job",
    "BatchHook": "airflow_batch_plugin.hooks.batch",
    "CloudWatchLogsHook": "airflow_batch_plugin.hooks.logs",
    "BatchJobFailed": "airflow_batch_plugin.job_state",
    "EvaluateOnExit": "airflow_batch_plugin.specs.common",
    "RetryStrategy": "airflow_batch_plugin.specs.common",
    "ContainerOverrides": "airflow_batch_plugin.specs.job",
    "JobDependency": "airflow_batch_plugin.specs.job",
    "JobSubmissionSpec": "airflow_batch_plugin.specs.job",
    "ContainerSpec": "airflow_batch_plugin.specs.job_definition",
    "EksSpec": "airflow_batch_plugin.specs.job_definition",
    "NodeSpec": "airflow_batch_plugin.specs.job_definition",
    "JobDefinitionSpec": "airflow_batch_plugin.specs.job_definition",
    "SpecValidationError": "airflow_batch_plugin.specs.validation",
}

__all__ = [
    "BatchDeregisterJobDefinitionOperator",
    "BatchHook",
    "BatchJobFailed",
    "BatchJobSensor",
    "BatchRegisterJobDefinitionOperator",
    "BatchSubmitJobOperator",
    "CloudWatchLogsHook",
    "ContainerOverrides",
    "ContainerSpec",
    "EksSpec",
    "EvaluateOnExit",
    "JobDefinitionSpec",
    "JobDependency",
    "JobSubmissionSpec",
    "NodeSpec",
    "RetryStrategy",
    "SpecValidationError",
    "__version__",
]

if TYPE_CHECKING:
    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
    from airflow_batch_plugin.job_state import BatchJobFailed
    from airflow_batch_plugin.operators.job_definition import (
        BatchDeregisterJobDefinitionOperator,
        BatchRegisterJobDefinitionOperator,
    )
    from airflow_batch_plugin.operators.submit_job import BatchSubmitJobOperator
    from airflow_batch_plugin.sensors.job import BatchJobSensor
    from airflow_batch_plugin.specs.common import EvaluateOnExit, RetryStrategy
    from airflow_batch_plugin.specs.job import ContainerOverrides, JobDependency, JobSubmissionSpec
    from airflow_batch_plugin.specs.job_definition import ContainerSpec, EksSpec, JobDefinitionSpec, NodeSpec
    from airflow_batch_plugin.specs.validation import SpecValidationError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'airflow_batch_plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
