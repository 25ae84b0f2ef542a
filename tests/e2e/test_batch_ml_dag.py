"""The example ML pipeline (dags/batch_ml.py), run by a real Airflow with ``airflow dags test``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).resolve().parents[2] / "dags"
MODELS = 4
CONF = json.dumps({"models": MODELS})  # 1,000 samples: the data set is over 8 KiB, so it goes by S3


@pytest.fixture(scope="module")
def run(emulator, tmp_path_factory) -> DagTestRun:
    return dags_test(
        "batch_ml", DAGS, tmp_path_factory.mktemp("airflow-ml"), emulator.airflow_connection, CONF
    )


def test_every_task_succeeds(run):
    assert run.returncode == 0, run.output[-4000:]
    assert run.summary["state"] == "success", run.output[-4000:]
    states = {task["task_id"]: task["state"] for task in run.summary["tasks"]}
    assert states == {
        "network": "success",
        "gpu_environment_setup": "success",
        "prepare": "success",
        "search_space": "success",
        "train": "success",
        "evaluate": "success",
        "pick_best": "success",
        "gpu_environment_teardown": "skipped",  # keep_environment: the GPU queue stays for the next run
    }


def test_the_best_models_score_comes_back_through_xcom(run):
    best = run.task("pick_best")["xcoms"]
    assert 0.9 < best["score"] <= 1.0  # R² of a linear fit of linear data with a little noise
    assert best["best_model"] in range(MODELS)
    assert sorted(best["ranking"]) == list(range(MODELS))
    scores = run.task("evaluate")["return_value"]
    assert [score["model"] for score in scores] == list(range(MODELS))  # gathered in order
    assert best["validation_mse"] == min(score["validation_mse"] for score in scores)


def test_the_models_trained_as_one_gpu_array_job(run, emulator):
    batch = emulator.client("batch")
    train = run.task("train")["xcoms"]
    assert train["array_size"] == MODELS
    [job] = batch.describe_jobs(jobs=[train["job_arn"].rsplit("/", 1)[1]])["jobs"]
    assert job["jobQueue"].endswith(":job-queue/ml-gpu-queue")
    [definition] = batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])["jobDefinitions"]
    assert {"type": "GPU", "value": "1"} in definition["containerProperties"]["resourceRequirements"]
    assert len(run.task("train")["return_value"]) == MODELS
    output = run.task_output("train")
    assert f"{MODELS} succeeded, 0 failed" in output


def test_the_data_set_travelled_through_s3(run, emulator):
    keys = [
        item["Key"]
        for item in emulator.client("s3").list_objects_v2(
            Bucket="airflow-batch-demo", Prefix="xcom/batch_ml/"
        )["Contents"]
    ]
    assert any(
        key.startswith("xcom/batch_ml/") and "/prepare/-1/" in key and key.endswith("/result") for key in keys
    )
    assert any("/train/-1/input-" in key for key in keys)  # the data set is over the 8 KiB inline limit
    assert "[batch] 1000 rows, 3 features" in run.task_output("prepare")
