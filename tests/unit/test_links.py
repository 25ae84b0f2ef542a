"""Extra links: their URLs (console per partition, or the monitoring view), storing and reading them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_batch_plugin import link_ledger, links
from airflow_batch_plugin.compat import resumes_a_deferral
from airflow_batch_plugin.links import (
    ALL_LINK_CLASSES,
    BatchArrayChildrenLink,
    BatchJobDefinitionLink,
    BatchJobLink,
    BatchJobLogsLink,
    BatchJobQueueLink,
    LinkTarget,
    is_aws_endpoint,
    persist_job_links,
    submitted_job,
)

ARN_PREFIX = "arn:aws:batch:eu-west-1:123456789012"


class FakeTi:
    """Records what a task pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@dataclass
class ServerContext:
    """What the execution API told the run as it started (only what the links read)."""

    next_method: str | None = None


@dataclass
class RunningTi:
    """A running task instance: its try, the server's context, and what it pushes to XCom."""

    try_number: int = 1
    resumed: bool = False
    dag_id: str = "d"
    run_id: str = "r"
    task_id: str = "t"
    map_index: int = -1
    pushed: dict[str, Any] = field(default_factory=dict)

    @property
    def _ti_context_from_server(self) -> ServerContext:
        return ServerContext("execute_complete" if self.resumed else None)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture(autouse=True)
def _empty_ledger():
    link_ledger.forget()
    yield
    link_ledger.forget()


@pytest.fixture
def xcom_reads(monkeypatch) -> dict[str, Any]:
    """Answer XCom reads from a dict, recording each key asked for under ``"asked"``."""
    store: dict[str, Any] = {"asked": []}

    def get_value(*, ti_key: Any, key: str) -> Any:
        store["asked"].append(key)
        return store.get(key)

    monkeypatch.setattr(links.XCom, "get_value", get_value)
    return store


def test_console_urls_follow_the_partition_and_region():
    commercial = LinkTarget(region="eu-west-1")
    assert (
        commercial.job("abc-123")
        == "https://console.aws.amazon.com/batch/home?region=eu-west-1#jobs/detail/abc-123"
    )
    assert (
        LinkTarget(region="cn-north-1", partition="aws-cn")
        .job("x")
        .startswith("https://console.amazonaws.cn/batch/home?region=cn-north-1#")
    )
    assert (
        LinkTarget(region="us-gov-west-1", partition="aws-us-gov")
        .job("x")
        .startswith("https://console.amazonaws-us-gov.com/batch/")
    )
    queue = f"{ARN_PREFIX}:job-queue/nightly"
    assert commercial.job_queue(queue).endswith(f"#queues/detail/{queue}")
    definition = f"{ARN_PREFIX}:job-definition/etl:3"
    assert commercial.job_definition(definition).endswith(f"#job-definition/detail/{definition}")
    environment = f"{ARN_PREFIX}:compute-environment/spot"
    assert commercial.compute_environment(environment).endswith(f"#compute-environments/detail/{environment}")


def test_log_stream_url_is_escaped_as_the_cloudwatch_console_wants():
    url = LinkTarget(region="us-east-1").log_stream("j", "/aws/batch/job", "etl/default/0123abcd")
    assert url == (
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/"
        "$252Faws$252Fbatch$252Fjob/log-events/etl$252Fdefault$252F0123abcd"
    )


def test_view_urls_carry_the_connection_and_region_and_escape_ids():
    target = LinkTarget(
        region="us-east-1", use_view=True, view_base="http://airflow:8080", aws_conn_id="acct"
    )
    assert target.job("abc:1") == "http://airflow:8080/aws-batch/jobs/abc%3A1?conn_id=acct&region=us-east-1"
    assert target.log_stream("abc", "", "").endswith("/aws-batch/jobs/abc?conn_id=acct&region=us-east-1#log")
    assert target.array_children("abc").endswith("#children")
    queue = f"{ARN_PREFIX}:job-queue/nightly"
    assert target.job_queue(queue).startswith(
        "http://airflow:8080/aws-batch/queues/arn%3Aaws%3Abatch%3Aeu-west-1%3A123456789012%3Ajob-queue%2Fnightly?"
    )
    # without [api] base_url the links are relative to the Airflow UI
    assert LinkTarget(region="us-east-1", use_view=True).job("j").startswith("/aws-batch/jobs/j?")
    # array children have no console page: the view, even on AWS
    assert LinkTarget(region="us-east-1").array_children("j").startswith("/aws-batch/jobs/j?")


@pytest.mark.parametrize(
    ("endpoint", "aws"),
    [
        (None, True),
        ("", True),
        ("https://batch.eu-west-1.amazonaws.com", True),
        ("https://batch.cn-north-1.amazonaws.com.cn", True),
        ("http://127.0.0.1:4566", False),
        ("http://batch-emulator:4566", False),
        ("https://amazonaws.com.evil.example", False),
    ],
)
def test_only_a_local_endpoint_sends_links_to_the_view(endpoint, aws):
    assert is_aws_endpoint(endpoint) is aws


def test_link_target_reads_the_hooks_connection(monkeypatch):
    monkeypatch.setattr(links, "view_base_url", lambda: "")

    class Config:
        endpoint_url = "http://127.0.0.1:4566"

    class Hook:
        conn_region_name = "eu-west-1"
        conn_partition = "aws"
        conn_config = Config()
        aws_conn_id = "emulator"

    target = links.link_target(Hook())
    assert target == LinkTarget(region="eu-west-1", partition="aws", use_view=True, aws_conn_id="emulator")


def test_submitted_job_builds_arns_from_the_jobs_arn():
    response = {"jobId": "j1", "jobArn": f"{ARN_PREFIX}:job/j1", "jobName": "n"}
    job = submitted_job(
        response, {"jobQueue": "nightly", "jobDefinition": "etl:3", "arrayProperties": {"size": 4}}
    )
    assert job == {
        "jobId": "j1",
        "jobQueue": f"{ARN_PREFIX}:job-queue/nightly",
        "jobDefinition": f"{ARN_PREFIX}:job-definition/etl:3",
        "arrayProperties": {"size": 4},
    }
    bare = submitted_job(response, {"jobQueue": f"{ARN_PREFIX}:job-queue/q", "jobDefinition": "etl"})
    assert bare == {"jobId": "j1", "jobQueue": f"{ARN_PREFIX}:job-queue/q"}, "no revision: no guess"


def test_persist_job_links_stores_every_link_of_a_running_job():
    ti = FakeTi()
    job = {
        "jobId": "j1",
        "jobQueue": f"{ARN_PREFIX}:job-queue/nightly",
        "jobDefinition": f"{ARN_PREFIX}:job-definition/etl:3",
        "container": {"logStreamName": "etl/default/abc"},
    }
    persist_job_links({"ti": ti}, LinkTarget(region="eu-west-1"), job)
    assert ti.pushed[BatchJobLink().xcom_key].endswith("#jobs/detail/j1")
    assert ti.pushed[BatchJobQueueLink().xcom_key].endswith(f"#queues/detail/{ARN_PREFIX}:job-queue/nightly")
    assert ti.pushed[BatchJobDefinitionLink().xcom_key].endswith(f"{ARN_PREFIX}:job-definition/etl:3")
    assert ti.pushed[BatchJobLogsLink().xcom_key].endswith("log-events/etl$252Fdefault$252Fabc")
    assert BatchArrayChildrenLink().xcom_key not in ti.pushed


def test_an_array_job_links_its_children_and_no_log_of_its_own():
    ti = FakeTi()
    persist_job_links(
        {"ti": ti}, LinkTarget(region="eu-west-1"), {"jobId": "a", "arrayProperties": {"size": 5}}
    )
    assert ti.pushed[BatchArrayChildrenLink().xcom_key].endswith(
        "/aws-batch/jobs/a?conn_id=aws_default&region=eu-west-1#children"
    )
    assert BatchJobLogsLink().xcom_key not in ti.pushed


def test_a_job_not_started_has_no_console_log_link_yet_but_a_view_log_link():
    ti = FakeTi()
    persist_job_links({"ti": ti}, LinkTarget(region="eu-west-1"), {"jobId": "j"})
    assert BatchJobLogsLink().xcom_key not in ti.pushed
    persist_job_links({"ti": ti}, LinkTarget(region="eu-west-1", use_view=True), {"jobId": "j"})
    assert ti.pushed[BatchJobLogsLink().xcom_key].endswith("#log")


def test_get_link_hands_back_the_stored_url_and_never_raises(monkeypatch):
    stored = {"aws_batch_link_job": "https://console.aws.amazon.com/batch/home?region=x#jobs/detail/j"}

    def get_value(*, ti_key: Any, key: str) -> Any:
        if key == "boom":
            raise RuntimeError("no api server")
        return stored.get(key)

    monkeypatch.setattr(links.XCom, "get_value", get_value)
    assert BatchJobLink().get_link(None, ti_key=object()) == stored["aws_batch_link_job"]  # type: ignore[arg-type]
    assert BatchJobLogsLink().get_link(None, ti_key=object()) == ""  # type: ignore[arg-type]
    monkeypatch.setattr(BatchJobLink, "key", "x")
    monkeypatch.setattr(links.XCom, "get_value", lambda **_: (_ for _ in ()).throw(RuntimeError("down")))
    assert BatchJobLink().get_link(None, ti_key=object()) == ""  # type: ignore[arg-type]


def test_link_names_and_xcom_keys_are_unique():
    names = [cls().name for cls in ALL_LINK_CLASSES]
    keys = [cls().xcom_key for cls in ALL_LINK_CLASSES]
    assert len(set(names)) == len(names) == len(set(keys))
    assert all(name.startswith("AWS Batch ") for name in names)


def test_the_provider_info_names_every_link_class():
    from airflow_batch_plugin.provider import get_provider_info

    listed = get_provider_info()["extra-links"]
    assert sorted(listed) == sorted(f"airflow_batch_plugin.links.{cls.__name__}" for cls in ALL_LINK_CLASSES)


def test_operators_declare_their_links():
    from airflow_batch_plugin import (
        BatchComputeEnvironmentSensor,
        BatchEnsureComputeEnvironmentOperator,
        BatchEnsureJobQueueOperator,
        BatchJobQueueSensor,
        BatchJobSensor,
        BatchRegisterJobDefinitionOperator,
        BatchSubmitJobOperator,
    )

    def names(operator: type) -> set[str]:
        return {link.name for link in operator.operator_extra_links}

    job_links = {
        "AWS Batch Job",
        "AWS Batch Job Logs",
        "AWS Batch Array Children",
        "AWS Batch Job Definition",
        "AWS Batch Job Queue",
    }
    assert names(BatchSubmitJobOperator) == job_links
    assert names(BatchJobSensor) == job_links
    assert names(BatchRegisterJobDefinitionOperator) == {"AWS Batch Job Definition"}
    assert names(BatchEnsureJobQueueOperator) == names(BatchJobQueueSensor) == {"AWS Batch Job Queue"}
    assert names(BatchEnsureComputeEnvironmentOperator) == {"AWS Batch Compute Environment"}
    assert names(BatchComputeEnvironmentSensor) == {"AWS Batch Compute Environment"}


def test_a_link_with_nothing_to_show_asks_xcom_nothing(xcom_reads):
    """A run that resumed nothing: Airflow cleared the try's XComs as it started, so what this
    process stored is all there is; the other links answer '' without a lookup (which Airflow's
    API client would log as ``[error] XCom not found``)."""
    ti = RunningTi()
    persist_job_links({"ti": ti}, LinkTarget(region="eu-west-1"), {"jobId": "j", "jobQueue": "q"})
    assert BatchJobLink().get_link(None, ti_key=ti) == ti.pushed[BatchJobLink().xcom_key]  # type: ignore[arg-type]
    assert BatchJobQueueLink().get_link(None, ti_key=ti).endswith("#queues/detail/q")  # type: ignore[arg-type]
    for link in (BatchArrayChildrenLink(), BatchJobLogsLink(), BatchJobDefinitionLink()):
        assert link.get_link(None, ti_key=ti) == ""  # type: ignore[arg-type]
    assert xcom_reads["asked"] == []


def test_a_task_that_failed_before_submit_job_asks_xcom_nothing(xcom_reads):
    ti = RunningTi()
    assert [link.get_link(None, ti_key=ti) for link in links.JOB_LINKS] == [""] * 5  # type: ignore[arg-type]
    assert xcom_reads["asked"] == []


def test_a_run_that_resumed_a_deferral_reads_what_the_run_before_stored(xcom_reads):
    """Before deferring, the run stored the URLs and, at its end, every link's key (URL or '')."""
    before = RunningTi()
    persist_job_links({"ti": before}, LinkTarget(region="eu-west-1"), {"jobId": "j"})
    xcom_reads.update(before.pushed)
    xcom_reads[BatchArrayChildrenLink().xcom_key] = ""
    link_ledger.forget()  # the resumed run is a new process
    resumed = RunningTi(resumed=True)
    assert BatchJobLink().get_link(None, ti_key=resumed) == before.pushed[BatchJobLink().xcom_key]  # type: ignore[arg-type]
    assert BatchArrayChildrenLink().get_link(None, ti_key=resumed) == ""  # type: ignore[arg-type]
    assert xcom_reads["asked"] == [BatchJobLink().xcom_key, BatchArrayChildrenLink().xcom_key]
    # what the resumed run stores itself it answers without a lookup
    BatchJobLogsLink.persist({"ti": resumed}, "https://logs")
    assert BatchJobLogsLink().get_link(None, ti_key=resumed) == "https://logs"  # type: ignore[arg-type]
    assert len(xcom_reads["asked"]) == 2


def test_the_ledger_keeps_each_try_apart(xcom_reads):
    first = RunningTi(try_number=1)
    BatchJobLink.persist({"ti": first}, "https://first")
    second = RunningTi(try_number=2)
    assert BatchJobLink().get_link(None, ti_key=second) == ""  # type: ignore[arg-type]
    other_index = RunningTi(map_index=3)
    assert BatchJobLink().get_link(None, ti_key=other_index) == ""  # type: ignore[arg-type]
    assert BatchJobLink().get_link(None, ti_key=first) == "https://first"  # type: ignore[arg-type]
    assert xcom_reads["asked"] == []


def test_resumes_a_deferral_reads_the_task_runners_context():
    from airflow.sdk.api.datamodels._generated import TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    assert "_ti_context_from_server" in RuntimeTaskInstance.__private_attributes__
    assert "next_method" in TIRunContext.model_fields

    def running(next_method: str | None) -> Any:
        context = TIRunContext.model_construct(next_method=next_method)
        return RuntimeTaskInstance.model_construct(task_id="t", _ti_context_from_server=context)

    assert resumes_a_deferral(running("execute_complete")) is True
    assert resumes_a_deferral(running(None)) is False
    assert resumes_a_deferral(RuntimeTaskInstance.model_construct(task_id="t")) is None
    assert resumes_a_deferral(object()) is None, "a TaskInstanceKey cannot tell: XCom is read"
