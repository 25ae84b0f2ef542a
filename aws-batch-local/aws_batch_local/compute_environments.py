"""Compute environments with AWS Batch's lifecycle, validation and DescribeComputeEnvironments shape.

What AWS refuses at once is refused here with a ClientException (name, duplicates, missing or
inconsistent fields, vCPU bounds, updates AWS can't do in place). What AWS accepts and only finds
wrong while it builds the environment (a service role, instance profile or Spot Fleet role that
does not exist in IAM, a subnet or security group that does not exist in EC2) is accepted here
too, and the environment ends INVALID with the statusReason AWS would show.

Kinds: managed EC2 and SPOT (ECS or, with ``eksConfiguration``, EKS), managed FARGATE and
FARGATE_SPOT, and UNMANAGED. The emulator launches no EC2 instances: jobs run as local processes
whatever the kind; the ECS cluster of an ECS environment is created in moto's ECS model.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import compute_environment_arn
from aws_batch_local.instance_types import catalog, families
from aws_batch_local.lifecycle import (
    BEING_MODIFIED,
    BEING_MODIFIED_DELETE,
    BEING_MODIFIED_UPDATE,
    CREATING,
    DELETED,
    DISABLED,
    ENABLED,
    FOUND_JOB_QUEUE_RELATIONSHIP,
    GONE,
    OBJECT_ALREADY_EXISTS,
    STATES,
    UPDATING,
    Lifecycle,
    client_error,
    does_not_exist,
    request_error,
    wanted,
)

if TYPE_CHECKING:
    from aws_batch_local.region import BatchRegion
    from aws_batch_local.scheduler import Scheduler

#: AWS: up to 128 letters, numbers, hyphens and underscores, starting and ending with a letter or number.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,126}[A-Za-z0-9])?$")
MANAGED, UNMANAGED = "MANAGED", "UNMANAGED"
EC2, SPOT, FARGATE, FARGATE_SPOT = "EC2", "SPOT", "FARGATE", "FARGATE_SPOT"
RESOURCE_TYPES = (EC2, SPOT, FARGATE, FARGATE_SPOT)
FARGATE_TYPES = frozenset({FARGATE, FARGATE_SPOT})
ECS, EKS = "ECS", "EKS"
HEALTHY = "ComputeEnvironment Healthy"
SERVICE_LINKED_ROLE = "aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
EC2_ALLOCATION_STRATEGIES = ("BEST_FIT", "BEST_FIT_PROGRESSIVE")
SPOT_ALLOCATION_STRATEGIES = (
    *EC2_ALLOCATION_STRATEGIES,
    "SPOT_CAPACITY_OPTIMIZED",
    "SPOT_PRICE_CAPACITY_OPTIMIZED",
)
#: Allocation strategies that allow an infrastructure update (BEST_FIT doesn't).
UPDATABLE_ALLOCATION_STRATEGIES = frozenset(
    {"BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"}
)
SCALING_FIELDS = frozenset({"minvCpus", "maxvCpus", "desiredvCpus"})
FARGATE_UPDATABLE_FIELDS = SCALING_FIELDS | {"subnets", "securityGroupIds"}
#: computeResources fields that don't apply to Fargate resources.
NOT_FOR_FARGATE = (
    "instanceRole",
    "instanceTypes",
    "allocationStrategy",
    "bidPercentage",
    "ec2Configuration",
    "ec2KeyPair",
    "imageId",
    "launchTemplate",
    "placementGroup",
    "spotIamFleetRole",
    "tags",
)
INSTANCE_TYPE_ALIASES = ("optimal", "default_x86_64", "default_arm64")
DEFAULT_UPDATE_POLICY = {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}
#: UpdatePolicy.jobExecutionTimeoutMinutes: 1..7200 (botocore's model and the API reference).
MIN_JOB_EXECUTION_TIMEOUT_MINUTES, MAX_JOB_EXECUTION_TIMEOUT_MINUTES = 1, 7200
MAX_SUBNETS = 16
EKS_CLUSTER_ARN = re.compile(r"^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
KUBERNETES_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Wording AWS uses when desiredvCpus is lowered by an update.
SCALE_DOWN_REFUSED = (
    "Manually scaling down compute environment is not supported. Disconnecting job queues from "
    "compute environment will cause it to scale-down to minvCpus."
)


class ComputeEnvironment(Lifecycle):
    """A compute environment: kind, state, resources, status, ECS cluster, EKS configuration."""

    def __init__(
        self,
        region: BatchRegion,
        name: str,
        ce_type: str,
        state: str,
        compute_resources: dict[str, Any],
        service_role: str,
        eks_configuration: dict[str, str] | None,
        unmanaged_vcpus: int | None,
    ) -> None:
        self.init_lifecycle(CREATING)
        self.region = region
        self.name = name
        self.arn = compute_environment_arn(region.account_id, region.region_name, name)
        self.env_type = ce_type
        self.state = state
        self.compute_resources = compute_resources
        self.service_role = service_role
        self.uuid = str(uuid.uuid4())
        self.eks_configuration = eks_configuration
        self.unmanaged_vcpus = unmanaged_vcpus
        self.update_policy = dict(DEFAULT_UPDATE_POLICY)
        self.ecs_arn: str | None = None
        self.ecs_name: str | None = None

    def set_ecs(self, arn: str, name: str) -> None:
        """Record the ECS cluster the environment runs its jobs' tasks in."""
        self.ecs_arn, self.ecs_name = arn, name

    @property
    def orchestration(self) -> str:
        """Return ``ECS`` or ``EKS``."""
        return EKS if self.eks_configuration else ECS

    @property
    def resource_type(self) -> str | None:
        """Return EC2, SPOT, FARGATE or FARGATE_SPOT (None for an unmanaged environment)."""
        return (self.compute_resources or {}).get("type")

    @property
    def is_fargate(self) -> bool:
        """Return whether the environment runs on Fargate."""
        return self.resource_type in FARGATE_TYPES

    def describe(self) -> dict[str, Any]:
        """Return the ComputeEnvironmentDetail shape."""
        detail: dict[str, Any] = {
            "computeEnvironmentName": self.name,
            "computeEnvironmentArn": self.arn,
            "tags": self.region.list_tags_for_resource(self.arn),
            "type": self.env_type,
            "state": self.state,
            "status": self.status,
            "serviceRole": self.service_role,
            "updatePolicy": dict(self.update_policy),
            "containerOrchestrationType": self.orchestration,
            "uuid": self.uuid,
        }
        if self.status_reason:
            detail["statusReason"] = self.status_reason
        if self.orchestration == ECS:
            detail["ecsClusterArn"] = self.ecs_arn
        if self.env_type == MANAGED:
            detail["computeResources"] = copy.deepcopy(self.compute_resources)
        if self.eks_configuration:
            detail["eksConfiguration"] = dict(self.eks_configuration)
        if self.unmanaged_vcpus is not None:
            detail["unmanagedvCpus"] = self.unmanaged_vcpus
        return detail


# ------------------------------------------------------------------------------ look-ups


def find(region: BatchRegion, identifier: str) -> Any:
    """Return the compute environment named or ARN'd ``identifier`` (DELETED ones included), or None."""
    return region.get_compute_environment(identifier or "")


def arn_of(region: BatchRegion, identifier: str) -> str:
    """Return the ARN ``identifier`` (a name or an ARN) designates."""
    if identifier.startswith("arn:"):
        return identifier
    return compute_environment_arn(region.account_id, region.region_name, identifier)


def find_existing(region: BatchRegion, identifier: str) -> Any:
    """Return the compute environment, or raise "<arn> does not exist" if it is absent or deleting."""
    environment = find(region, identifier)
    if environment is None or getattr(environment, "status", "") in GONE:
        raise does_not_exist(arn_of(region, identifier))
    return environment


def queues_using(region: BatchRegion, environment: Any) -> list[Any]:
    """Return the job queues (not yet DELETED) that list ``environment`` in computeEnvironmentOrder."""
    return [
        queue
        for queue in region.job_queues.values()
        if getattr(queue, "status", "") != DELETED and any(env is environment for env in queue.environments)
    ]


# ------------------------------------------------------------------------ IAM and EC2 checks


def service_linked_role(region: BatchRegion) -> str:
    """Return the ARN of AWS Batch's service-linked role in this account."""
    return f"arn:aws:iam::{region.account_id}:role/{SERVICE_LINKED_ROLE}"


def normalize_service_role(region: BatchRegion, role: str | None) -> str:
    """Return the service role ARN: a name means ``role/<name>``; none means the service-linked role."""
    if not role:
        return service_linked_role(region)
    if role.startswith("arn:"):
        return role
    return f"arn:aws:iam::{region.account_id}:role/{role}"


def is_service_linked(role: str) -> bool:
    """Return whether a service role ARN is AWS Batch's service-linked role."""
    return role.endswith(SERVICE_LINKED_ROLE)


def _role_exists(region: BatchRegion, arn: str) -> bool:
    try:
        region.moto.iam.get_role_by_arn(arn)
    except Exception:  # moto's not-found error (its class differs between moto releases)
        try:
            region.moto.iam.get_role(arn.rsplit("/", 1)[-1])
        except Exception:  # moto's not-found error (its class differs between moto releases)
            return False
    return True


def _instance_profile_exists(region: BatchRegion, profile: str) -> bool:
    iam = region.moto.iam
    try:
        if profile.startswith("arn:"):
            iam.get_instance_profile_by_arn(profile)
        else:
            iam.get_instance_profile(profile)
    except Exception:  # moto's not-found error (its class differs between moto releases)
        return False
    return True


def _assume_role_denied(role_arn: str) -> str:
    return (
        f"CLIENT_ERROR - User: batch.amazonaws.com is not authorized to perform: sts:AssumeRole on "
        f"resource: {role_arn} (Service: AWSSecurityTokenService; Status Code: 403; Error Code: "
        f"AccessDenied; Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def invalid_reason(environment: ComputeEnvironment) -> str | None:
    """Return why building the environment fails (its INVALID statusReason), or None if it is fine."""
    region = environment.region
    role = environment.service_role
    if not is_service_linked(role) and not _role_exists(region, role):
        return _assume_role_denied(role)
    resources = environment.compute_resources or {}
    if environment.env_type != MANAGED:
        return None
    if not environment.is_fargate:
        profile = str(resources.get("instanceRole") or "")
        if not _instance_profile_exists(region, profile):
            return f"CLIENT_ERROR - Invalid IamInstanceProfile: {profile.rsplit('/', 1)[-1]}"
        fleet_role = resources.get("spotIamFleetRole")
        if fleet_role and not _role_exists(region, str(fleet_role)):
            return "CLIENT_ERROR - Parameter: SpotFleetRequestConfig.IamFleetRole is invalid."
    for subnet in resources.get("subnets") or []:
        try:
            region.moto.ec2.get_subnet(subnet)
        except Exception:  # moto's InvalidSubnetID.NotFound
            return (
                f"CLIENT_ERROR - The subnet ID '{subnet}' does not exist (Service: AmazonEC2; "
                "Status Code: 400; Error Code: InvalidSubnetID.NotFound)"
            )
    for group in resources.get("securityGroupIds") or []:
        if region.moto.ec2.get_security_group_from_id(group) is None:
            return (
                f"CLIENT_ERROR - The security group '{group}' does not exist (Service: AmazonEC2; "
                "Status Code: 400; Error Code: InvalidGroup.NotFound)"
            )
    return None


# ------------------------------------------------------------------------------ validation


def _int(resources: dict[str, Any], key: str) -> int | None:
    value = resources.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise client_error(f"computeResources.{key} must be a non-negative integer, got {value!r}")
    return value


def _check_vcpus(minimum: int, desired: int, maximum: int) -> None:
    if maximum < minimum:
        raise client_error(f"maxvCpus ({maximum}) must be greater than or equal to minvCpus ({minimum})")
    if not minimum <= desired <= maximum:
        raise client_error(
            f"desiredvCpus ({desired}) must be between minvCpus ({minimum}) and maxvCpus ({maximum})"
        )


def _check_instance_types(instance_types: Any) -> None:
    if not isinstance(instance_types, list) or not instance_types:
        raise client_error("At least 1 instance type must be provided")
    for instance_type in instance_types:
        if (
            instance_type not in INSTANCE_TYPE_ALIASES
            and instance_type not in catalog()
            and instance_type not in families()
        ):
            raise client_error(f"Instance type {instance_type} does not exist")


def _check_list(resources: dict[str, Any], key: str, required: bool) -> None:
    value = resources.get(key)
    if value is None and not required:
        return
    if not isinstance(value, list) or not value:
        raise client_error(f"computeResources.{key} must list at least one value")
    if key == "subnets" and len(value) > MAX_SUBNETS:
        raise client_error(f"computeResources.subnets can list at most {MAX_SUBNETS} subnets")


def _check_allocation_strategy(resource_type: str, strategy: str | None) -> None:
    allowed = SPOT_ALLOCATION_STRATEGIES if resource_type == SPOT else EC2_ALLOCATION_STRATEGIES
    if strategy is not None and strategy not in allowed:
        raise client_error(
            f"allocationStrategy {strategy} is not valid for {resource_type} compute resources; "
            f"valid values: {' | '.join(allowed)}"
        )


def _check_launch_template(template: Any) -> None:
    if template is None:
        return
    if not isinstance(template, dict) or bool(template.get("launchTemplateId")) == bool(
        template.get("launchTemplateName")
    ):
        raise client_error("launchTemplate needs exactly one of launchTemplateId and launchTemplateName")


def _check_ec2_configuration(configuration: Any) -> None:
    if configuration is None:
        return
    if not isinstance(configuration, list) or len(configuration) > 2:
        raise client_error("ec2Configuration can have at most 2 entries")
    for entry in configuration:
        if not entry.get("imageType"):
            raise client_error("ec2Configuration entries need an imageType")


def _check_bid_percentage(resources: dict[str, Any]) -> None:
    bid = _int(resources, "bidPercentage")
    if bid is not None and bid > 100:
        raise client_error(f"bidPercentage must be between 0 and 100, got {bid}")


def _normalize_ec2_resources(resources: dict[str, Any], eks: bool) -> dict[str, Any]:
    resource_type = resources["type"]
    if not resources.get("instanceRole"):
        raise request_error("Instance role is required.")
    if ":role/" in str(resources["instanceRole"]):
        raise request_error("The ECS Instance Role should be an ECS Instance Profile ARN.")
    _check_instance_types(resources.get("instanceTypes"))
    minimum = _int(resources, "minvCpus") or 0
    maximum = _int(resources, "maxvCpus") or 0
    desired = _int(resources, "desiredvCpus")
    _check_vcpus(minimum, minimum if desired is None else desired, maximum)
    _check_allocation_strategy(resource_type, resources.get("allocationStrategy"))
    _check_bid_percentage(resources)
    strategy = resources.get("allocationStrategy") or "BEST_FIT"
    if resource_type == SPOT and strategy == "BEST_FIT" and not resources.get("spotIamFleetRole"):
        raise request_error("spotIamFleetRole is required when allocationStrategy is BEST_FIT.")
    _check_list(resources, "securityGroupIds", required=False)
    _check_launch_template(resources.get("launchTemplate"))
    _check_ec2_configuration(resources.get("ec2Configuration"))
    normalized = copy.deepcopy(resources)
    normalized["minvCpus"] = minimum
    normalized["desiredvCpus"] = minimum if desired is None else desired
    normalized["allocationStrategy"] = strategy
    normalized.setdefault("ec2Configuration", [{"imageType": "EKS_AL2" if eks else "ECS_AL2"}])
    return normalized


def normalize_compute_resources(resources: Any, eks: bool) -> dict[str, Any]:
    """Validate the computeResources of a managed environment; return them as Describe shows them."""
    if not isinstance(resources, dict):
        raise client_error("computeResources must be specified when creating a MANAGED compute environment")
    resource_type = resources.get("type")
    if resource_type not in RESOURCE_TYPES:
        raise client_error(
            f"computeResources.type must be one of {' | '.join(RESOURCE_TYPES)}, got {resource_type}"
        )
    if _int(resources, "maxvCpus") is None:
        raise request_error("Resource maxvCpus is required.")
    _check_list(resources, "subnets", required=True)
    if resource_type not in FARGATE_TYPES:
        return _normalize_ec2_resources(resources, eks)
    if eks:
        raise client_error(
            "Compute environments that use Amazon EKS resources don't support Fargate resources"
        )
    for key in NOT_FOR_FARGATE:
        if key in resources:
            raise client_error(
                f"computeResources.{key} isn't applicable to {resource_type} compute resources"
            )
    _check_list(resources, "securityGroupIds", required=True)
    minimum = _int(resources, "minvCpus") or 0
    desired = _int(resources, "desiredvCpus")
    _check_vcpus(minimum, minimum if desired is None else desired, _int(resources, "maxvCpus") or 0)
    return copy.deepcopy(resources)


def _check_eks_configuration(configuration: Any) -> dict[str, str]:
    if not isinstance(configuration, dict):
        raise client_error("eksConfiguration needs eksClusterArn and kubernetesNamespace")
    cluster, namespace = (
        str(configuration.get("eksClusterArn") or ""),
        str(configuration.get("kubernetesNamespace") or ""),
    )
    if EKS_CLUSTER_ARN.match(cluster) is None:
        raise client_error(f"eksConfiguration.eksClusterArn {cluster!r} is not an Amazon EKS cluster ARN")
    if KUBERNETES_NAMESPACE.match(namespace) is None:
        raise client_error(
            f"eksConfiguration.kubernetesNamespace {namespace!r} must be a Kubernetes namespace name: up to "
            "63 lowercase letters, numbers and hyphens, starting and ending with a letter or number"
        )
    return {"eksClusterArn": cluster, "kubernetesNamespace": namespace}


def _check_unmanaged_vcpus(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise client_error(f"unmanagedvCpus must be a non-negative integer, got {value!r}")
    return value


# ------------------------------------------------------------------------------- lifecycle


def _settle(scheduler: Scheduler, environment: ComputeEnvironment) -> None:
    environment.settle(invalid_reason(environment), HEALTHY)
    from aws_batch_local.job_queues import refresh_queues

    refresh_queues(environment.region, scheduler, environment)
    scheduler.retry_placement()


def create(region: BatchRegion, scheduler: Scheduler, request: dict[str, Any]) -> ComputeEnvironment:
    """CreateComputeEnvironment: validate, store as CREATING, settle on VALID or INVALID later."""
    name = str(request.get("computeEnvironmentName") or "")
    if NAME_PATTERN.match(name) is None:
        raise client_error(
            f"Compute environment name {name!r} must be up to 128 letters, numbers, hyphens and underscores, "
            "starting and ending with a letter or number"
        )
    existing = find(region, name)
    if existing is not None and getattr(existing, "status", "") != DELETED:
        raise client_error(OBJECT_ALREADY_EXISTS)
    ce_type = request.get("type")
    if ce_type not in (MANAGED, UNMANAGED):
        raise client_error(f"type must be one of MANAGED | UNMANAGED, got {ce_type}")
    state = request.get("state") or ENABLED
    if state not in STATES:
        raise client_error(f"state must be one of ENABLED | DISABLED, got {state}")
    eks = _check_eks_configuration(request["eksConfiguration"]) if request.get("eksConfiguration") else None
    unmanaged_vcpus = request.get("unmanagedvCpus")
    if ce_type == MANAGED:
        if unmanaged_vcpus is not None:
            raise client_error("unmanagedvCpus is only supported for UNMANAGED compute environments")
        resources = normalize_compute_resources(request.get("computeResources"), eks is not None)
    else:
        if request.get("computeResources"):
            raise client_error("computeResources can't be specified for an UNMANAGED compute environment")
        if eks is not None:
            raise client_error("eksConfiguration is only supported for MANAGED compute environments")
        unmanaged_vcpus = None if unmanaged_vcpus is None else _check_unmanaged_vcpus(unmanaged_vcpus)
        resources = {}
    environment = ComputeEnvironment(
        region,
        name,
        ce_type,
        state,
        resources,
        normalize_service_role(region, request.get("serviceRole")),
        eks,
        unmanaged_vcpus,
    )
    if eks is None:
        cluster_name = f"AWSBatch-{name}-{environment.uuid}"
        environment.set_ecs(region.moto.ecs.create_cluster(cluster_name).arn, cluster_name)
    region.compute_environments.pop(environment.arn, None)
    region.compute_environments[environment.arn] = environment
    if request.get("tags"):
        region.tag_resource(environment.arn, dict(request["tags"]))
    environment.begin(CREATING, scheduler, lambda: _settle(scheduler, environment))
    return environment


def describe(region: BatchRegion, identifiers: list[str] | None) -> list[dict[str, Any]]:
    """Return the ComputeEnvironmentDetail of every environment ``identifiers`` selects (all if empty)."""
    return [
        environment.describe()
        for environment in list(region.compute_environments.values())
        if isinstance(environment, ComputeEnvironment)
        and wanted(identifiers, environment.name, environment.arn)
    ]


def _apply_resource_update(environment: ComputeEnvironment, update: dict[str, Any]) -> dict[str, Any]:
    """Return the environment's computeResources after ``update``; raise what AWS refuses."""
    current = environment.compute_resources
    if environment.env_type != MANAGED:
        raise client_error("computeResources can't be updated for an UNMANAGED compute environment")
    changed = {key for key, value in update.items() if current.get(key) != value and value is not None}
    new_type = update.get("type")
    if (
        new_type is not None
        and new_type != current["type"]
        and (environment.is_fargate or new_type in FARGATE_TYPES)
    ):
        raise client_error(
            f"The compute resources type can't be changed from {current['type']} to {new_type}; "
            "create a new compute environment instead"
        )
    if environment.is_fargate:
        refused = sorted(changed - FARGATE_UPDATABLE_FIELDS)
        if refused:
            raise client_error(
                f"{', '.join(refused)} can't be updated for {current['type']} compute resources; only "
                "securityGroupIds, subnets, minvCpus, maxvCpus and desiredvCpus can"
            )
    else:
        infrastructure = sorted(changed - SCALING_FIELDS)
        strategy = update.get("allocationStrategy") or current.get("allocationStrategy") or "BEST_FIT"
        if infrastructure and not (
            is_service_linked(environment.service_role) and strategy in UPDATABLE_ALLOCATION_STRATEGIES
        ):
            raise client_error(
                f"Updating {', '.join(infrastructure)} requires an infrastructure update, which needs "
                "the AWSServiceRoleForBatch service-linked role and the allocation strategy "
                "BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED or SPOT_PRICE_CAPACITY_OPTIMIZED; "
                "create a new compute environment instead"
            )
        if "allocationStrategy" in changed:
            _check_allocation_strategy(update.get("type") or current["type"], update["allocationStrategy"])
        if "instanceTypes" in changed:
            _check_instance_types(update["instanceTypes"])
        if "instanceRole" in changed and ":role/" in str(update["instanceRole"]):
            raise request_error("The ECS Instance Role should be an ECS Instance Profile ARN.")
        _check_launch_template(update.get("launchTemplate"))
        _check_ec2_configuration(update.get("ec2Configuration"))
        _check_bid_percentage(update)
    for key in ("subnets", "securityGroupIds"):
        if key in changed:
            _check_list(update, key, required=True)
    merged = copy.deepcopy(current)
    merged.update({key: copy.deepcopy(value) for key, value in update.items() if value is not None})
    merged.pop("updateToLatestImageVersion", None)
    minimum = _int(merged, "minvCpus") or 0
    maximum = _int(merged, "maxvCpus") or 0
    desired = _int(update, "desiredvCpus")
    previous_desired = int(current.get("desiredvCpus") or 0)
    if desired is not None and desired < previous_desired:
        raise client_error(SCALE_DOWN_REFUSED)
    if desired is None and "desiredvCpus" in merged:
        merged["desiredvCpus"] = min(max(previous_desired, minimum), maximum)
    _check_vcpus(minimum, int(merged.get("desiredvCpus", minimum)), maximum)
    return merged


def update(region: BatchRegion, scheduler: Scheduler, request: dict[str, Any]) -> ComputeEnvironment:
    """UpdateComputeEnvironment: apply what AWS allows in place, then UPDATING until it settles."""
    environment = find_existing(region, str(request.get("computeEnvironment") or ""))
    if environment.status in BEING_MODIFIED:
        raise client_error(BEING_MODIFIED_UPDATE)
    state = request.get("state")
    if state is not None and state not in STATES:
        raise client_error(f"state must be one of ENABLED | DISABLED, got {state}")
    service_role = environment.service_role
    if request.get("serviceRole"):
        service_role = normalize_service_role(region, request["serviceRole"])
        if is_service_linked(service_role) != is_service_linked(environment.service_role):
            raise client_error(
                "A compute environment that uses the service-linked role can't be changed to use a "
                "regular IAM role, and one that uses a regular IAM role can't be changed to use the "
                "service-linked role"
            )
    unmanaged_vcpus = request.get("unmanagedvCpus")
    if unmanaged_vcpus is not None:
        if environment.env_type != UNMANAGED:
            raise client_error("unmanagedvCpus is only supported for UNMANAGED compute environments")
        unmanaged_vcpus = _check_unmanaged_vcpus(unmanaged_vcpus)
    policy = request.get("updatePolicy")
    if policy is not None:
        minutes = policy.get(
            "jobExecutionTimeoutMinutes", environment.update_policy["jobExecutionTimeoutMinutes"]
        )
        if not MIN_JOB_EXECUTION_TIMEOUT_MINUTES <= int(minutes) <= MAX_JOB_EXECUTION_TIMEOUT_MINUTES:
            raise client_error(
                "updatePolicy.jobExecutionTimeoutMinutes must be between "
                f"{MIN_JOB_EXECUTION_TIMEOUT_MINUTES} and {MAX_JOB_EXECUTION_TIMEOUT_MINUTES}, got {minutes}"
            )
    resources = (
        _apply_resource_update(environment, request["computeResources"])
        if request.get("computeResources")
        else environment.compute_resources
    )
    environment.compute_resources = resources
    environment.service_role = service_role
    if state is not None:
        environment.state = state
    if unmanaged_vcpus is not None:
        environment.unmanaged_vcpus = unmanaged_vcpus
    if policy is not None:
        environment.update_policy = {**environment.update_policy, **policy}
    environment.begin(UPDATING, scheduler, lambda: _settle(scheduler, environment))
    return environment


def delete(region: BatchRegion, scheduler: Scheduler, identifier: str) -> None:
    """DeleteComputeEnvironment: DISABLED and unused by job queues, else refused; DELETING then DELETED."""
    if not identifier:
        raise client_error("computeEnvironment is required")
    environment: ComputeEnvironment = find_existing(region, identifier)
    if environment.status in BEING_MODIFIED:
        raise client_error(BEING_MODIFIED_DELETE)
    if environment.state != DISABLED:
        raise client_error(
            f"Cannot delete, compute environment {environment.name} is {environment.state}; "
            "update its state to DISABLED first"
        )
    if queues_using(region, environment):
        raise client_error(FOUND_JOB_QUEUE_RELATIONSHIP)

    def delete_ecs_cluster() -> None:
        if environment.ecs_name:
            region.moto.ecs.delete_cluster(environment.ecs_name)

    environment.retire(scheduler, region.compute_environments, environment.arn, delete_ecs_cluster)
