"""Deferrable operators and sensors through a real Airflow (``airflow dags test``).

One run of tests/e2e/dags/batch_deferrable.py: each waiting task defers, its trigger runs inline
and fires, and the task resumes to read the job's whole log, judge the outcome and push XComs;
the extra links keep their URLs across the deferral and log no error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_batch_plugin.compat import AIRFLOW_VERSION_TEXT, HAS_TASK_STATE_STORE, TRIGGER_ON_KILL
from tests.e2e.airflow_run import DagTestRun, assert_only_failure_reports, dags_test, link_urls

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def run(emulator, tmp_path_factory) -> DagTestRun:
    conf = f'{{"job_queue": "{emulator.job_queue}"}}'
    return dags_test(
        "batch_deferrable", DAGS, tmp_path_factory.mktemp("airflow"), emulator.airflow_connection, conf
    )


def jobs_named(emulator, name: str) -> list[dict]:
    batch = emulator.client("batch")
    summaries = batch.list_jobs(jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    ids = [s["jobId"] for s in summaries["jobSummaryList"]]
    return batch.describe_jobs(jobs=ids)["jobs"] if ids else []


def test_a_deferred_job_resumes_with_its_log_and_xcoms(run, emulator):
    assert run.state("single") == "success"
    output = run.task_output("single")
    assert "in the triggerer" in output
    assert "[batch] first deferred line" in output
    assert "[batch] last deferred line" in output
    assert "SUCCEEDED" in output
    [job] = jobs_named(emulator, "deferred-single")
    task = run.task("single")
    assert task["return_value"] == job["jobId"]
    assert task["xcoms"]["job_arn"] == job["jobArn"]
    assert task["xcoms"]["log_stream_names"] == [job["container"]["logStreamName"]]


def test_the_task_log_says_once_what_this_airflow_lacks(run):
    said = [
        line
        for line in run.task_output("single").splitlines()
        if f"On Airflow {AIRFLOW_VERSION_TEXT}: " in line
    ]
    if HAS_TASK_STATE_STORE and TRIGGER_ON_KILL:
        assert said == [], "Airflow 3.3 lacks nothing the operator needs"
        return
    [line] = said
    assert "no task state store (Airflow 3.3 has it)" in line
    assert "killing the deferred task (mark failed, clear) does not terminate the job" in line


def test_a_log_longer_than_one_page_is_read_in_full(run):
    assert run.state("long_log") == "success"
    output = run.task_output("long_log")
    numbers = [int(n) for n in re.findall(r"\[batch\] line (\d+)", output)]
    assert numbers == list(range(1, 12_001)), "every line once, in order, across GetLogEvents pages"


def test_a_deferred_array_job_reports_its_children(run):
    assert run.state("array") == "success"
    assert "3 succeeded, 0 failed, 0 running, 0 waiting of 3" in run.task_output("array")


def test_a_deferred_array_with_a_failed_child_shows_its_log(run):
    assert run.state("array_partial_failure") == "failed"
    output = run.task_output("array_partial_failure")
    assert "2 succeeded, 1 failed, 0 running, 0 waiting of 3" in output
    assert "bad partition 2" in output
    assert ":2) FAILED" in output


def test_a_deferred_failure_carries_exit_code_and_log_tail(run):
    assert run.state("fails") == "failed"
    output = run.task_output("fails")
    assert "exit code: 3" in output
    assert "| KeyError: missing column" in output
    assert "| loading rows" in output


def test_a_deferred_job_that_can_never_start_fails_and_is_terminated(run, emulator):
    assert run.state("stuck") == "failed"
    assert "cannot start: MISCONFIGURATION" in run.task_output("stuck")
    [job] = jobs_named(emulator, "deferred-stuck")
    assert job["status"] == "FAILED"
    assert "batch_deferrable/" in job["statusReason"]


def test_a_deferrable_sensor_waits_in_the_triggerer(run):
    assert run.state("no_wait") == "success"
    assert run.state("sensor") == "success"
    output = run.task_output("sensor")
    assert "[batch] sensed line" in output


def test_links_keep_their_urls_across_the_deferral_and_log_no_error(run):
    single = link_urls(run, "single")
    assert "/aws-batch/jobs/" in single["job"]
    assert single["job_logs"].endswith("#log")
    assert single["array_children"] == ""
    array = link_urls(run, "array")
    assert array["array_children"].endswith("#children")
    assert array["job_logs"] == ""
    assert "/aws-batch/queues/" in link_urls(run, "sensor")["job_queue"]
    # This Airflow's error lines are recognised: the failed task's report is one.
    assert any("Task failed with exception" in line for line in run.error_lines("fails"))
    assert_only_failure_reports(run)
