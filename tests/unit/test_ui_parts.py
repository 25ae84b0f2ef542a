"""The monitoring view's parts that need no AWS: the plugin, its lazy app, the cache, the chart, rows."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_batch_plugin.compat import menu_entry
from airflow_batch_plugin.plugin import AwsBatchPlugin, LazyAsgiApp
from airflow_batch_plugin.ui.cache import TtlCache
from airflow_batch_plugin.ui.charts import stacked_bars
from airflow_batch_plugin.ui.data import JobRow, compute_environment_row, job_row, task_ref


def test_each_plugin_instance_has_its_own_lists_and_the_class_none():
    first, second = AwsBatchPlugin(), AwsBatchPlugin()
    assert first.fastapi_apps is not second.fastapi_apps
    assert AwsBatchPlugin.fastapi_apps == [], "nothing on the class"
    app = first.fastapi_apps[0]
    assert app["url_prefix"] == "/aws-batch"
    assert isinstance(app["app"], LazyAsgiApp)
    assert app["app"]._app is None, "the FastAPI app is not built until a request comes"
    entries = menu_entry("AWS Batch", "/aws-batch/", "aws-batch")
    for attribute, [entry] in entries.items():  # none on Airflow 3.0 without the FAB provider
        assert getattr(first, attribute) == [entry]
        assert getattr(first, attribute) is not getattr(second, attribute)
        assert entry["href"] == "/aws-batch/"
    assert len(first.operator_extra_links) == 6


def test_lazy_app_builds_once_and_serves_every_request():
    import asyncio

    built = []

    async def inner(scope, receive, send):
        scope["seen"] = True

    def factory():
        built.append(1)
        return inner

    lazy = LazyAsgiApp(factory)

    async def two_requests():
        for _ in range(2):
            scope = {}
            await lazy(scope, None, None)  # type: ignore[arg-type]
            assert scope["seen"]

    asyncio.run(two_requests())
    assert built == [1]


def test_cache_keeps_values_for_their_ttl():
    now = [0.0]
    cache = TtlCache(ttl=10, clock=lambda: now[0])
    calls = []
    assert cache.get("k", lambda: calls.append(1) or "v1") == "v1"
    now[0] = 9.9
    assert cache.get("k", lambda: calls.append(1) or "v2") == "v1"
    now[0] = 10.0
    assert cache.get("k", lambda: calls.append(1) or "v3") == "v3"
    assert len(calls) == 2
    assert (cache.hits, cache.misses) == (1, 2)


def test_cache_computes_once_for_concurrent_requests():
    cache = TtlCache(ttl=60)
    computed = []

    def slow() -> str:
        computed.append(1)
        time.sleep(0.2)
        return "value"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 8
    assert computed == [1]


def test_cache_drops_the_oldest_entries_beyond_its_size():
    cache = TtlCache(ttl=60, max_entries=2)
    for key in "abc":
        cache.get(key, lambda key=key: key)
    recomputed = []
    cache.get("a", lambda: recomputed.append("a") or "a")
    assert recomputed == ["a"]
    with pytest.raises(ValueError, match="ttl"):
        TtlCache(ttl=-1)


def test_chart_scales_bars_escapes_labels_and_has_a_legend():
    svg = stacked_bars(
        [("<queue>", {"RUNNING": 2, "FAILED": 2}), ("small", {"RUNNING": 1})],
        ["RUNNING", "FAILED"],
        width=460,
    )
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert "&lt;queue&gt;" in svg
    assert "<queue>" not in svg
    assert 'data-status="RUNNING" data-count="2"' in svg
    # the largest row fills the plot (460 - 190 - 60 = 210 px): 2 of 4 -> 105 px; the small row's 1 -> 52.5
    assert 'width="105.0"' in svg
    assert 'width="52.5"' in svg
    assert ">running</text>" in svg
    assert ">failed</text>" in svg
    assert "data-count" not in stacked_bars([("empty", {})], ["RUNNING"]), "no jobs, no segment"


def test_rows_from_descriptions():
    tags = {"airflow:dag_id": "d", "airflow:run_id": "r", "airflow:task_id": "t", "airflow:map_index": "2"}
    row = job_row(
        {
            "jobId": "a",
            "jobName": "n",
            "jobQueue": "arn:aws:batch:us-east-1:1:job-queue/q",
            "status": "RUNNING",
            "createdAt": 1000,
            "startedAt": 2000,
            "stoppedAt": 62000,
            "arrayProperties": {"size": 4, "statusSummary": {"SUCCEEDED": 1, "FAILED": 1, "RUNNING": 2}},
            "tags": tags,
        }
    )
    assert row.queue == "q"
    assert row.task is not None
    assert row.task.map_index == 2
    assert row.duration_seconds == 60
    assert row.done_fraction == 0.5
    child = job_row({"jobId": "a:1", "arrayProperties": {"index": 1}, "status": "RUNNING"})
    assert child.array_size is None, "a child is not an array"
    assert task_ref({"airflow:dag_id": "d"}) is None
    environment = compute_environment_row(
        {
            "computeEnvironmentName": "spot",
            "computeEnvironmentArn": "arn",
            "type": "MANAGED",
            "computeResources": {"type": "SPOT", "minvCpus": 0, "desiredvCpus": 4, "maxvCpus": 64},
            "containerOrchestrationType": "EKS",
        }
    )
    assert environment.kind == "EKS (SPOT)"
    assert (environment.min_vcpus, environment.desired_vcpus, environment.max_vcpus) == (0, 4, 64)
    assert (
        compute_environment_row(
            {"computeEnvironmentName": "u", "computeEnvironmentArn": "a", "type": "UNMANAGED"}
        ).kind
        == "UNMANAGED"
    )


def test_the_legend_of_every_status_fits_the_chart():
    import re

    from airflow_batch_plugin.ui.data import STATUSES

    svg = stacked_bars([("q", {"RUNNING": 1})], STATUSES)
    width = float(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    legend = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="chart-legend">', svg)]
    assert len(legend) == len(STATUSES)
    assert max(legend) + 7 * len("succeeded") <= width


def test_environment_values_are_hidden_in_descriptions_the_view_returns():
    from airflow_batch_plugin.ui.data import without_environment_values

    job = {
        "container": {
            "environment": [{"name": "DB_URL", "value": "postgres://user:pw@db"}],
            "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:t"}],
        },
        "eksProperties": {"podProperties": {"containers": [{"env": [{"name": "K", "value": "v"}]}]}},
        "attempts": [{"container": {"environment": [{"name": "A", "value": "b"}]}}],
    }
    hidden = without_environment_values(job)
    assert hidden["container"]["environment"] == [{"name": "DB_URL", "value": "***"}]
    assert hidden["container"]["secrets"] == job["container"]["secrets"], "references stay"
    assert hidden["eksProperties"]["podProperties"]["containers"][0]["env"] == [{"name": "K", "value": "***"}]
    assert hidden["attempts"][0]["container"]["environment"][0]["value"] == "***"
    assert job["container"]["environment"][0]["value"] == "postgres://user:pw@db", "the original is untouched"


def test_job_pages_list_containers_and_nodes_as_aws_describes_them():
    from airflow_batch_plugin.anatomy import read_job
    from airflow_batch_plugin.ui.data import attempt_rows, part_rows
    from tests.unit import aws_job_descriptions as aws

    containers = part_rows(read_job(aws.ecs_job("FAILED", 5, 137)))
    assert [(p.label, p.essential, p.exit_code) for p in containers] == [
        ("container app", True, 5),
        ("container sidecar", False, 137),
    ]
    assert containers[0].log == "train/app/ecs1task (group /aws/batch/job)"
    parent = read_job(aws.multi_node_parent())
    nodes = part_rows(parent)
    assert [(p.label, p.job_id) for p in nodes] == [
        ("node 0 (main)", f"{parent.job_id}#0"),
        ("node 1", f"{parent.job_id}#1"),
    ]
    assert part_rows(read_job(aws.container_job())) == []  # one container: the job's own facts
    rows = attempt_rows(read_job(aws.container_job("FAILED", 5, attempts=2)))
    assert [(row.number, row.outcome) for row in rows] == [
        (1, "exit code 1, Essential container in task exited"),
        (2, "exit code 5, Essential container in task exited"),
    ]
    assert rows[1].streams == ["report/default/task2 (group /aws/batch/job)"]


# -- duration while a job runs, and in the JSON twins -----------------------------------------------


def running_row(started_at: int | None = 2_000, stopped_at: int | None = None) -> JobRow:
    return job_row(
        {
            "jobId": "j",
            "status": "RUNNING",
            "createdAt": 1_000,
            "startedAt": started_at,
            "stoppedAt": stopped_at,
        }
    )


def test_a_running_job_counts_its_elapsed_time_on_the_clock_given():
    row = running_row()
    assert row.elapsed_seconds(now_ms=lambda: 92_000) == 90
    assert row.elapsed_seconds(now_ms=lambda: 1_000) == 0, "a clock behind AWS's never gives negative time"
    assert running_row(stopped_at=32_000).elapsed_seconds(now_ms=lambda: 99_000_000) == 30, "stopped: fixed"
    assert running_row(started_at=None).elapsed_seconds(now_ms=lambda: 92_000) is None, "not started"
    assert running_row(started_at=None).duration_seconds is None


def test_the_running_duration_uses_the_system_clock_by_default():
    # No wall-clock value is asserted: the property must only count, not wait for stoppedAt.
    duration = running_row(started_at=1).duration_seconds
    assert duration is not None
    assert duration > 0


def test_json_twins_include_the_duration_of_rows_at_every_depth():
    from airflow_batch_plugin.ui.app import as_json

    stopped = running_row(stopped_at=32_000)
    data = as_json({"jobs": [stopped], "row": stopped})
    assert data["jobs"][0]["duration_seconds"] == 30
    assert data["row"]["duration_seconds"] == 30
    assert data["row"]["dag_id"] is None
    assert as_json(running_row())["duration_seconds"] > 0
    assert as_json(running_row(started_at=None))["duration_seconds"] is None


# -- who may see what --------------------------------------------------------------------------------


def test_a_jobs_dag_is_its_dag_tag_alone():
    from airflow_batch_plugin.ui.data import dag_of

    partial = job_row({"jobId": "p", "tags": {"airflow:dag_id": "b"}})
    assert partial.dag_id == "b"
    assert partial.task is None, "no run or task tag: no link to a task instance"
    assert dag_of({}) is None
    assert dag_of({"airflow:dag_id": ""}) is None
    assert dag_of({"airflow:task_id": "t", "airflow:run_id": "r"}) is None


def test_rights_show_jobs_of_readable_dags_and_the_account_to_whom_the_setting_names():
    from airflow_batch_plugin.ui.permissions import UNRESTRICTED, Rights

    reader = Rights(readable_dags=frozenset({"a"}), sees_account=False)
    assert reader.may_see_job("a")
    assert not reader.may_see_job("b")
    assert not reader.may_see_job(None), "a job Airflow did not start belongs to the account"
    admin = Rights(readable_dags=frozenset({"a", "b"}), sees_account=True)
    assert admin.may_see_job("b")
    assert admin.may_see_job(None)
    assert not admin.may_see_job("unknown"), "seeing the account does not open other DAGs' jobs"
    assert UNRESTRICTED.may_see_job("anything")
    assert UNRESTRICTED.may_see_job(None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "admins"),
        ("admins", "admins"),
        ("everyone", "everyone"),
        (" Everyone ", "everyone"),
        ("all", "admins"),
    ],
)
def test_view_resources_for_is_admins_unless_set_to_everyone(monkeypatch, value, expected):
    from airflow_batch_plugin.ui.permissions import resources_for

    if value is None:
        monkeypatch.delenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", value)
    assert resources_for() == expected


# -- one read of each thing per request ----------------------------------------------------------------


def test_a_request_reads_each_thing_once_even_with_the_cache_off():
    from airflow_batch_plugin.ui.data import BatchWorld

    world = BatchWorld(None, None, TtlCache(ttl=0), ("aws_default", "us-east-1"))  # type: ignore[arg-type]
    reads: list[str] = []

    def read() -> str:
        reads.append("x")
        return f"value {len(reads)}"

    request = world.for_request()
    assert request._cached(("x",), read) == request._cached(("x",), read) == "value 1"
    assert world.for_request()._cached(("x",), read) == "value 2", "the next request reads again"
    assert world._cached(("x",), read) == "value 3", "no memo outside a request"
