"""Operators against the emulator through a real Airflow (``airflow dags test``).

One run of tests/e2e/dags/batch_scenarios.py covers success with live logs, failure with exit
code and log tail, array partial failure, reattaching on retry (both with the job id recorded
and with only the job's tags left), termination on timeout, a job that can never start,
dependsOn between jobs, the sensor in poke and reschedule modes, a task the checks refuse before
SubmitJob, and the extra links every task end evaluates (no error line for a link without URL).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_batch_plugin.compat import HAS_TASK_STATE_STORE
from airflow_batch_plugin.links import JOB_LINKS
from tests.e2e.airflow_run import DagTestRun, assert_only_failure_reports, dags_test, link_urls

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def run(emulator, tmp_path_factory) -> DagTestRun:
    conf = f'{{"job_queue": "{emulator.job_queue}"}}'
    return dags_test(
        "batch_scenarios", DAGS, tmp_path_factory.mktemp("airflow"), emulator.airflow_connection, conf
    )


def jobs_named(emulator, name: str) -> list[dict]:
    batch = emulator.client("batch")
    summaries = batch.list_jobs(jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    ids = [s["jobId"] for s in summaries["jobSummaryList"]]
    return batch.describe_jobs(jobs=ids)["jobs"] if ids else []


def test_success_streams_the_job_log_into_the_task_log(run):
    assert run.state("succeeds") == "success"
    output = run.task_output("succeeds")
    assert "[batch] first line" in output
    assert "[batch] second line from " in output
    assert "is RUNNING" in output
    assert "SUCCEEDED" in output


def test_failure_carries_reason_exit_code_and_log_tail(run):
    assert run.state("fails_with_exit_code") == "failed"
    output = run.task_output("fails_with_exit_code")
    assert "exit code: 3" in output
    assert "| KeyError: missing column" in output
    assert "| loading rows" in output


def test_array_partial_failure_shows_progress_and_the_failed_childs_log(run):
    assert run.state("array_partial_failure") == "failed"
    output = run.task_output("array_partial_failure")
    assert "2 succeeded, 1 failed, 0 running, 0 waiting of 3" in output
    assert "bad partition 1" in output
    assert ":1) FAILED" in output


def test_retry_reattaches_to_the_recorded_job(run, emulator):
    assert run.state("reattach_after_crash") == "success"
    assert run.task("reattach_after_crash")["try_number"] == 2
    jobs = jobs_named(emulator, "scenario-reattach")
    assert len(jobs) == 1, "the retry must not submit a second job"
    assert jobs[0]["status"] == "SUCCEEDED"
    output = run.task_output("reattach_after_crash")
    if HAS_TASK_STATE_STORE:
        # Reconnected while it ran, or found it already succeeded: either way, no second job.
        assert "Reconnecting to existing job" in output or "Job already completed successfully" in output
    else:  # no task state store before Airflow 3.3: the retry finds the job by its tags
        assert "Reattaching to job" in output


def test_retry_finds_a_job_whose_id_was_never_recorded(run, emulator):
    assert run.state("reattach_lost_record") == "success"
    jobs = jobs_named(emulator, "scenario-lost-record")
    assert len(jobs) == 1, "the retry must find the job by its tags instead of submitting again"
    assert "Reattaching to job" in run.task_output("reattach_lost_record")


def test_timeout_terminates_the_job_with_a_reason_naming_the_task(run, emulator):
    assert run.state("timeout_terminates") == "failed"
    [job] = jobs_named(emulator, "scenario-timeout")
    assert job["status"] == "FAILED"
    assert "batch_scenarios/" in job["statusReason"]
    assert "timeout_terminates" in job["statusReason"]


def test_job_that_can_never_start_fails_instead_of_waiting(run, emulator):
    assert run.state("stuck_misconfigured") == "failed"
    assert "cannot start: MISCONFIGURATION" in run.task_output("stuck_misconfigured")
    [job] = jobs_named(emulator, "scenario-stuck")
    assert job["status"] == "FAILED", "the stuck job is terminated, not left queued"


def test_depends_on_an_upstream_tasks_job(run, emulator):
    assert run.state("first_no_wait") == "success"
    assert run.state("sensor_on_first") == "success"
    assert run.state("second_depends_on_first") == "success"
    [first] = jobs_named(emulator, "scenario-first")
    [second] = jobs_named(emulator, "scenario-second")
    assert [d["jobId"] for d in second["dependsOn"]] == [first["jobId"]]
    assert second["startedAt"] >= first["stoppedAt"]
    assert "[batch] first done" in run.task_output("sensor_on_first")


def test_sensor_in_reschedule_mode_fails_with_the_jobs_reason_and_log(run):
    assert run.state("failing_no_wait") == "success"
    assert run.state("sensor_reschedule_on_failure") == "failed"
    output = run.task_output("sensor_reschedule_on_failure")
    assert "exit code: 7" in output
    assert "| disk full on /data" in output


def test_a_task_the_checks_refuse_submits_nothing(run, emulator):
    assert run.state("refused_before_submit") == "failed"
    assert "no such job queue" in run.task_output("refused_before_submit")
    assert jobs_named(emulator, "scenario-refused") == []


def test_every_link_is_evaluated_and_one_without_url_logs_no_error(run):
    """At each task's end Airflow asks every extra link for its URL and stores the answer: a link
    with nothing to show answers '' without asking XCom for a key never pushed."""
    every = {link.key for link in JOB_LINKS}
    single = link_urls(run, "succeeds")
    assert set(single) == every
    assert "/aws-batch/jobs/" in single["job"]
    assert single["job_logs"].endswith("#log")
    assert single["array_children"] == "", "a single job has no children"
    array = link_urls(run, "array_partial_failure")
    assert set(array) == every
    assert array["array_children"].endswith("#children")
    assert array["job_logs"] == "", "an array job has no log of its own"
    refused = link_urls(run, "refused_before_submit")
    assert refused == dict.fromkeys(every, ""), "refused before SubmitJob: evaluated, no URL"
    # This Airflow's error lines are recognised: the refused task's failure report is one.
    assert any("Task failed with exception" in line for line in run.error_lines("refused_before_submit"))
    assert_only_failure_reports(run)
