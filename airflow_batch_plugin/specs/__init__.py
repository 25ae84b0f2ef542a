"""Describe AWS Batch requests as typed, validated specs that turn into boto3 request dicts."""

from __future__ import annotations

from airflow_batch_plugin.specs.common import (
    BatchSpec,
    EvaluateOnExit,
    RetryStrategy,
    SpecContext,
    deferred_validation,
)
from airflow_batch_plugin.specs.compute_environment import (
    ComputeEnvironmentSpec,
    Ec2Configuration,
    EksConfiguration,
    LaunchTemplate,
    UpdatePolicy,
)
from airflow_batch_plugin.specs.container import (
    ContainerSpec,
    Device,
    EfsVolume,
    LinuxParameters,
    LogConfiguration,
    MountPoint,
    RuntimePlatform,
    Tmpfs,
    Ulimit,
    Volume,
)
from airflow_batch_plugin.specs.ecs import (
    EcsTaskSpec,
    FirelensConfiguration,
    TaskContainerDependency,
    TaskContainerSpec,
)
from airflow_batch_plugin.specs.eks import (
    EksContainer,
    EksEmptyDir,
    EksSecretVolume,
    EksSpec,
    EksVolume,
    EksVolumeMount,
)
from airflow_batch_plugin.specs.job import (
    ContainerOverrides,
    EcsPropertiesOverride,
    JobDependency,
    JobSubmissionSpec,
    TaskContainerOverrides,
)
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec, NodeRange, NodeSpec
from airflow_batch_plugin.specs.job_queue import (
    ComputeEnvironmentOrder,
    JobQueueSpec,
    JobStateTimeLimitAction,
)
from airflow_batch_plugin.specs.scheduling_policy import SchedulingPolicySpec, ShareAttributes
from airflow_batch_plugin.specs.update_plan import ReplacementRequiredError, UpdatePlan
from airflow_batch_plugin.specs.validation import Problem, SpecValidationError, is_templated

__all__ = [
    "BatchSpec",
    "ComputeEnvironmentOrder",
    "ComputeEnvironmentSpec",
    "ContainerOverrides",
    "ContainerSpec",
    "Device",
    "Ec2Configuration",
    "EcsPropertiesOverride",
    "EcsTaskSpec",
    "EfsVolume",
    "EksConfiguration",
    "EksContainer",
    "EksEmptyDir",
    "EksSecretVolume",
    "EksSpec",
    "EksVolume",
    "EksVolumeMount",
    "EvaluateOnExit",
    "FirelensConfiguration",
    "JobDefinitionSpec",
    "JobDependency",
    "JobQueueSpec",
    "JobStateTimeLimitAction",
    "JobSubmissionSpec",
    "LaunchTemplate",
    "LinuxParameters",
    "LogConfiguration",
    "MountPoint",
    "NodeRange",
    "NodeSpec",
    "Problem",
    "ReplacementRequiredError",
    "RetryStrategy",
    "RuntimePlatform",
    "SchedulingPolicySpec",
    "ShareAttributes",
    "SpecContext",
    "SpecValidationError",
    "TaskContainerDependency",
    "TaskContainerOverrides",
    "TaskContainerSpec",
    "Tmpfs",
    "Ulimit",
    "UpdatePlan",
    "UpdatePolicy",
    "Volume",
    "deferred_validation",
    "is_templated",
]
