"""Move one region's jobs through their statuses from one scheduler thread.

Statuses go SUBMITTED, PENDING (dependencies), RUNNABLE (capacity), STARTING, RUNNING and end in
SUCCEEDED or FAILED; each lasts at least ``step_seconds`` so a poller can observe it. Every change
of state happens under ``Scheduler.lock``; API handlers take the same lock. Timers live in one heap,
so ten thousand array children cost heap entries, not threads. The same thread runs the timed
transitions of compute environments and job queues (``call_later``), so infrastructure and jobs
change under one lock.

A RUNNABLE job waits for a compute environment of its queue that is ENABLED and VALID (or
UPDATING); until then it is "unplaced", and every infrastructure change retries the placement.
A job blocked by a misconfiguration is cancelled by its queue's ``jobStateTimeLimitActions``.

An attempt runs its units (``attempt_units``: the container, each node, each container of a pod
or of an ECS task) as local processes, when its kind's rules let them start: the first ones once
STARTING has lasted its step, later ones from a ``launch`` timer after another unit started or
ended. Processes are started outside the lock and recorded under it, one launch of an attempt
at a time. Every start, exit or give-up applies the rules again (stop the attempt, give up on
blocked units, start the ready ones); once every unit has ended, the attempt ends as its units
decide, and is retried or ends the job.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import job_arn
from aws_batch_local.attempt_units import DEPENDENCY_STOP_EXIT_CODE, WAITING, attempt_units
from aws_batch_local.capacity import is_dispatchable, job_vcpus, place
from aws_batch_local.containers import awslogs_destination
from aws_batch_local.ecs_job_detail import task_container_runtime
from aws_batch_local.ecs_task_definitions import register_task_definitions_of
from aws_batch_local.eks_pods import ContainerInsightsSink, EksPod
from aws_batch_local.front_of_queue import (
    FRONT_OF_QUEUE_LIMIT,
    fair_share_order,
    fifo_order,
    snapshot,
    utilization,
)
from aws_batch_local.jobs import (
    ARRAY_CHILD_JOB_FAILED,
    ATTEMPT_TIMED_OUT,
    CONTAINER_KIND,
    DEPENDENT_JOB_FAILED,
    ECS_KIND,
    EKS_KIND,
    ESSENTIAL_CONTAINER_EXITED,
    FAILED,
    LAUNCHING_PHASE,
    MULTINODE_KIND,
    NOT_STARTED_STATUSES,
    PENDING,
    RUNNABLE,
    RUNNING,
    RUNNING_PHASE,
    STARTING,
    SUBMITTED,
    SUCCEEDED,
    TASK_FAILED_TO_START,
    TERMINAL_STATUSES,
    WAITING_PHASE,
    ActiveAttempt,
    Attempt,
    BatchJob,
    now_ms,
)
from aws_batch_local.launch import (
    MAIN_NODE_ADDRESS,
    LaunchError,
    cannot_start_reason,
    launch_spec,
)
from aws_batch_local.multinode import end_unfinished_nodes, ensure_nodes
from aws_batch_local.networking import fargate_network_interfaces, is_fargate
from aws_batch_local.process import CloudWatchLogSink, LaunchSpec, supervisor
from aws_batch_local.ready import FairShareReadyQueue, ReadyQueue
from aws_batch_local.retry import should_retry
from aws_batch_local.scheduling_policies import share_weight
from aws_batch_local.secrets import SecretResolutionError, resolve_secrets
from aws_batch_local.store import JobStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_batch_local.attempt_units import Unit
    from aws_batch_local.process import LinesCallback, ProcessHandle
    from aws_batch_local.region import BatchRegion

logger = logging.getLogger(__name__)

_ADVANCE = "advance"
_TIMEOUT = "timeout"
_FINISH = "finish"
_LAUNCH = "launch"


@dataclass
class _Timer:
    action: str
    job: BatchJob
    expected_status: str
    attempt_number: int


@dataclass
class _LaunchPlan:
    job: BatchJob
    attempt: ActiveAttempt
    specs: dict[int, LaunchSpec]
    sinks: dict[int, LinesCallback]


def reason_matches(status_reason: str | None, reason: str) -> bool:
    """Return whether a job's statusReason is the one a jobStateTimeLimitAction names.

    The action names the reason's code (``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT``); the job's
    statusReason adds `` - `` and an explanation.
    """
    if not status_reason:
        return False
    wanted = reason.strip()
    return status_reason.strip() == wanted or status_reason.split(" - ", 1)[0].strip() == wanted


class Scheduler:
    """Own the jobs of one region and run them as local processes."""

    def __init__(self, region: BatchRegion) -> None:
        self._region = region
        self.settings = region.settings
        self.lock = threading.RLock()
        self._wakeup = threading.Condition(self.lock)
        self.store = JobStore()
        self._timers: list[tuple[float, int, _Timer]] = []
        self._callbacks: list[tuple[float, int, Callable[[], None]]] = []
        self._tiebreak = itertools.count()
        self._ready: dict[int, ReadyQueue] = {}
        self._unplaced: dict[str, BatchJob] = {}
        #: When the RUNNABLE jobs of each queue (by id) last changed places (epoch ms).
        self._front_moved: dict[int, int] = {}
        self._slots_in_use = 0
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, name=f"batch-emulator-scheduler-{region.region_name}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------- API; callers hold self.lock (shutdown takes it)

    def submit(self, job: BatchJob) -> None:
        """Accept a new job (already validated) in SUBMITTED."""
        job.entered_status_at = time.monotonic()
        self.store.add(job)
        self._schedule(job.entered_status_at + self._step(), _ADVANCE, job, SUBMITTED)

    def terminate(self, job: BatchJob, reason: str) -> None:
        """Stop a job in any status (children of an array parent too); it ends FAILED with ``reason``."""
        if job.status in TERMINAL_STATUSES:
            return
        job.is_terminated = True
        if job.is_array_parent:
            self._end_parent(job, reason, cancel_only=False)
            return
        active = job.active
        if job.status in NOT_STARTED_STATUSES or active is None or active.phase == WAITING_PHASE:
            self._release(job)
            self._set_status(job, FAILED, reason)
            return
        self._stop_attempt(job, active, reason)

    def cancel(self, job: BatchJob, reason: str) -> None:
        """Cancel a job that has not reached STARTING yet; later jobs are left alone, as on AWS."""
        if job.status in TERMINAL_STATUSES:
            return
        if job.is_array_parent:
            job.is_cancelled = True
            self._end_parent(job, reason, cancel_only=True)
        elif job.status in NOT_STARTED_STATUSES:
            job.is_cancelled = True
            self._set_status(job, FAILED, reason)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the scheduler thread, under the lock, ``delay`` seconds from now."""
        self.call_at(time.monotonic() + max(0.0, delay), callback)

    def call_at(self, due: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the scheduler thread, under the lock, at monotonic time ``due``."""
        heapq.heappush(self._callbacks, (due, next(self._tiebreak), callback))
        self._wakeup.notify()

    def retry_placement(self) -> None:
        """Place again every RUNNABLE job that waits for a compute environment (infrastructure changed)."""
        for job in list(self._unplaced.values()):
            if job.status != RUNNABLE:
                self._unplaced.pop(job.job_id, None)
            else:
                self._place(job)

    def arm_time_limits(self, queue: Any) -> None:
        """Start the jobStateTimeLimitActions clocks of the queue's blocked jobs (actions changed)."""
        for job in list(self._unplaced.values()):
            if job.queue is queue and job.status == RUNNABLE:
                self._arm_time_limits(job)

    def front_of_queue(self, queue: Any, limit: int = FRONT_OF_QUEUE_LIMIT) -> dict[str, Any]:
        """Answer GetJobQueueSnapshot for ``queue``: its RUNNABLE jobs in the order they will dispatch."""
        ready = self._ready_for(queue)
        waiting = [job for job in self._unplaced.values() if job.queue is queue and job.status == RUNNABLE]
        fair_share = isinstance(ready, FairShareReadyQueue)
        if isinstance(ready, FairShareReadyQueue):
            order = fair_share_order(ready.placed(), waiting, ready.usage, ready.weight_of, limit)
        else:
            order = fifo_order((job for _, job in ready.placed()), waiting, limit)
        jobs = (child for job in self.store.queue_jobs(queue.arn) for child in (job.children or [job]))
        unit = "cpu" if getattr(queue, "job_queue_type", "") == "EKS" else "VCPU"
        moved = self._front_moved.get(id(queue), 0)
        return snapshot(order, moved, utilization(jobs, unit, fair_share, now_ms()))

    def terminate_queue(self, queue: Any, reason: str) -> None:
        """Terminate every unfinished job of a queue that is being deleted."""
        for job in list(self.store.queue_jobs(queue.arn)):
            if job.queue is queue:
                self.terminate(job, reason)

    def shutdown(self) -> None:
        """Stop the scheduler thread and kill every process of this region."""
        with self._wakeup:
            self._stopped = True
            for job in self.store.all_jobs():
                if job.active is not None:
                    for handle in list(job.active.handles.values()):
                        supervisor().stop(handle, 0.0)
            self._wakeup.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while True:
            with self._wakeup:
                if self._stopped:
                    return
                try:
                    plans = self._step_once(time.monotonic())
                except Exception:
                    logger.exception("scheduler step failed")
                    plans = []
                if not plans:
                    self._wakeup.wait(self._wait_seconds())
                    continue
            for plan in plans:
                self._launch(plan)

    def _wait_seconds(self) -> float | None:
        now = time.monotonic()
        moments = [heap[0][0] for heap in (self._timers, self._callbacks) if heap]
        if self._slots_in_use < self.settings.max_running:
            for ready in self._ready.values():
                eligible = ready.next_eligible(now)
                if eligible is not None:
                    moments.append(eligible)
        return max(0.0, min(moments) - now) if moments else None

    def _step(self) -> float:
        return self.settings.step_seconds

    def _schedule(
        self, due: float, action: str, job: BatchJob, expected_status: str, attempt: int = 0
    ) -> None:
        timer = _Timer(action, job, expected_status, attempt)
        heapq.heappush(self._timers, (due, next(self._tiebreak), timer))
        self._wakeup.notify()

    def _step_once(self, now: float) -> list[_LaunchPlan]:
        while self._callbacks and self._callbacks[0][0] <= now:
            _, _, callback = heapq.heappop(self._callbacks)
            try:
                callback()
            except Exception:
                logger.exception("infrastructure transition failed")
        plans = []
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if timer.job.status != timer.expected_status:
                continue
            plan = self._fire(timer, now)
            if plan is not None:
                plans.append(plan)
        self._fill_slots(time.monotonic())
        return plans

    def _fire(self, timer: _Timer, now: float) -> _LaunchPlan | None:
        job = timer.job
        active = job.active
        if timer.action == _ADVANCE:
            if job.status == SUBMITTED:
                self._leave_submitted(job)
            elif job.status == PENDING:
                self._leave_pending(job)
            elif job.status == STARTING and active is not None and active.number == timer.attempt_number:
                return self._prepare_launch(job, active)
        elif active is None or active.number != timer.attempt_number:
            return None
        elif timer.action == _TIMEOUT:
            self._stop_attempt(job, active, ATTEMPT_TIMED_OUT)
        elif timer.action == _FINISH and active.units.done():
            self._finish_attempt(job, active)
        elif timer.action == _LAUNCH:
            return self._prepare_launch(job, active)
        return None

    # ------------------------------------------------------------------------ status changes

    def _set_status(self, job: BatchJob, status: str, reason: str | None) -> None:
        previous = job.status
        job.status = status
        job.status_reason = reason
        job.entered_status_at = time.monotonic()
        if previous == RUNNABLE or (status == RUNNABLE and getattr(job.queue, "schedule_policy", None)):
            self._front_moved[id(job.queue)] = now_ms()
        if status in TERMINAL_STATUSES:
            job.stopped_at = now_ms()
            end_unfinished_nodes(job, reason or status)
        if job.parent is not None:
            self._child_changed(job.parent, job, previous, status)
        if status in TERMINAL_STATUSES:
            for dependent in self.store.dependents_of(job.job_id):
                if dependent.status == PENDING:
                    due = max(time.monotonic(), dependent.entered_status_at + self._step())
                    self._schedule(due, _ADVANCE, dependent, PENDING)

    def _child_changed(self, parent: BatchJob, child: BatchJob, previous: str, status: str) -> None:
        summary = parent.status_summary
        summary[previous] = summary.get(previous, 0) - 1
        summary[status] = summary.get(status, 0) + 1
        if status == RUNNING and parent.started_at is None:
            parent.started_at = child.started_at
        finished = summary.get(SUCCEEDED, 0) + summary.get(FAILED, 0)
        if finished == parent.array_size and parent.status not in TERMINAL_STATUSES:
            if summary.get(FAILED, 0):
                self._set_status(parent, FAILED, parent.status_reason or ARRAY_CHILD_JOB_FAILED)
            else:
                self._set_status(parent, SUCCEEDED, None)
        elif parent.status == SUBMITTED and status not in (SUBMITTED, PENDING):
            self._set_status(parent, PENDING, parent.status_reason)

    def _leave_submitted(self, job: BatchJob) -> None:
        if job.is_array_parent:
            self._spawn_children(job)
            return
        self._set_status(job, PENDING, None)
        self._schedule(job.entered_status_at + self._step(), _ADVANCE, job, PENDING)

    def _spawn_children(self, parent: BatchJob) -> None:
        assert parent.array_size is not None
        created_at = now_ms()
        entered = time.monotonic()
        containers = parent.containers()
        parent.status_summary = {PENDING: parent.array_size}
        account_id, region = self._region.account_id, self._region.region_name
        tags = self._region.list_tags_for_resource(parent.arn)
        for index in range(parent.array_size):
            dependencies = self._child_dependencies(parent, index)
            child_id = f"{parent.job_id}:{index}"
            child = BatchJob(
                job_id=child_id,
                arn=job_arn(account_id, region, child_id),
                name=parent.name,
                queue=parent.queue,
                definition=parent.definition,
                seq=self.store.next_sequence(),
                created_at=created_at,
                parameters=parent.parameters,
                depends_on=dependencies,
                container_overrides=parent.container_overrides,
                eks_override=parent.eks_override,
                node_overrides=parent.node_overrides,
                ecs_override=parent.ecs_override,
                timeout=parent.timeout,
                retry_strategy=parent.retry_strategy,
                propagate_tags=parent.propagate_tags,
                share_identifier=parent.share_identifier,
                scheduling_priority=parent.scheduling_priority,
                array_index=index,
                parent=parent,
                status=PENDING,
                dependency_ids=[dependency["jobId"] for dependency in dependencies],
                entered_status_at=entered,
            )
            child._containers = containers
            parent.children.append(child)
            self.store.add(child)
            if tags:
                self._region.tag_resource(child.arn, tags)
            self._schedule(entered + self._step(), _ADVANCE, child, PENDING)

    def _child_dependencies(self, parent: BatchJob, index: int) -> list[dict[str, str]]:
        dependencies = []
        for dependency in parent.depends_on:
            kind = dependency.get("type")
            target = self.store.get(dependency["jobId"]) if dependency.get("jobId") else None
            if kind == "SEQUENTIAL" and target is None:
                if index > 0:
                    dependencies.append({"jobId": f"{parent.job_id}:{index - 1}", "type": "SEQUENTIAL"})
            elif kind == "N_TO_N" and target is not None and target.is_array_parent:
                if index < (target.array_size or 0):
                    dependencies.append({"jobId": f"{target.job_id}:{index}", "type": "N_TO_N"})
            elif target is not None:
                dependencies.append({"jobId": target.job_id})
        return dependencies

    def _leave_pending(self, job: BatchJob) -> None:
        waiting = False
        for dependency_id in job.dependency_ids:
            dependency = self.store.get(dependency_id)
            if dependency is None or dependency.status != SUCCEEDED:
                if dependency is not None and dependency.status == FAILED:
                    self._set_status(job, FAILED, DEPENDENT_JOB_FAILED)
                    return
                waiting = True
        if not waiting:
            self._enter_runnable(job)

    def _enter_runnable(self, job: BatchJob) -> None:
        self._set_status(job, RUNNABLE, None)
        self._place(job)

    def _place(self, job: BatchJob) -> None:
        """Queue a RUNNABLE job on a compute environment, or keep it unplaced (and maybe blocked)."""
        placement = place(job)
        job.compute_environment = placement.compute_environment
        if placement.compute_environment is None:
            previous = job.status_reason
            job.status_reason = placement.blocked_reason
            self._unplaced[job.job_id] = job
            if placement.blocked_reason and placement.blocked_reason != previous:
                self._arm_time_limits(job)
            return
        self._unplaced.pop(job.job_id, None)
        job.status_reason = None
        ready = self._ready_for(job.queue)
        ready.push(job.entered_status_at + self._step(), job)
        self._wakeup.notify()

    def _ready_for(self, queue: Any) -> ReadyQueue:
        ready = self._ready.get(id(queue))
        if ready is None or ready.queue is not queue:
            if getattr(queue, "schedule_policy", None):
                ready = FairShareReadyQueue(queue, lambda share: self._share_weight(queue, share), job_vcpus)
            else:
                ready = ReadyQueue(queue)
            self._ready[id(queue)] = ready
        return ready

    def _share_weight(self, queue: Any, share: str) -> float:
        policy = self._region.scheduling_policies.get(getattr(queue, "schedule_policy", None) or "")
        return share_weight(policy.fairshare_policy if policy is not None else None, share)

    def _arm_time_limits(self, job: BatchJob) -> None:
        entered = job.entered_status_at
        for action in getattr(job.queue, "job_state_time_limit_actions", None) or []:
            if reason_matches(job.status_reason, action["reason"]):
                due = entered + float(action["maxTimeSeconds"])
                self.call_at(due, partial(self._apply_time_limit, job, entered))

    def _apply_time_limit(self, job: BatchJob, entered: float) -> None:
        """Cancel a job still blocked in the same RUNNABLE spell once a matching action's time is up."""
        if job.status != RUNNABLE or job.entered_status_at != entered or job.compute_environment is not None:
            return
        waited = time.monotonic() - entered
        for action in getattr(job.queue, "job_state_time_limit_actions", None) or []:
            if reason_matches(job.status_reason, action["reason"]) and waited + 1e-3 >= float(
                action["maxTimeSeconds"]
            ):
                self._unplaced.pop(job.job_id, None)
                self.cancel(job, action["reason"])
                return

    def _fill_slots(self, now: float) -> None:
        max_running = self.settings.max_running
        readies = sorted(self._ready.values(), key=lambda ready: -int(ready.queue.priority or 0))
        for ready in readies:
            while self._slots_in_use < max_running:
                entry = ready.head(now)
                if entry is None:
                    break
                eligible_at, job = entry
                if eligible_at > now:
                    break
                if not is_dispatchable(job.compute_environment):
                    ready.pop_head(started=False)
                    self._place(job)
                    continue
                slots = min(len(job.containers()), max_running)
                if self._slots_in_use + slots > max_running:
                    break
                ready.pop_head(started=True)
                self._start(job, slots)

    def _start(self, job: BatchJob, slots: int) -> None:
        self._slots_in_use += slots
        task_arn, instance_arn = (None, None) if job.kind == EKS_KIND else self._task_arns(job)
        active = ActiveAttempt(
            number=len(job.attempts) + 1,
            slots=slots,
            task_arn=task_arn,
            container_instance_arn=instance_arn,
            units=attempt_units(job),
        )
        environment = job.compute_environment
        if job.kind == EKS_KIND:
            active.pod = EksPod.create(
                getattr(environment, "eks_configuration", None) or {},
                job.init_containers(),
                job.containers(),
                environment,
                self._region.region_name,
            )
        elif job.kind == MULTINODE_KIND:
            for node in ensure_nodes(job, self._region.account_id, self._region.region_name):
                node_task_arn, node_instance_arn = self._task_arns(job)
                if node.is_main and task_arn is not None:
                    node_task_arn, node_instance_arn = task_arn, instance_arn
                node.begin(node_task_arn, node_instance_arn)
        elif is_fargate(environment):
            active.network_interfaces = fargate_network_interfaces(environment)
        job.active = active
        self._set_status(job, STARTING, None)
        register_task_definitions_of(self._region.moto.ecs, job)
        self._schedule(job.entered_status_at + self._step(), _ADVANCE, job, STARTING, active.number)

    def _task_arns(self, job: BatchJob) -> tuple[str, str | None]:
        environment = job.compute_environment
        cluster = environment.ecs_name if environment is not None else "emulator"
        prefix = f"arn:aws:ecs:{self._region.region_name}:{self._region.account_id}"
        task_arn = f"{prefix}:task/{cluster}/{uuid.uuid4().hex}"
        if is_fargate(environment):
            return task_arn, None
        return task_arn, f"{prefix}:container-instance/{cluster}/{uuid.uuid4().hex}"

    def _release(self, job: BatchJob) -> None:
        if job.active is not None:
            self._slots_in_use -= job.active.slots
            job.active = None
            self._wakeup.notify()

    # ------------------------------------------------------------------------------ launching

    def _prepare_launch(self, job: BatchJob, active: ActiveAttempt) -> _LaunchPlan | None:
        """Take the attempt's units that may start now: their specs and log sinks (under the lock).

        The first launch creates every unit's awslogs stream (an EKS container gets its Container
        Insights stream as it starts). Nothing is taken while another launch of the attempt is in
        flight: recording that launch looks again.
        """
        if active.launch_in_flight:
            return None
        first = active.phase == WAITING_PHASE
        units = active.units
        if first and active.pod is None:
            for unit in units:
                unit.log_group, unit.log_stream_name = self._awslogs_destination(job, active, unit.index)
                sink = CloudWatchLogSink(self._region.moto.logs, unit.log_group, unit.log_stream_name)
                active.sinks[unit.index] = sink.write
        ready = units.ready()
        self._initialize_tasks(job, active, ready)
        settings = replace(self.settings, region=self._region.region_name)
        specs: dict[int, LaunchSpec] = {}
        for index in ready:
            if units[index].state != WAITING:
                continue  # its task could not be initialized
            try:
                specs[index] = launch_spec(job, active.number, index, active.secrets[index], settings)
            except LaunchError as error:
                self._unit_not_started(job, active, index, str(error))
        if not specs:
            if first:
                # Nothing of the attempt could start: it ends without running.
                self._apply_rules(job, active)
                self._stop_units(active)
                self._finish_attempt(job, active)
            else:
                self._advance(job, active)
            return None
        units.launching(list(specs))
        sinks = {index: self._log_sink(active, index) for index in specs}
        active.launch_in_flight = True
        if first:
            active.phase = LAUNCHING_PHASE
        return _LaunchPlan(job, active, specs, sinks)

    def _initialize_tasks(self, job: BatchJob, active: ActiveAttempt, ready: list[int]) -> None:
        """Resolve the secrets of each task a ready unit belongs to, before any unit of it starts.

        A task that cannot get its secrets never starts (AWS: ResourceInitializationError). When it
        holds an essential unit, the attempt stops with that error as its statusReason; otherwise
        its units are not run, with the error as their reason.
        """
        units = active.units
        account_id, region = self._region.account_id, self._region.region_name
        for task in sorted({units[index].task for index in ready if index not in active.secrets}):
            members = units.of_task(task)
            try:
                resolved = {
                    index: resolve_secrets(job.unit_container(index).get("secrets") or [], account_id, region)
                    for index in members
                }
            except SecretResolutionError as error:
                if any(units[index].essential for index in members):
                    active.stop_reason = active.stop_reason or str(error)
                    self._stop_units(active)
                    return
                for index in members:
                    self._unit_not_started(job, active, index, str(error))
                continue
            active.secrets.update(resolved)

    def _awslogs_destination(self, job: BatchJob, active: ActiveAttempt, unit: int) -> tuple[str, str]:
        """Return the awslogs group and stream of a unit: its task's, a multi-node job's node's own."""
        task_arn = job.node_jobs[unit].task_arn if job.kind == MULTINODE_KIND else active.task_arn
        assert task_arn is not None
        return awslogs_destination(job.unit_container(unit), job.definition.name, task_arn)

    def _log_sink(self, active: ActiveAttempt, index: int) -> LinesCallback:
        """Return the callback that writes a unit's output where it goes (a pod container's, as it starts)."""
        if active.pod is not None:
            unit = active.units[index]
            unit.log_group, unit.log_stream_name = active.pod.start(index)
            sink = ContainerInsightsSink(
                self._region.moto.logs, active.pod, index, unit.log_group, unit.log_stream_name
            )
            active.sinks[index] = sink.write
        return active.sinks[index]

    def _launch(self, plan: _LaunchPlan) -> None:
        """Start the plan's processes outside the lock, then record them under it."""
        handles: dict[int, ProcessHandle] = {}
        failures: dict[int, str] = {}
        for unit, spec in plan.specs.items():
            on_exit = partial(self._process_exited, plan.job, plan.attempt.number, unit)
            try:
                handles[unit] = supervisor().launch(spec, plan.sinks[unit], on_exit)
            except (OSError, ValueError) as error:
                failures[unit] = cannot_start_reason(spec.argv[0], error)
        with self.lock:
            self._record_launch(plan, handles, failures)

    def _record_launch(
        self, plan: _LaunchPlan, handles: dict[int, ProcessHandle], failures: dict[int, str]
    ) -> None:
        """Record started units (or those that could not start); the first launch makes the job RUNNING.

        A quick process can exit before its launch is recorded: its exit was recorded first, and
        is kept.
        """
        job, active = plan.job, plan.attempt
        if self._stopped or job.active is not active:
            for handle in handles.values():
                supervisor().stop(handle, 0.0)
            return
        active.launch_in_flight = False
        first = active.phase == LAUNCHING_PHASE
        active.phase = RUNNING_PHASE
        units = active.units
        started_at = now_ms()
        for index, handle in handles.items():
            units.started(index)
            if units[index].finished:
                continue
            active.handles[index] = handle
            self._unit_running(job, active, index, started_at)
            if units.stopping:
                supervisor().stop(handle, self._grace(units[index]))
        for index, reason in failures.items():
            self._unit_not_started(job, active, index, reason)
        if first:
            self._apply_rules(job, active)
            if not units.any_started():
                self._stop_units(active)
                self._finish_attempt(job, active)
                return
            active.started_at = started_at
            job.started_at = started_at
            self._set_status(job, RUNNING, None)
            timeout = job.attempt_duration_seconds
            if timeout:
                self._schedule(job.entered_status_at + timeout, _TIMEOUT, job, RUNNING, active.number)
            self._arm_start_timeouts(job, active)
        self._advance(job, active)

    def _arm_start_timeouts(self, job: BatchJob, active: ActiveAttempt) -> None:
        for unit in active.units:
            if unit.start_timeout is not None and unit.dependencies:
                self.call_later(unit.start_timeout, partial(self._start_timed_out, job, active, unit.index))

    def _start_timed_out(self, job: BatchJob, active: ActiveAttempt, index: int) -> None:
        """Give up on unit ``index`` if its dependencies still do not hold after its startTimeout."""
        if job.active is not active or self._stopped:
            return
        reason = active.units.timed_out(index)
        if reason is not None:
            self._unit_not_started(job, active, index, reason, DEPENDENCY_STOP_EXIT_CODE)
            self._advance(job, active)

    # ------------------------------------------------------------------------ units' events

    def _process_exited(self, job: BatchJob, attempt_number: int, unit: int, exit_code: int) -> None:
        """Record a unit's exit (called from the log pump thread)."""
        with self.lock:
            active = job.active
            if self._stopped or active is None or active.number != attempt_number:
                return
            active.handles.pop(unit, None)
            self._unit_exited(job, active, unit, exit_code)
            self._advance(job, active)

    def _advance(self, job: BatchJob, active: ActiveAttempt) -> None:
        """After a unit started, ended or gave up: apply the rules, then start what is ready or end.

        Nothing is scheduled while a launch of the attempt is in flight or before the job runs:
        recording that launch advances again.
        """
        self._apply_rules(job, active)
        if active.launch_in_flight or job.status != RUNNING:
            return
        ready = active.units.ready()
        if ready:
            delay = 0.0
            if job.kind == MULTINODE_KIND:
                # The other nodes are jobs: they show STARTING for a step before they run.
                for node in ready:
                    job.node_jobs[node].launching()
                delay = self._step()
            self._schedule(time.monotonic() + delay, _LAUNCH, job, RUNNING, active.number)
        elif active.units.done():
            due = max(time.monotonic(), job.entered_status_at + self._step())
            self._schedule(due, _FINISH, job, RUNNING, active.number)

    def _apply_rules(self, job: BatchJob, active: ActiveAttempt) -> None:
        """Stop the attempt when a unit's end says so; give up on units whose dependency can never hold."""
        units = active.units
        while True:
            if units.must_stop():
                self._stop_units(active)
            blocked = units.blocked()
            for index, reason in blocked:
                self._unit_not_started(job, active, index, reason, DEPENDENCY_STOP_EXIT_CODE)
            if not blocked:
                return

    def _unit_running(self, job: BatchJob, active: ActiveAttempt, unit: int, started_at: int) -> None:
        """Record that a unit's process runs (a node job moves to RUNNING), once.

        A quick process can exit before its launch is recorded: its exit records this first.
        """
        node = job.node_jobs[unit] if job.kind == MULTINODE_KIND else None
        if node is not None and node.status not in (RUNNING, *TERMINAL_STATUSES):
            stream = active.units[unit].log_stream_name
            assert stream is not None
            # awsvpc mode: each node has a network interface; every node of the emulator is local.
            interfaces = [{"attachmentId": str(uuid.uuid4()), "privateIpv4Address": MAIN_NODE_ADDRESS}]
            node.running(stream, interfaces, started_at)

    def _unit_not_started(
        self, job: BatchJob, active: ActiveAttempt, unit: int, reason: str, exit_code: int | None = None
    ) -> None:
        """Record that a unit will never run (in its pod or node job too)."""
        active.units.not_run(unit, reason, exit_code)
        if active.pod is not None:
            active.pod.record_not_started(unit, reason)
        elif job.kind == MULTINODE_KIND:
            job.node_jobs[unit].ended(exit_code, reason, TASK_FAILED_TO_START)

    def _unit_exited(self, job: BatchJob, active: ActiveAttempt, unit: int, exit_code: int) -> None:
        """Record a unit's exit (in its pod or node job too)."""
        reason = None
        if active.pod is not None:
            reason = active.pod.record_exit(unit, exit_code)
        elif job.kind == MULTINODE_KIND:
            self._unit_running(job, active, unit, now_ms())
            job.node_jobs[unit].ended(exit_code, None, active.stop_reason or ESSENTIAL_CONTAINER_EXITED)
        active.units.exited(unit, exit_code, reason)

    def _stop_attempt(self, job: BatchJob, active: ActiveAttempt, reason: str) -> None:
        """The emulator ends the attempt (timeout, TerminateJob): stop every unit."""
        if active.stop_reason is None or active.stop_reason == TASK_FAILED_TO_START:
            active.stop_reason = reason
        active.retryable = False
        self._stop_units(active)
        self._advance(job, active)

    def _stop_units(self, active: ActiveAttempt) -> None:
        """Stop the attempt's units: none starts any more, each running one is stopped."""
        for index in active.units.stop():
            handle = active.handles.get(index)
            if handle is not None:
                supervisor().stop(handle, self._grace(active.units[index]))

    def _grace(self, unit: Unit) -> float:
        """Return a unit's time between SIGTERM and SIGKILL: its stopTimeout, else the kill grace."""
        return self.settings.kill_grace_seconds if unit.stop_timeout is None else unit.stop_timeout

    # ------------------------------------------------------------------------------- endings

    def _finish_attempt(self, job: BatchJob, active: ActiveAttempt) -> None:
        outcome = active.units.outcome()
        status_reason = active.stop_reason or outcome.status_reason
        multinode = job.kind == MULTINODE_KIND
        end_unfinished_nodes(job, status_reason)
        # A multi-node job's times, status reason and exit information are its main node's.
        stopped_at = (job.node_jobs[job.main_node].stopped_at if multinode else None) or now_ms()
        job.attempts.append(
            Attempt(
                started_at=active.started_at,
                stopped_at=stopped_at,
                status_reason=status_reason,
                task_arn=None if multinode else active.task_arn,
                container_instance_arn=None if multinode else active.container_instance_arn,
                log_stream_name=active.units[0].log_stream_name if job.kind == CONTAINER_KIND else None,
                exit_code=outcome.exit_code,
                reason=outcome.reason,
                network_interfaces=active.network_interfaces,
                pod=active.pod,
                task_containers=task_container_runtime(
                    job.containers(), active.units, active.network_interfaces
                )
                if job.kind == ECS_KIND
                else None,
            )
        )
        self._release(job)
        if active.stop_reason is None and outcome.succeeded:
            self._set_status(job, SUCCEEDED, ESSENTIAL_CONTAINER_EXITED)
        elif active.retryable and should_retry(
            job.effective_retry_strategy, len(job.attempts), status_reason, outcome.reason, outcome.exit_code
        ):
            self._enter_runnable(job)
        else:
            self._set_status(job, FAILED, status_reason)
        if multinode and job.status in TERMINAL_STATUSES:
            job.stopped_at = stopped_at

    def _end_parent(self, parent: BatchJob, reason: str, cancel_only: bool) -> None:
        if not parent.children:
            self._set_status(parent, FAILED, reason)
            return
        parent.status_reason = reason
        for child in parent.children:
            if cancel_only:
                self.cancel(child, reason)
            else:
                self.terminate(child, reason)
