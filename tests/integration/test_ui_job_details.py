"""The complete job page, the scheduling policy page and the job definitions list, on the emulator.

Jobs of each kind are submitted with our operators' tags and run to their end; the view's app is
exercised alone (pages, JSON twins, AWS calls counted) and mounted on the real Airflow api-server
with a per-DAG auth manager (who sees what).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from airflow_batch_plugin.identity import DAG_TAG
from airflow_batch_plugin.ui import definition_list
from tests.integration.test_ui_view import (
    DAG_B,
    DAG_ID,
    build_airflow_app,
    counted_view,
    signed_in,
    tags,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.integration.test_ui_view import CallCounter

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/details-job"
SHARES = [{"shareIdentifier": "etl", "weightFactor": 0.5}, {"shareIdentifier": "adhoc*", "weightFactor": 2.0}]


def until(check: Any, what: str, timeout: float = 120.0) -> Any:
    """Return ``check()`` once it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def detailed(emulator) -> dict[str, str]:
    """A fair-share queue and its policy; a container job with every option, waiting for another;
    an ECS job of two containers; a multi-node job of two nodes; three revisions of a definition
    (one deregistered). Every job tagged with DAG_ID and ended."""
    batch = emulator.client("batch")
    suffix = uuid.uuid4().hex[:8]
    secret = f"do-not-show-{suffix}"
    policy_name = f"details-policy-{suffix}"
    policy = batch.create_scheduling_policy(
        name=policy_name,
        fairsharePolicy={"shareDecaySeconds": 3600, "computeReservation": 10, "shareDistribution": SHARES},
    )["arn"]
    queue = f"details-fair-{suffix}"
    batch.create_job_queue(
        jobQueueName=queue,
        priority=1,
        schedulingPolicyArn=policy,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": emulator.compute_environment}],
    )
    until(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"] == "VALID", queue)
    container = batch.register_job_definition(
        jobDefinitionName=f"details-container-{suffix}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["sh", "-c", "echo details; exit 0"],
            "jobRoleArn": ROLE,
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
            "environment": [{"name": "SECRETISH", "value": secret}],
        },
    )["jobDefinitionArn"]

    def on_fair_queue(name: str, task: str, **extra: Any) -> str:
        return str(
            batch.submit_job(
                jobName=name,
                jobQueue=queue,
                jobDefinition=container,
                shareIdentifier="etl",
                schedulingPriorityOverride=5,
                tags=tags(DAG_ID, task),
                **extra,
            )["jobId"]
        )

    upstream = on_fair_queue("details-upstream", "upstream")
    main = on_fair_queue(
        "details-main",
        "main",
        dependsOn=[{"jobId": upstream}],
        retryStrategy={
            "attempts": 2,
            "evaluateOnExit": [{"onExitCode": "3", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}],
        },
        timeout={"attemptDurationSeconds": 600},
        propagateTags=True,
        containerOverrides={"environment": [{"name": "OVERRIDDEN", "value": secret}]},
    )
    main_tags = {**tags(DAG_ID, "main"), "team": "data"}
    batch.tag_resource(resourceArn=batch.describe_jobs(jobs=[main])["jobs"][0]["jobArn"], tags=main_tags)
    ecs = batch.register_job_definition(
        jobDefinitionName=f"details-ecs-{suffix}",
        type="container",
        ecsProperties={
            "taskProperties": [
                {
                    "containers": [
                        {
                            "name": "app",
                            "image": "public.ecr.aws/example/app:1",
                            "command": ["sh", "-c", "echo app"],
                            "essential": True,
                            "environment": [{"name": "APP_SECRET", "value": secret}],
                            "dependsOn": [{"containerName": "sidecar", "condition": "COMPLETE"}],
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "1"},
                                {"type": "MEMORY", "value": "256"},
                            ],
                        },
                        {
                            "name": "sidecar",
                            "image": "public.ecr.aws/example/sidecar:1",
                            "command": ["sh", "-c", "echo sidecar"],
                            "essential": False,
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "1"},
                                {"type": "MEMORY", "value": "256"},
                            ],
                        },
                    ]
                }
            ]
        },
    )["jobDefinitionArn"]
    node_container = {
        "image": "public.ecr.aws/example/mpi:1",
        "command": ["sh", "-c", "echo node"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
    }
    multinode = batch.register_job_definition(
        jobDefinitionName=f"details-mnp-{suffix}",
        type="multinode",
        nodeProperties={
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0:1", "container": node_container}],
        },
    )["jobDefinitionArn"]

    def on_default_queue(name: str, definition: str) -> str:
        return str(
            batch.submit_job(
                jobName=name, jobQueue=emulator.job_queue, jobDefinition=definition, tags=tags(DAG_ID, name)
            )["jobId"]
        )

    ids = {
        "upstream": upstream,
        "main": main,
        "ecs": on_default_queue("details-ecs", ecs),
        "multinode": on_default_queue("details-mnp", multinode),
    }
    revisions = f"details-revisions-{suffix}"
    for number in range(3):
        batch.register_job_definition(
            jobDefinitionName=revisions,
            type="container",
            containerProperties={
                "image": f"busybox:{number + 1}",
                "command": ["true"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )
    batch.deregister_job_definition(jobDefinition=f"{revisions}:2")

    def ended() -> bool:
        found = batch.describe_jobs(jobs=list(ids.values()))["jobs"]
        return len(found) == len(ids) and all(job["status"] in ("SUCCEEDED", "FAILED") for job in found)

    until(ended, "the jobs to end")
    return {
        **ids,
        "secret": secret,
        "queue": queue,
        "policy": policy,
        "policy_name": policy_name,
        "revisions": revisions,
    }


@pytest.fixture
def view(aws_conn_env, detailed) -> tuple[TestClient, CallCounter]:
    client, counter, _ = counted_view(aws_conn_env.region, cache_seconds=60)
    return client, counter


def get(client: TestClient, path: str, region: str, **params: Any) -> Any:
    response = client.get(path, params={"region": region, **params})
    assert response.status_code == 200, response.text
    return response


# -- the job page --------------------------------------------------------------------------------


def test_a_container_job_page_shows_dependencies_retries_timeout_share_roles_and_tags(
    view, detailed, emulator
):
    client, counter = view
    html = get(client, f"/jobs/{detailed['main']}", emulator.region).text
    assert counter.calls == {"DescribeJobs": 1, "GetLogEvents": 1}, "the details cost no call of their own"
    assert f'data-dependency="{detailed["upstream"]}"' in html
    assert f'href="/aws-batch/jobs/{detailed["upstream"]}?' in html, "a link to the job it waits for"
    assert "2 attempts" in html
    assert "RETRY when exit code 3" in html
    assert "EXIT when reason *" in html
    assert '<dd class="timeout">600 s</dd>' in html
    assert '<dd class="share">etl</dd>' in html
    assert '<dd class="priority">5</dd>' in html
    assert f'<dd class="job-role">{ROLE}</dd>' in html
    assert "<code>public.ecr.aws/docker/library/python:3.12-slim</code>" in html
    assert "<code>sh -c echo details; exit 0</code>" in html
    assert "1 vCPU, 512 MiB" in html
    assert "<code>SECRETISH</code>" in html
    assert "<code>OVERRIDDEN</code>" in html
    assert '<dt class="airflow-tag">airflow:dag_id</dt>' in html
    assert "<dt>team</dt>" in html

    details = get(client, f"/api/jobs/{detailed['main']}", emulator.region).json()["details"]
    assert counter.calls == {"DescribeJobs": 1, "GetLogEvents": 1}, "the JSON twin comes from the cache"
    assert details["kind"] == "container"
    assert details["depends_on"] == [{"job_id": detailed["upstream"], "type": None}]
    assert details["retry_strategy"]["attempts"] == 2
    assert [rule["action"] for rule in details["retry_strategy"]["evaluate_on_exit"]] == ["RETRY", "EXIT"]
    assert (details["timeout_seconds"], details["share_identifier"], details["scheduling_priority"]) == (
        600,
        "etl",
        5,
    )
    assert details["propagate_tags"] is True
    assert details["job_role_arn"] == ROLE
    (container,) = details["containers"]
    assert container["resources"] == {"vcpus": "1", "memory": "512 MiB", "gpus": None}
    assert sorted(container["environment"]) == ["OVERRIDDEN", "SECRETISH"]
    assert {tag["key"]: tag["airflow"] for tag in details["tags"]}["team"] is False
    assert [(a["number"], a["parts"][0]["exit_code"]) for a in details["attempts"]] == [(1, 0)]


def test_a_multi_node_job_page_links_each_node_and_a_node_links_back(view, detailed, emulator):
    client, _ = view
    job_id = detailed["multinode"]
    html = get(client, f"/jobs/{job_id}", emulator.region).text
    for index in (0, 1):
        assert f'href="/aws-batch/jobs/{quote(f"{job_id}#{index}", safe="")}?' in html
    assert "Node groups" in html
    assert 'data-target-nodes="0:1"' in html
    details = get(client, f"/api/jobs/{job_id}", emulator.region).json()["details"]
    assert details["kind"] == "multi-node"
    assert [(node["job_id"], node["main"]) for node in details["nodes"]] == [
        (f"{job_id}#0", True),
        (f"{job_id}#1", False),
    ]
    assert details["node_groups"][0]["containers"][0]["image"] == "public.ecr.aws/example/mpi:1"
    node = get(client, f"/api/jobs/{quote(job_id + '#1', safe='')}", emulator.region).json()["details"]
    assert (node["kind"], node["node_index"], node["parent_job_id"]) == ("node", 1, job_id)
    node_html = get(client, f"/jobs/{quote(job_id + '#1', safe='')}", emulator.region).text
    assert 'class="parent-link"' in node_html


def test_an_ecs_job_page_shows_its_containers_and_each_ones_exit(view, detailed, emulator):
    client, _ = view
    html = get(client, f"/jobs/{detailed['ecs']}", emulator.region).text
    assert 'data-container="app"' in html
    assert 'data-container="sidecar"' in html
    assert "(not essential)" in html
    assert "sidecar (COMPLETE)" in html, "app waits for the sidecar to end"
    assert "Attempts by part" in html
    details = get(client, f"/api/jobs/{detailed['ecs']}", emulator.region).json()["details"]
    assert [(c["name"], c["essential"], c["image"]) for c in details["containers"]] == [
        ("app", True, "public.ecr.aws/example/app:1"),
        ("sidecar", False, "public.ecr.aws/example/sidecar:1"),
    ]
    assert details["containers"][0]["environment"] == ["APP_SECRET"]
    (attempt,) = details["attempts"]
    assert [(part["name"], part["exit_code"]) for part in attempt["parts"]] == [("app", 0), ("sidecar", 0)]


def test_environment_values_are_never_shown(view, detailed, emulator):
    client, _ = view
    for key in ("main", "upstream", "ecs", "multinode"):
        for path in (f"/jobs/{detailed[key]}", f"/api/jobs/{detailed[key]}"):
            assert detailed["secret"] not in get(client, path, emulator.region).text, path
    listing = get(client, "/api/job-definitions", emulator.region).text
    assert detailed["secret"] not in listing


# -- the scheduling policy page ------------------------------------------------------------------


def test_the_queue_page_links_its_scheduling_policy_and_the_policy_page_shows_its_shares(
    view, detailed, emulator
):
    client, counter = view
    queue_html = get(client, f"/queues/{detailed['queue']}", emulator.region).text
    link = f'href="/aws-batch/scheduling-policies/{quote(detailed["policy"], safe="")}?'
    assert link in queue_html
    before = counter.total()
    html = get(client, f"/scheduling-policies/{quote(detailed['policy'], safe='')}", emulator.region).text
    assert counter.total() - before == 2, "by ARN: 1 DescribeSchedulingPolicies + 1 DescribeJobQueues"
    assert "3600 s" in html
    assert "10 %" in html
    assert 'data-share="etl"' in html
    assert 'data-share="adhoc*"' in html
    assert "80 %" in html, "etl weighs 0.5 against 2.0: 80 % of the compute when both are busy"
    assert f">{detailed['queue']}</a>" in html, "the queues using it"

    before = counter.total()
    data = get(client, f"/api/scheduling-policies/{detailed['policy_name']}", emulator.region).json()
    assert counter.total() - before == 3, "by name: + 1 ListSchedulingPolicies"
    assert (data["name"], data["arn"]) == (detailed["policy_name"], detailed["policy"])
    assert (data["share_decay_seconds"], data["compute_reservation"]) == (3600, 10)
    assert [(s["identifier"], s["weight_factor"]) for s in data["shares"]] == [("etl", 0.5), ("adhoc*", 2.0)]
    assert data["queues"] == [detailed["queue"]]
    assert (
        client.get("/api/scheduling-policies/no-such-policy", params={"region": emulator.region}).status_code
        == 404
    )


# -- the job definitions list --------------------------------------------------------------------


def test_the_definitions_list_pages_with_next_token_and_filters_by_name_and_status(
    view, detailed, emulator, monkeypatch
):
    monkeypatch.setattr(definition_list, "DEFINITIONS_PAGE", 1)
    client, counter = view
    name = detailed["revisions"]
    first = get(client, "/api/job-definitions", emulator.region, name=name).json()
    assert counter.calls == {"DescribeJobDefinitions": 1}
    assert [row["name"] for row in first["rows"]] == [name]
    assert first["next_token"]
    second = get(
        client, "/api/job-definitions", emulator.region, name=name, next_token=first["next_token"]
    ).json()
    assert counter.calls == {"DescribeJobDefinitions": 2}, "one call a page"
    assert second["next_token"] is None
    assert sorted(row["revision"] for row in first["rows"] + second["rows"]) == [1, 3]
    assert {row["status"] for row in first["rows"] + second["rows"]} == {"ACTIVE"}

    html = get(client, "/job-definitions", emulator.region, name=name).text
    assert 'class="next-page"' in html
    assert f"next_token={quote(first['next_token'], safe='')}" in html
    assert "show inactive" in html
    inactive = get(client, "/job-definitions", emulator.region, name=name, status="INACTIVE").text
    assert f'data-definition="{name}:2"' in inactive
    assert f'data-definition="{name}:1"' not in inactive
    assert "busybox:2" in inactive

    monkeypatch.setattr(definition_list, "DEFINITIONS_PAGE", 100)
    # Without a name: every name, ACTIVE only. The session's emulator holds the definitions of
    # every test before this one (more than a page of them in the whole suite): follow the pages.
    seen: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):
        page = get(
            client, "/api/job-definitions", emulator.region, **({"next_token": token} if token else {})
        )
        seen += page.json()["rows"]
        token = page.json()["next_token"]
        if token is None:
            break
    assert token is None, "the list ends"
    assert (name, 3) in {(row["name"], row["revision"]) for row in seen}, "ACTIVE by default, every name"
    assert (name, 2) not in {(row["name"], row["revision"]) for row in seen}, "INACTIVE only on request"
    assert len({row["name"] for row in seen}) > 1
    assert {row["status"] for row in seen} == {"ACTIVE"}
    everything = get(client, "/job-definitions", emulator.region).text
    assert "Job definitions</a>" in everything, "the navigation links the list"
    for bad in ({"status": "DELETED"}, {"name": "no spaces allowed"}):
        assert (
            client.get("/api/job-definitions", params={"region": emulator.region, **bad}).status_code == 422
        )


# -- who sees what ---------------------------------------------------------------------------------


@pytest.fixture
def reader_app(aws_conn_env, detailed, monkeypatch):
    """The api-server with an auth manager where ``reader_a`` may read DAG_ID only."""
    from tests.integration import per_dag_auth

    monkeypatch.delenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", raising=False)
    return build_airflow_app(monkeypatch, per_dag_auth.PATH, "admin:admin,reader_a:viewer", [DAG_ID, DAG_B])


def test_readers_of_a_dag_see_its_jobs_details_but_not_the_accounts_policies_and_definitions(
    reader_app, detailed, emulator
):
    app, auth_manager = reader_app
    params = {"region": emulator.region}
    account_paths = [
        f"/aws-batch/scheduling-policies/{quote(detailed['policy'], safe='')}",
        f"/aws-batch/api/scheduling-policies/{detailed['policy_name']}",
        "/aws-batch/job-definitions",
        "/aws-batch/api/job-definitions",
    ]
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    assert {path: reader.get(path, params=params).status_code for path in account_paths} == dict.fromkeys(
        account_paths, 403
    )
    job = reader.get(f"/aws-batch/api/jobs/{detailed['main']}", params=params)
    assert job.status_code == 200, "reader_a reads the DAG that submitted the job"
    details = job.json()["details"]
    assert details["job_role_arn"] == ROLE, "the DAG's own configuration"
    assert details["containers"][0]["image"] == "public.ecr.aws/docker/library/python:3.12-slim"
    assert {tag["key"] for tag in details["tags"]} >= {DAG_TAG}
    html = reader.get(f"/aws-batch/jobs/{detailed['main']}", params=params, headers={"accept": "text/html"})
    assert html.status_code == 200
    assert detailed["secret"] not in html.text

    admin = signed_in(app, auth_manager, "admin", "admin")
    assert {path: admin.get(path, params=params).status_code for path in account_paths} == dict.fromkeys(
        account_paths, 200
    )


def test_the_emulator_pages_describe_job_definitions_as_aws_does(detailed, emulator):
    """maxResults 1..100, a nextToken while more match, pages that never overlap (botocore's shapes)."""
    batch = emulator.client("batch")
    name = detailed["revisions"]
    first = batch.describe_job_definitions(jobDefinitionName=name, maxResults=2)
    assert len(first["jobDefinitions"]) == 2
    rest = batch.describe_job_definitions(jobDefinitionName=name, maxResults=2, nextToken=first["nextToken"])
    assert "nextToken" not in rest
    revisions = [item["revision"] for item in first["jobDefinitions"] + rest["jobDefinitions"]]
    assert sorted(revisions) == [1, 2, 3]
    paged = batch.get_paginator("describe_job_definitions").paginate(
        jobDefinitionName=name, status="ACTIVE", PaginationConfig={"PageSize": 1}
    )
    assert sorted(item["revision"] for page in paged for item in page["jobDefinitions"]) == [1, 3]
    with pytest.raises(batch.exceptions.ClientException, match="maxResults"):
        batch.describe_job_definitions(maxResults=101)
