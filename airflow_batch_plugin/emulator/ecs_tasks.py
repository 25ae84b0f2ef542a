"""One attempt of an ECS multi-container job: which container may start, which must stop, who decides.

``EcsTaskRun`` is pure bookkeeping; the scheduler starts and stops the processes it names.

ECS's rules (TaskContainerProperties ``essential``, TaskContainerDependency, the ECS agent's
container ordering): a container starts once every dependency holds (START: the other container
has started; COMPLETE: it has exited; SUCCESS: it has exited with 0). A dependency that can never
hold (its container never started, or a SUCCESS one exited non-zero), or that still does not hold
after the container's ``startTimeout``, stops the waiting container without starting it: exit code
143 and a CannotStartContainerError reason, as the ECS agent reports it. When an essential container
ends, the task stops: every running container is stopped, no waiting one starts. A non-essential
container's end affects nothing else.

The job's outcome (AWS Batch documents it for one container; the emulator extends it so): the
task fails to start when an essential container cannot start; otherwise the job fails when an
essential container that ended on its own (not stopped because the task stopped) exited non-zero,
and that container's exit code and reason are the job's (what ``evaluateOnExit`` matches). A
non-essential container never decides the job.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.emulator.ecs_definitions import container_name, is_essential

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

WAITING = "waiting"
LAUNCHING = "launching"
RUNNING = "running"
EXITED = "exited"
NOT_RUN = "not-run"
FINISHED_STATES = frozenset({EXITED, NOT_RUN})

#: Docker's exit code of a container stopped by SIGTERM; the ECS agent gives it to a container
#: it stops because its dependencies can never be resolved.
DEPENDENCY_STOP_EXIT_CODE = 143
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
TASK_FAILED_TO_START = "Task failed to start"


@dataclass
class ContainerRun:
    """One container of the task in this attempt."""

    index: int
    declared_name: str | None
    name: str
    essential: bool
    dependencies: list[tuple[int, str]]
    log_stream_name: str
    start_timeout: float | None = None
    stop_timeout: float | None = None
    state: str = WAITING
    started: bool = False
    exit_code: int | None = None
    reason: str | None = None
    stopped_by_task: bool = False
    ended_order: int | None = None

    @property
    def finished(self) -> bool:
        """Return whether the container has exited or will never run."""
        return self.state in FINISHED_STATES


@dataclass(frozen=True)
class TaskOutcome:
    """How the attempt ends: whether it succeeded, and the exit code and reason that decided it."""

    succeeded: bool
    status_reason: str
    exit_code: int | None
    reason: str | None


@dataclass
class EcsTaskRun:
    """The containers of one attempt and the rules that start and stop them."""

    containers: list[ContainerRun]
    network_interfaces: list[dict[str, str]] = field(default_factory=list)
    stopping: bool = False
    #: The launch spec and log sink of each container (filled by the scheduler).
    specs: dict[int, Any] = field(default_factory=dict)
    sinks: dict[int, Any] = field(default_factory=dict)
    _order: Any = field(default_factory=itertools.count)

    @classmethod
    def create(
        cls,
        containers: Sequence[Mapping[str, Any]],
        log_stream_names: Sequence[str],
        network_interfaces: list[dict[str, str]],
    ) -> EcsTaskRun:
        """Return the run of a task whose merged containers are ``containers``."""
        index_of = {container_name(container): index for index, container in enumerate(containers)}
        runs = []
        for index, container in enumerate(containers):
            dependencies = [
                (index_of[item["containerName"]], str(item["condition"]))
                for item in container.get("dependsOn") or []
            ]
            runs.append(
                ContainerRun(
                    index=index,
                    declared_name=container.get("name"),
                    name=container_name(container),
                    essential=is_essential(container),
                    dependencies=dependencies,
                    log_stream_name=log_stream_names[index],
                    start_timeout=_seconds(container.get("startTimeout")),
                    stop_timeout=_seconds(container.get("stopTimeout")),
                )
            )
        return cls(runs, network_interfaces)

    # ------------------------------------------------------------------ what to do next

    def ready(self) -> list[int]:
        """Return the waiting containers whose dependencies all hold (none while the task stops)."""
        if self.stopping:
            return []
        return [
            run.index
            for run in self.containers
            if run.state == WAITING and all(self._holds(target, kind) for target, kind in run.dependencies)
        ]

    def blocked(self) -> list[tuple[int, str]]:
        """Return the waiting containers with a dependency that can never hold, and why."""
        found = []
        for run in self.containers:
            if run.state != WAITING:
                continue
            for target, kind in run.dependencies:
                if self._never_holds(target, kind):
                    found.append((run.index, self._dependency_reason(run, target, kind)))
                    break
        return found

    def timed_out(self, index: int) -> str | None:
        """Return the reason container ``index`` gives up after its startTimeout, if it still waits."""
        run = self.containers[index]
        if run.state != WAITING or self.stopping:
            return None
        for target, kind in run.dependencies:
            if not self._holds(target, kind):
                return (
                    f"{self._dependency_reason(run, target, kind)}: not resolved within the "
                    f"startTimeout of {run.start_timeout:g} seconds"
                )
        return None

    def essential_ended(self) -> bool:
        """Return whether an essential container has ended, which stops the task."""
        return any(run.essential and run.finished for run in self.containers)

    def unfinished(self) -> set[int]:
        """Return the containers that have not ended yet."""
        return {run.index for run in self.containers if not run.finished}

    def done(self) -> bool:
        """Return whether nothing runs or will run any more."""
        return not self.unfinished()

    # ------------------------------------------------------------------ what happened

    def launching(self, indexes: Sequence[int]) -> None:
        """Mark containers as being started."""
        for index in indexes:
            self.containers[index].state = LAUNCHING

    def started(self, index: int) -> None:
        """Mark a container as running (its exit may have been seen first: a quick process)."""
        run = self.containers[index]
        run.started = True
        if run.state == LAUNCHING:
            run.state = RUNNING

    def exited(self, index: int, exit_code: int) -> None:
        """Record a container's exit."""
        run = self.containers[index]
        run.state, run.started, run.exit_code = EXITED, True, exit_code
        run.ended_order = next(self._order)

    def not_run(self, index: int, reason: str | None, exit_code: int | None = None) -> None:
        """Record that a container will never run (it could not start, gave up, or the task stopped)."""
        run = self.containers[index]
        run.state, run.reason, run.exit_code = NOT_RUN, reason, exit_code
        run.ended_order = next(self._order)

    def stop(self) -> list[int]:
        """Stop the task: waiting containers will never run; return the running ones to stop."""
        self.stopping = True
        to_stop = []
        for run in self.containers:
            if run.state == WAITING:
                run.state = NOT_RUN
            elif run.state in (LAUNCHING, RUNNING):
                run.stopped_by_task = True
                if run.state == RUNNING:
                    to_stop.append(run.index)
        return to_stop

    # ------------------------------------------------------------------ the end

    def outcome(self) -> TaskOutcome:
        """Return how the attempt ends, by the rules in the module docstring."""
        ended = sorted(
            (run for run in self.containers if run.essential and run.ended_order is not None),
            key=lambda run: run.ended_order or 0,
        )
        for run in ended:
            if not run.started and run.exit_code is None and run.reason is not None:
                return TaskOutcome(False, TASK_FAILED_TO_START, None, run.reason)
        deciding = [run for run in ended if not run.stopped_by_task and run.exit_code is not None]
        for run in deciding:
            if run.exit_code != 0:
                return TaskOutcome(False, ESSENTIAL_CONTAINER_EXITED, run.exit_code, run.reason)
        if deciding:
            return TaskOutcome(True, ESSENTIAL_CONTAINER_EXITED, deciding[0].exit_code, deciding[0].reason)
        first = ended[0] if ended else None
        return TaskOutcome(
            False,
            ESSENTIAL_CONTAINER_EXITED,
            first.exit_code if first else None,
            first.reason if first else None,
        )

    def attempt_containers(self) -> list[dict[str, Any]]:
        """Return the AttemptTaskContainerDetails of every container."""
        return [self.container_runtime(run.index) for run in self.containers]

    def container_runtime(self, index: int) -> dict[str, Any]:
        """Return what the attempt knows of one container: name, exit code, reason, stream, interfaces."""
        run = self.containers[index]
        detail: dict[str, Any] = {}
        if run.declared_name is not None:
            detail["name"] = run.declared_name
        if run.exit_code is not None:
            detail["exitCode"] = run.exit_code
        if run.reason is not None:
            detail["reason"] = run.reason
        detail["logStreamName"] = run.log_stream_name
        detail["networkInterfaces"] = [dict(item) for item in self.network_interfaces]
        return detail

    # ------------------------------------------------------------------ dependency conditions

    def _holds(self, target: int, kind: str) -> bool:
        run = self.containers[target]
        if kind == "START":
            return run.started
        if kind == "COMPLETE":
            return run.started and run.state == EXITED
        return run.started and run.state == EXITED and run.exit_code == 0

    def _never_holds(self, target: int, kind: str) -> bool:
        run = self.containers[target]
        if not run.finished:
            return False
        return not self._holds(target, kind)

    def _dependency_reason(self, run: ContainerRun, target: int, kind: str) -> str:
        other = self.containers[target]
        if other.state == EXITED:
            state = f"exited with code {other.exit_code}"
        elif other.finished:
            state = "never started"
        else:
            state = other.state
        return (
            f"CannotStartContainerError: dependency graph: failed to resolve the container ordering "
            f"dependency of {run.name} on {other.name} ({kind}): {other.name} {state}"
        )


def _seconds(value: Any) -> float | None:
    return float(value) if value is not None else None
