"""Reading DescribeJobs answers: progress, log streams, exit codes, stuck jobs, failure text."""

from __future__ import annotations

from airflow_batch_plugin.job_state import (
    array_progress,
    exit_code,
    failure_message,
    is_terminal,
    log_group_name,
    log_stream_name,
    log_stream_names,
    stuck_reason,
)

FAILED_JOB = {
    "jobId": "abc",
    "jobName": "etl-load",
    "status": "FAILED",
    "statusReason": "Essential container in task exited",
    "container": {"exitCode": 3, "logStreamName": "etl/default/task2"},
    "attempts": [
        {"container": {"exitCode": 1, "logStreamName": "etl/default/task1"}, "statusReason": "first"},
        {"container": {"exitCode": 3, "logStreamName": "etl/default/task2"}, "statusReason": "second"},
    ],
}


def test_terminal_states():
    assert is_terminal({"status": "SUCCEEDED"})
    assert is_terminal({"status": "FAILED"})
    assert not is_terminal({"status": "RUNNING"})
    assert not is_terminal({})


def test_array_progress_counts_children():
    job = {
        "arrayProperties": {
            "size": 10,
            "statusSummary": {"SUCCEEDED": 4, "FAILED": 1, "RUNNING": 2, "STARTING": 1, "RUNNABLE": 2},
        }
    }
    progress = array_progress(job)
    assert progress is not None
    assert (progress.succeeded, progress.failed, progress.running, progress.waiting) == (4, 1, 3, 2)
    assert str(progress) == "4 succeeded, 1 failed, 3 running, 2 waiting of 10"
    assert array_progress({"arrayProperties": {"index": 3}}) is None
    assert array_progress({}) is None


def test_log_streams_of_every_attempt():
    assert log_stream_name(FAILED_JOB) == "etl/default/task2"
    assert log_stream_names(FAILED_JOB) == ["etl/default/task1", "etl/default/task2"]
    running = {"container": {}, "attempts": [{"container": {"logStreamName": "s1"}}]}
    assert log_stream_name(running) == "s1"
    assert log_stream_name({"container": {}}) is None


def test_log_group_defaults_to_batch_and_follows_awslogs_group():
    assert log_group_name({}) == "/aws/batch/job"
    job = {"container": {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/etl"}}}}
    assert log_group_name(job) == "/etl"


def test_exit_code_falls_back_to_the_latest_attempt():
    assert exit_code(FAILED_JOB) == 3
    assert exit_code({"attempts": [{"container": {"exitCode": 0}}, {"container": {"exitCode": 137}}]}) == 137
    assert exit_code({"status": "RUNNING"}) is None


def test_stuck_reason_only_for_runnable_misconfiguration():
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement is too high."
    assert stuck_reason({"status": "RUNNABLE", "statusReason": reason}) == reason
    assert stuck_reason({"status": "RUNNING", "statusReason": reason}) is None
    assert stuck_reason({"status": "RUNNABLE"}) is None


def test_failure_message_has_reason_exit_code_attempts_and_log_tail():
    message = failure_message(FAILED_JOB, ["loading", "Traceback: KeyError 'x'"])
    assert "etl-load (abc) FAILED" in message
    assert "reason: Essential container in task exited" in message
    assert "exit code: 3" in message
    assert "attempts: 2" in message
    assert "attempt 1: exit code 1" in message
    assert "| Traceback: KeyError 'x'" in message


def test_failure_message_names_failed_children():
    parent = {
        "jobId": "p",
        "jobName": "extract",
        "status": "FAILED",
        "arrayProperties": {"size": 3, "statusSummary": {"SUCCEEDED": 2, "FAILED": 1}},
    }
    child = {"jobId": "p:1", "jobName": "extract", "status": "FAILED", "container": {"exitCode": 2}}
    message = failure_message(parent, [], [(child, ["bad partition 1"])])
    assert "children: 2 succeeded, 1 failed, 0 running, 0 waiting of 3" in message
    assert "(p:1) FAILED" in message
    assert "| bad partition 1" in message
