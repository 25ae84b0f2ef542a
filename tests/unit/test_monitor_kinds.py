"""The monitor on every kind of job: labelled lines, the failing part named with its last lines.

Job descriptions are AWS's documented shapes (tests/unit/aws_job_descriptions.py); the logs
are real CloudWatch Logs calls against moto's in-process service.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from airflow_batch_plugin.anatomy import EksCluster, EksLogConvention
from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
from airflow_batch_plugin.job_state import BatchJobFailed
from airflow_batch_plugin.monitor import JobMonitor, job_result_xcoms
from tests.unit import aws_job_descriptions as aws

NOW_MS = int(time.time() * 1000)
LOGGER = "test.monitor.kinds"


class AwsBatchAnswers:
    """Answers the monitor's Batch reads from AWS-shaped descriptions (moto has no such jobs)."""

    def __init__(self, *jobs: dict[str, Any], cluster: EksCluster | None = None) -> None:
        self.jobs = {job["jobId"]: job for job in jobs}
        self.cluster = cluster
        self.calls: list[str] = []

    def describe_jobs(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        self.calls.append("DescribeJobs")
        assert len(ids) <= 100
        return {job_id: self.jobs[job_id] for job_id in ids if job_id in self.jobs}

    def list_jobs(self, *, array_job_id: str, job_status: str) -> Any:
        self.calls.append("ListJobs")
        for job_id, job in self.jobs.items():
            if job_id.startswith(f"{array_job_id}:") and job["status"] == job_status:
                yield {"jobId": job_id, "status": job_status}

    def eks_cluster_of_queue(self, queue: str) -> EksCluster | None:
        self.calls.append("DescribeJobQueues+DescribeComputeEnvironments")
        return self.cluster


@pytest.fixture
def logs(hook):  # `hook` (conftest) opens moto's in-process AWS and the Airflow connection
    return boto3.client("logs", region_name="us-east-1")


def write(client: Any, group: str, stream: str, lines: list[str]) -> None:
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    events = [{"timestamp": NOW_MS + i, "message": line} for i, line in enumerate(lines)]
    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def monitor(
    batch: AwsBatchAnswers, job_id: str, caplog: pytest.LogCaptureFixture, **kwargs: Any
) -> JobMonitor:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return JobMonitor(
        batch=batch,  # type: ignore[arg-type]
        logs=CloudWatchLogsHook(),
        job_id=job_id,
        log=logging.getLogger(LOGGER),
        **kwargs,
    )


def fluent_bit_record(line: str) -> str:
    """One event as Container Insights' Fluent Bit sends it: the whole record, the line under "log"."""
    record = {"time": "2026-12-06T18:00:00.000000000Z", "stream": "stdout", "_p": "F", "log": f"{line}\n"}
    record["kubernetes"] = {
        "pod_name": "aws-batch.x",
        "namespace_name": "batch-jobs",
        "container_name": "main",
    }
    return json.dumps(record)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_an_ecs_job_labels_each_containers_lines_and_names_the_essential_one_that_failed(logs, caplog):
    job = aws.ecs_job("FAILED", app_exit=5, sidecar_exit=137)
    write(logs, "/aws/batch/job", "train/app/ecs1task", ["loading", "ValueError: bad row 7"])
    write(logs, "/aws/batch/job", "train/sidecar/ecs1task", ["proxy up"])
    follow = monitor(AwsBatchAnswers(job), job["jobId"], caplog)
    follow.observe(job)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(job)
    logged = lines(caplog)
    assert "[batch container app] ValueError: bad row 7" in logged
    assert "[batch container sidecar] proxy up" in logged
    message = str(caught.value)
    assert "exit code: 5 (container app)" in message
    assert "failed: container app (essential): exit code 5" in message
    assert "failed: container sidecar (not essential): exit code 137" in message
    assert "last 2 log line(s) of container app:\n  | loading\n  | ValueError: bad row 7" in message
    assert caught.value.exit_code == 5
    assert caught.value.failed_parts == ["container app", "container sidecar"]
    xcoms = job_result_xcoms(job, follow)
    assert xcoms["log_stream_names"] == ["train/app/ecs1task", "train/sidecar/ecs1task"]
    assert xcoms["exit_codes"] == {"app": 5, "sidecar": 137}


def test_an_eks_jobs_lines_come_from_container_insights_found_by_pod_prefix(logs, caplog):
    job = aws.eks_job("FAILED", 5)
    attempt = job["eksAttempts"][0]
    stream = (
        f"{attempt['nodeName']}-application.var.log.containers.{attempt['podName']}_batch-jobs_main-"
        f"{attempt['containers'][0]['containerID']}.log"
    )
    group = "/aws/containerinsights/ml-cluster/application"
    write(logs, group, stream, [fluent_bit_record("scoring 10 rows"), fluent_bit_record("KeyError: 'label'")])
    write(logs, group, "other-node-application.var.log.containers.someone-else_default_x-1.log", ["not ours"])
    follow = monitor(AwsBatchAnswers(job), job["jobId"], caplog, stream_logs=False)
    follow.observe(job)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(job)
    logged = lines(caplog)
    assert "[batch] KeyError: 'label'" in logged
    assert "[batch] not ours" not in logged
    assert "exit code: 5" in str(caught.value)
    assert "KeyError: 'label'" in str(caught.value)
    assert job_result_xcoms(job, follow)["log_stream_names"] == [stream]


def test_a_running_eks_pod_is_followed_live_with_the_queues_cluster(logs, caplog):
    running = aws.eks_job("RUNNING", None)
    pod = running["eksProperties"]["podProperties"]
    group = "/aws/containerinsights/ml-cluster/application"
    write(
        logs,
        group,
        f"{pod['nodeName']}-application.var.log.containers.{pod['podName']}_batch-jobs_main-ab.log",
        ["step 1"],
    )
    batch = AwsBatchAnswers(running, cluster=EksCluster("ml-cluster", "batch-jobs"))
    follow = monitor(batch, running["jobId"], caplog)
    follow.observe(running)
    follow.observe(running)
    assert "[batch] step 1" in lines(caplog)
    assert batch.calls.count("DescribeJobQueues+DescribeComputeEnvironments") == 1  # looked up once


def test_an_eks_job_whose_logs_are_not_where_we_look_says_where_it_looked(logs, caplog):
    job = aws.eks_job("SUCCEEDED", 0)
    follow = monitor(
        AwsBatchAnswers(job), job["jobId"], caplog, eks_logs=EksLogConvention(group="/eks/{cluster}")
    )
    follow.observe(job)
    follow.finish(job)
    warnings = [line for line in lines(caplog) if line.startswith("No log stream found for EKS job")]
    assert len(warnings) == 1
    assert "in log group /eks/ml-cluster with prefix 'ip-10-0-1-17.ec2.internal-application" in warnings[0]
    assert "eks_log_group" in warnings[0]


def test_a_multi_node_job_streams_every_node_labelled_and_names_the_failed_node(logs, caplog):
    parent = aws.multi_node_parent("FAILED", main_exit=5)
    node0 = aws.node_job(parent, 0, "FAILED", 5)
    node1 = aws.node_job(parent, 1, "FAILED", 5)
    write(logs, "/aws/batch/job", "mpi-train/default/node0task", ["rank 0 up", "rank 0: peer lost"])
    write(logs, "/aws/batch/job", "mpi-train/default/node1task", ["rank 1 up", "rank 1: CUDA error"])
    running_parent = {**aws.multi_node_parent("RUNNING", None)}
    running_nodes = [aws.node_job(parent, i, "RUNNING", None) for i in (0, 1)]
    batch = AwsBatchAnswers(running_parent, *running_nodes)
    follow = monitor(batch, parent["jobId"], caplog)
    follow.observe(running_parent)
    assert "[batch node 1] rank 1 up" in lines(caplog)  # live, before the job ends
    batch.jobs.update({parent["jobId"]: parent, node0["jobId"]: node0, node1["jobId"]: node1})
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    logged = lines(caplog)
    assert logged.count("[batch node 1] rank 1 up") == 1
    assert "[batch node 0] rank 0: peer lost" in logged
    message = str(caught.value)
    assert "failed: node 0: exit code 5" in message
    assert "failed: node 1: exit code 5" in message
    assert "last 2 log line(s) of node 1:\n  | rank 1 up\n  | rank 1: CUDA error" in message
    xcoms = job_result_xcoms(parent, follow)
    assert xcoms["exit_codes"] == {"node 0": 5, "node 1": 5}
    assert xcoms["log_stream_names"] == ["mpi-train/default/node0task", "mpi-train/default/node1task"]


def test_a_successful_array_shows_its_first_children_labelled_and_says_what_it_left_out(logs, caplog):
    parent = aws.array_parent("SUCCEEDED", size=5)
    children = [aws.array_child(parent, index) for index in range(5)]
    for index in range(5):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"partition {index} done"])
    batch = AwsBatchAnswers(parent, *children)
    follow = monitor(batch, parent["jobId"], caplog, array_children_logs=2)
    follow.observe(parent)
    follow.finish(parent)
    logged = lines(caplog)
    assert [line for line in logged if line.startswith("[batch")] == [
        "[batch child 0] partition 0 done",
        "[batch child 1] partition 1 done",
    ]
    assert (
        f"Logs of 3 more children of array job {parent['jobId']} are not shown (array_children_logs=2)"
        in logged
    )
    assert job_result_xcoms(parent, follow)["log_stream_names"] == [
        "extract/default/child0",
        "extract/default/child1",
    ]
    assert batch.calls == ["DescribeJobs"]  # one call for the shown children, none for failures


def test_a_failed_array_shows_the_failed_childs_lines_in_the_message(logs, caplog):
    parent = aws.array_parent("FAILED", size=4, failed=1)
    children = [aws.array_child(parent, index, exit_code=3 if index == 2 else 0) for index in range(4)]
    for index in range(4):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"child {index} says hi"])
    follow = monitor(AwsBatchAnswers(parent, *children), parent["jobId"], caplog, array_children_logs=1)
    follow.observe(parent)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    logged = lines(caplog)
    assert "[batch child 0] child 0 says hi" in logged
    assert "[batch child 2] child 2 says hi" in logged
    assert "[batch child 1] child 1 says hi" not in logged
    assert "exit code: 3" in str(caught.value)
    assert "  | child 2 says hi" in str(caught.value)


def test_every_child_when_asked_for_all(logs, caplog):
    parent = aws.array_parent("SUCCEEDED", size=3)
    children = [aws.array_child(parent, index) for index in range(3)]
    for index in range(3):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"c{index}"])
    follow = monitor(AwsBatchAnswers(parent, *children), parent["jobId"], caplog, array_children_logs="all")
    follow.finish(parent)
    assert [line for line in lines(caplog) if line.startswith("[batch")] == [
        "[batch child 0] c0",
        "[batch child 1] c1",
        "[batch child 2] c2",
    ]


def child_descriptions_kept(follow: JobMonitor) -> set[str]:
    """The ids of the array children whose descriptions the monitor still holds (hooks and logger aside)."""
    kept: set[str] = set()
    visited: set[int] = set()
    stack: list[Any] = [
        value for name, value in vars(follow).items() if name not in ("batch", "logs", "log", "_clock")
    ]
    while stack:
        item = stack.pop()
        if id(item) in visited:
            continue
        visited.add(id(item))
        if isinstance(item, Mapping):
            if ":" in str(item.get("jobId", "")):
                kept.add(str(item["jobId"]))
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset, deque)):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return kept


def failed_array(size: int, failed: set[int]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    parent = aws.array_parent("FAILED", size=size, failed=len(failed))
    children = [aws.array_child(parent, i, exit_code=5 if i in failed else 0) for i in range(size)]
    return parent, children


def test_all_children_of_a_big_failed_array_keep_only_the_failed_children_the_message_shows(logs, caplog):
    # Reading every child must not keep every child: only the failed_children the message shows.
    parent, children = failed_array(12, failed={2, 5, 8, 11})
    for index in range(12):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"c{index} a", f"c{index} b"])
    batch = AwsBatchAnswers(parent, *children)
    follow = monitor(batch, parent["jobId"], caplog, array_children_logs="all", failed_children=2)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    labelled = [line for line in lines(caplog) if line.startswith("[batch child")]
    assert labelled == [f"[batch child {i}] c{i} {part}" for i in range(12) for part in ("a", "b")]
    assert child_descriptions_kept(follow) == {f"{parent['jobId']}:2", f"{parent['jobId']}:5"}
    message = str(caught.value)
    assert f"({parent['jobId']}:2) FAILED" in message
    assert "  | c2 b" in message
    assert f"({parent['jobId']}:5) FAILED" in message
    assert "  | c5 b" in message
    assert f"{parent['jobId']}:8" not in message
    assert batch.calls == ["DescribeJobs"]  # every child read already: no ListJobs for the failed ones
    assert len(job_result_xcoms(parent, follow)["log_stream_names"]) == 12


def test_a_failed_childs_last_lines_are_its_own_not_those_of_a_child_whose_index_extends_it(logs, caplog):
    parent, children = failed_array(11, failed={1, 10})
    for index in range(11):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"line of child {index}"])
    follow = monitor(AwsBatchAnswers(parent, *children), parent["jobId"], caplog, array_children_logs="all")
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    message = str(caught.value)
    child_1 = message.split(f"({parent['jobId']}:1) FAILED", 1)[1].split(f"({parent['jobId']}:10)", 1)[0]
    assert "  | line of child 1" in child_1
    assert "child 10" not in child_1
    assert message.count("  | line of child 10") == 1


def test_failed_children_among_the_first_ones_fill_the_message_without_listing_jobs(logs, caplog):
    parent, children = failed_array(6, failed={1, 4})
    for index in range(6):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"c{index}"])
    batch = AwsBatchAnswers(parent, *children)
    follow = monitor(batch, parent["jobId"], caplog, array_children_logs=3, failed_children=1)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    assert "  | c1" in str(caught.value)
    assert "[batch child 4] c4" not in lines(caplog)
    assert batch.calls == ["DescribeJobs"]


def test_failed_children_past_the_first_ones_are_listed_and_read_once(logs, caplog):
    parent, children = failed_array(6, failed={1, 4, 5})
    for index in range(6):
        write(logs, "/aws/batch/job", f"extract/default/child{index}", [f"c{index}"])
    batch = AwsBatchAnswers(parent, *children)
    follow = monitor(batch, parent["jobId"], caplog, array_children_logs=3, failed_children=2)
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(parent)
    labelled = [line for line in lines(caplog) if line.startswith("[batch child")]
    assert labelled == [
        "[batch child 0] c0",
        "[batch child 1] c1",
        "[batch child 2] c2",
        "[batch child 4] c4",
    ]
    assert "  | c1" in str(caught.value)
    assert "  | c4" in str(caught.value)
    assert "  | c5" not in str(caught.value)
    assert batch.calls == ["DescribeJobs", "ListJobs", "DescribeJobs"]
    assert child_descriptions_kept(follow) == {f"{parent['jobId']}:1", f"{parent['jobId']}:4"}


def test_array_children_logs_must_be_a_count_or_all():
    with pytest.raises(ValueError, match="array_children_logs='some'"):
        JobMonitor(
            batch=None, logs=None, job_id="j", log=logging.getLogger(LOGGER), array_children_logs="some"
        )  # type: ignore[arg-type]


def test_a_shippers_record_gives_its_line_and_anything_else_passes_as_it_is():
    from airflow_batch_plugin.hooks.logs import record_line

    assert record_line(fluent_bit_record("hello"), "log") == "hello"
    assert record_line(json.dumps({"message": "from cri", "stream": "stdout"}), "log") == "from cri"
    assert record_line('{"level": "info", "msg": "an app line that is JSON"}', "log").startswith('{"level"')
    assert record_line("{not json", "log") == "{not json"
    assert record_line("plain line", "log") == "plain line"
    assert record_line('["a list"]', "log") == '["a list"]'
