"""AWS Batch for Apache Airflow 3: everything a DAG imports is exported here.

Exports load lazily (PEP 562): a DAG file pays only for what it uses, and Airflow's provider
discovery (which imports ``airflow_batch_plugin.provider``) imports no operator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.version import __version__

_EXPORTS = {
    "BatchEnvironment": "airflow_batch_plugin.environment",
    "BatchHook": "airflow_batch_plugin.hooks.batch",
    "BatchResourceHook": "airflow_batch_plugin.hooks.batch_resources",
    "CloudWatchLogsHook": "airflow_batch_plugin.hooks.logs",
    "BatchJobFailed": "airflow_batch_plugin.job_state",
    "BatchDeleteComputeEnvironmentOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchDeleteJobQueueOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchDeleteSchedulingPolicyOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchEnsureComputeEnvironmentOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchEnsureEnvironmentOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchEnsureJobQueueOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchEnsureSchedulingPolicyOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchTeardownEnvironmentOperator": "airflow_batch_plugin.operators.infrastructure",
    "BatchDeregisterJobDefinitionOperator": "airflow_batch_plugin.operators.job_definition",
    "BatchRegisterJobDefinitionOperator": "airflow_batch_plugin.operators.job_definition",
    "BatchSubmitJobOperator": "airflow_batch_plugin.operators.submit_job",
    "BatchDecoratedOperator": "airflow_batch_plugin.decorators.batch",
    "BatchTaskError": "airflow_batch_plugin.decorators.batch",
    "batch_task": "airflow_batch_plugin.decorators.batch",
    "BatchResourceInUse": "airflow_batch_plugin.resources",
    "BatchResourceInvalid": "airflow_batch_plugin.resources",
    "BatchComputeEnvironmentSensor": "airflow_batch_plugin.sensors.infrastructure",
    "BatchJobQueueSensor": "airflow_batch_plugin.sensors.infrastructure",
    "BatchJobSensor": "airflow_batch_plugin.sensors.job",
    "BatchComputeEnvironmentTrigger": "airflow_batch_plugin.triggers.resources",
    "BatchJobQueueTrigger": "airflow_batch_plugin.triggers.resources",
    "BatchJobTrigger": "airflow_batch_plugin.triggers.job",
    "EvaluateOnExit": "airflow_batch_plugin.specs.common",
    "RetryStrategy": "airflow_batch_plugin.specs.common",
    "SPOT_RECLAIM_STATUS_REASON": "airflow_batch_plugin.specs.common",
    "ComputeEnvironmentSpec": "airflow_batch_plugin.specs.compute_environment",
    "Ec2Configuration": "airflow_batch_plugin.specs.compute_environment",
    "EksConfiguration": "airflow_batch_plugin.specs.compute_environment",
    "LaunchTemplate": "airflow_batch_plugin.specs.compute_environment",
    "UpdatePolicy": "airflow_batch_plugin.specs.compute_environment",
    "EcsTaskSpec": "airflow_batch_plugin.specs.ecs",
    "TaskContainerDependency": "airflow_batch_plugin.specs.ecs",
    "TaskContainerSpec": "airflow_batch_plugin.specs.ecs",
    "ContainerOverrides": "airflow_batch_plugin.specs.job",
    "EcsPropertiesOverride": "airflow_batch_plugin.specs.job",
    "JobDependency": "airflow_batch_plugin.specs.job",
    "JobSubmissionSpec": "airflow_batch_plugin.specs.job",
    "TaskContainerOverrides": "airflow_batch_plugin.specs.job",
    "ContainerSpec": "airflow_batch_plugin.specs.job_definition",
    "EksSpec": "airflow_batch_plugin.specs.job_definition",
    "JobDefinitionSpec": "airflow_batch_plugin.specs.job_definition",
    "NodeSpec": "airflow_batch_plugin.specs.job_definition",
    "ComputeEnvironmentOrder": "airflow_batch_plugin.specs.job_queue",
    "JobQueueSpec": "airflow_batch_plugin.specs.job_queue",
    "JobStateTimeLimitAction": "airflow_batch_plugin.specs.job_queue",
    "SchedulingPolicySpec": "airflow_batch_plugin.specs.scheduling_policy",
    "ShareAttributes": "airflow_batch_plugin.specs.scheduling_policy",
    "ReplacementRequiredError": "airflow_batch_plugin.specs.update_plan",
    "UpdatePlan": "airflow_batch_plugin.specs.update_plan",
    "SpecValidationError": "airflow_batch_plugin.specs.validation",
}

__all__ = [
    "SPOT_RECLAIM_STATUS_REASON",
    "BatchComputeEnvironmentSensor",
    "BatchComputeEnvironmentTrigger",
    "BatchDecoratedOperator",
    "BatchDeleteComputeEnvironmentOperator",
    "BatchDeleteJobQueueOperator",
    "BatchDeleteSchedulingPolicyOperator",
    "BatchDeregisterJobDefinitionOperator",
    "BatchEnsureComputeEnvironmentOperator",
    "BatchEnsureEnvironmentOperator",
    "BatchEnsureJobQueueOperator",
    "BatchEnsureSchedulingPolicyOperator",
    "BatchEnvironment",
    "BatchHook",
    "BatchJobFailed",
    "BatchJobQueueSensor",
    "BatchJobQueueTrigger",
    "BatchJobSensor",
    "BatchJobTrigger",
    "BatchRegisterJobDefinitionOperator",
    "BatchResourceHook",
    "BatchResourceInUse",
    "BatchResourceInvalid",
    "BatchSubmitJobOperator",
    "BatchTaskError",
    "BatchTeardownEnvironmentOperator",
    "CloudWatchLogsHook",
    "ComputeEnvironmentOrder",
    "ComputeEnvironmentSpec",
    "ContainerOverrides",
    "ContainerSpec",
    "Ec2Configuration",
    "EcsPropertiesOverride",
    "EcsTaskSpec",
    "EksConfiguration",
    "EksSpec",
    "EvaluateOnExit",
    "JobDefinitionSpec",
    "JobDependency",
    "JobQueueSpec",
    "JobStateTimeLimitAction",
    "JobSubmissionSpec",
    "LaunchTemplate",
    "NodeSpec",
    "ReplacementRequiredError",
    "RetryStrategy",
    "SchedulingPolicySpec",
    "ShareAttributes",
    "SpecValidationError",
    "TaskContainerDependency",
    "TaskContainerOverrides",
    "TaskContainerSpec",
    "UpdatePlan",
    "UpdatePolicy",
    "__version__",
    "batch_task",
]

if TYPE_CHECKING:
    from airflow_batch_plugin.decorators.batch import BatchDecoratedOperator, BatchTaskError, batch_task
    from airflow_batch_plugin.environment import BatchEnvironment
    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
    from airflow_batch_plugin.job_state import BatchJobFailed
    from airflow_batch_plugin.operators.infrastructure import (
        BatchDeleteComputeEnvironmentOperator,
        BatchDeleteJobQueueOperator,
        BatchDeleteSchedulingPolicyOperator,
        BatchEnsureComputeEnvironmentOperator,
        BatchEnsureEnvironmentOperator,
        BatchEnsureJobQueueOperator,
        BatchEnsureSchedulingPolicyOperator,
        BatchTeardownEnvironmentOperator,
    )
    from airflow_batch_plugin.operators.job_definition import (
        BatchDeregisterJobDefinitionOperator,
        BatchRegisterJobDefinitionOperator,
    )
    from airflow_batch_plugin.operators.submit_job import BatchSubmitJobOperator
    from airflow_batch_plugin.resources import BatchResourceInUse, BatchResourceInvalid
    from airflow_batch_plugin.sensors.infrastructure import BatchComputeEnvironmentSensor, BatchJobQueueSensor
    from airflow_batch_plugin.sensors.job import BatchJobSensor
    from airflow_batch_plugin.specs.common import SPOT_RECLAIM_STATUS_REASON, EvaluateOnExit, RetryStrategy
    from airflow_batch_plugin.specs.compute_environment import (
        ComputeEnvironmentSpec,
        Ec2Configuration,
        EksConfiguration,
        LaunchTemplate,
        UpdatePolicy,
    )
    from airflow_batch_plugin.specs.ecs import EcsTaskSpec, TaskContainerDependency, TaskContainerSpec
    from airflow_batch_plugin.specs.job import (
        ContainerOverrides,
        EcsPropertiesOverride,
        JobDependency,
        JobSubmissionSpec,
        TaskContainerOverrides,
    )
    from airflow_batch_plugin.specs.job_definition import ContainerSpec, EksSpec, JobDefinitionSpec, NodeSpec
    from airflow_batch_plugin.specs.job_queue import (
        ComputeEnvironmentOrder,
        JobQueueSpec,
        JobStateTimeLimitAction,
    )
    from airflow_batch_plugin.specs.scheduling_policy import SchedulingPolicySpec, ShareAttributes
    from airflow_batch_plugin.specs.update_plan import ReplacementRequiredError, UpdatePlan
    from airflow_batch_plugin.specs.validation import SpecValidationError
    from airflow_batch_plugin.triggers.job import BatchJobTrigger
    from airflow_batch_plugin.triggers.resources import BatchComputeEnvironmentTrigger, BatchJobQueueTrigger


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'airflow_batch_plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
