"""Describe AWS Batch requests as typed, validated specs that turn into boto3 request dicts."""

from __future__ import annotations

from airflow_batch_plugin.specs.common import (
    BatchSpec,
    EvaluateOnExit,
    RetryStrategy,
    SpecContext,
    deferred_validation,
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
from airflow_batch_plugin.specs.eks import (
    EksContainer,
    EksEmptyDir,
    EksSecretVolume,
    EksSpec,
    EksVolume,
    EksVolumeMount,
)
from airflow_batch_plugin.specs.job import ContainerOverrides, JobDependency, JobSubmissionSpec
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec, NodeRange, NodeSpec
from airflow_batch_plugin.specs.validation import Problem, SpecValidationError, is_templated

__all__ = [
    "BatchSpec",
    "ContainerOverrides",
    "ContainerSpec",
    "Device",
    "EfsVolume",
    "EksContainer",
    "EksEmptyDir",
    "EksSecretVolume",
    "EksSpec",
    "EksVolume",
    "EksVolumeMount",
    "EvaluateOnExit",
    "JobDefinitionSpec",
    "JobDependency",
    "JobSubmissionSpec",
    "LinuxParameters",
    "LogConfiguration",
    "MountPoint",
    "NodeRange",
    "NodeSpec",
    "Problem",
    "RetryStrategy",
    "RuntimePlatform",
    "SpecContext",
    "SpecValidationError",
    "Tmpfs",
    "Ulimit",
    "Volume",
    "deferred_validation",
    "is_templated",
]
