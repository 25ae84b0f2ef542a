"""The view's jobs finder (``/jobs``, ``/api/jobs``) on the emulator: paging with nextToken, filters,
search by id and name, exact counts up to ``[aws_batch] view_count_limit``, who sees what.

The jobs wait in a queue of their own whose compute environment is DISABLED (nothing runs, so
the test is quick and the counts are exact); three are terminated (FAILED).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from airflow_batch_plugin.identity import DAG_TAG, RUN_TAG, TASK_TAG
from airflow_batch_plugin.ui import finder
from tests.integration import per_dag_auth
from tests.integration.test_ui_view import DAG_B, DAG_ID, build_airflow_app, counted_view, signed_in, until
from tests.parked_queue import create_parked_queue

pytestmark = pytest.mark.integration

PAGE = 4  # ListJobs maxResults: 14 RUNNABLE jobs take 4 pages


def tags(dag_id: str, task_id: str, run_id: str) -> dict[str, str]:
    return {DAG_TAG: dag_id, RUN_TAG: run_id, TASK_TAG: task_id}


@pytest.fixture(scope="module")
def world(emulator) -> dict[str, Any]:
    """A queue on a DISABLED compute environment holding, by creation time:

    before ``mark``: 6 jobs of DAG A (task extract, run r1; 3 of them terminated: FAILED);
    after it: 5 of DAG A (task load, run r2), 4 of DAG B, 2 untagged, an array of 5 children
    (DAG A) and an array of 2 (DAG B), whose parents are PENDING and children RUNNABLE.
    """
    batch = emulator.client("batch")
    _, queue = create_parked_queue(emulator, "finder", max_vcpus=4)
    suffix = queue.rsplit("-", 1)[1]
    definition = batch.register_job_definition(
        jobDefinitionName=f"finder-{suffix}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
        },
    )["jobDefinitionArn"]

    def submit(name: str, job_tags: dict[str, str], **extra: Any) -> str:
        return str(
            batch.submit_job(jobName=name, jobQueue=queue, jobDefinition=definition, tags=job_tags, **extra)[
                "jobId"
            ]
        )

    extract = [submit(f"Finder-A-Extract-{i}", tags(DAG_ID, "extract", "r1")) for i in range(6)]
    created = [job["createdAt"] for job in batch.describe_jobs(jobs=extract)["jobs"]]
    mark = max(created) + 1
    until(lambda: time.time() * 1000 > mark + 1)  # later jobs are created after the mark
    load = [submit(f"finder-a-load-{i}", tags(DAG_ID, "load", "r2")) for i in range(5)]
    b_jobs = [submit(f"finder-b-{i}", tags(DAG_B, "b_task", "rb")) for i in range(4)]
    untagged = [submit(f"finder-untagged-{i}", {}) for i in range(2)]
    array_a = submit("finder-a-array", tags(DAG_ID, "fan_out", "r2"), arrayProperties={"size": 5})
    array_b = submit("finder-b-array", tags(DAG_B, "b_fan", "rb"), arrayProperties={"size": 2})
    failed = extract[:3]
    singles = extract + load + b_jobs + untagged

    def settled() -> bool:
        described = {job["jobId"]: job["status"] for job in batch.describe_jobs(jobs=singles)["jobs"]}
        parents = [job["status"] for job in batch.describe_jobs(jobs=[array_a, array_b])["jobs"]]
        return all(described.get(job_id) == "RUNNABLE" for job_id in singles) and parents == [
            "PENDING",
            "PENDING",
        ]

    until(settled, timeout=60)
    for job_id in failed:
        batch.terminate_job(jobId=job_id, reason="finder test")
    until(lambda: all(job["status"] == "FAILED" for job in batch.describe_jobs(jobs=failed)["jobs"]))
    return {
        "queue": queue,
        "mark": mark,
        "extract": extract,
        "failed": failed,
        "load": load,
        "b": b_jobs,
        "untagged": untagged,
        "array_a": array_a,
        "array_b": array_b,
        "runnable": set(extract[3:] + load + b_jobs + untagged),
        "all": {*singles, array_a, array_b},
    }


@pytest.fixture
def view(aws_conn_env, world):
    return counted_view(aws_conn_env.region, cache_seconds=60)


def every_page(client: Any, params: dict[str, Any]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Follow the finder's next links from the first page: the job ids of each page, and the pages."""
    pages, bodies = [], []
    response = client.get("/api/jobs", params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        pages.append([job["job_id"] for job in body["jobs"]])
        if not body["next_url"]:
            return pages, bodies
        assert body["next_token"]
        response = client.get(body["next_url"].removeprefix("/aws-batch"))


def found(client: Any, **params: Any) -> set[str]:
    pages, _ = every_page(client, {"per_page": PAGE, **params})
    listed = [job_id for page in pages for job_id in page]
    assert len(listed) == len(set(listed)), "every job once"
    return set(listed)


def test_paging_visits_every_job_of_a_status_once_at_two_calls_a_page(view, world, emulator):
    client, counter, _ = view
    params = {"region": emulator.region, "queue": world["queue"], "status": "RUNNABLE", "per_page": PAGE}
    pages, bodies = every_page(client, params)
    assert len(pages) >= 3
    assert [len(page) for page in pages] == [4, 4, 4, 2]
    listed = [job_id for page in pages for job_id in page]
    assert sorted(listed) == sorted(world["runnable"]), "every RUNNABLE job, once"
    assert all(body["listed_pages"] == 1 for body in bodies)
    # Page 1: 1 ListJobs + 1 DescribeJobs, and the counts (7 ListJobs: under 1,000 jobs a status);
    # every further page: 1 ListJobs + 1 DescribeJobs.
    assert counter.calls == Counter({"ListJobs": 7 + len(pages), "DescribeJobs": len(pages)})

    html = client.get("/jobs", params=params).text
    assert 'id="next-page"' in html
    assert "next_token=" in html
    assert html.count("data-job-id=") == PAGE
    assert 'data-status="RUNNABLE"><a href=' in html, "the counts link to each status"


def test_every_status_newest_first_when_no_status_is_given(view, world, emulator):
    client, _, _ = view
    pages, bodies = every_page(client, {"region": emulator.region, "queue": world["queue"], "per_page": PAGE})
    listed = [job_id for page in pages for job_id in page]
    assert set(listed) == world["all"]
    assert len(listed) == len(world["all"])
    created = [job["created_at"] for body in bodies for job in body["jobs"]]
    assert created == sorted(created, reverse=True), "AFTER_CREATED_AT = 0: every status, newest first"
    assert "AFTER_CREATED_AT = 0" in bodies[0]["notes"][0]


def test_filters_by_dag_task_run_status_time_name_and_id(view, world, emulator):
    client, _, _ = view
    where = {"region": emulator.region, "queue": world["queue"]}
    dag_a = set(world["extract"] + world["load"] + [world["array_a"]])
    assert found(client, **where, dag_id=DAG_ID) == dag_a
    assert found(client, **where, dag_id=DAG_B) == {*world["b"], world["array_b"]}
    assert found(client, **where, task_id="load") == set(world["load"])
    assert found(client, **where, run_id="r1") == set(world["extract"])
    assert found(client, **where, dag_id=DAG_ID, status="RUNNABLE") == set(
        world["extract"][3:] + world["load"]
    )
    assert found(client, **where, status="FAILED") == set(world["failed"])
    assert found(client, **where, status="PENDING") == {world["array_a"], world["array_b"]}
    mark = world["mark"]
    assert found(client, **where, created_before=mark) == set(world["extract"])
    assert found(client, **where, created_after=mark) == world["all"] - set(world["extract"])
    after_iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mark / 1000 - 3600))
    assert found(client, **where, created_after=after_iso, created_before=mark) == set(world["extract"])
    assert found(client, **where, created_after=mark, status="RUNNABLE") == world["runnable"] - set(
        world["extract"]
    )
    assert found(client, **where, created_before=mark, status="FAILED") == set(world["failed"])
    assert found(client, **where, name="finder-a-extract*") == set(world["extract"]), "case-insensitive"
    assert found(client, **where, name="FINDER-A-LOAD-3") == {world["load"][3]}
    assert found(client, **where, name="finder-a*", status="FAILED") == set(world["failed"])
    assert found(client, **where, name="finder-a*", created_after=mark) == {*world["load"], world["array_a"]}

    ids = [world["load"][0], world["b"][1], "no-such-job"]
    by_id = client.get("/api/jobs", params={"region": emulator.region, "job_id": ", ".join(ids)}).json()
    assert [job["job_id"] for job in by_id["jobs"]] == ids[:2]
    assert by_id["listed_pages"] == 0
    assert client.get("/api/jobs", params={**where, "status": "LOST"}).status_code == 400
    assert client.get("/api/jobs", params={**where, "name": "a b"}).status_code == 400
    assert client.get("/api/jobs", params={**where, "created_after": "yesterday"}).status_code == 400


def test_an_arrays_children_are_paged_from_its_job_page(view, world, emulator):
    client, counter, _ = view
    params = {"region": emulator.region}
    html = client.get(f"/jobs/{world['array_a']}", params=params).text
    assert f"array_job_id={world['array_a']}&amp;status=RUNNABLE" in html, "each status links to the finder"
    counter.calls.clear()
    pages, bodies = every_page(
        client, {**params, "array_job_id": world["array_a"], "status": "RUNNABLE", "per_page": 2}
    )
    assert [len(page) for page in pages] == [2, 2, 1]
    assert {job_id for page in pages for job_id in page} == {f"{world['array_a']}:{i}" for i in range(5)}
    assert bodies[0]["counts"]["RUNNABLE"] == {"count": 5, "more": False, "label": "5"}
    assert {job["dag_id"] for body in bodies for job in body["jobs"]} == {DAG_ID}
    # The parent is described once; each page is 1 ListJobs; children are not described.
    assert counter.calls == Counter({"DescribeJobs": 1, "ListJobs": 3})


def test_counts_are_exact_up_to_the_bound_and_more_than_above(view, world, emulator, monkeypatch):
    client, counter, cache = view
    monkeypatch.setattr(finder, "COUNT_PAGE", 4)  # so counting 14 RUNNABLE jobs takes 4 pages
    params = {"region": emulator.region, "queue": world["queue"], "status": "FAILED"}
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_COUNT_LIMIT", "100")
    counts = client.get("/api/jobs", params=params).json()["counts"]
    assert {status: count["label"] for status, count in counts.items()} == {
        "SUBMITTED": "0",
        "PENDING": "2",
        "RUNNABLE": "14",
        "STARTING": "0",
        "RUNNING": "0",
        "SUCCEEDED": "0",
        "FAILED": "3",
    }
    # 4 pages for RUNNABLE, 1 for each other status, 1 for the page of FAILED jobs.
    assert counter.calls["ListJobs"] == 4 + 6 + 1

    cache.clear()
    counter.calls.clear()
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_COUNT_LIMIT", "8")
    body = client.get("/api/jobs", params=params).json()
    assert body["count_limit"] == 8
    assert body["counts"]["RUNNABLE"] == {"count": 8, "more": True, "label": "more than 8"}
    assert body["counts"]["FAILED"]["label"] == "3"
    assert counter.calls["ListJobs"] == 2 + 6 + 1, "the bound bounds the calls: 8 / 4 for RUNNABLE"
    assert "more than 8" in client.get("/jobs", params=params).text
    overview = client.get("/", params={"region": emulator.region}).text
    assert (
        f"jobs?conn_id=aws_default&amp;region={emulator.region}&amp;queue={world['queue']}&amp;status=RUNNABLE"
        in (overview)
    ), "the overview's counts link to the exact ones"


# -- who sees what ------------------------------------------------------------------------------------


@pytest.fixture
def finder_app(aws_conn_env, world, monkeypatch):
    """The api-server with the per-DAG auth manager: ``reader_a`` reads DAG A only."""
    monkeypatch.delenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", raising=False)
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_CACHE_SECONDS", "0")
    users = "admin:admin,reader_a:viewer"
    return build_airflow_app(monkeypatch, per_dag_auth.PATH, users, [DAG_ID, DAG_B])


def test_a_reader_of_dag_a_never_sees_b_or_untagged_jobs_nor_counts(finder_app, world, emulator):
    app, auth_manager = finder_app
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    region = emulator.region
    hidden = {*world["b"], *world["untagged"], world["array_b"]}
    mine = world["all"] - hidden

    def pages_of(**params: Any) -> tuple[set[str], list[dict[str, Any]]]:
        response = reader.get("/aws-batch/api/jobs", params={"region": region, "per_page": PAGE, **params})
        bodies = []
        while True:
            assert response.status_code == 200, response.text
            bodies.append(response.json())
            if not bodies[-1]["next_url"]:
                break
            response = reader.get(bodies[-1]["next_url"])
        listed = [job["job_id"] for body in bodies for job in body["jobs"]]
        return set(listed), bodies

    seen, bodies = pages_of(queue=world["queue"])
    assert seen == mine
    assert all(body["counts"] is None for body in bodies), "a queue's counts are account data"
    for status in ("RUNNABLE", "PENDING", "FAILED"):
        listed, bodies = pages_of(queue=world["queue"], status=status)
        assert not listed & hidden
        assert all(body["counts"] is None for body in bodies)
    assert pages_of(queue=world["queue"], dag_id=DAG_B)[0] == set()
    assert pages_of(queue=world["queue"], name="finder-b*")[0] == set()
    assert pages_of(job_id=",".join(sorted(hidden)))[0] == set()
    children = reader.get(
        "/aws-batch/api/jobs",
        params={"region": region, "array_job_id": world["array_b"], "status": "RUNNABLE"},
    )
    assert children.status_code == 404
    assert world["array_b"] + ":0" not in children.text
    html = reader.get(
        "/aws-batch/jobs", params={"region": region, "queue": world["queue"], "status": "RUNNABLE"}
    ).text
    assert 'id="counts-hidden"' in html
    assert 'id="counts"' not in html
    assert not any(job_id in html for job_id in hidden)
    assert "DescribeJobs" in html, "the page says tag filters and permissions read descriptions"

    admin = signed_in(app, auth_manager, "admin", "admin")
    everything = admin.get(
        "/aws-batch/api/jobs", params={"region": region, "queue": world["queue"], "per_page": 100}
    ).json()
    assert {job["job_id"] for job in everything["jobs"]} == world["all"], "untagged and B's too"
    assert everything["counts"]["RUNNABLE"]["count"] == 14


def test_the_emulator_lists_with_one_filter_newest_first_as_aws_says(world, emulator):
    """AWS's ListJobs reference: one filter at a time; with a filter, jobStatus is ignored and the
    jobs come newest first, up to 100 a page; nextToken resumes where the page ended."""
    batch = emulator.client("batch")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="Only one filter"):
        batch.list_jobs(
            jobQueue=world["queue"],
            filters=[
                {"name": "AFTER_CREATED_AT", "values": ["0"]},
                {"name": "JOB_NAME", "values": ["finder*"]},
            ],
        )
    listed, token = [], None
    while True:
        page = batch.list_jobs(
            jobQueue=world["queue"],
            jobStatus="FAILED",  # ignored with a filter
            filters=[{"name": "JOB_NAME", "values": ["finder-a-load*"]}],
            maxResults=2,
            **({"nextToken": token} if token else {}),
        )
        listed.extend(page["jobSummaryList"])
        token = page.get("nextToken")
        if not token:
            break
    assert [job["jobId"] for job in listed] == world["load"][::-1], "newest first, every status"
    capped = batch.list_jobs(
        jobQueue=world["queue"], filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}], maxResults=1000
    )
    assert len(capped["jobSummaryList"]) == len(world["all"])
