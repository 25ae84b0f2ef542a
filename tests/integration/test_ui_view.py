"""The "AWS Batch" view on the emulator: pages, JSON, bounded AWS calls, caching, Airflow's auth.

Jobs are submitted with the tags our operators put on jobs (DAG, run, task), run to their end on
the emulator, and the view's app is exercised with FastAPI's TestClient: alone (its pages and
their AWS calls), and mounted by the real Airflow api-server app built in-process (auth).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from airflow_batch_plugin.compat import AIRFLOW_VERSION_TEXT, menu_entry
from airflow_batch_plugin.identity import DAG_TAG, MAP_INDEX_TAG, RUN_TAG, TASK_TAG
from airflow_batch_plugin.ui.app import Worlds, create_app
from airflow_batch_plugin.ui.cache import TtlCache
from tests.parked_queue import create_parked_queue, delete_queue

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

DAG_ID = "view_test_dag"
OTHER_DAG = "view_other_dag"  # not in Airflow: a DAG nobody may read
DAG_B = "view_dag_b"  # in Airflow; the per-DAG tests' reader may not read it


def tags(dag_id: str, task_id: str, map_index: int = -1) -> dict[str, str]:
    return {DAG_TAG: dag_id, RUN_TAG: "manual__view", TASK_TAG: task_id, MAP_INDEX_TAG: str(map_index)}


@pytest.fixture(scope="module")
def jobs(emulator) -> dict[str, str]:
    """A single job with a log, an array job of 3 with one failed child, a failed job, jobs tagged
    in part or not at all; all ended."""
    batch = emulator.client("batch")
    name = f"view-{uuid.uuid4().hex[:6]}"
    definition = batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["sh", "-c", "echo line-one; echo line-two; exit 0"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
            "environment": [{"name": "SECRETISH", "value": "do-not-show"}],
        },
    )["jobDefinitionArn"]

    def submit(job_name: str, task: dict[str, str], **extra: Any) -> str:
        return str(
            batch.submit_job(
                jobName=job_name, jobQueue=emulator.job_queue, jobDefinition=definition, tags=task, **extra
            )["jobId"]
        )

    ids = {
        "single": submit("view-single", tags(DAG_ID, "single")),
        "array": submit(
            "view-array",
            tags(DAG_ID, "fan_out"),
            arrayProperties={"size": 3},
            containerOverrides={
                "command": [
                    "sh",
                    "-c",
                    'echo child $AWS_BATCH_JOB_ARRAY_INDEX; [ "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 ]',
                ]
            },
        ),
        "failed": submit(
            "view-failed", tags(OTHER_DAG, "boom"), containerOverrides={"command": ["sh", "-c", "exit 3"]}
        ),
        "untagged": submit("view-untagged", {}),
        "a_dag_only": submit("view-a-dag-only", {DAG_TAG: DAG_ID}),
        "b_full": submit("view-b-full", tags(DAG_B, "b_task")),
        "b_dag_only": submit("view-b-dag-only", {DAG_TAG: DAG_B}),
    }
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = batch.describe_jobs(jobs=list(ids.values()))["jobs"]
        if len(found) == len(ids) and all(job["status"] in ("SUCCEEDED", "FAILED") for job in found):
            return ids
        time.sleep(0.5)
    raise AssertionError(f"jobs did not end: {[(j['jobName'], j['status']) for j in found]}")


class CallCounter:
    """Count the AWS API calls a world's clients make (botocore's before-call event)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def total(self) -> int:
        return sum(self.calls.values())


def counted_view(region: str, cache_seconds: float) -> tuple[TestClient, CallCounter, TtlCache]:
    """The view's app alone, on a cache of ``cache_seconds``, counting the AWS calls it makes."""
    cache = TtlCache(ttl=cache_seconds)
    worlds = Worlds(cache)
    world = worlds.get("aws_default", region)
    counter = CallCounter()
    counter.watch(world.batch.client)
    counter.watch(world.logs.client)
    client = TestClient(create_app(worlds=worlds, authorize=False), root_path="/aws-batch")
    return client, counter, cache


@pytest.fixture
def view(aws_conn_env, jobs) -> tuple[TestClient, CallCounter, TtlCache]:
    return counted_view(aws_conn_env.region, cache_seconds=60)


def test_overview_shows_queues_compute_environments_and_airflow_jobs(view, jobs, emulator):
    client, _counter, _ = view
    response = client.get("/", params={"region": emulator.region})
    assert response.status_code == 200
    html = response.text
    assert f'data-queue="{emulator.job_queue}"' in html
    assert f'data-compute-environment="{emulator.compute_environment}"' in html
    assert f'data-job-id="{jobs["single"]}"' in html
    assert f'data-job-id="{jobs["array"]}"' in html
    assert f'data-job-id="{jobs["untagged"]}"' not in html, "only jobs Airflow submitted"
    assert f"/dags/{DAG_ID}/runs/manual__view/tasks/single" in html, "a link back to the task instance"
    assert "<svg" in html, "the chart of jobs by status"
    assert 'data-status="SUCCEEDED"' in html
    assert "2 succeeded, 1 failed, 0 running of 3" in html, "the array's progress"


def test_overview_json_counts_jobs_by_status(view, jobs, emulator):
    client, _, _ = view
    data = client.get("/api/overview", params={"region": emulator.region}).json()
    queue = next(q for q in data["queues"] if q["name"] == emulator.job_queue)
    assert queue["status"] == "VALID"
    assert queue["compute_environments"] == [emulator.compute_environment]
    assert queue["counts"]["SUCCEEDED"] >= 2
    assert queue["counts"]["FAILED"] >= 1
    by_id = {job["job_id"]: job for job in data["jobs"]}
    assert by_id[jobs["array"]]["array_size"] == 3
    assert by_id[jobs["array"]]["progress"] == {
        **by_id[jobs["array"]]["progress"],
        "SUCCEEDED": 2,
        "FAILED": 1,
    }
    assert by_id[jobs["failed"]]["status"] == "FAILED"
    assert by_id[jobs["single"]]["task"] == {
        "dag_id": DAG_ID,
        "run_id": "manual__view",
        "task_id": "single",
        "map_index": -1,
    }
    environment = next(
        ce for ce in data["compute_environments"] if ce["name"] == emulator.compute_environment
    )
    assert environment["kind"] == "EC2"
    assert environment["status"] == "VALID"
    assert environment["max_vcpus"] is not None


def test_a_page_view_costs_a_bounded_number_of_calls_and_none_while_cached(view, emulator):
    client, counter, cache = view
    client.get("/", params={"region": emulator.region})
    queues = len(client.get("/api/overview", params={"region": emulator.region}).json()["queues"])
    first = counter.total()
    # 1 DescribeJobQueues + 1 DescribeComputeEnvironments + 7 ListJobs a queue + 1 DescribeJobs
    assert counter.calls["DescribeJobQueues"] == 1
    assert counter.calls["DescribeComputeEnvironments"] == 1
    assert counter.calls["ListJobs"] == 7 * queues
    assert counter.calls["DescribeJobs"] == 1
    assert first == 3 + 7 * queues
    client.get("/", params={"region": emulator.region})
    client.get("/api/overview", params={"region": emulator.region})
    assert counter.total() == first, "a fresh cache answers without calling AWS"
    cache.clear()
    client.get("/", params={"region": emulator.region})
    assert counter.total() == 2 * first


def test_the_call_bound_holds_with_the_cache_off(aws_conn_env, jobs, emulator):
    """``[aws_batch] view_cache_seconds = 0``: each request reads each thing once (README's bound)."""
    client, counter, _ = counted_view(aws_conn_env.region, cache_seconds=0)
    params = {"region": emulator.region}
    queues = len(client.get("/api/overview", params=params).json()["queues"])
    assert queues >= 1
    # The README: an overview costs 3 + 7 per queue calls (17 with two queues).
    assert counter.calls == Counter(
        {"DescribeJobQueues": 1, "DescribeComputeEnvironments": 1, "ListJobs": 7 * queues, "DescribeJobs": 1}
    )
    assert client.get("/", params=params).status_code == 200
    assert counter.total() == 2 * (3 + 7 * queues), "no cache: the page reads again, once"
    counter.calls.clear()
    assert client.get(f"/jobs/{jobs['single']}", params=params).status_code == 200
    assert counter.calls == Counter({"DescribeJobs": 1, "GetLogEvents": 1})


def test_job_page_shows_details_attempts_and_log_tail(view, jobs, emulator):
    client, counter, _ = view
    html = client.get(f"/jobs/{jobs['single']}", params={"region": emulator.region}).text
    assert jobs["single"] in html
    assert "line-one\nline-two" in html, "the log tail"
    assert 'id="attempts"' in html
    assert "Exit code</dt><dd>0" in html
    assert counter.calls["GetLogEvents"] == 1
    assert counter.calls["DescribeJobs"] == 1


def test_array_job_page_lists_children_by_status(view, jobs, emulator):
    client, counter, _ = view
    html = client.get(f"/jobs/{jobs['array']}", params={"region": emulator.region}).text
    assert 'id="children"' in html
    assert f"{jobs['array']}:1" in html
    assert f"{jobs['array']}:0" in html
    assert 'class="children" data-status="FAILED"' in html
    assert counter.calls["ListJobs"] == 2, "one call per status that has children (SUCCEEDED, FAILED)"


def test_failed_job_page_shows_reason_and_exit_code(view, jobs, emulator):
    client, _, _ = view
    data = client.get(f"/api/jobs/{jobs['failed']}", params={"region": emulator.region}).json()
    assert data["row"]["status"] == "FAILED"
    assert data["exit_code"] == 3


def test_queue_compute_environment_and_definition_pages(view, jobs, emulator):
    client, _, _ = view
    params = {"region": emulator.region}
    queue = client.get(f"/queues/{emulator.job_queue}", params=params)
    assert queue.status_code == 200
    assert emulator.compute_environment in queue.text
    assert f'data-job-id="{jobs["single"]}"' in queue.text
    environment = client.get(f"/compute-environments/{emulator.compute_environment}", params=params)
    assert environment.status_code == 200
    assert emulator.job_queue in environment.text
    job = client.get(f"/api/jobs/{jobs['single']}", params=params).json()
    arn = job["job"]["jobDefinition"]
    definition = client.get(f"/job-definitions/{arn}", params=params)
    assert definition.status_code == 200
    assert "SECRETISH" in definition.text
    assert "do-not-show" not in definition.text, "environment values stay hidden"


def test_unknown_things_are_404_and_unlisted_connections_403(view, emulator):
    client, _, _ = view
    params = {"region": emulator.region}
    assert client.get("/jobs/no-such-job", params=params).status_code == 404
    assert client.get("/queues/no-such-queue", params=params).status_code == 404
    refused = client.get("/api/overview", params={**params, "conn_id": "someone_elses_account"})
    assert refused.status_code == 403
    assert "view_connections" in refused.json()["detail"]
    assert client.get("/", params={"region": "not a region"}).status_code == 422


# -- why is it waiting? ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def waiting_job(emulator) -> Iterator[dict[str, str]]:
    """An Airflow-tagged job kept RUNNABLE: its queue's only compute environment is DISABLED."""
    batch = emulator.client("batch")
    environment, queue = create_parked_queue(emulator, "view-waiting")
    suffix = queue.rsplit("-", 1)[1]
    definition = batch.register_job_definition(
        jobDefinitionName=f"view-waits-{suffix}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
        },
    )["jobDefinitionArn"]
    job_id = batch.submit_job(
        jobName="view-waits", jobQueue=queue, jobDefinition=definition, tags=tags(DAG_ID, "waits")
    )["jobId"]
    until(lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNABLE")
    yield {"job": job_id, "queue": queue, "environment": environment}
    batch.terminate_job(jobId=job_id, reason="test over")
    delete_queue(emulator, queue)


def until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_runnable_job_page_says_why_it_waits_at_a_bounded_cost(view, waiting_job, emulator):
    client, counter, _ = view
    html = client.get(f"/jobs/{waiting_job['job']}", params={"region": emulator.region}).text

    assert "Why is it waiting?" in html
    assert "position 1 of 1 at the front of the queue" in html
    assert f"compute environment {waiting_job['environment']} is DISABLED" in html
    assert "The job needs 2 vCPUs, 4096 MiB memory on one instance." in html
    # 1 DescribeJobs + 1 GetJobQueueSnapshot + 1 DescribeJobQueues + 1 DescribeComputeEnvironments
    assert counter.calls == {
        "DescribeJobs": 1,
        "GetJobQueueSnapshot": 1,
        "DescribeJobQueues": 1,
        "DescribeComputeEnvironments": 1,
    }
    client.get(f"/api/jobs/{waiting_job['job']}", params={"region": emulator.region})
    assert counter.total() == 4, "the JSON twin is served from the cache"


def test_job_json_has_a_waiting_member_only_while_runnable(view, waiting_job, jobs, emulator):
    client, _, _ = view
    params = {"region": emulator.region}
    waiting = client.get(f"/api/jobs/{waiting_job['job']}", params=params).json()["waiting"]
    assert waiting["position"] == 1
    assert waiting["earliest_time_at_position"] > 0
    assert waiting["environments"][0]["name"] == waiting_job["environment"]
    assert waiting["environments"][0]["state"] == "DISABLED"
    assert waiting["environments"][0]["fits"] is True, "m5 has sizes for 2 vCPUs and 4 GiB"
    assert client.get(f"/api/jobs/{jobs['single']}", params=params).json()["waiting"] is None


def test_queue_page_and_its_json_twin_show_the_front(view, waiting_job, emulator):
    client, counter, _ = view
    params = {"region": emulator.region}
    html = client.get(f"/queues/{waiting_job['queue']}", params=params).text
    assert "Why is it waiting?" in html
    assert 'data-position="1"' in html
    assert waiting_job["job"] in html
    data = client.get(f"/api/queues/{waiting_job['queue']}", params=params).json()
    assert data["queue"]["name"] == waiting_job["queue"]
    assert [entry["row"]["job_id"] for entry in data["waiting"]["front"]] == [waiting_job["job"]]
    assert "1 jobs at the front" in data["waiting"]["findings"]
    # The queue page adds 1 GetJobQueueSnapshot, 1 DescribeJobQueues, 1 DescribeComputeEnvironments
    # and 1 DescribeJobs (the front) to what the overview's queue rows cost.
    assert counter.calls["GetJobQueueSnapshot"] == 1
    assert counter.calls["DescribeComputeEnvironments"] == 1
    assert client.get("/api/queues/no-such-queue", params=params).status_code == 404


# -- mounted by the real Airflow api-server app, with its auth manager ---------------------------------


SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def build_airflow_app(monkeypatch: pytest.MonkeyPatch, auth_manager: str, users: str, dags: list[str]) -> Any:
    """Airflow's own FastAPI app (as `airflow api-server` builds it), with our plugin mounted."""
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", auth_manager)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", users)
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app as create_airflow_app
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.utils.db import initdb

    initdb()
    for dag_id in dags:
        register_dag(dag_id)
    for cached in ("_get_plugins", "_get_ui_plugins", "get_fastapi_plugins"):
        getattr(getattr(plugins_manager, cached, None), "cache_clear", lambda: None)()
    app = create_airflow_app()
    return app, get_auth_manager()


@pytest.fixture
def airflow_app(aws_conn_env, jobs, monkeypatch):
    # The viewer may read DAG_ID; OTHER_DAG is not in Airflow at all.
    return build_airflow_app(monkeypatch, SIMPLE_AUTH_MANAGER, "admin:admin,viewer:viewer", [DAG_ID])


def register_dag(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.merge(DagBundleModel(name="view-tests"))
        session.flush()
        session.merge(DagModel(dag_id=dag_id, bundle_name="view-tests", fileloc="view_test_dag.py"))


def token_for(auth_manager: Any, role: str) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(auth_manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role)))


def test_anonymous_requests_get_no_data_and_users_with_read_access_do(airflow_app, jobs, emulator):
    app, auth_manager = airflow_app
    client = TestClient(app)
    params = {"region": emulator.region}
    anonymous = client.get("/aws-batch/api/overview", params=params)
    assert anonymous.status_code == 401
    assert jobs["single"] not in anonymous.text
    browser = client.get(
        "/aws-batch/", params=params, headers={"accept": "text/html"}, follow_redirects=False
    )
    assert browser.status_code in (302, 307)
    assert "login" in browser.headers["location"]
    bad = client.get("/aws-batch/api/overview", params=params, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code in (401, 403)
    assert jobs["single"] not in bad.text

    viewer = client.get(
        "/aws-batch/api/overview",
        params=params,
        headers={"Authorization": f"Bearer {token_for(auth_manager, 'viewer')}"},
    )
    assert viewer.status_code == 200
    seen = {job["job_id"] for job in viewer.json()["jobs"]}
    assert jobs["single"] in seen
    assert jobs["failed"] not in seen, "jobs of DAGs the user may not read stay hidden"
    hidden = client.get(
        f"/aws-batch/api/jobs/{jobs['failed']}",
        params=params,
        headers={"Authorization": f"Bearer {token_for(auth_manager, 'viewer')}"},
    )
    assert hidden.status_code == 404
    client.cookies.set("_token", token_for(auth_manager, "admin"))
    page = client.get("/aws-batch/", params=params)
    assert page.status_code == 200
    assert f'data-job-id="{jobs["array"]}"' in page.text


def test_the_plugin_adds_the_view_to_airflows_navigation(airflow_app):
    app, auth_manager = airflow_app
    client = TestClient(app)
    response = client.get(
        "/api/v2/plugins", headers={"Authorization": f"Bearer {token_for(auth_manager, 'admin')}"}
    )
    assert response.status_code == 200
    plugin = next(p for p in response.json()["plugins"] if p["name"] == "aws_batch")
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/aws-batch"
    # Airflow 3.1+: external_views; 3.0: its Plugins menu with the FAB provider, else no entry.
    entries = menu_entry("AWS Batch", "/aws-batch/", "aws-batch")
    for attribute in ("external_views", "appbuilder_menu_items"):
        shown = [(view["name"], view["href"]) for view in plugin.get(attribute, [])]
        assert shown == [("AWS Batch", "/aws-batch/")] * len(entries.get(attribute, []))
    if not entries:
        pytest.skip(
            "needs plugins' external_views (Airflow 3.1) or, on 3.0, the FAB provider; "
            f"this is Airflow {AIRFLOW_VERSION_TEXT} without it"
        )
    listed = " ".join(plugin["operator_extra_links"])
    assert "BatchJobLink" in listed
    assert "BatchJobLogsLink" in listed


# -- per-DAG permissions: who sees which job, and who sees the account ----------------------------------


@pytest.fixture
def per_dag_app(aws_conn_env, jobs, monkeypatch):
    """The api-server with an auth manager where ``reader_a`` may read DAG_ID only (not DAG_B)."""
    from tests.integration import per_dag_auth

    assert per_dag_auth.GRANTS["reader_a"] == {DAG_ID}
    monkeypatch.delenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", raising=False)
    users = "admin:admin,op:op,reader_a:viewer"
    return build_airflow_app(monkeypatch, per_dag_auth.PATH, users, [DAG_ID, DAG_B])


def signed_in(app: Any, auth_manager: Any, user: str, role: str) -> TestClient:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username=user, role=role))
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def statuses(client: TestClient, paths: list[str], region: str, html: bool = False) -> dict[str, int]:
    headers = {"accept": "text/html"} if html else {}
    return {
        path: client.get(f"/aws-batch{path}", params={"region": region}, headers=headers).status_code
        for path in paths
    }


def resource_paths(emulator: Any, definition_arn: str) -> list[str]:
    return [
        f"/queues/{emulator.job_queue}",
        "/queues/no-such-queue",  # refused before AWS is asked: no telling which queues exist
        f"/api/queues/{emulator.job_queue}",
        f"/compute-environments/{emulator.compute_environment}",
        f"/job-definitions/{definition_arn}",
    ]


def definition_of(client: TestClient, job_id: str, region: str) -> str:
    return str(
        client.get(f"/aws-batch/api/jobs/{job_id}", params={"region": region}).json()["job"]["jobDefinition"]
    )


def test_a_reader_of_dag_a_sees_dag_a_jobs_only_and_no_resources(per_dag_app, jobs, emulator):
    app, auth_manager = per_dag_app
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    region = emulator.region
    mine = [jobs["single"], jobs["array"], jobs["a_dag_only"]]  # a_dag_only: DAG_ID's tag alone is enough
    not_mine = [jobs["b_full"], jobs["b_dag_only"], jobs["untagged"], jobs["failed"]]
    for job_id in mine:
        assert statuses(reader, [f"/api/jobs/{job_id}", f"/jobs/{job_id}"], region, html=True) == {
            f"/api/jobs/{job_id}": 200,
            f"/jobs/{job_id}": 200,
        }
    for job_id in not_mine:  # B's jobs, whatever other tags they lack; jobs Airflow did not start
        for path in (f"/api/jobs/{job_id}", f"/jobs/{job_id}"):
            response = reader.get(
                f"/aws-batch{path}", params={"region": region}, headers={"accept": "text/html"}
            )
            assert response.status_code == 404, path
            assert job_id not in response.text.replace(f"AWS Batch job {job_id} not found", "")
            assert "line-one" not in response.text

    overview = reader.get("/aws-batch/api/overview", params={"region": region}).json()
    assert {job["job_id"] for job in overview["jobs"]} >= set(mine)
    assert not {job["job_id"] for job in overview["jobs"]} & set(not_mine)
    assert overview["resources_shown"] is False
    assert overview["queues"] == []
    assert overview["compute_environments"] == []
    html = reader.get("/aws-batch/", params={"region": region}).text
    assert 'id="resources-hidden"' in html
    assert "view_resources_for" in html
    assert "data-queue=" not in html
    assert "data-compute-environment=" not in html
    assert f'data-job-id="{jobs["a_dag_only"]}"' in html

    admin = signed_in(app, auth_manager, "admin", "admin")
    paths = resource_paths(emulator, definition_of(admin, jobs["single"], region))
    assert set(statuses(reader, paths, region).values()) == {403}
    assert set(statuses(reader, paths, region, html=True).values()) == {403}
    refused = reader.get(f"/aws-batch{paths[0]}", params={"region": region})
    assert "view_resources_for = admins" in refused.json()["detail"]
    assert emulator.compute_environment not in refused.text


def test_admins_see_every_job_of_a_known_dag_and_the_account(per_dag_app, jobs, emulator):
    app, auth_manager = per_dag_app
    region = emulator.region
    for user, role in (("admin", "admin"), ("op", "op")):  # both may edit the view's connection
        client = signed_in(app, auth_manager, user, role)
        seen = [jobs[key] for key in ("single", "a_dag_only", "b_full", "b_dag_only", "untagged")]
        assert set(statuses(client, [f"/api/jobs/{job_id}" for job_id in seen], region).values()) == {200}
        assert statuses(client, [f"/api/jobs/{jobs['failed']}"], region) == {
            f"/api/jobs/{jobs['failed']}": 404
        }, "a DAG Airflow does not know is a DAG nobody may read"
        paths = resource_paths(emulator, definition_of(client, jobs["single"], region))
        assert statuses(client, paths, region) == {**dict.fromkeys(paths, 200), "/queues/no-such-queue": 404}
        overview = client.get("/aws-batch/api/overview", params={"region": region}).json()
        assert overview["resources_shown"] is True
        assert emulator.job_queue in {queue["name"] for queue in overview["queues"]}
        assert emulator.compute_environment in {ce["name"] for ce in overview["compute_environments"]}
        listed = {job["job_id"] for job in overview["jobs"]}
        assert {jobs["b_full"], jobs["b_dag_only"], jobs["a_dag_only"]} <= listed
        assert jobs["untagged"] not in listed, "the list is of jobs Airflow started"


def test_view_resources_for_everyone_opens_the_account_but_not_other_dags(
    per_dag_app, jobs, emulator, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", "everyone")
    app, auth_manager = per_dag_app
    region = emulator.region
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    paths = resource_paths(emulator, definition_of(reader, jobs["single"], region))
    assert statuses(reader, paths, region) == {**dict.fromkeys(paths, 200), "/queues/no-such-queue": 404}
    assert statuses(reader, [f"/api/jobs/{jobs['untagged']}"], region) == {
        f"/api/jobs/{jobs['untagged']}": 200
    }
    hidden = [f"/api/jobs/{jobs['b_full']}", f"/api/jobs/{jobs['b_dag_only']}"]
    assert statuses(reader, hidden, region) == dict.fromkeys(hidden, 404), "DAG permissions still hold"
    queue_page = reader.get(f"/aws-batch/queues/{emulator.job_queue}", params={"region": region}).text
    assert f'data-job-id="{jobs["single"]}"' in queue_page
    assert f'data-job-id="{jobs["a_dag_only"]}"' in queue_page
    assert f'data-job-id="{jobs["b_full"]}"' not in queue_page, "the queue's job list: readable DAGs only"
    overview = reader.get("/aws-batch/api/overview", params={"region": region}).json()
    assert overview["resources_shown"] is True
    assert overview["queues"]


def test_why_a_job_waits_is_shown_to_users_who_see_the_account(per_dag_app, waiting_job, emulator):
    app, auth_manager = per_dag_app
    params = {"region": emulator.region}
    path = f"/aws-batch/api/jobs/{waiting_job['job']}"
    admin = signed_in(app, auth_manager, "admin", "admin").get(path, params=params).json()
    assert admin["waiting"]["position"] == 1, "the admin sees the queue's front and its environments"
    reader = signed_in(app, auth_manager, "reader_a", "viewer").get(path, params=params)
    assert reader.status_code == 200, "reader_a may read the DAG that submitted the job"
    assert reader.json()["job"]["status"] == "RUNNABLE"
    assert reader.json()["waiting"] is None, "queues and compute environments are the account's"
