"""Describe an AWS Batch compute environment, check it against AWS's rules, and plan its updates.

One :class:`ComputeEnvironmentSpec` covers every kind AWS Batch has: managed EC2 On-Demand
(``type="EC2"``), EC2 Spot (``"SPOT"``), Fargate (``"FARGATE"``), Fargate Spot
(``"FARGATE_SPOT"``), EKS (``"EC2"`` or ``"SPOT"`` with an ``eks_configuration``) and unmanaged
(``"UNMANAGED"``). :meth:`ComputeEnvironmentSpec.to_create_request` gives the keyword arguments
of boto3's ``create_compute_environment``; :meth:`ComputeEnvironmentSpec.plan` compares the spec
with ``describe_compute_environments()["computeEnvironments"][0]`` and says what to do.

What AWS can change in place (see "Updating compute environments" in the AWS Batch User Guide):

- scaling updates, always: ``min_vcpus``, ``max_vcpus``, ``state``, ``service_role`` (between
  regular IAM roles), ``unmanaged_vcpus``, ``update_policy``; on Fargate also ``subnets`` and
  ``security_group_ids``;
- infrastructure updates, only when the compute environment uses an allocation strategy other
  than ``BEST_FIT`` and the ``AWSServiceRoleForBatch`` service-linked role: ``type`` (EC2 <->
  SPOT), ``allocation_strategy``, ``instance_types``, ``bid_percentage``, ``ec2_configuration``,
  ``launch_template``, ``ec2_key_pair``, ``subnets``, ``security_group_ids``,
  ``placement_group``, ``instance_role`` and ``instance_tags``;
- never: managed vs unmanaged, EC2/Spot vs Fargate, FARGATE vs FARGATE_SPOT, ECS vs EKS, the EKS
  cluster and namespace, ``spot_iam_fleet_role``, and switching ``service_role`` between the
  service-linked role and a regular role.

``desired_vcpus`` is used when creating only: AWS moves it with the demand on its queues and
does not accept lowering it, so it is never compared.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow_batch_plugin.specs.common import (
    IAM_ROLE_ARN,
    IAM_ROLE_ARN_RULE,
    JOB_NAME,
    BatchSpec,
    SpecContext,
    check_bool,
    check_choice,
    check_non_empty,
    coerce_spec,
    coerce_spec_list,
    deferred_validation,
    request_of,
    to_int,
    to_upper,
)
from airflow_batch_plugin.specs.extra_fields import (
    RequestModel,
    check_extra_fields,
    own_request_or_none,
    plan_extra_fields,
    with_extra_fields,
)
from airflow_batch_plugin.specs.update_plan import (
    PlanBuilder,
    UpdatePlan,
    as_set,
    compare,
    create_plan,
    is_absent,
)
from airflow_batch_plugin.specs.validation import (
    Checker,
    Problem,
    SpecValidationError,
    drop_none,
    is_unresolved,
)

__all__ = [
    "ALLOCATION_STRATEGIES",
    "COMPUTE_ENVIRONMENT_TYPES",
    "ComputeEnvironmentSpec",
    "Ec2Configuration",
    "EksConfiguration",
    "LaunchTemplate",
    "UpdatePolicy",
    "job_queue_type_of",
]

#: ``type`` values: the compute resource types, plus UNMANAGED for an unmanaged environment.
COMPUTE_ENVIRONMENT_TYPES = ("EC2", "SPOT", "FARGATE", "FARGATE_SPOT", "UNMANAGED")
EC2_TYPES = ("EC2", "SPOT")
FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")
ALLOCATION_STRATEGIES = (
    "BEST_FIT",
    "BEST_FIT_PROGRESSIVE",
    "BEST_FIT_PROGRESSIVE_ORDERED",
    "SPOT_CAPACITY_OPTIMIZED",
    "SPOT_PRICE_CAPACITY_OPTIMIZED",
    "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED",
)
SPOT_ONLY_STRATEGIES = (
    "SPOT_CAPACITY_OPTIMIZED",
    "SPOT_PRICE_CAPACITY_OPTIMIZED",
    "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED",
)
ON_DEMAND_ONLY_STRATEGIES = ("BEST_FIT_PROGRESSIVE_ORDERED",)
#: Strategies that try ``instance_types`` in the order given: there the list order matters.
ORDERED_STRATEGIES = ("BEST_FIT_PROGRESSIVE_ORDERED", "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED")
STATES = ("ENABLED", "DISABLED")
#: Fargate compute resources take up to 16 subnets and up to 5 security groups.
MAX_FARGATE_SUBNETS = 16
MAX_FARGATE_SECURITY_GROUPS = 5
#: An infrastructure update may take up to 7200 minutes per job (botocore's model: 1..7200).
MAX_JOB_EXECUTION_TIMEOUT_MINUTES = 7200
SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
#: Instance types AWS Batch picks for you; ``optimal`` means the same as ``default_x86_64``.
INSTANCE_BUNDLES = ("optimal", "default_x86_64", "default_arm64")

NAME_RULE = (
    "must be 1 to 128 letters, numbers, hyphens (-) and underscores (_), starting with a letter or number"
)
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\d[a-z0-9-]*(\.[a-z0-9-]+)?")
_INSTANCE_TYPE_RULE = (
    'must be an instance type ("m5.large"), an instance family ("m5"), "optimal", '
    '"default_x86_64" or "default_arm64"'
)
#: Graviton (arm64) families: a1, and a generation digit followed by "g" (m6g, c7gn, r8gd, t4g...).
_ARM_FAMILY = re.compile(r"a1|[a-z]+\d+g[a-z]*")
_SUBNET = re.compile(r"subnet-[0-9a-zA-Z]+")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-zA-Z]+")
_SERVICE_ROLE = re.compile(r"(arn:aws[a-z-]*:iam::\d{12}:role/)?[\w+=,.@/-]{1,512}")
_SERVICE_ROLE_RULE = "must be an IAM role name (optionally with its path) or role ARN"
_INSTANCE_PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]{1,512}")
_INSTANCE_PROFILE_NAME = re.compile(r"[\w+=,.@/-]{1,128}")
_EKS_CLUSTER_ARN = re.compile(r"arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_KUBERNETES_NAMESPACE = re.compile(r"(?=.{1,63}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LAUNCH_TEMPLATE_ID = re.compile(r"lt-[0-9a-zA-Z]+")


# --- nested parts ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class LaunchTemplate(BatchSpec):
    """Point the instances of an EC2/Spot compute environment at an EC2 launch template.

    :param launch_template_id: the template's id (``lt-...``); give this or the name.
    :param launch_template_name: the template's name.
    :param version: a version number, ``"$Default"`` (AWS's default) or ``"$Latest"``.

    A plain string is taken as an id when it starts with ``lt-``, else as a name.
    """

    launch_template_id: str | None = None
    launch_template_name: str | None = None
    version: str | None = None

    def _normalize(self, c: Checker) -> None:
        version = self.version
        if isinstance(version, int) and not isinstance(version, bool):
            self._replace_field("version", str(version))

    def _check(self, c: Checker, context: SpecContext) -> None:
        given = [f for f in ("launch_template_id", "launch_template_name") if getattr(self, f) is not None]
        if len(given) != 1:
            c.fail(
                "",
                {f: getattr(self, f) for f in given} or None,
                "give exactly one of launch_template_id or launch_template_name",
            )
        if self.launch_template_id is not None:
            c.pattern(
                "launch_template_id",
                self.launch_template_id,
                _LAUNCH_TEMPLATE_ID,
                "must be a launch template id (lt-...)",
            )
        if self.launch_template_name is not None:
            check_non_empty(c, "launch_template_name", self.launch_template_name)
        version = self.version
        if version is not None and not is_unresolved(version):
            c.check(
                isinstance(version, str) and (version in ("$Default", "$Latest") or version.isdigit()),
                "version",
                version,
                'must be a version number, "$Default" or "$Latest"',
            )

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "launchTemplateId": self.launch_template_id,
                "launchTemplateName": self.launch_template_name,
                "version": self.version,
            }
        )


def _launch_template_from_str(value: Any) -> LaunchTemplate | None:
    if not isinstance(value, str):
        return None
    with deferred_validation():
        if _LAUNCH_TEMPLATE_ID.fullmatch(value):
            return LaunchTemplate(launch_template_id=value)
        return LaunchTemplate(launch_template_name=value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ec2Configuration(BatchSpec):
    """Choose the AMI of the instances of one image type (EC2/Spot/EKS compute environments).

    :param image_type: ``ECS_AL2023`` (AWS's default for ECS), ``ECS_AL2023_NVIDIA``, ``ECS_AL2``,
        ``ECS_AL2_NVIDIA``; for EKS ``EKS_AL2023`` (default), ``EKS_AL2023_NVIDIA``, ``EKS_AL2``,
        ``EKS_AL2_NVIDIA``.
    :param image_id_override: an AMI id to use for this image type instead of AWS's.
    :param image_kubernetes_version: the Kubernetes version of the AMI (EKS only).
    """

    image_type: str
    image_id_override: str | None = None
    image_kubernetes_version: str | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("image_type", to_upper(self.image_type))

    def _check(self, c: Checker, context: SpecContext) -> None:
        for field in ("image_type", "image_id_override", "image_kubernetes_version"):
            value = getattr(self, field)
            if value is None and field != "image_type":
                continue
            if check_non_empty(c, field, value) and not is_unresolved(value):
                c.check(len(value) <= 256, field, value, "must be at most 256 characters")
        image_id = self.image_id_override
        if isinstance(image_id, str) and image_id and not is_unresolved(image_id):
            c.check(image_id.startswith("ami-"), "image_id_override", image_id, "must be an AMI id (ami-...)")

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "imageType": self.image_type,
                "imageIdOverride": self.image_id_override,
                "imageKubernetesVersion": self.image_kubernetes_version,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksConfiguration(BatchSpec):
    """Run the compute environment's jobs as pods on an Amazon EKS cluster.

    :param eks_cluster_arn: ``arn:aws:eks:REGION:ACCOUNT:cluster/NAME``.
    :param kubernetes_namespace: the namespace Batch manages its pods in: a DNS label of at most
        63 characters, not ``default`` and not starting with ``kube-``.
    """

    eks_cluster_arn: str
    kubernetes_namespace: str

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "eks_cluster_arn", self.eks_cluster_arn):
            c.pattern(
                "eks_cluster_arn",
                self.eks_cluster_arn,
                _EKS_CLUSTER_ARN,
                "must be an EKS cluster ARN (arn:aws:eks:us-east-1:123456789012:cluster/name)",
            )
        namespace = self.kubernetes_namespace
        if not check_non_empty(c, "kubernetes_namespace", namespace) or is_unresolved(namespace):
            return
        c.pattern(
            "kubernetes_namespace",
            namespace,
            _KUBERNETES_NAMESPACE,
            "must be at most 63 lowercase letters, numbers and '-', starting and ending with a letter "
            "or number",
        )
        c.check(
            namespace != "default",
            "kubernetes_namespace",
            namespace,
            "must not be 'default' (AWS Batch needs a namespace of its own)",
        )
        c.check(
            not namespace.startswith("kube-"),
            "kubernetes_namespace",
            namespace,
            "must not start with 'kube-' (reserved by Kubernetes)",
        )

    def to_request(self) -> dict[str, Any]:
        return {"eksClusterArn": self.eks_cluster_arn, "kubernetesNamespace": self.kubernetes_namespace}


@dataclasses.dataclass(frozen=True, kw_only=True)
class UpdatePolicy(BatchSpec):
    """Say what happens to running jobs while AWS replaces instances in an infrastructure update.

    :param terminate_jobs_on_update: terminate running jobs at once (AWS's default: False).
    :param job_execution_timeout_minutes: how long running jobs may go on, 1 to 7200 minutes
        (AWS's default: 30).
    """

    terminate_jobs_on_update: bool | None = None
    job_execution_timeout_minutes: int | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("job_execution_timeout_minutes", to_int(self.job_execution_timeout_minutes))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_bool(c, "terminate_jobs_on_update", self.terminate_jobs_on_update)
        c.int_range(
            "job_execution_timeout_minutes",
            self.job_execution_timeout_minutes,
            1,
            MAX_JOB_EXECUTION_TIMEOUT_MINUTES,
        )

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "terminateJobsOnUpdate": self.terminate_jobs_on_update,
                "jobExecutionTimeoutMinutes": self.job_execution_timeout_minutes,
            }
        )


# --- helpers shared with the planner ---------------------------------------------------------


def _str_list(c: Checker, field: str, value: Any) -> Any:
    """Return a list of strings from a list, tuple or set; a lone string becomes a one-item list."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if is_unresolved(value) else [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if is_unresolved(value):
        return value
    c.fail(field, value, "must be a list of strings")
    return value


def _check_id_list(c: Checker, field: str, value: Any, regex: re.Pattern[str], rule: str) -> None:
    if not isinstance(value, list):
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not c.check(isinstance(item, str), f"{field}[{index}]", item, "must be a string"):
            continue
        c.pattern(f"{field}[{index}]", item, regex, rule)
        c.check(item not in seen, f"{field}[{index}]", item, "is listed twice")
        seen.add(item)


def _instance_type_key(value: str) -> str:
    text = value.strip().lower()
    return "default_x86_64" if text == "optimal" else text


def _is_arm(instance_type: str) -> bool:
    if instance_type == "default_arm64":
        return True
    if instance_type in INSTANCE_BUNDLES:
        return False
    return bool(_ARM_FAMILY.fullmatch(instance_type.split(".", 1)[0]))


def _role_path(value: Any) -> Any:
    """Return an IAM role as its path and name (``service-role/X``) whether given as ARN or name."""
    if not isinstance(value, str):
        return value
    if value.startswith("arn:") and ":role/" in value:
        return value.split(":role/", 1)[1]
    return value.lstrip("/")


def _is_service_linked(role: Any) -> bool:
    return isinstance(role, str) and _role_path(role).rsplit("/", 1)[-1] == SERVICE_LINKED_ROLE


def _role_key(value: Any) -> Any:
    """Return a service role in the form compared: the service-linked role by its name alone."""
    return SERVICE_LINKED_ROLE if _is_service_linked(value) else _role_path(value)


def _profile_name(value: Any) -> Any:
    """Return an instance profile's name whether given as ARN, path or name."""
    if isinstance(value, str):
        return value.rsplit("/", 1)[-1]
    return value


def _ec2_configuration_key(entries: Any, *, compare_versions: bool) -> Any:
    """Return EC2 configurations as a set of (image type, AMI override[, Kubernetes version])."""
    if entries is None:
        return None
    result = set()
    for entry in entries:
        item = entry.to_request() if isinstance(entry, BatchSpec) else dict(entry)
        key: tuple[Any, ...] = (str(item.get("imageType", "")).upper(), item.get("imageIdOverride"))
        if compare_versions:
            key += (item.get("imageKubernetesVersion"),)
        result.add(key)
    return frozenset(result)


def _launch_template_key(value: Any, desired: LaunchTemplate) -> Any:
    if not isinstance(value, Mapping):
        return value
    by_id = desired.launch_template_id is not None
    return (
        value.get("launchTemplateId") if by_id else value.get("launchTemplateName"),
        value.get("version") or "$Default",
    )


def job_queue_type_of(detail: Mapping[str, Any]) -> str:
    """Return the job queue type a described compute environment belongs to.

    ``"EKS"`` for EKS compute environments, ``"ECS_FARGATE"`` for Fargate and Fargate Spot,
    ``"ECS_MANAGED_INSTANCES"`` for ECS Managed Instances, ``"ECS"`` for EC2, Spot and unmanaged.
    """
    if detail.get("containerOrchestrationType") == "EKS" or detail.get("eksConfiguration"):
        return "EKS"
    resource_type = (detail.get("computeResources") or {}).get("type")
    if resource_type in FARGATE_TYPES:
        return "ECS_FARGATE"
    if resource_type == "ECS_MANAGED_INSTANCES":
        return "ECS_MANAGED_INSTANCES"
    return "ECS"


# --- the spec --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComputeEnvironmentSpec(BatchSpec):
    """Describe a compute environment: managed EC2, Spot, Fargate, Fargate Spot, EKS, or unmanaged.

    :param name: 1 to 128 letters, numbers, hyphens and underscores, starting with a letter or
        number.
    :param type: ``"EC2"`` (On-Demand), ``"SPOT"``, ``"FARGATE"``, ``"FARGATE_SPOT"`` or
        ``"UNMANAGED"`` (you launch the instances). EKS environments are ``"EC2"`` or ``"SPOT"``
        with an ``eks_configuration``.
    :param state: ``"ENABLED"`` (AWS's default) or ``"DISABLED"``.
    :param max_vcpus: the most vCPUs the environment scales to; required when managed.
    :param min_vcpus: the vCPUs kept even when idle (EC2/Spot/EKS; AWS's default 0).
    :param desired_vcpus: the vCPUs to start with (EC2/Spot/EKS); used at creation only.
    :param instance_types: instance types (``"m5.large"``), families (``"m5"``), ``"optimal"``,
        ``"default_x86_64"`` or ``"default_arm64"``; one architecture only. Required for EC2/Spot.
    :param allocation_strategy: ``BEST_FIT`` (AWS's default for ECS), ``BEST_FIT_PROGRESSIVE``,
        ``BEST_FIT_PROGRESSIVE_ORDERED`` (EC2 only), ``SPOT_CAPACITY_OPTIMIZED``,
        ``SPOT_PRICE_CAPACITY_OPTIMIZED`` or ``SPOT_CAPACITY_OPTIMIZED_PRIORITIZED`` (Spot only).
        Required for EKS. Only non-``BEST_FIT`` environments can be updated beyond scaling.
    :param subnets: VPC subnet ids (``subnet-...``), required when managed; Fargate: up to 16.
    :param security_group_ids: security group ids (``sg-...``); required for Fargate (up to 5),
        and for EC2/Spot unless the launch template sets them.
    :param instance_role: the ECS instance profile, name or ARN; required for EC2/Spot/EKS.
    :param launch_template: a :class:`LaunchTemplate`, a dict of its fields, or an id/name string.
    :param ec2_configuration: one or two :class:`Ec2Configuration` (or dicts) choosing AMIs.
    :param ec2_key_pair: the EC2 key pair for SSH access to the instances.
    :param placement_group: the EC2 placement group of the instances.
    :param bid_percentage: Spot only: the highest Spot price, in percent of On-Demand (0 to 100).
    :param spot_iam_fleet_role: Spot only: the Spot Fleet role ARN; required with ``BEST_FIT``
        (or no allocation strategy).
    :param instance_tags: tags of the EC2 instances (AWS's ``computeResources.tags``).
    :param eks_configuration: an :class:`EksConfiguration` (or dict) for an EKS environment.
    :param unmanaged_vcpus: UNMANAGED only: vCPUs to reserve for fair-share scheduling.
    :param service_role: the AWS Batch service role, name or ARN; required for UNMANAGED. When
        omitted, managed environments use the ``AWSServiceRoleForBatch`` service-linked role.
    :param update_policy: an :class:`UpdatePolicy` (or dict) for infrastructure updates.
    :param tags: tags of the compute environment itself (up to 50).
    :param extra_request_fields: CreateComputeEnvironment members the spec does not model yet,
        in AWS's shape (e.g. ``{"context": "..."}`` or ``{"computeResources": {"imageId": ...}}``),
        deep-merged into the create request and checked by botocore's parameter validation; a
        member the spec sets (or, at the top level, models) is refused. On an existing
        environment, :meth:`plan` compares each extra member DescribeComputeEnvironments returns:
        a difference goes into the UpdateComputeEnvironment request when that operation has the
        member (and, under ``computeResources``, when AWS can update the infrastructure in place),
        else it makes the plan ``replace_required``; a member Describe doesn't return is left as
        created. See :mod:`airflow_batch_plugin.specs.extra_fields`.
    """

    #: What the spec models of CreateComputeEnvironment: request member -> spec field(s).
    _REQUEST_MODEL: ClassVar[RequestModel] = RequestModel(
        "CreateComputeEnvironment",
        {
            "computeEnvironmentName": "name",
            "type": "type",
            "state": "state",
            "unmanagedvCpus": "unmanaged_vcpus",
            "computeResources": "type, max_vcpus, instance_types, subnets... (the compute resources)",
            **{
                f"computeResources.{member}": field
                for member, field in (
                    ("type", "type"),
                    ("allocationStrategy", "allocation_strategy"),
                    ("minvCpus", "min_vcpus"),
                    ("maxvCpus", "max_vcpus"),
                    ("desiredvCpus", "desired_vcpus"),
                    ("instanceTypes", "instance_types"),
                    ("subnets", "subnets"),
                    ("securityGroupIds", "security_group_ids"),
                    ("ec2KeyPair", "ec2_key_pair"),
                    ("instanceRole", "instance_role"),
                    ("tags", "instance_tags"),
                    ("placementGroup", "placement_group"),
                    ("bidPercentage", "bid_percentage"),
                    ("spotIamFleetRole", "spot_iam_fleet_role"),
                    ("launchTemplate", "launch_template"),
                    ("ec2Configuration", "ec2_configuration"),
                )
            },
            "serviceRole": "service_role",
            "tags": "tags",
            "eksConfiguration": "eks_configuration",
        },
    )

    name: str
    type: str
    state: str | None = None
    max_vcpus: int | None = None
    min_vcpus: int | None = None
    desired_vcpus: int | None = None
    instance_types: Sequence[str] | None = None
    allocation_strategy: str | None = None
    subnets: Sequence[str] | None = None
    security_group_ids: Sequence[str] | None = None
    instance_role: str | None = None
    launch_template: LaunchTemplate | Mapping[str, Any] | str | None = None
    ec2_configuration: Sequence[Ec2Configuration | Mapping[str, Any]] | None = None
    ec2_key_pair: str | None = None
    placement_group: str | None = None
    bid_percentage: int | None = None
    spot_iam_fleet_role: str | None = None
    instance_tags: Mapping[str, str] | None = None
    eks_configuration: EksConfiguration | Mapping[str, Any] | None = None
    unmanaged_vcpus: int | None = None
    service_role: str | None = None
    update_policy: UpdatePolicy | Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = None
    extra_request_fields: Mapping[str, Any] | None = None

    # -- kinds -----------------------------------------------------------------------------------

    @property
    def is_managed(self) -> bool:
        """Tell whether AWS Batch manages the capacity (every type but UNMANAGED)."""
        return self.type != "UNMANAGED"

    @property
    def is_fargate(self) -> bool:
        """Tell whether the environment runs on Fargate or Fargate Spot."""
        return self.type in FARGATE_TYPES

    @property
    def is_eks(self) -> bool:
        """Tell whether the environment runs its jobs on an EKS cluster."""
        return self.eks_configuration is not None

    @property
    def _a_type(self) -> str:
        """Return the type with its article, for messages: ``"an EC2"``, ``"a SPOT"``."""
        return f"{'an' if str(self.type)[:1] in 'AEIOU' else 'a'} {self.type}"

    @property
    def job_queue_type(self) -> str:
        """Return the type of job queue this environment can serve: ECS, ECS_FARGATE or EKS."""
        if self.is_eks:
            return "EKS"
        return "ECS_FARGATE" if self.is_fargate else "ECS"

    # -- validation ------------------------------------------------------------------------------

    def _normalize(self, c: Checker) -> None:
        for field in ("type", "state", "allocation_strategy"):
            self._replace_field(field, to_upper(getattr(self, field)))
        for field in ("max_vcpus", "min_vcpus", "desired_vcpus", "bid_percentage", "unmanaged_vcpus"):
            self._replace_field(field, to_int(getattr(self, field)))
        for field in ("subnets", "security_group_ids"):
            self._replace_field(field, _str_list(c, field, getattr(self, field)))
        types = _str_list(c, "instance_types", self.instance_types)
        if isinstance(types, list):
            types = [t.strip().lower() if isinstance(t, str) and not is_unresolved(t) else t for t in types]
        self._replace_field("instance_types", types)
        self._replace_field(
            "launch_template",
            coerce_spec(
                c,
                "launch_template",
                self.launch_template,
                LaunchTemplate,
                from_scalar=_launch_template_from_str,
            ),
        )
        configurations = self.ec2_configuration
        if isinstance(configurations, (Mapping, Ec2Configuration)):
            configurations = [configurations]
        self._replace_field(
            "ec2_configuration", coerce_spec_list(c, "ec2_configuration", configurations, Ec2Configuration)
        )
        self._replace_field(
            "eks_configuration", coerce_spec(c, "eks_configuration", self.eks_configuration, EksConfiguration)
        )
        self._replace_field(
            "update_policy", coerce_spec(c, "update_policy", self.update_policy, UpdatePolicy)
        )

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "name", self.name):
            c.pattern("name", self.name, JOB_NAME, NAME_RULE)
        kind_known = c.check(
            self.type in COMPUTE_ENVIRONMENT_TYPES or is_unresolved(self.type),
            "type",
            self.type,
            f"must be one of {', '.join(COMPUTE_ENVIRONMENT_TYPES)}",
        )
        check_choice(c, "state", self.state, STATES)
        check_choice(c, "allocation_strategy", self.allocation_strategy, ALLOCATION_STRATEGIES)
        c.pattern("service_role", self.service_role, _SERVICE_ROLE, _SERVICE_ROLE_RULE)
        for field in ("max_vcpus", "min_vcpus", "desired_vcpus", "unmanaged_vcpus"):
            c.int_range(field, getattr(self, field), 0, None)
        c.int_range("bid_percentage", self.bid_percentage, 0, 100)
        c.tags("tags", self.tags)
        c.tags("instance_tags", self.instance_tags)
        for field in ("ec2_key_pair", "placement_group"):
            if getattr(self, field) is not None:
                check_non_empty(c, field, getattr(self, field))
        for field, regex, rule in (
            ("subnets", _SUBNET, "must be a subnet id (subnet-...)"),
            ("security_group_ids", _SECURITY_GROUP, "must be a security group id (sg-...)"),
        ):
            _check_id_list(c, field, getattr(self, field), regex, rule)
        self._check_instance_role(c)
        c.pattern("spot_iam_fleet_role", self.spot_iam_fleet_role, IAM_ROLE_ARN, IAM_ROLE_ARN_RULE)
        self._check_instance_types(c)
        for field in ("launch_template", "eks_configuration", "update_policy"):
            value = getattr(self, field)
            if isinstance(value, BatchSpec):
                value.check_into(c.at(field), context)
        self._check_ec2_configuration(c, context)
        check_extra_fields(
            c, self.extra_request_fields, own_request_or_none(self._own_create_request), self._REQUEST_MODEL
        )
        if not kind_known or is_unresolved(self.type):
            return
        self._check_vcpus(c)
        if self.type == "UNMANAGED":
            self._check_unmanaged(c)
        elif self.is_fargate:
            self._check_fargate(c)
        else:
            self._check_ec2(c)

    def _forbid(self, c: Checker, fields: Sequence[str], reason: str) -> None:
        for field in fields:
            value = getattr(self, field)
            c.check(value is None, field, value, reason)

    def _check_instance_role(self, c: Checker) -> None:
        role = self.instance_role
        if role is None or is_unresolved(role):
            return
        if not check_non_empty(c, "instance_role", role):
            return
        if role.startswith("arn:"):
            c.pattern(
                "instance_role",
                role,
                _INSTANCE_PROFILE_ARN,
                "must be an instance profile name or ARN (arn:aws:iam::123456789012:instance-profile/"
                "name), not a role ARN",
            )
        else:
            c.pattern(
                "instance_role", role, _INSTANCE_PROFILE_NAME, "must be an instance profile name or ARN"
            )

    def _check_instance_types(self, c: Checker) -> None:
        types = self.instance_types
        if not isinstance(types, list):
            return
        c.check(
            bool(types) or not self.is_managed, "instance_types", types, "give at least one instance type"
        )
        valid: list[str] = []
        for index, item in enumerate(types):
            if is_unresolved(item):
                continue
            if not isinstance(item, str):
                c.fail(f"instance_types[{index}]", item, "must be a string")
                continue
            ok = item in INSTANCE_BUNDLES or bool(_INSTANCE_TYPE.fullmatch(item))
            if c.check(ok, f"instance_types[{index}]", item, _INSTANCE_TYPE_RULE):
                c.check(item not in valid, f"instance_types[{index}]", item, "is listed twice")
                valid.append(item)
        arm = sorted(t for t in valid if _is_arm(t))
        x86 = sorted(t for t in valid if not _is_arm(t))
        c.check(
            not (arm and x86),
            "instance_types",
            types,
            f"must all share one architecture: {x86} are x86_64 but {arm} are arm64",
        )

    def _check_ec2_configuration(self, c: Checker, context: SpecContext) -> None:
        entries = self.ec2_configuration
        if not isinstance(entries, list):
            return
        c.check(
            1 <= len(entries) <= 2,
            "ec2_configuration",
            f"<{len(entries)} entries>",
            "give one or two EC2 configurations",
        )
        seen: set[str] = set()
        prefix = "EKS_" if self.is_eks else "ECS_"
        for index, entry in enumerate(entries):
            if not isinstance(entry, Ec2Configuration):
                continue
            path = f"ec2_configuration[{index}]"
            entry.check_into(c.at(path), context)
            image_type = entry.image_type
            if not isinstance(image_type, str) or is_unresolved(image_type) or not image_type:
                continue
            c.check(
                image_type.startswith(prefix),
                f"{path}.image_type",
                image_type,
                f"must be an {prefix[:3]} image type ({prefix}AL2023, {prefix}AL2023_NVIDIA, ...) for "
                f"{'an EKS' if self.is_eks else 'an ECS'} compute environment",
            )
            c.check(image_type not in seen, f"{path}.image_type", image_type, "is listed twice")
            seen.add(image_type)
            if not self.is_eks:
                c.check(
                    entry.image_kubernetes_version is None,
                    f"{path}.image_kubernetes_version",
                    entry.image_kubernetes_version,
                    "is only for EKS compute environments",
                )

    def _check_vcpus(self, c: Checker) -> None:
        values = {f: getattr(self, f) for f in ("min_vcpus", "desired_vcpus", "max_vcpus")}
        known = {f: v for f, v in values.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}
        for low, high in (
            ("min_vcpus", "desired_vcpus"),
            ("desired_vcpus", "max_vcpus"),
            ("min_vcpus", "max_vcpus"),
        ):
            if low in known and high in known:
                c.check(
                    known[low] <= known[high],
                    high,
                    known[high],
                    f"must be at least {low} ({known[low]}): AWS needs "
                    "min_vcpus <= desired_vcpus <= max_vcpus",
                )

    def _check_unmanaged(self, c: Checker) -> None:
        self._forbid(
            c,
            (
                "max_vcpus",
                "min_vcpus",
                "desired_vcpus",
                "instance_types",
                "allocation_strategy",
                "subnets",
                "security_group_ids",
                "instance_role",
                "launch_template",
                "ec2_configuration",
                "ec2_key_pair",
                "placement_group",
                "bid_percentage",
                "spot_iam_fleet_role",
                "instance_tags",
                "eks_configuration",
            ),
            "must not be set for an UNMANAGED compute environment: it has no compute resources (you "
            "launch its instances)",
        )
        c.check(
            self.service_role is not None,
            "service_role",
            None,
            "is required for an UNMANAGED compute environment (AWS creates no service-linked role for it)",
        )

    def _check_managed_common(self, c: Checker) -> None:
        c.check(
            self.unmanaged_vcpus is None,
            "unmanaged_vcpus",
            self.unmanaged_vcpus,
            "is only for UNMANAGED compute environments",
        )
        c.check(
            self.max_vcpus is not None,
            "max_vcpus",
            None,
            f"is required for a managed compute environment (type {self.type})",
        )
        c.check(
            bool(self.subnets),
            "subnets",
            self.subnets,
            f"give at least one subnet: {self._a_type} compute environment launches into a VPC",
        )

    def _check_fargate(self, c: Checker) -> None:
        self._check_managed_common(c)
        self._forbid(
            c,
            (
                "min_vcpus",
                "desired_vcpus",
                "instance_types",
                "allocation_strategy",
                "instance_role",
                "launch_template",
                "ec2_configuration",
                "ec2_key_pair",
                "placement_group",
                "bid_percentage",
                "spot_iam_fleet_role",
                "instance_tags",
                "eks_configuration",
            ),
            f"must not be set for {self._a_type} compute environment (AWS: not applicable to Fargate "
            "resources)",
        )
        subnets = self.subnets
        if isinstance(subnets, list):
            c.check(
                len(subnets) <= MAX_FARGATE_SUBNETS,
                "subnets",
                f"<{len(subnets)} subnets>",
                f"a Fargate compute environment takes at most {MAX_FARGATE_SUBNETS} subnets",
            )
        groups = self.security_group_ids
        if c.check(
            bool(groups),
            "security_group_ids",
            groups,
            "give at least one security group: Fargate compute environments require them",
        ) and isinstance(groups, list):
            c.check(
                len(groups) <= MAX_FARGATE_SECURITY_GROUPS,
                "security_group_ids",
                f"<{len(groups)} security groups>",
                f"a Fargate compute environment takes at most {MAX_FARGATE_SECURITY_GROUPS} security groups",
            )

    def _check_ec2(self, c: Checker) -> None:
        self._check_managed_common(c)
        c.check(
            self.instance_role is not None,
            "instance_role",
            None,
            f"is required for {self._a_type} compute environment (the ECS instance profile, e.g. "
            "'ecsInstanceRole')",
        )
        c.check(
            self.instance_types is not None,
            "instance_types",
            None,
            f'is required for {self._a_type} compute environment (e.g. ["optimal"] or ["m5", "c5"])',
        )
        c.check(
            bool(self.security_group_ids) or self.launch_template is not None,
            "security_group_ids",
            self.security_group_ids,
            "give at least one security group, or a launch_template that sets them",
        )
        strategy = self.allocation_strategy
        if self.type == "EC2":
            self._forbid(
                c,
                ("bid_percentage", "spot_iam_fleet_role"),
                "must not be set for an EC2 compute environment: only SPOT ones take it",
            )
            c.check(
                strategy not in SPOT_ONLY_STRATEGIES,
                "allocation_strategy",
                strategy,
                f"{strategy} is only for SPOT compute environments",
            )
        else:
            c.check(
                strategy not in ON_DEMAND_ONLY_STRATEGIES,
                "allocation_strategy",
                strategy,
                f"{strategy} is only for EC2 (On-Demand) compute environments",
            )
            if strategy in (None, "BEST_FIT"):
                c.check(
                    self.spot_iam_fleet_role is not None,
                    "spot_iam_fleet_role",
                    None,
                    "is required for a SPOT compute environment with the BEST_FIT allocation strategy "
                    "(AWS's default)",
                )
        if self.is_eks:
            c.check(
                strategy is not None,
                "allocation_strategy",
                None,
                "is required for an EKS compute environment",
            )

    # -- requests --------------------------------------------------------------------------------

    def _compute_resources_request(self) -> dict[str, Any] | None:
        if not self.is_managed:
            return None
        return drop_none(
            {
                "type": self.type,
                "allocationStrategy": self.allocation_strategy,
                "minvCpus": self.min_vcpus,
                "maxvCpus": self.max_vcpus,
                "desiredvCpus": self.desired_vcpus,
                "instanceTypes": None if self.instance_types is None else list(self.instance_types),
                "subnets": None if self.subnets is None else list(self.subnets),
                "securityGroupIds": None
                if self.security_group_ids is None
                else list(self.security_group_ids),
                "ec2KeyPair": self.ec2_key_pair,
                "instanceRole": self.instance_role,
                "tags": None if self.instance_tags is None else dict(self.instance_tags),
                "placementGroup": self.placement_group,
                "bidPercentage": self.bid_percentage,
                "spotIamFleetRole": self.spot_iam_fleet_role,
                "launchTemplate": request_of(self.launch_template),
                "ec2Configuration": (
                    None
                    if self.ec2_configuration is None
                    else [request_of(e) for e in self.ec2_configuration]
                ),
            }
        )

    def to_create_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_compute_environment``.

        AWS creates compute environments ENABLED and takes no update policy on creation: a
        DISABLED ``state`` and the ``update_policy`` go to :meth:`post_create_request` instead.
        ``extra_request_fields`` are merged in; where one collides, the spec's value stays.
        """
        return with_extra_fields(self._own_create_request(), self.extra_request_fields, self._REQUEST_MODEL)

    def _own_create_request(self) -> dict[str, Any]:
        """Return the create request the spec's own fields make (without ``extra_request_fields``)."""
        return drop_none(
            {
                "computeEnvironmentName": self.name,
                "type": "MANAGED" if self.is_managed else "UNMANAGED",
                "state": "ENABLED" if self.state == "ENABLED" else None,
                "unmanagedvCpus": self.unmanaged_vcpus,
                "computeResources": self._compute_resources_request(),
                "serviceRole": self.service_role,
                "tags": None if self.tags is None else dict(self.tags),
                "eksConfiguration": request_of(self.eks_configuration),
            }
        )

    def post_create_request(self) -> dict[str, Any] | None:
        """Return the ``update_compute_environment`` kwargs to send once the new environment is VALID.

        None when the create request already says everything (no DISABLED state, no update policy).
        """
        follow_up = drop_none(
            {
                "state": "DISABLED" if self.state == "DISABLED" else None,
                "updatePolicy": request_of(self.update_policy) or None,
            }
        )
        return {"computeEnvironment": self.name, **follow_up} if follow_up else None

    def to_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_compute_environment``."""
        return self.to_create_request()

    # -- planning --------------------------------------------------------------------------------

    def plan(self, current: Mapping[str, Any] | None) -> UpdatePlan:
        """Compare with a described compute environment and say how to make it match this spec.

        :param current: ``describe_compute_environments()["computeEnvironments"][0]``, or None when
            the compute environment does not exist.
        """
        if current is None or is_absent(current):
            return create_plan(
                "compute environment", self.name, self.to_create_request(), self.post_create_request()
            )
        arn = current.get("computeEnvironmentArn")
        builder = PlanBuilder("compute environment", self.name, {"computeEnvironment": arn or self.name})
        if not self._plan_kind(builder, current):
            self._plan_scaling(builder, current)
            if self.is_managed:
                self._plan_resources(builder, current)
            plan_extra_fields(
                builder,
                self.extra_request_fields,
                current,
                model=self._REQUEST_MODEL,
                update_operation="UpdateComputeEnvironment",
                detail_shape="ComputeEnvironmentDetail",
                blocker=lambda path: self._extra_field_blocker(path, current),
            )
        return builder.build(resource_arn=arn, desired_tags=self.tags, current_tags=current.get("tags"))

    def _plan_kind(self, b: PlanBuilder, current: Mapping[str, Any]) -> bool:
        """Record differences of kind (all need a replacement); return whether there were any."""
        current_managed = current.get("type", "MANAGED") != "UNMANAGED"
        if current_managed != self.is_managed:
            b.differ("type", current.get("type"), "MANAGED" if self.is_managed else "UNMANAGED")
            b.replace(
                "type",
                "AWS can't switch a compute environment between MANAGED and UNMANAGED "
                "(UpdateComputeEnvironment has no type)",
            )
            return True
        if not self.is_managed:
            return False
        resources = current.get("computeResources") or {}
        current_type = resources.get("type")
        found = False
        if current_type != self.type and not (current_type in EC2_TYPES and self.type in EC2_TYPES):
            b.differ("type", current_type, self.type)
            if current_type == "ECS_MANAGED_INSTANCES":
                reason = "AWS can't change the type of a compute environment to or from ECS_MANAGED_INSTANCES"
            elif current_type in FARGATE_TYPES and self.type in FARGATE_TYPES:
                reason = (
                    "AWS can't switch between FARGATE and FARGATE_SPOT: a Fargate compute environment "
                    "only updates its subnets, security groups and vCPU limits"
                )
            else:
                reason = "AWS can't switch a compute environment between EC2/Spot and Fargate resources"
            b.replace("type", reason)
            found = True
        current_eks = current.get("eksConfiguration") or None
        if current.get("containerOrchestrationType") == "EKS" and current_eks is None:
            current_eks = {}
        desired_eks = self.eks_configuration
        if (current_eks is None) != (desired_eks is None):
            b.differ("eks_configuration", current_eks, request_of(desired_eks))
            b.replace(
                "eks_configuration",
                "AWS can't switch a compute environment between ECS and EKS orchestration",
            )
            found = True
        elif isinstance(desired_eks, EksConfiguration) and isinstance(current_eks, Mapping):
            for field, key, value in (
                ("eks_configuration.eks_cluster_arn", "eksClusterArn", desired_eks.eks_cluster_arn),
                (
                    "eks_configuration.kubernetes_namespace",
                    "kubernetesNamespace",
                    desired_eks.kubernetes_namespace,
                ),
            ):
                if compare(b, field, value, current_eks.get(key)):
                    b.replace(
                        field,
                        "AWS can't move a compute environment to another EKS cluster or namespace "
                        "(only the access entry of its EKS configuration can be updated)",
                    )
                    found = True
        return found

    def _plan_scaling(self, b: PlanBuilder, current: Mapping[str, Any]) -> None:
        """Compare what any compute environment updates in place (a scaling update)."""
        if compare(b, "state", self.state, current.get("state")):
            b.set("state", self.state)
        if compare(b, "unmanaged_vcpus", self.unmanaged_vcpus, current.get("unmanagedvCpus")):
            b.set("unmanagedvCpus", self.unmanaged_vcpus)
        current_role = current.get("serviceRole")
        if compare(b, "service_role", self.service_role, current_role, key=_role_key):
            desired_linked = _is_service_linked(self.service_role)
            current_linked = current_role is None or _is_service_linked(current_role)
            if desired_linked != current_linked:
                b.replace(
                    "service_role",
                    "AWS can't switch a compute environment between the AWSServiceRoleForBatch "
                    "service-linked role and a regular IAM role",
                )
            else:
                b.set("serviceRole", self.service_role)
        policy = self.update_policy
        if isinstance(policy, UpdatePolicy):
            have = {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}
            have.update(drop_none(dict(current.get("updatePolicy") or {})))
            want = {**have, **policy.to_request()}
            if compare(b, "update_policy", want, have):
                b.set("updatePolicy", want)

    def _plan_resources(self, b: PlanBuilder, current: Mapping[str, Any]) -> None:
        """Compare the compute resources: scaling fields, then infrastructure fields."""
        resources: Mapping[str, Any] = current.get("computeResources") or {}
        for field, key in (("min_vcpus", "minvCpus"), ("max_vcpus", "maxvCpus")):
            value = getattr(self, field)
            if compare(b, field, value, resources.get(key)):
                b.set(f"computeResources.{key}", value)
        if self.is_fargate:
            # Fargate changes its network in a scaling update; nothing else can change.
            for field, key in (("subnets", "subnets"), ("security_group_ids", "securityGroupIds")):
                value = getattr(self, field)
                if compare(b, field, value, resources.get(key), key=as_set):
                    b.set(f"computeResources.{key}", list(value or ()))
            return
        if compare(b, "spot_iam_fleet_role", self.spot_iam_fleet_role, resources.get("spotIamFleetRole")):
            b.replace(
                "spot_iam_fleet_role",
                "AWS can't change the Spot Fleet role of a compute environment "
                "(UpdateComputeEnvironment has no spotIamFleetRole)",
            )
        changes = self._infrastructure_changes(b, resources)
        if not changes:
            return
        blocker = self._infrastructure_blocker(current)
        if (
            self.type == "EC2"
            and self.allocation_strategy is None
            and resources.get("allocationStrategy") in SPOT_ONLY_STRATEGIES
            and "computeResources.type" in changes
        ):
            raise SpecValidationError(
                type(self).__name__,
                [
                    Problem(
                        "allocation_strategy",
                        None,
                        f"set it to switch {self.name!r} from SPOT to EC2: its current allocation strategy "
                        f"{resources.get('allocationStrategy')} is only for SPOT",
                    )
                ],
            )
        for path, (field, value) in changes.items():
            if blocker is not None:
                b.replace(field, f"AWS can't change {field} in place: {blocker}")
            else:
                b.set(path, value)

    def _infrastructure_changes(
        self, b: PlanBuilder, resources: Mapping[str, Any]
    ) -> dict[str, tuple[str, Any]]:
        """Return the infrastructure fields that differ: request path -> (spec field, new value)."""
        changes: dict[str, tuple[str, Any]] = {}
        current_strategy = resources.get("allocationStrategy") or "BEST_FIT"
        strategy = self.allocation_strategy
        if compare(b, "type", self.type, resources.get("type")):
            changes["computeResources.type"] = ("type", self.type)
        if compare(b, "allocation_strategy", strategy, current_strategy):
            if strategy == "BEST_FIT":
                b.replace(
                    "allocation_strategy",
                    "AWS can't change an allocation strategy to BEST_FIT in place (UpdateComputeEnvironment "
                    "doesn't support BEST_FIT)",
                )
            else:
                changes["computeResources.allocationStrategy"] = ("allocation_strategy", strategy)
        ordered = (strategy or current_strategy) in ORDERED_STRATEGIES
        types = self.instance_types
        if compare(
            b,
            "instance_types",
            types,
            resources.get("instanceTypes"),
            key=lambda v: None if v is None else _instance_types_key(v, ordered=ordered),
        ):
            changes["computeResources.instanceTypes"] = ("instance_types", list(types or ()))
        for field, key in (("subnets", "subnets"), ("security_group_ids", "securityGroupIds")):
            value = getattr(self, field)
            if compare(b, field, value, resources.get(key), key=as_set):
                changes[f"computeResources.{key}"] = (field, list(value or ()))
        if self.bid_percentage is not None and compare(
            b, "bid_percentage", self.bid_percentage, resources.get("bidPercentage") or 100
        ):
            changes["computeResources.bidPercentage"] = ("bid_percentage", self.bid_percentage)
        for field, key in (("ec2_key_pair", "ec2KeyPair"), ("placement_group", "placementGroup")):
            value = getattr(self, field)
            if compare(b, field, value, resources.get(key)):
                changes[f"computeResources.{key}"] = (field, value)
        if compare(b, "instance_role", self.instance_role, resources.get("instanceRole"), key=_profile_name):
            changes["computeResources.instanceRole"] = ("instance_role", self.instance_role)
        if compare(
            b,
            "instance_tags",
            self.instance_tags,
            resources.get("tags") or {},
            key=lambda v: None if v is None else dict(v),
        ):
            changes["computeResources.tags"] = ("instance_tags", dict(self.instance_tags or {}))
        template = self.launch_template
        if isinstance(template, LaunchTemplate):
            desired = (
                template.launch_template_id or template.launch_template_name,
                template.version or "$Default",
            )
            have = _launch_template_key(resources.get("launchTemplate"), template)
            if have != desired:
                b.differ("launch_template", resources.get("launchTemplate"), template.to_request())
                changes["computeResources.launchTemplate"] = ("launch_template", template.to_request())
        configurations = self.ec2_configuration
        if configurations is not None:
            with_versions = any(
                isinstance(e, Ec2Configuration) and e.image_kubernetes_version is not None
                for e in configurations
            )
            desired_key = _ec2_configuration_key(configurations, compare_versions=with_versions)
            have_key = _ec2_configuration_key(
                resources.get("ec2Configuration") or [], compare_versions=with_versions
            )
            if desired_key != have_key:
                b.differ(
                    "ec2_configuration",
                    resources.get("ec2Configuration"),
                    [request_of(e) for e in configurations],
                )
                changes["computeResources.ec2Configuration"] = (
                    "ec2_configuration",
                    [request_of(e) for e in configurations],
                )
        return changes

    def _extra_field_blocker(self, path: str, current: Mapping[str, Any]) -> str | None:
        """Say why AWS can't update the extra member ``path`` in place now; None when it can."""
        if not path.startswith("computeResources."):
            return None
        if self.is_fargate:
            return "a Fargate compute environment only updates its subnets, security groups and vCPU limits"
        return self._infrastructure_blocker(current)

    @staticmethod
    def _infrastructure_blocker(current: Mapping[str, Any]) -> str | None:
        """Say why AWS can't run an infrastructure update on ``current``; None when it can."""
        resources = current.get("computeResources") or {}
        strategy = resources.get("allocationStrategy") or "BEST_FIT"
        if strategy == "BEST_FIT":
            return (
                "the compute environment uses the BEST_FIT allocation strategy, which doesn't support "
                "infrastructure updates (they need BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED or "
                "SPOT_PRICE_CAPACITY_OPTIMIZED)"
            )
        role = current.get("serviceRole")
        if role is not None and not _is_service_linked(role):
            return (
                f"the compute environment's service role is {role}, and infrastructure updates need the "
                "AWSServiceRoleForBatch service-linked role"
            )
        return None


def _instance_types_key(values: Sequence[str], *, ordered: bool) -> Any:
    keys = [_instance_type_key(v) for v in values if isinstance(v, str)]
    return tuple(keys) if ordered else frozenset(keys)
