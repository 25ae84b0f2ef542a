"""The rules of one ECS multi-container task attempt (emulator.ecs_tasks), without processes."""

from __future__ import annotations

from typing import Any

from airflow_batch_plugin.emulator.ecs_definitions import merged_task_containers
from airflow_batch_plugin.emulator.ecs_tasks import (
    DEPENDENCY_STOP_EXIT_CODE,
    ESSENTIAL_CONTAINER_EXITED,
    TASK_FAILED_TO_START,
    EcsTaskRun,
    TaskOutcome,
)


def container(name: str, essential: bool | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "image": "alpine", **extra}
    if essential is not None:
        item["essential"] = essential
    return item


def depends(name: str, condition: str) -> list[dict[str, str]]:
    return [{"containerName": name, "condition": condition}]


def run_of(*containers: dict[str, Any]) -> EcsTaskRun:
    return EcsTaskRun.create(list(containers), [f"stream/{item['name']}" for item in containers], [])


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

    assert task.containers[0].state == "exited"
    assert task.ready() == [1]


def test_an_essential_container_ending_stops_the_task_and_decides_the_job():
    task = run_of(container("side", essential=False), container("main"))
    task.launching([0, 1])
    task.started(0)
    task.started(1)
    task.exited(1, 5)

    assert task.essential_ended()
    assert task.stop() == [0]
    task.exited(0, 143)

    assert task.done()
    assert task.outcome() == TaskOutcome(False, ESSENTIAL_CONTAINER_EXITED, 5, None)


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

    assert task.outcome() == TaskOutcome(True, ESSENTIAL_CONTAINER_EXITED, 0, None)
    assert [item.get("exitCode") for item in task.attempt_containers()] == [7, 0]


def test_an_essential_container_that_cannot_start_fails_the_task_to_start():
    task = run_of(container("main"))
    task.not_run(0, "CannotStartContainerError: no command")

    assert task.essential_ended()
    assert task.outcome() == TaskOutcome(
        False, TASK_FAILED_TO_START, None, "CannotStartContainerError: no command"
    )


def test_an_essential_container_that_gives_up_on_its_dependency_exits_143():
    task = run_of(
        container("slow", essential=False), container("main", dependsOn=depends("slow", "COMPLETE"))
    )
    task.launching([0])
    task.started(0)
    task.containers[1].start_timeout = 2.0

    reason = task.timed_out(1)
    assert reason is not None
    task.not_run(1, reason, DEPENDENCY_STOP_EXIT_CODE)

    assert task.outcome().exit_code == DEPENDENCY_STOP_EXIT_CODE
    assert "startTimeout of 2 seconds" in (task.outcome().reason or "")


def test_omitted_essential_means_essential():
    task = run_of(container("main"))

    assert task.containers[0].essential


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
