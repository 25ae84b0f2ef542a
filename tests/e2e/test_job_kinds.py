"""Every kind of job, succeeding and failing, in the three ways of waiting, through a real Airflow.

tests/e2e/dags/batch_job_kinds.py has one DAG per way of waiting (sync, deferrable, sensor);
the three run at once with ``airflow dags test`` against the emulator (each with its own Airflow
home). Every task log must show each job's own lines, labelled by node / container / child, and
every failure the exit code, the part that failed and its last lines.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).parent / "dags"
MODES = ("sync", "deferrable", "sensor")

#: What a successful task's log shows of each kind's job.
SUCCESS_LINES = {
    "ec2": ["[batch] ec2 started on ", "[batch] ec2 ok last line"],
    "fargate": ["[batch] fargate started on ", "[batch] fargate ok last line"],
    "eks": ["[batch] eks started on ", "[batch] eks ok last line"],
    "eks_array": [
        "[batch child 0] child 0 of eks_array",
        "[batch child 1] eks_array ok last line",
        "[batch child 2] child 2 of eks_array",
    ],
    "multinode": ["[batch node 1] node 1 of 2 computed its share", "[batch node 0] main node ok last line"],
    "ecs": ["[batch container app] app ok last line", "[batch container sidecar] sidecar ready"],
    "array": [
        "[batch child 0] child 0 of array",
        "[batch child 1] array ok last line",
        "[batch child 2] child 2 of array",
    ],
}

#: What a failed task's log (its failure message included) shows: exit code, failed part, last lines.
FAILURE_LINES = {
    "ec2": ["exit code: 5", "  | ec2 BROKEN-5 last line"],
    "fargate": ["exit code: 5", "  | fargate BROKEN-5 last line"],
    "eks": ["exit code: 5", "  | eks BROKEN-5 last line"],
    "eks_array": [
        "[batch child 1] eks_array BROKEN-5 last line",
        "exit code: 5",
        "  | eks_array BROKEN-5 last line",
    ],
    "multinode": ["failed: node 0: exit code 5", "last ", "of node 0:", "  | main node BROKEN-5 last line"],
    "ecs": [
        "failed: container app (essential): exit code 5",
        "of container app:",
        "  | app BROKEN-5 last line",
    ],
    "array": ["[batch child 1] array BROKEN-5 last line", "exit code: 5", "  | array BROKEN-5 last line"],
}


@pytest.fixture(scope="module")
def runs(emulator, tmp_path_factory) -> dict[str, DagTestRun]:
    conf = (
        f'{{"job_queue": "{emulator.job_queue}", "fargate_job_queue": "{emulator.fargate_job_queue}", '
        f'"eks_job_queue": "{emulator.eks_job_queue}"}}'
    )

    def run(mode: str) -> DagTestRun:
        home = tmp_path_factory.mktemp(f"airflow-{mode}")
        return dags_test(f"batch_job_kinds_{mode}", DAGS, home, emulator.airflow_connection, conf)

    with ThreadPoolExecutor(max_workers=len(MODES)) as pool:
        return dict(zip(MODES, pool.map(run, MODES), strict=True))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(SUCCESS_LINES))
def test_a_successful_job_of_each_kind_shows_its_own_lines(runs, kind, mode):
    run = runs[mode]
    task_id = f"{kind}_success"
    output = run.task_output(task_id)
    assert run.state(task_id) == "success", output[-3000:]
    missing = [line for line in SUCCESS_LINES[kind] if line not in output]
    assert not missing, f"{task_id} ({mode}) task log lacks {missing}:\n{output[-3000:]}"
    assert "No log read for" not in output, "every part of a job that ran has a log to read"
    assert "No log stream found" not in output


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(FAILURE_LINES))
def test_a_failed_job_of_each_kind_names_exit_code_part_and_last_lines(runs, kind, mode):
    run = runs[mode]
    task_id = f"{kind}_failure"
    output = run.task_output(task_id)
    assert run.state(task_id) == "failed", output[-3000:]
    missing = [line for line in FAILURE_LINES[kind] if line not in output]
    assert not missing, f"{task_id} ({mode}) task log lacks {missing}:\n{output[-3000:]}"


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_xcoms_carry_every_parts_exit_code_and_streams(runs, mode):
    run = runs[mode]
    xcoms = {kind: run.task(f"{kind}_success")["xcoms"] for kind in SUCCESS_LINES}
    assert xcoms["ecs"]["exit_codes"] == {"app": 0, "sidecar": 0}
    assert xcoms["multinode"]["exit_codes"] == {"node 0": 0, "node 1": 0}
    assert xcoms["ec2"]["exit_code"] == 0
    for kind in SUCCESS_LINES:
        streams = xcoms[kind]["log_stream_names"]
        expected = 3 if "array" in kind else 2 if kind in ("ecs", "multinode") else 1
        assert len(streams) == expected, (kind, streams)
    assert all("application.var.log.containers." in stream for stream in xcoms["eks"]["log_stream_names"])
