"""The scheduler's part for ECS multi-container jobs: start containers in dependency order, stop the task.

Each container is a local process of its own, launched like a container job's (``launch_spec``:
``Ref::`` parameters, environment, secrets, AWS_BATCH_* variables) and logging to its own stream
``<awslogs-stream-prefix>/<container name>/<ECS task id>`` (ECS's awslogs naming; the prefix
defaults to the job definition name, the group to ``/aws/batch/job``). ``EcsTaskRun`` decides
which container starts or stops; this mixin does it. Processes are started outside the scheduler
lock, as every launch is: containers that become ready when another one starts or exits are queued
as launch plans for the scheduler thread.
"""

from __future__ import annotations

import ipaddress
import random
import time
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.emulator.containers import log_destination
from airflow_batch_plugin.emulator.ecs_definitions import container_name
from airflow_batch_plugin.emulator.ecs_tasks import DEPENDENCY_STOP_EXIT_CODE, EcsTaskRun
from airflow_batch_plugin.emulator.jobs import RUNNING, RUNNING_PHASE, Attempt, now_ms
from airflow_batch_plugin.emulator.launch import LaunchError, launch_spec
from airflow_batch_plugin.emulator.process import CloudWatchLogSink, supervisor
from airflow_batch_plugin.emulator.secrets import SecretResolutionError, resolve_secrets
from airflow_batch_plugin.emulator.settings import current_settings

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from airflow_batch_plugin.emulator.jobs import ActiveAttempt, BatchJob
    from airflow_batch_plugin.emulator.process import LaunchSpec, ProcessHandle

DEFAULT_SUBNET = "10.0.0.0/16"


class EcsTaskScheduling:
    """Mixin of ``Scheduler``: the ECS multi-container steps of preparing, launching and ending an attempt."""

    if TYPE_CHECKING:
        lock: threading.RLock
        _backend: Any
        _stopped: bool
        _wakeup: threading.Condition
        _queued_plans: list[Any]

        def _schedule(
            self, due: float, action: str, job: BatchJob, expected_status: str, attempt: int = 0
        ) -> None: ...

        def _step(self) -> float: ...

        def _set_status(self, job: BatchJob, status: str, reason: str | None) -> None: ...

        def _finish_attempt(self, job: BatchJob, active: ActiveAttempt) -> None: ...

        def _plan(
            self,
            job: BatchJob,
            active: ActiveAttempt,
            specs: dict[int, LaunchSpec],
            sinks: dict[int, CloudWatchLogSink],
        ) -> Any: ...

        def _on_running(self, job: BatchJob, active: ActiveAttempt) -> None: ...

        def call_later(self, delay: float, callback: Callable[[], None]) -> None: ...

    # ---------------------------------------------------------------------------- preparing

    def _prepare_ecs_launch(self, job: BatchJob, active: ActiveAttempt) -> Any:
        """Build every container's stream and process, and return the plan of those that start first."""
        containers = job.containers()
        task_id = active.task_arn.rsplit("/", 1)[1]
        streams, sinks = [], {}
        for index, container in enumerate(containers):
            group, prefix = log_destination(container, job.definition.name)
            stream = f"{prefix}/{container_name(container)}/{task_id}"
            streams.append(stream)
            sinks[index] = CloudWatchLogSink(self._backend.logs_backend, group, stream)
            active.log_stream_names[index] = stream
        task = EcsTaskRun.create(containers, streams, self._network_interfaces(job))
        task.sinks = sinks
        active.ecs_task = task
        account_id, region = self._backend.account_id, self._backend.region_name
        try:
            secrets = [resolve_secrets(item.get("secrets") or [], account_id, region) for item in containers]
        except SecretResolutionError as error:
            active.stop_reason = str(error)
            task.stop()
            self._finish_attempt(job, active)
            return None
        settings = current_settings()
        for index in range(len(containers)):
            try:
                task.specs[index] = launch_spec(job, active.number, index, secrets[index], settings)
            except LaunchError as error:
                task.not_run(index, str(error))
        ready = self._ecs_next(job, active)
        if not ready:
            self._finish_attempt(job, active)
            return None
        return self._ecs_plan(job, active, ready)

    def _network_interfaces(self, job: BatchJob) -> list[dict[str, str]]:
        """Return the task's network interface on Fargate (awsvpc: one per task), none on EC2."""
        environment = job.compute_environment
        if environment is None or not getattr(environment, "is_fargate", False):
            return []
        return [{"attachmentId": str(uuid.uuid4()), "privateIpv4Address": self._private_address(environment)}]

    def _private_address(self, environment: Any) -> str:
        subnets = (environment.compute_resources or {}).get("subnets") or []
        cidr = DEFAULT_SUBNET
        if subnets:
            try:
                cidr = self._backend.ec2_backend.get_subnet(subnets[0]).cidr_block
            except Exception:
                cidr = DEFAULT_SUBNET
        network = ipaddress.ip_network(cidr, strict=False)
        offset = random.randrange(4, max(5, network.num_addresses - 1))
        return str(network.network_address + offset)

    def _ecs_plan(self, job: BatchJob, active: ActiveAttempt, ready: list[int]) -> Any:
        task: EcsTaskRun = active.ecs_task
        return self._plan(
            job,
            active,
            {index: task.specs[index] for index in ready},
            {index: task.sinks[index] for index in ready},
        )

    # ---------------------------------------------------------------------------- the rules

    def _ecs_next(self, job: BatchJob, active: ActiveAttempt) -> list[int]:
        """Apply the task's rules until nothing changes; return the containers to start now."""
        task: EcsTaskRun = active.ecs_task
        while True:
            blocked = task.blocked()
            for index, reason in blocked:
                task.not_run(index, reason, DEPENDENCY_STOP_EXIT_CODE)
            if not task.stopping and task.essential_ended():
                self._ecs_stop_task(active)
            if not blocked:
                break
        ready = [] if active.stop_reason is not None else task.ready()
        task.launching(ready)
        active.pending_nodes = task.unfinished()
        return ready

    def _ecs_stop_task(self, active: ActiveAttempt) -> None:
        """Stop the task: no waiting container starts, every running one is stopped."""
        task: EcsTaskRun = active.ecs_task
        default_grace = current_settings().kill_grace_seconds
        for index in task.stop():
            handle = active.handles.get(index)
            if handle is not None:
                grace = task.containers[index].stop_timeout
                supervisor().stop(handle, default_grace if grace is None else grace)

    def _ecs_advance(self, job: BatchJob, active: ActiveAttempt) -> None:
        """After a container started or ended: queue the containers now ready, or end the attempt."""
        ready = self._ecs_next(job, active)
        if ready:
            self._queued_plans.append(self._ecs_plan(job, active, ready))
            self._wakeup.notify()
        elif not active.pending_nodes and job.status == RUNNING:
            due = max(time.monotonic(), job.entered_status_at + self._step())
            self._schedule(due, "finish", job, RUNNING, active.number)

    # ---------------------------------------------------------------------------- events

    def _record_ecs_launch(
        self,
        job: BatchJob,
        active: ActiveAttempt,
        handles: dict[int, ProcessHandle],
        failures: dict[int, str],
    ) -> None:
        """Record containers that started (or could not); the first launch makes the job RUNNING."""
        task: EcsTaskRun = active.ecs_task
        for index, handle in handles.items():
            if not task.containers[index].finished:
                active.handles[index] = handle
            task.started(index)
        for index, reason in failures.items():
            task.not_run(index, reason)
        first_launch = active.phase != RUNNING_PHASE
        active.phase = RUNNING_PHASE
        if active.stop_reason is not None or task.stopping:
            grace = current_settings().kill_grace_seconds
            for handle in handles.values():
                supervisor().stop(handle, grace)
        if first_launch:
            if not any(run.started for run in task.containers):
                self._ecs_next(job, active)
                if not active.pending_nodes:
                    self._finish_attempt(job, active)
                    return
            self._on_running(job, active)
            self._arm_start_timeouts(job, active)
        self._ecs_advance(job, active)

    def _arm_start_timeouts(self, job: BatchJob, active: ActiveAttempt) -> None:
        task: EcsTaskRun = active.ecs_task
        for run in task.containers:
            if run.start_timeout is not None and run.dependencies:
                self.call_later(run.start_timeout, partial(self._ecs_start_timeout, job, active, run.index))

    def _ecs_start_timeout(self, job: BatchJob, active: ActiveAttempt, index: int) -> None:
        """Give up on container ``index`` if its dependencies still do not hold after its startTimeout."""
        if job.active is not active or self._stopped:
            return
        reason = active.ecs_task.timed_out(index)
        if reason is not None:
            active.ecs_task.not_run(index, reason, DEPENDENCY_STOP_EXIT_CODE)
            self._ecs_advance(job, active)

    def _ecs_container_exited(self, job: BatchJob, active: ActiveAttempt, index: int, exit_code: int) -> None:
        """Record a container's exit (under the lock) and apply the task's rules."""
        active.handles.pop(index, None)
        active.ecs_task.exited(index, exit_code)
        self._ecs_advance(job, active)

    def _ecs_attempt_stopped(self, job: BatchJob, active: ActiveAttempt) -> None:
        """The emulator ends the attempt (timeout, TerminateJob): stop the whole task."""
        self._ecs_stop_task(active)
        self._ecs_advance(job, active)

    def _ecs_attempt(self, active: ActiveAttempt) -> tuple[Attempt, bool]:
        """Return the finished attempt's record and whether the job succeeded."""
        task: EcsTaskRun = active.ecs_task
        outcome = task.outcome()
        attempt = Attempt(
            started_at=active.started_at,
            stopped_at=now_ms(),
            status_reason=active.stop_reason or outcome.status_reason,
            task_arn=active.task_arn,
            container_instance_arn=active.container_instance_arn,
            log_stream_name=None,
            exit_code=outcome.exit_code,
            reason=outcome.reason,
            task_containers=task.attempt_containers(),
        )
        return attempt, active.stop_reason is None and outcome.succeeded
