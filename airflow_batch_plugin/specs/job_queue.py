"""Describe an AWS Batch job queue, check it against AWS's rules, and plan its updates.

A queue lists one to three compute environments in order. AWS wants them all of one kind: EC2
and Spot (an ``ECS`` queue), Fargate and Fargate Spot (``ECS_FARGATE``), or EKS (``EKS``). A name
or an ARN does not tell the kind, so the kind is checked where it is known:

- when a compute environment is given as a :class:`ComputeEnvironmentSpec`, at validation;
- when :meth:`JobQueueSpec.plan` gets the described compute environments
  (``describe_compute_environments()["computeEnvironments"]``), before any write.

AWS updates a queue's priority, state, compute environment order, time limit actions and
scheduling policy in place; it cannot change a queue's type, nor give a fair-share scheduling
policy to a queue created without one (a FIFO queue), nor remove one: leaving
``scheduling_policy`` unset never compares it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from airflow_batch_plugin.specs.common import (
    JOB_NAME,
    BatchSpec,
    SpecContext,
    check_choice,
    check_non_empty,
    coerce_spec,
    deferred_validation,
    request_of,
    to_int,
    to_upper,
)
from airflow_batch_plugin.specs.compute_environment import (
    COMPUTE_ENVIRONMENT_TYPES,
    ComputeEnvironmentSpec,
    job_queue_type_of,
)
from airflow_batch_plugin.specs.extra_fields import (
    RequestModel,
    check_extra_fields,
    own_request_or_none,
    plan_extra_fields,
    with_extra_fields,
)
from airflow_batch_plugin.specs.scheduling_policy import SCHEDULING_POLICY_ARN, SchedulingPolicySpec
from airflow_batch_plugin.specs.update_plan import (
    PlanBuilder,
    UpdatePlan,
    arn_prefix_of,
    arn_resource_name,
    compare,
    create_plan,
    is_absent,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

__all__ = [
    "JOB_QUEUE_TYPES",
    "TIME_LIMIT_REASONS",
    "ComputeEnvironmentOrder",
    "JobQueueSpec",
    "JobStateTimeLimitAction",
]

STATES = ("ENABLED", "DISABLED")
#: Queue types this spec manages (SAGEMAKER_TRAINING queues use service environments instead).
JOB_QUEUE_TYPES = ("ECS", "ECS_FARGATE", "EKS", "ECS_MANAGED_INSTANCES")
MIN_PRIORITY, MAX_PRIORITY = 0, 1000
MAX_COMPUTE_ENVIRONMENTS = 3
#: The RUNNABLE status reasons AWS Batch can act on after a time limit.
TIME_LIMIT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    "MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED",
)
MIN_TIME_LIMIT_SECONDS, MAX_TIME_LIMIT_SECONDS = 600, 86_400

NAME_RULE = (
    "must be 1 to 128 letters, numbers, hyphens (-) and underscores (_), starting with a letter or number"
)
_COMPUTE_ENVIRONMENT_ARN = re.compile(
    r"arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:compute-environment/[A-Za-z0-9][A-Za-z0-9_-]{0,127}"
)
#: Stands in for the account's ARN prefix while a policy given by name is checked (no ARN is sent).
_CHECK_ARN_PREFIX = "arn:aws:batch:us-east-1:123456789012"
_KIND_TEXT = {
    "ECS": "EC2/Spot (ECS)",
    "ECS_FARGATE": "Fargate",
    "EKS": "EKS",
    "ECS_MANAGED_INSTANCES": "ECS Managed Instances",
}


def _ce_name(value: Any) -> Any:
    """Return a compute environment's name from a spec, an ARN or a name."""
    if isinstance(value, ComputeEnvironmentSpec):
        return value.name
    return arn_resource_name(value, "compute-environment")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComputeEnvironmentOrder(BatchSpec):
    """Place a compute environment in a queue: lower orders are tried first.

    :param order: a whole number, at least 0; unique within the queue.
    :param compute_environment: the compute environment's name, ARN or
        :class:`ComputeEnvironmentSpec`.
    """

    order: int
    compute_environment: str | ComputeEnvironmentSpec

    @property
    def compute_environment_name(self) -> Any:
        """Return the compute environment's name (from its spec or ARN)."""
        return _ce_name(self.compute_environment)

    def _normalize(self, c: Checker) -> None:
        self._replace_field("order", to_int(self.order))

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.int_range("order", self.order, 0, None)
        value = self.compute_environment
        if isinstance(value, ComputeEnvironmentSpec):
            value.check_into(c.at("compute_environment"), context)
        elif check_non_empty(c, "compute_environment", value) and not is_unresolved(value):
            c.check(
                bool(JOB_NAME.fullmatch(value) or _COMPUTE_ENVIRONMENT_ARN.fullmatch(value)),
                "compute_environment",
                value,
                "must be a compute environment name (letters, numbers, - and _, starting with a letter "
                "or number) or ARN",
            )

    def to_request(self) -> dict[str, Any]:
        value = self.compute_environment
        reference = value.name if isinstance(value, ComputeEnvironmentSpec) else value
        return {"order": self.order, "computeEnvironment": reference}


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobStateTimeLimitAction(BatchSpec):
    """Cancel the job at the head of the queue when it stays RUNNABLE too long for a known reason.

    :param reason: the job's status reason: ``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY``,
        ``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE``,
        ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`` or
        ``MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED``.
    :param max_time_seconds: 600 (10 minutes) to 86,400 (24 hours).
    :param state: ``"RUNNABLE"``, the only state AWS supports.
    :param action: ``"CANCEL"``, the only action for ECS, Fargate and EKS queues.
    """

    reason: str
    max_time_seconds: int
    state: str = "RUNNABLE"
    action: str = "CANCEL"

    def _normalize(self, c: Checker) -> None:
        self._replace_field("max_time_seconds", to_int(self.max_time_seconds))
        self._replace_field("state", to_upper(self.state))
        self._replace_field("action", to_upper(self.action))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "reason", self.reason, TIME_LIMIT_REASONS)
        c.int_range("max_time_seconds", self.max_time_seconds, MIN_TIME_LIMIT_SECONDS, MAX_TIME_LIMIT_SECONDS)
        check_choice(c, "state", self.state, ("RUNNABLE",))
        if self.action is not None and not is_unresolved(self.action):
            c.check(
                self.action == "CANCEL",
                "action",
                self.action,
                "must be CANCEL (the only action for queues of ECS, Fargate and EKS compute environments)",
            )

    def to_request(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "state": self.state,
            "maxTimeSeconds": self.max_time_seconds,
            "action": self.action,
        }


def _order_from_position(index: int) -> Any:
    def convert(value: Any) -> ComputeEnvironmentOrder | None:
        if isinstance(value, (str, ComputeEnvironmentSpec)) or is_unresolved(value):
            with deferred_validation():
                return ComputeEnvironmentOrder(order=index + 1, compute_environment=value)
        return None

    return convert


def _time_limit_key(entries: Iterable[Any] | None) -> frozenset[tuple[Any, ...]]:
    result = set()
    for entry in entries or ():
        item = entry.to_request() if isinstance(entry, BatchSpec) else dict(entry)
        result.add((item.get("reason"), item.get("state"), item.get("maxTimeSeconds"), item.get("action")))
    return frozenset(result)


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobQueueSpec(BatchSpec):
    """Describe a job queue: its priority, its compute environments in order, its policies.

    :param name: 1 to 128 letters, numbers, hyphens and underscores, starting with a letter or
        number.
    :param priority: 0 to 1000; queues with a higher priority are scheduled first on shared
        compute environments.
    :param compute_environment_order: one to three compute environments, all of one kind (EC2 and
        Spot, or Fargate and Fargate Spot, or EKS). Each is a name, an ARN or a
        :class:`ComputeEnvironmentSpec` (ordered by position, from 1), a dict or a
        :class:`ComputeEnvironmentOrder` (explicit ``order``).
    :param state: ``"ENABLED"`` (AWS's default) or ``"DISABLED"``.
    :param scheduling_policy: the fair-share scheduling policy: ARN, name, or
        :class:`SchedulingPolicySpec`. Only at creation can a queue get one; afterwards it can be
        replaced but not removed.
    :param job_state_time_limit_actions: up to one :class:`JobStateTimeLimitAction` (or dict) per
        status reason.
    :param job_queue_type: ``"ECS"``, ``"ECS_FARGATE"``, ``"EKS"`` or ``"ECS_MANAGED_INSTANCES"``;
        AWS derives it from the compute environments when omitted.
    :param tags: up to 50 tags.
    :param extra_request_fields: CreateJobQueue members the spec does not model yet, in AWS's
        shape (e.g. ``{"serviceEnvironmentOrder": [...]}``), deep-merged into the create request
        and checked by botocore's parameter validation; a member the spec sets (or, at the top
        level, models) is refused. On an existing queue, :meth:`plan` compares each extra member
        DescribeJobQueues returns: a difference goes into the UpdateJobQueue request when that
        operation has the member, else it makes the plan ``replace_required``; a member Describe
        doesn't return is left as created. See :mod:`airflow_batch_plugin.specs.extra_fields`.
    """

    #: What the spec models of CreateJobQueue: request member -> spec field.
    _REQUEST_MODEL: ClassVar[RequestModel] = RequestModel(
        "CreateJobQueue",
        {
            "jobQueueName": "name",
            "state": "state",
            "schedulingPolicyArn": "scheduling_policy",
            "priority": "priority",
            "computeEnvironmentOrder": "compute_environment_order",
            "jobQueueType": "job_queue_type",
            "tags": "tags",
            "jobStateTimeLimitActions": "job_state_time_limit_actions",
        },
    )

    name: str
    priority: int
    compute_environment_order: Sequence[
        ComputeEnvironmentOrder | Mapping[str, Any] | str | ComputeEnvironmentSpec
    ]
    state: str | None = None
    scheduling_policy: str | SchedulingPolicySpec | None = None
    job_state_time_limit_actions: Sequence[JobStateTimeLimitAction | Mapping[str, Any]] | None = None
    job_queue_type: str | None = None
    tags: Mapping[str, str] | None = None
    extra_request_fields: Mapping[str, Any] | None = None

    # -- validation ------------------------------------------------------------------------------

    def _normalize(self, c: Checker) -> None:
        self._replace_field("priority", to_int(self.priority))
        self._replace_field("state", to_upper(self.state))
        self._replace_field("job_queue_type", to_upper(self.job_queue_type))
        order = self.compute_environment_order
        if isinstance(order, (str, Mapping, ComputeEnvironmentSpec, ComputeEnvironmentOrder)):
            order = [order]
        if isinstance(order, Sequence):
            self._replace_field(
                "compute_environment_order",
                [
                    coerce_spec(
                        c,
                        f"compute_environment_order[{index}]",
                        item,
                        ComputeEnvironmentOrder,
                        from_scalar=_order_from_position(index),
                    )
                    for index, item in enumerate(order)
                ],
            )
        else:
            c.fail(
                "compute_environment_order",
                order,
                "must be a list of compute environment names, ARNs, specs or {order, compute_environment}",
            )
        actions = self.job_state_time_limit_actions
        if isinstance(actions, (Mapping, JobStateTimeLimitAction)):
            actions = [actions]
        if actions is not None:
            if isinstance(actions, Sequence) and not isinstance(actions, str):
                actions = [
                    coerce_spec(c, f"job_state_time_limit_actions[{index}]", item, JobStateTimeLimitAction)
                    for index, item in enumerate(actions)
                ]
            else:
                c.fail("job_state_time_limit_actions", actions, "must be a list of JobStateTimeLimitAction")
            self._replace_field("job_state_time_limit_actions", actions)

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "name", self.name):
            c.pattern("name", self.name, JOB_NAME, NAME_RULE)
        if self.priority is None:
            c.fail("priority", None, f"is required: {MIN_PRIORITY} to {MAX_PRIORITY}")
        c.int_range("priority", self.priority, MIN_PRIORITY, MAX_PRIORITY)
        check_choice(c, "state", self.state, STATES)
        check_choice(c, "job_queue_type", self.job_queue_type, JOB_QUEUE_TYPES)
        c.tags("tags", self.tags)
        self._check_order(c, context)
        self._check_scheduling_policy(c)
        self._check_time_limits(c, context)
        kinds = self._known_kinds(None)
        self._check_kinds(c, kinds)
        check_extra_fields(
            c,
            self.extra_request_fields,
            own_request_or_none(lambda: self._own_create_request(arn_prefix=_CHECK_ARN_PREFIX)),
            self._REQUEST_MODEL,
        )

    def _check_order(self, c: Checker, context: SpecContext) -> None:
        entries = self.compute_environment_order
        if not isinstance(entries, list):
            return
        c.check(
            1 <= len(entries) <= MAX_COMPUTE_ENVIRONMENTS,
            "compute_environment_order",
            f"<{len(entries)} compute environments>",
            f"give 1 to {MAX_COMPUTE_ENVIRONMENTS} compute environments (AWS's limit per job queue)",
        )
        orders: dict[Any, int] = {}
        names: dict[Any, int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, ComputeEnvironmentOrder):
                continue
            path = f"compute_environment_order[{index}]"
            entry.check_into(c.at(path), context)
            if isinstance(entry.order, int) and not is_unresolved(entry.order):
                if entry.order in orders:
                    c.fail(
                        f"{path}.order",
                        entry.order,
                        f"is already the order of compute_environment_order[{orders[entry.order]}]: "
                        "orders must be unique",
                    )
                orders.setdefault(entry.order, index)
            name = entry.compute_environment_name
            if isinstance(name, str) and name and not is_unresolved(name):
                if name in names:
                    c.fail(
                        f"{path}.compute_environment",
                        name,
                        f"is already listed at compute_environment_order[{names[name]}]",
                    )
                names.setdefault(name, index)

    def _check_scheduling_policy(self, c: Checker) -> None:
        policy = self.scheduling_policy
        if policy is None or isinstance(policy, SchedulingPolicySpec) or is_unresolved(policy):
            return
        if check_non_empty(c, "scheduling_policy", policy):
            c.check(
                bool(
                    SCHEDULING_POLICY_ARN.fullmatch(policy) or re.fullmatch(r"[A-Za-z0-9_-]{1,128}", policy)
                ),
                "scheduling_policy",
                policy,
                "must be a scheduling policy ARN (arn:aws:batch:REGION:ACCOUNT:scheduling-policy/NAME) or "
                "name",
            )

    def _check_time_limits(self, c: Checker, context: SpecContext) -> None:
        actions = self.job_state_time_limit_actions
        if not isinstance(actions, list):
            return
        reasons: dict[Any, int] = {}
        for index, action in enumerate(actions):
            if not isinstance(action, JobStateTimeLimitAction):
                continue
            path = f"job_state_time_limit_actions[{index}]"
            action.check_into(c.at(path), context)
            if action.reason in reasons:
                c.fail(
                    f"{path}.reason",
                    action.reason,
                    f"already has an action at job_state_time_limit_actions[{reasons[action.reason]}]: "
                    "give one action per reason",
                )
            reasons.setdefault(action.reason, index)

    def _known_kinds(self, described: Mapping[str, Mapping[str, Any]] | None) -> dict[int, str]:
        """Return the queue type each compute environment needs, where it is known, by position."""
        kinds: dict[int, str] = {}
        entries = self.compute_environment_order
        if not isinstance(entries, list):
            return kinds
        for index, entry in enumerate(entries):
            if not isinstance(entry, ComputeEnvironmentOrder):
                continue
            value = entry.compute_environment
            if isinstance(value, ComputeEnvironmentSpec) and value.type in COMPUTE_ENVIRONMENT_TYPES:
                kinds[index] = value.job_queue_type
            elif described is not None and entry.compute_environment_name in described:
                kinds[index] = job_queue_type_of(described[entry.compute_environment_name])
        return kinds

    def _check_described(self, c: Checker, described: Mapping[str, Mapping[str, Any]]) -> None:
        """Name each compute environment of the order that AWS did not describe: it does not exist."""
        for index, entry in enumerate(self.compute_environment_order or ()):
            name = entry.compute_environment_name if isinstance(entry, ComputeEnvironmentOrder) else None
            if isinstance(name, str) and name not in described:
                c.fail(
                    f"compute_environment_order[{index}]",
                    name,
                    "no such compute environment (DescribeComputeEnvironments found none): create it "
                    "first, e.g. in the same BatchEnvironment, whose setup creates compute environments "
                    "before queues",
                )

    def _check_kinds(self, c: Checker, kinds: Mapping[int, str]) -> None:
        distinct = sorted(set(kinds.values()))
        if len(distinct) > 1:
            listing = ", ".join(
                f"compute_environment_order[{index}] is {_KIND_TEXT.get(kind, kind)}"
                for index, kind in sorted(kinds.items())
            )
            c.fail(
                "compute_environment_order",
                [_ce_name(getattr(e, "compute_environment", e)) for e in self.compute_environment_order],
                "compute environments of one queue must all be EC2/Spot, all Fargate, or all EKS: " + listing,
            )
        elif distinct and self.job_queue_type is not None and self.job_queue_type != distinct[0]:
            c.fail(
                "job_queue_type",
                self.job_queue_type,
                f"does not match the compute environments, which are "
                f"{_KIND_TEXT.get(distinct[0], distinct[0])} (job queue type {distinct[0]})",
            )

    # -- requests --------------------------------------------------------------------------------

    def _arn_prefix(self, *sources: Any) -> str | None:
        candidates = list(sources)
        for entry in self.compute_environment_order or ():
            if isinstance(entry, ComputeEnvironmentOrder):
                candidates.append(entry.compute_environment)
        for candidate in candidates:
            prefix = arn_prefix_of(candidate)
            if prefix is not None:
                return prefix
        return None

    def scheduling_policy_arn(self, arn_prefix: str | None = None) -> str | None:
        """Return the scheduling policy's ARN, building it from ``arn_prefix`` for a name.

        :param arn_prefix: ``arn:PARTITION:batch:REGION:ACCOUNT`` of the queue's account and
            Region; when None it is taken from a compute environment given by ARN.
        :raises ValueError: the policy is given by name and no ARN prefix is known.
        """
        policy = self.scheduling_policy
        if policy is None:
            return None
        name = policy.name if isinstance(policy, SchedulingPolicySpec) else policy
        if isinstance(name, str) and name.startswith("arn:"):
            return name
        prefix = arn_prefix or self._arn_prefix()
        if prefix is None:
            raise ValueError(
                f"JobQueueSpec {self.name!r}: scheduling_policy={name!r} is a name, and CreateJobQueue and "
                "UpdateJobQueue need its ARN; give the ARN, or an arn_prefix "
                "('arn:aws:batch:REGION:ACCOUNT'), or the described compute environments to plan()"
            )
        return f"{prefix}:scheduling-policy/{name}"

    def to_create_request(self, *, arn_prefix: str | None = None) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_job_queue``.

        ``state`` is always sent (``ENABLED`` unless the spec says otherwise).

        :param arn_prefix: see :meth:`scheduling_policy_arn`; needed only for a policy given by name.

        ``extra_request_fields`` are merged in; where one collides, the spec's value stays.
        """
        return with_extra_fields(
            self._own_create_request(arn_prefix=arn_prefix), self.extra_request_fields, self._REQUEST_MODEL
        )

    def _own_create_request(self, *, arn_prefix: str | None = None) -> dict[str, Any]:
        """Return the create request the spec's own fields make (without ``extra_request_fields``)."""
        actions = self.job_state_time_limit_actions
        return drop_none(
            {
                "jobQueueName": self.name,
                # AWS's default, sent explicitly: the local emulator (moto) insists on it.
                "state": self.state or "ENABLED",
                "schedulingPolicyArn": self.scheduling_policy_arn(arn_prefix),
                "priority": self.priority,
                "computeEnvironmentOrder": self._order_request(),
                "jobQueueType": self.job_queue_type,
                "tags": None if self.tags is None else dict(self.tags),
                "jobStateTimeLimitActions": None if actions is None else [request_of(a) for a in actions],
            }
        )

    def to_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_job_queue``."""
        return self.to_create_request()

    def _order_request(self) -> list[dict[str, Any]]:
        return [
            e.to_request() for e in self.compute_environment_order if isinstance(e, ComputeEnvironmentOrder)
        ]

    # -- planning --------------------------------------------------------------------------------

    def plan(
        self,
        current: Mapping[str, Any] | None,
        *,
        compute_environments: Iterable[Mapping[str, Any]] | None = None,
        arn_prefix: str | None = None,
    ) -> UpdatePlan:
        """Compare with a described job queue and say how to make it match this spec.

        :param current: ``describe_job_queues()["jobQueues"][0]``, or None when the queue does not
            exist.
        :param compute_environments: the described compute environments the queue names (as
            ``describe_compute_environments`` returns them), to check that they are of one kind
            and of the queue's type, and to build ARNs from. Optional: unknown kinds go unchecked.
        :param arn_prefix: ``arn:PARTITION:batch:REGION:ACCOUNT``, to turn a scheduling policy name
            into its ARN when neither the queue nor a compute environment ARN tells it.
        :raises SpecValidationError: the described compute environments are of mixed kinds, or not
            of ``job_queue_type``, or (when ``compute_environments`` is given) one the queue names
            is not among them: it does not exist.
        """
        described = self._describe_map(compute_environments)
        kinds = self._known_kinds(described)
        checker = Checker(type(self).__name__)
        if compute_environments is not None:
            self._check_described(checker, described)
        self._check_kinds(checker, kinds)
        checker.raise_if_any()
        prefix = arn_prefix or self._arn_prefix(
            None if current is None else current.get("jobQueueArn"),
            *(detail.get("computeEnvironmentArn") for detail in described.values()),
        )
        if current is None or is_absent(current):
            return create_plan("job queue", self.name, self.to_create_request(arn_prefix=prefix))
        arn = current.get("jobQueueArn")
        builder = PlanBuilder("job queue", self.name, {"jobQueue": arn or self.name})
        self._plan_type(builder, current, kinds, described)
        if compare(builder, "priority", self.priority, current.get("priority")):
            builder.set("priority", self.priority)
        if compare(builder, "state", self.state, current.get("state")):
            builder.set("state", self.state)
        desired_order = self._order_key(self._order_request())
        current_order = self._order_key(current.get("computeEnvironmentOrder") or [])
        if desired_order != current_order:
            builder.differ("compute_environment_order", list(current_order), list(desired_order))
            builder.set("computeEnvironmentOrder", self._order_request())
        self._plan_scheduling_policy(builder, current, prefix)
        actions = self.job_state_time_limit_actions
        if actions is not None:
            desired_actions = [request_of(a) for a in actions]
            current_actions = current.get("jobStateTimeLimitActions") or []
            if compare(
                builder, "job_state_time_limit_actions", desired_actions, current_actions, key=_time_limit_key
            ):
                builder.set("jobStateTimeLimitActions", desired_actions)
        plan_extra_fields(
            builder,
            self.extra_request_fields,
            current,
            model=self._REQUEST_MODEL,
            update_operation="UpdateJobQueue",
            detail_shape="JobQueueDetail",
        )
        return builder.build(resource_arn=arn, desired_tags=self.tags, current_tags=current.get("tags"))

    @staticmethod
    def _describe_map(details: Iterable[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
        result: dict[str, Mapping[str, Any]] = {}
        for detail in details or ():
            name = detail.get("computeEnvironmentName") or _ce_name(detail.get("computeEnvironmentArn"))
            if isinstance(name, str):
                result[name] = detail
        return result

    @staticmethod
    def _order_key(entries: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
        """Return compute environment names in the order they are tried (the numbers don't matter)."""
        ranked = sorted(entries, key=lambda item: (item.get("order", 0), str(item.get("computeEnvironment"))))
        return tuple(_ce_name(item.get("computeEnvironment")) for item in ranked)

    def _plan_type(
        self,
        b: PlanBuilder,
        current: Mapping[str, Any],
        kinds: Mapping[int, str],
        described: Mapping[str, Mapping[str, Any]],
    ) -> None:
        desired = self.job_queue_type or (next(iter(kinds.values())) if kinds else None)
        have = current.get("jobQueueType")
        if have is None:
            current_kinds = {
                job_queue_type_of(described[name])
                for name in (
                    _ce_name(e.get("computeEnvironment"))
                    for e in current.get("computeEnvironmentOrder") or []
                )
                if name in described
            }
            have = next(iter(current_kinds)) if len(current_kinds) == 1 else None
        if have == "SAGEMAKER_TRAINING" or (desired is not None and have is not None and desired != have):
            b.differ("job_queue_type", have, desired)
            b.replace(
                "job_queue_type",
                f"AWS can't change a job queue's type ({have} -> {desired}): UpdateJobQueue has no "
                "jobQueueType, and a queue's compute environments must all be of its type",
            )

    def _plan_scheduling_policy(self, b: PlanBuilder, current: Mapping[str, Any], prefix: str | None) -> None:
        policy = self.scheduling_policy
        if policy is None:
            return
        desired_name = policy.name if isinstance(policy, SchedulingPolicySpec) else policy
        current_arn = current.get("schedulingPolicyArn")
        if not compare(
            b,
            "scheduling_policy",
            desired_name,
            current_arn,
            key=lambda v: arn_resource_name(v, "scheduling-policy"),
        ):
            return
        if current_arn is None:
            b.replace(
                "scheduling_policy",
                "AWS can't add a fair-share scheduling policy to a job queue created without one (a FIFO "
                "queue)",
            )
            return
        b.set("schedulingPolicyArn", self.scheduling_policy_arn(prefix))
