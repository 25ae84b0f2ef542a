"""@task.batch mapping, templates and BatchSubmitJobOperator.partial().expand() in `airflow dags test`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).resolve().parent / "dags_batch_task"


@pytest.fixture(scope="module")
def run(emulator, tmp_path_factory) -> DagTestRun:
    return dags_test(
        "batch_task_mapping", DAGS, tmp_path_factory.mktemp("airflow-mapping"), emulator.airflow_connection
    )


def states(run: DagTestRun, task_id: str) -> list[str]:
    return [task["state"] for task in run.summary["tasks"] if task["task_id"] == task_id]


def test_the_run_succeeds(run):
    assert run.returncode == 0, run.output[-4000:]
    assert run.summary["state"] == "success", run.output[-4000:]


def test_expand_runs_one_job_per_mapped_task_instance(run):
    assert states(run, "square") == ["success"] * 3
    assert states(run, "echo") == ["success"] * 3
    echo = run.task_output("echo")
    for word in ("alpha", "beta", "gamma"):
        assert f"[batch] word={word}" in echo
    assert "BatchJobTrigger" in echo  # deferred, through the shared poller


def test_an_array_task_maps_over_the_mapped_outputs_in_one_job(run):
    assert states(run, "plus_one") == ["success"]
    assert run.task("plus_one")["xcoms"]["array_size"] == 3
    assert run.task("collect")["return_value"]["squares"] == [3, 12, 27]
    assert run.task("collect")["return_value"]["plus"] == [4, 13, 28]


def test_templates_context_values_and_multiple_outputs(run):
    label = run.task("label")["xcoms"]
    assert label["text"] == "NIGHTLY"
    assert label["day"] == label["ds"]
    assert len(label["day"]) == 10  # the run's logical date, YYYY-MM-DD
    assert run.task("collect")["return_value"]["text"] == "NIGHTLY"
