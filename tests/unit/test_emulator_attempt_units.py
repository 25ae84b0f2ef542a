"""The rules of one attempt's units (emulator.attempt_units), per kind of job, without processes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aws_batch_local.attempt_units import (
    DEPENDENCY_STOP_EXIT_CODE,
    AttemptOutcome,
    AttemptUnits,
    attempt_units,
    ecs_task_units,
)
from aws_batch_local.ecs_definitions import merged_task_containers
from aws_batch_local.jobs import (
    ESSENTIAL_CONTAINER_EXITED,
    TASK_FAILED_TO_START,
    BatchJob,
)


def container(name: str, essential: bool | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "image": "alpine", **extra}
    if essential is not None:
        item["essential"] = essential
    return item


def depends(name: str, condition: str) -> list[dict[str, str]]:
    return [{"containerName": name, "condition": condition}]


def run_of(*containers: dict[str, Any]) -> AttemptUnits:
    return AttemptUnits(ecs_task_units(list(containers)))


def job_of(**definition: Any) -> BatchJob:
    """Return a job of a job definition with these attributes (the others absent)."""
    attributes = {
        "eks_properties": None,
        "ecs_properties": None,
        "type": "container",
        "node_properties": None,
        "container_properties": None,
        **definition,
    }
    return BatchJob(
        job_id="job",
        arn="arn:aws:batch:us-east-1:123456789012:job/job",
        name="job",
        queue=None,
        definition=SimpleNamespace(**attributes),
        seq=0,
        created_at=0,
        parameters={},
        depends_on=[],
    )


def multinode_job(nodes: int, main: int) -> BatchJob:
    node_range = {"targetNodes": f"0:{nodes - 1}", "container": {"image": "python", "command": ["true"]}}
    return job_of(
        type="multinode",
        node_properties={"numNodes": nodes, "mainNode": main, "nodeRangeProperties": [node_range]},
    )


def eks_job(containers: list[str], init_containers: list[str]) -> BatchJob:
    pod = {
        "containers": [{"name": name, "image": "alpine", "command": ["true"]} for name in containers],
        "initContainers": [
            {"name": name, "image": "alpine", "command": ["true"]} for name in init_containers
        ],
    }
    return job_of(eks_properties={"podProperties": pod})


def start(units: AttemptUnits, *indexes: int) -> None:
    units.launching(list(indexes))
    for index in indexes:
        units.started(index)


def test_containers_without_dependencies_start_first_and_others_when_their_condition_holds():
    task = run_of(
        container("a", essential=False),
        container("b", dependsOn=depends("a", "START")),
        container("c", essential=False, dependsOn=depends("a", "COMPLETE")),
    )

    assert task.ready() == [0]
    task.launching([0])
    task.started(0)
    assert task.ready() == [1]
    task.launching([1])
    task.exited(0, 1)
    assert task.ready() == [2], "COMPLETE holds whatever the exit code"


def test_success_dependency_on_a_failed_container_never_holds():
    task = run_of(container("a", essential=False), container("b", dependsOn=depends("a", "SUCCESS")))
    task.launching([0])
    task.started(0)
    task.exited(0, 2)

    [(index, reason)] = task.blocked()

    assert index == 1
    assert reason.startswith("CannotStartContainerError: dependency graph")
    assert "a exited with code 2" in reason


def test_an_exit_seen_before_the_start_is_recorded_keeps_the_exit():
    task = run_of(container("a", essential=False), container("b", dependsOn=depends("a", "SUCCESS")))
    task.launching([0])

    task.exited(0, 0)
    task.started(0)

    assert task.units[0].state == "exited"
    assert task.ready() == [1]


def test_an_essential_container_ending_stops_the_task_and_decides_the_job():
    task = run_of(container("side", essential=False), container("main"))
    task.launching([0, 1])
    task.started(0)
    task.started(1)
    task.exited(1, 5)

    assert task.must_stop()
    assert task.stop() == [0]
    task.exited(0, 143)

    assert task.done()
    assert task.outcome() == AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, 5, None)


def test_a_container_stopped_by_the_task_does_not_decide_the_job():
    task = run_of(container("first"), container("second"))
    task.launching([0, 1])
    task.started(0)
    task.started(1)
    task.exited(0, 0)
    task.stop()
    task.exited(1, 143)

    assert task.outcome().succeeded


def test_a_non_essential_failure_does_not_fail_the_job():
    task = run_of(
        container("probe", essential=False), container("main", dependsOn=depends("probe", "COMPLETE"))
    )
    task.launching([0])
    task.started(0)
    task.exited(0, 7)
    task.launching([1])
    task.started(1)
    task.exited(1, 0)

    assert task.outcome() == AttemptOutcome(True, ESSENTIAL_CONTAINER_EXITED, 0, None)
    assert [unit.exit_code for unit in task] == [7, 0]


def test_an_essential_container_that_cannot_start_fails_the_task_to_start():
    task = run_of(container("main"))
    task.not_run(0, "CannotStartContainerError: no command")

    assert task.must_stop()
    assert task.outcome() == AttemptOutcome(
        False, TASK_FAILED_TO_START, None, "CannotStartContainerError: no command"
    )


def test_an_essential_container_that_gives_up_on_its_dependency_exits_143():
    task = run_of(
        container("slow", essential=False), container("main", dependsOn=depends("slow", "COMPLETE"))
    )
    task.launching([0])
    task.started(0)
    task.units[1].start_timeout = 2.0

    reason = task.timed_out(1)
    assert reason is not None
    task.not_run(1, reason, DEPENDENCY_STOP_EXIT_CODE)

    assert task.outcome().exit_code == DEPENDENCY_STOP_EXIT_CODE
    assert "startTimeout of 2 seconds" in (task.outcome().reason or "")


def test_omitted_essential_means_essential():
    task = run_of(container("main"))

    assert task.units[0].essential


def test_overrides_reach_only_the_named_container_with_parameters_substituted():
    ecs_properties = {
        "taskProperties": [
            {
                "containers": [
                    container("a", command=["echo", "a"], environment=[{"name": "X", "value": "1"}]),
                    container("b", command=["echo", "Ref::who"]),
                ]
            }
        ]
    }
    override = {
        "taskProperties": [
            {
                "containers": [
                    {
                        "name": "a",
                        "command": ["echo", "Ref::who"],
                        "environment": [{"name": "Y", "value": "2"}],
                    }
                ]
            }
        ]
    }

    merged = merged_task_containers(ecs_properties, override, {"who": "world"})

    assert merged[0]["command"] == ["echo", "world"]
    assert merged[0]["environment"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert merged[1]["command"] == ["echo", "world"]


# ------------------------------------------------------------------------------ every kind


def test_a_container_job_is_one_essential_unit_whose_exit_ends_the_attempt():
    units = attempt_units(job_of(container_properties={"image": "alpine", "command": ["true"]}))

    assert [(unit.name, unit.essential) for unit in units] == [("default", True)]
    start(units, 0)
    units.exited(0, 3)
    assert units.must_stop()
    assert units.stop() == []
    assert units.outcome() == AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, 3, None)


def test_the_other_nodes_start_once_the_main_node_runs():
    units = attempt_units(multinode_job(nodes=3, main=1))

    assert units.ready() == [1]
    units.launching([1])
    assert units.ready() == [], "not before the main node runs"
    units.started(1)
    assert units.ready() == [0, 2]
    assert [unit.task for unit in units] == [0, 1, 2], "each node is a task of its own"


def test_a_failed_node_other_than_the_main_node_changes_nothing():
    units = attempt_units(multinode_job(nodes=2, main=0))
    start(units, 0)
    start(units, 1)

    units.exited(1, 5)
    assert not units.must_stop()
    units.exited(0, 0)
    assert units.must_stop()
    assert units.outcome() == AttemptOutcome(True, ESSENTIAL_CONTAINER_EXITED, 0, None)


def test_the_main_node_exit_stops_the_other_nodes_and_decides():
    units = attempt_units(multinode_job(nodes=3, main=0))
    start(units, 0)
    start(units, 1)

    units.exited(0, 5)

    assert units.must_stop()
    assert units.stop() == [1], "the running node is stopped, the waiting one never starts"
    assert units[2].state == "not-run"
    units.exited(1, 143)
    assert units.done()
    assert units.outcome() == AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, 5, None)


def test_a_main_node_that_cannot_start_fails_the_attempt_to_start_and_no_node_starts():
    units = attempt_units(multinode_job(nodes=2, main=0))
    units.not_run(0, "CannotStartContainerError: no command")

    assert units.must_stop()
    units.stop()
    assert units.blocked() == [], "the other node never starts and gets no reason of its own"
    assert units.done()
    assert units.outcome() == AttemptOutcome(
        False, TASK_FAILED_TO_START, None, "CannotStartContainerError: no command"
    )


def test_init_containers_run_one_after_another_then_every_container_together():
    units = attempt_units(eks_job(["main", "sidecar"], ["setup", "migrate"]))

    assert [unit.name for unit in units] == ["setup", "migrate", "main", "sidecar"]
    assert units.ready() == [0]
    start(units, 0)
    units.exited(0, 0, "Completed")
    assert units.ready() == [1]
    start(units, 1)
    assert units.ready() == []
    units.exited(1, 0, "Completed")
    assert units.ready() == [2, 3]


def test_a_failed_init_container_fails_the_pod_before_its_containers_start():
    units = attempt_units(eks_job(["main"], ["setup"]))
    start(units, 0)
    units.exited(0, 3, "Error")

    assert units.must_stop()
    units.stop()
    assert units[1].state == "not-run"
    assert (units[1].exit_code, units[1].reason) == (None, None)
    assert units.outcome() == AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, 3, "Error")


def test_a_pod_container_exit_stops_nothing_and_every_container_decides():
    units = attempt_units(eks_job(["main", "helper"], []))
    start(units, 0, 1)

    units.exited(0, 5, "Error")
    assert not units.must_stop(), "the other containers run to their own end"
    units.exited(1, 0, "Completed")

    assert units.done()
    assert units.outcome() == AttemptOutcome(False, ESSENTIAL_CONTAINER_EXITED, 5, "Error")


def test_a_pod_succeeds_when_every_container_exited_0():
    units = attempt_units(eks_job(["main", "helper"], ["setup"]))
    start(units, 0)
    units.exited(0, 0, "Completed")
    start(units, 1, 2)
    units.exited(2, 0, "Completed")
    units.exited(1, 0, "Completed")

    assert units.outcome().succeeded


def test_stop_names_the_running_units_once():
    units = run_of(container("a"), container("b", essential=False))
    start(units, 0, 1)

    assert units.stop() == [0, 1]
    assert units.stop() == []
