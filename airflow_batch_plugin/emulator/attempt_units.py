"""How the processes ("units") of one attempt relate, per job kind: start order, ends, outcome.

- Container job: one unit.
- Multi-node parallel job: one unit per node. The main node starts first; the others start once
  it is RUNNING. The main node's exit ends the attempt and stops the other nodes; another node's
  exit or failure to start changes nothing for the rest. The main node's exit code decides.
- EKS job: the pod's init containers (one at a time, each must exit 0 before the next starts),
  then all its containers together. The pod ends when every container has ended, and succeeds
  when every one exited 0 (Kubernetes' pod phase ``Succeeded``); no exit stops the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_batch_plugin.emulator.jobs import EKS_KIND, MULTINODE_KIND

if TYPE_CHECKING:
    from airflow_batch_plugin.emulator.jobs import ActiveAttempt, BatchJob

#: The next wave starts once the previous one is RUNNING (multi-node)...
AFTER_RUNNING = "after_running"
#: ...or once every unit of the previous one exited with code 0 (EKS init containers).
AFTER_SUCCESS = "after_success"


def launch_waves(job: BatchJob) -> list[list[int]]:
    """Return the units of an attempt in the order they start, wave by wave."""
    if job.kind == EKS_KIND:
        inits = len(job.init_containers())
        return [[unit] for unit in range(inits)] + [list(range(inits, inits + len(job.containers())))]
    if job.kind == MULTINODE_KIND:
        others = [node for node in range(len(job.containers())) if node != job.main_node]
        return [[job.main_node], others] if others else [[job.main_node]]
    return [[0]]


def next_wave_trigger(job: BatchJob) -> str:
    """Return when the next wave of ``job``'s attempt starts."""
    return AFTER_SUCCESS if job.kind == EKS_KIND else AFTER_RUNNING


def exit_ends_attempt(job: BatchJob, unit: int) -> bool:
    """Return whether this unit's exit ends the attempt and stops the units still running."""
    if job.kind == EKS_KIND:
        return False
    return unit == job.main_node


def start_failure_ends_attempt(job: BatchJob, unit: int) -> bool:
    """Return whether this unit's failure to start fails the attempt at once."""
    return job.kind != MULTINODE_KIND or unit == job.main_node


def wave_succeeded(active: ActiveAttempt) -> bool:
    """Return whether every unit of the attempt's current wave exited with code 0."""
    return all(active.exit_codes.get(unit) == 0 for unit in active.current_wave)


def attempt_outcome(job: BatchJob, active: ActiveAttempt) -> tuple[bool, int | None, str | None]:
    """Return whether the attempt's processes succeeded, the exit code and the reason that decide."""
    if job.kind == EKS_KIND and active.pod is not None:
        pod = active.pod
        return pod.succeeded, pod.failing_exit_code(), pod.failing_reason()
    exit_code = active.exit_codes.get(active.main_node)
    return exit_code == 0, exit_code, active.container_reason
