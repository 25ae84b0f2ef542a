"""The processes ("units") of one attempt, for every kind of job: which start, which stop, what decides.

A unit is one container run as a local process. ``attempt_units(job)`` states each kind's rules as
properties of its units; ``AttemptUnits`` applies them. It is pure bookkeeping: the scheduler
starts and stops the processes it names.

Each unit has dependencies on other units, with ECS's TaskContainerDependency conditions (START:
the other unit has started; COMPLETE: it has exited; SUCCESS: it has exited with 0); ``essential``
(it decides the outcome, and the attempt stops when it cannot start); ``stop_on_exit`` (which of
its exits stops the attempt: any, a non-zero one, none); and ``task`` (units of one ECS task are
initialized together: their secrets are resolved before any of them starts). Per kind:

- Container job: one unit, essential; its exit ends the attempt.
- Multi-node parallel job: one unit per node, each its own task. The other nodes depend on the
  main node with START (they start once it runs); only the main node is essential, and its exit
  stops the others (AWS Batch user guide, multi-node parallel jobs).
- EKS job: the pod's init containers, then its containers. Each init container depends on the
  previous one with SUCCESS, the containers on the last init container; every unit is essential,
  an init container's non-zero exit stops the pod (Kubernetes, restartPolicy Never: a failed init
  container fails the pod) and the containers run to their own end.
- ECS multi-container job: one unit per container, its ``dependsOn``, ``essential``,
  ``startTimeout`` and ``stopTimeout``; an essential container's exit stops the task.

A waiting unit whose dependency can never hold (its unit never started, or a SUCCESS one exited
non-zero), or still does not hold after its ``startTimeout``, is not started: exit code 143 and a
CannotStartContainerError reason, as the ECS agent reports it. When the attempt stops, waiting
units never start and running ones are stopped.

The outcome: the attempt fails to start when an essential unit could not start; otherwise it
fails when an essential unit that ended on its own (not stopped because the attempt stopped)
exited non-zero, and the first such unit to end gives the exit code and reason (what
``evaluateOnExit`` matches); otherwise it succeeds. AWS Batch documents this for one container
and the main node; the emulator extends it to ECS tasks and pods. A unit that is not essential
never decides.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_batch_local.ecs_definitions import container_name, is_essential
from aws_batch_local.jobs import (
    ECS_KIND,
    EKS_KIND,
    ESSENTIAL_CONTAINER_EXITED,
    MULTINODE_KIND,
    TASK_FAILED_TO_START,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from aws_batch_local.jobs import BatchJob

WAITING = "waiting"
LAUNCHING = "launching"
RUNNING = "running"
EXITED = "exited"
NOT_RUN = "not-run"
FINISHED_STATES = frozenset({EXITED, NOT_RUN})

START, COMPLETE, SUCCESS = "START", "COMPLETE", "SUCCESS"

#: Which exits of a unit stop the attempt: every exit, a non-zero one, none.
ANY_EXIT = "any"
FAILED_EXIT = "failed"
NO_EXIT = "none"

#: Docker's exit code of a container stopped by SIGTERM; the ECS agent gives it to a container
#: it stops because its dependencies can never be resolved.
DEPENDENCY_STOP_EXIT_CODE = 143


@dataclass
class Unit:
    """One unit of the attempt: its rules and what happened to it."""

    index: int
    name: str
    essential: bool = True
    stop_on_exit: str = ANY_EXIT
    dependencies: list[tuple[int, str]] = field(default_factory=list)
    task: int = 0
    start_timeout: float | None = None
    stop_timeout: float | None = None
    log_group: str | None = None
    log_stream_name: str | None = None
    state: str = WAITING
    started: bool = False
    exit_code: int | None = None
    reason: str | None = None
    stopped_by_attempt: bool = False
    ended_order: int | None = None

    @property
    def finished(self) -> bool:
        """Return whether the unit has exited or will never run."""
        return self.state in FINISHED_STATES

    @property
    def ends_attempt(self) -> bool:
        """Return whether the way this unit ended stops the attempt."""
        if self.state == NOT_RUN:
            return self.essential
        if self.state != EXITED or self.stopped_by_attempt:
            return False
        return self.stop_on_exit == ANY_EXIT or (self.stop_on_exit == FAILED_EXIT and self.exit_code != 0)


@dataclass(frozen=True)
class AttemptOutcome:
    """How the attempt ends: whether it succeeded, and the exit code and reason that decided it."""

    succeeded: bool
    status_reason: str
    exit_code: int | None
    reason: str | None


@dataclass
class AttemptUnits:
    """The units of one attempt and the rules that start and stop them."""

    units: list[Unit]
    stopping: bool = False
    _order: Iterator[int] = field(default_factory=itertools.count)

    def __getitem__(self, index: int) -> Unit:
        return self.units[index]

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units)

    def __len__(self) -> int:
        return len(self.units)

    # ------------------------------------------------------------------ what to do next

    def ready(self) -> list[int]:
        """Return the waiting units whose dependencies all hold (none while the attempt stops)."""
        if self.stopping:
            return []
        return [
            unit.index
            for unit in self.units
            if unit.state == WAITING and all(self._holds(target, kind) for target, kind in unit.dependencies)
        ]

    def blocked(self) -> list[tuple[int, str]]:
        """Return the waiting units with a dependency that can never hold, and why."""
        found = []
        for unit in self.units:
            if unit.state != WAITING:
                continue
            for target, kind in unit.dependencies:
                if self._never_holds(target, kind):
                    found.append((unit.index, self._dependency_reason(unit, target, kind)))
                    break
        return found

    def timed_out(self, index: int) -> str | None:
        """Return the reason unit ``index`` gives up after its startTimeout, if it still waits."""
        unit = self.units[index]
        if unit.state != WAITING or self.stopping:
            return None
        for target, kind in unit.dependencies:
            if not self._holds(target, kind):
                return (
                    f"{self._dependency_reason(unit, target, kind)}: not resolved within the "
                    f"startTimeout of {unit.start_timeout:g} seconds"
                )
        return None

    def must_stop(self) -> bool:
        """Return whether a unit's end stops the attempt and it is not stopping yet."""
        return not self.stopping and any(unit.ends_attempt for unit in self.units)

    def of_task(self, task: int) -> list[int]:
        """Return the units of one task."""
        return [unit.index for unit in self.units if unit.task == task]

    def any_started(self) -> bool:
        """Return whether any unit has started."""
        return any(unit.started for unit in self.units)

    def running(self) -> list[int]:
        """Return the units started and not ended yet."""
        return [unit.index for unit in self.units if unit.state == RUNNING]

    def done(self) -> bool:
        """Return whether nothing runs or will run any more."""
        return all(unit.finished for unit in self.units)

    # ------------------------------------------------------------------ what happened

    def launching(self, indexes: Sequence[int]) -> None:
        """Mark units as being started."""
        for index in indexes:
            self.units[index].state = LAUNCHING

    def started(self, index: int) -> None:
        """Mark a unit as running (its exit may have been seen first: a quick process)."""
        unit = self.units[index]
        unit.started = True
        if unit.state == LAUNCHING:
            unit.state = RUNNING

    def exited(self, index: int, exit_code: int, reason: str | None = None) -> None:
        """Record a unit's exit (which also means it started)."""
        unit = self.units[index]
        unit.state, unit.started, unit.exit_code, unit.reason = EXITED, True, exit_code, reason
        unit.ended_order = next(self._order)

    def not_run(self, index: int, reason: str | None, exit_code: int | None = None) -> None:
        """Record that a unit will never run (it could not start, or gave up on a dependency)."""
        unit = self.units[index]
        unit.state, unit.reason, unit.exit_code = NOT_RUN, reason, exit_code
        unit.ended_order = next(self._order)

    def stop(self) -> list[int]:
        """Stop the attempt: waiting units will never run; return the running ones to stop (once).

        Units being launched are marked too: the scheduler stops them once their launch is recorded.
        """
        if self.stopping:
            return []
        self.stopping = True
        for unit in self.units:
            if unit.state == WAITING:
                unit.state = NOT_RUN
            elif unit.state in (LAUNCHING, RUNNING):
                unit.stopped_by_attempt = True
        return self.running()

    # ------------------------------------------------------------------ the end

    def outcome(self) -> AttemptOutcome:
        """Return how the attempt ends, by the rules in the module docstring."""
        ended = sorted(
            (unit for unit in self.units if unit.essential and unit.ended_order is not None),
            key=lambda unit: unit.ended_order or 0,
        )
        for unit in ended:
            if not unit.started and unit.exit_code is None and unit.reason is not None:
                return AttemptOutcome(False, TASK_FAILED_TO_START, None, unit.reason)
        deciding = [unit for unit in ended if not unit.stopped_by_attempt and unit.exit_code is not None]
        for unit in deciding:
            if unit.exit_code != 0:
                return AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, unit.exit_code, unit.reason)
        if deciding:
            return AttemptOutcome(True, ESSENTIAL_CONTAINER_EXITED, deciding[0].exit_code, deciding[0].reason)
        if not ended:
            return AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, None, None)
        return AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, ended[0].exit_code, ended[0].reason)

    # ------------------------------------------------------------------ dependency conditions

    def _holds(self, target: int, kind: str) -> bool:
        unit = self.units[target]
        if kind == START:
            return unit.started
        if kind == COMPLETE:
            return unit.started and unit.state == EXITED
        return unit.started and unit.state == EXITED and unit.exit_code == 0

    def _never_holds(self, target: int, kind: str) -> bool:
        return self.units[target].finished and not self._holds(target, kind)

    def _dependency_reason(self, unit: Unit, target: int, kind: str) -> str:
        other = self.units[target]
        if other.state == EXITED:
            state = f"exited with code {other.exit_code}"
        elif other.finished:
            state = "never started"
        else:
            state = other.state
        return (
            f"CannotStartContainerError: dependency graph: failed to resolve the container ordering "
            f"dependency of {unit.name} on {other.name} ({kind}): {other.name} {state}"
        )


# ---------------------------------------------------------------------------------- per kind


def attempt_units(job: BatchJob) -> AttemptUnits:
    """Return the units of a new attempt of ``job``, with its kind's rules (module docstring)."""
    if job.kind == MULTINODE_KIND:
        return AttemptUnits(_node_units(job))
    if job.kind == EKS_KIND:
        return AttemptUnits(_pod_units(job))
    if job.kind == ECS_KIND:
        return AttemptUnits(ecs_task_units(job.containers()))
    return AttemptUnits([Unit(0, container_name(job.containers()[0]))])


def _node_units(job: BatchJob) -> list[Unit]:
    main = job.main_node
    return [
        Unit(node, f"node {node}", task=node)
        if node == main
        else Unit(node, f"node {node}", False, NO_EXIT, [(main, START)], task=node)
        for node in range(len(job.containers()))
    ]


def _pod_units(job: BatchJob) -> list[Unit]:
    inits = job.init_containers()
    units = [
        Unit(index, container_name(item), True, FAILED_EXIT, [(index - 1, SUCCESS)] if index else [])
        for index, item in enumerate(inits)
    ]
    after_inits = [(len(inits) - 1, SUCCESS)] if inits else []
    units += [
        Unit(len(inits) + index, container_name(item), True, NO_EXIT, list(after_inits))
        for index, item in enumerate(job.containers())
    ]
    return units


def ecs_task_units(containers: Sequence[Mapping[str, Any]]) -> list[Unit]:
    """Return the units of an ECS task whose merged containers are ``containers``."""
    index_of = {container_name(container): index for index, container in enumerate(containers)}
    units = []
    for index, container in enumerate(containers):
        essential = is_essential(container)
        dependencies = [
            (index_of[item["containerName"]], str(item["condition"]))
            for item in container.get("dependsOn") or []
        ]
        units.append(
            Unit(
                index,
                container_name(container),
                essential,
                ANY_EXIT if essential else NO_EXIT,
                dependencies,
                start_timeout=_seconds(container.get("startTimeout")),
                stop_timeout=_seconds(container.get("stopTimeout")),
            )
        )
    return units


def _seconds(value: Any) -> float | None:
    return float(value) if value is not None else None
