# ruff: noqa: F811  (the fixtures of test_ui_view, imported, are the tests' arguments)
"""Live pages and the whole log of a job, on the emulator: ETags and 304s, the AWS calls of many
pollers, log pages in both directions, the download, the live tail, times in Airflow's timezone,
and who may read a job's log.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from airflow_batch_plugin.ui.app import Worlds, create_app
from airflow_batch_plugin.ui.cache import TtlCache
from tests.integration.test_ui_view import (  # noqa: F401  (fixtures)
    DAG_ID,
    CallCounter,
    counted_view,
    jobs,
    per_dag_app,
    signed_in,
    tags,
    until,
    view,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

LINES = 250


class LockedCounter(CallCounter):
    """A CallCounter safe for clients calling AWS from several threads at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1


def submit(emulator: Any, name: str, command: str, **extra: Any) -> str:
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=f"live-{uuid.uuid4().hex[:6]}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["sh", "-c", command],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
        },
    )["jobDefinitionArn"]
    return str(
        batch.submit_job(
            jobName=name,
            jobQueue=emulator.job_queue,
            jobDefinition=definition,
            tags=tags(DAG_ID, name),
            **extra,
        )["jobId"]
    )


def status_of(emulator: Any, job_id: str) -> str:
    return str(emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]["status"])


@pytest.fixture(scope="module")
def chatty_job(emulator) -> str:
    """A job that printed ``line-1`` to ``line-250`` and ended."""
    job_id = submit(emulator, "live-chatty", f"for i in $(seq 1 {LINES}); do echo line-$i; done")
    until(lambda: status_of(emulator, job_id) in ("SUCCEEDED", "FAILED"), timeout=120)
    assert status_of(emulator, job_id) == "SUCCEEDED"
    return job_id


@pytest.fixture
def running_job(emulator) -> Iterator[str]:
    """A job printing ``tick-N`` five times a second for two minutes, RUNNING once it is yielded."""
    job_id = submit(
        emulator, "live-ticking", "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick-$i; sleep 0.2; done"
    )
    until(lambda: status_of(emulator, job_id) == "RUNNING", timeout=120)
    yield job_id
    emulator.client("batch").terminate_job(jobId=job_id, reason="test over")


def log_api(client: TestClient, job_id: str, region: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{quote(job_id, safe='')}/log", params={"region": region, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def messages(page: dict[str, Any]) -> list[str]:
    return [event["message"] for event in page["events"]]


# -- ETags ---------------------------------------------------------------------------------------------


def test_json_twins_answer_304_while_nothing_changed(view, jobs, emulator):
    client, _, cache = view
    params = {"region": emulator.region}
    for path in ("/api/overview", f"/api/jobs/{jobs['single']}", f"/api/queues/{emulator.job_queue}"):
        first = client.get(path, params=params)
        etag = first.headers["etag"]
        assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag), etag
        assert first.headers["cache-control"] == "no-cache"
        again = client.get(path, params=params, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        listed = client.get(path, params=params, headers={"If-None-Match": f'W/"other", {etag}'})
        assert listed.status_code == 304, "a list of tags naming the current one"
        stale = client.get(path, params=params, headers={"If-None-Match": 'W/"not-the-current-one"'})
        assert stale.status_code == 200
        assert stale.json() == first.json()
    refused = client.get("/api/jobs/no-such-job", params=params, headers={"If-None-Match": "*"})
    assert refused.status_code == 404, "only answers that exist are tagged"

    # A change in AWS (a new job in the queue) changes the overview's tag once the cache renews.
    before = client.get("/api/overview", params=params).headers["etag"]
    submit(emulator, "live-new", "true")
    cache.clear()
    after = client.get("/api/overview", params=params, headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before


def test_a_running_jobs_tag_does_not_follow_the_clock(view, running_job, emulator):
    client, _, _ = view
    path, params = f"/api/jobs/{running_job}", {"region": emulator.region}
    first = client.get(path, params=params)
    assert first.json()["row"]["status"] == "RUNNING"
    elapsed = first.json()["row"]["duration_seconds"]
    assert elapsed is not None
    until(lambda: client.get(path, params=params).json()["row"]["duration_seconds"] > elapsed + 0.05)
    assert (
        client.get(path, params=params, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    )


def test_live_pages_load_the_script_served_by_the_view(view, jobs, emulator, monkeypatch):
    client, _, _ = view
    params = {"region": emulator.region}
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_REFRESH_SECONDS", "7")
    twins = {
        "/": "/aws-batch/api/overview",
        f"/jobs/{jobs['single']}": f"/aws-batch/api/jobs/{jobs['single']}",
        f"/queues/{emulator.job_queue}": f"/aws-batch/api/queues/{emulator.job_queue}",
        f"/compute-environments/{emulator.compute_environment}": "",
    }
    for path, twin in twins.items():
        html = client.get(path, params=params).text
        script = re.search(r'<script src="/aws-batch/static/live.js" data-twin="([^"]*)"[^>]*>', html)
        assert script is not None, path
        expected = f"{twin}?conn_id=aws_default&amp;region={emulator.region}" if twin else ""
        assert script.group(1) == expected
        assert 'data-refresh-seconds="7.0"' in script.group(0)
        assert "<script>" not in html, "no inline code"
    script = client.get("/static/live.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "If-None-Match" in script.text
    assert "eval(" not in script.text
    assert client.get("/static/log.js").status_code == 200


# -- many browsers, one set of AWS calls ---------------------------------------------------------------


def test_many_pollers_cost_one_set_of_aws_calls_per_cache_period(aws_conn_env, jobs, emulator):
    """8 browsers polling the three twins 3 times each, at once, cost what one poll costs."""
    now = [1_000.0]
    cache = TtlCache(ttl=15, clock=lambda: now[0])
    worlds = Worlds(cache)
    world = worlds.get("aws_default", emulator.region)
    counter = LockedCounter()
    counter.watch(world.batch.client)
    counter.watch(world.logs.client)
    app = create_app(worlds=worlds, authorize=False)
    params = {"region": emulator.region}
    paths = ["/api/overview", f"/api/jobs/{jobs['single']}", f"/api/queues/{emulator.job_queue}"]

    def browser(client: TestClient, rounds: int, start: threading.Barrier | None) -> Counter[int]:
        etags: dict[str, str] = {}
        answers: Counter[int] = Counter()
        if start is not None:
            start.wait(timeout=30)
        for _ in range(rounds):
            for path in paths:
                headers = {"If-None-Match": etags[path]} if path in etags else {}
                response = client.get(path, params=params, headers=headers)
                answers[response.status_code] += 1
                etags[path] = response.headers["etag"]
        return answers

    browser(TestClient(app, root_path="/aws-batch"), 1, None)
    one_set = Counter(counter.calls)
    assert one_set["DescribeJobs"] >= 1
    assert one_set["GetLogEvents"] == 1

    for period in (2, 3):
        now[0] += 15  # the cache period ends: every entry is stale
        start = threading.Barrier(8)
        clients = [TestClient(app, root_path="/aws-batch") for _ in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = sum(
                (f.result() for f in [pool.submit(browser, c, 3, start) for c in clients]), Counter()
            )
        assert answers == {200: 8 * len(paths), 304: 8 * 2 * len(paths)}
        assert counter.calls == Counter({name: period * count for name, count in one_set.items()}), (
            "N browsers polling cost one set of AWS calls per cache period"
        )


# -- the whole log -------------------------------------------------------------------------------------


def test_log_pages_visit_every_line_once_forward_and_backward(view, chatty_job, emulator):
    client, _, _ = view
    region = emulator.region
    expected = [f"line-{number}" for number in range(1, LINES + 1)]

    page = log_api(client, chatty_job, region, start="head", limit=40)
    forward, pages = messages(page), 1
    while page["events"]:
        page = log_api(client, chatty_job, region, start="head", limit=40, token=page["next_forward_token"])
        forward += messages(page)
        pages += 1
    assert forward == expected
    assert pages == 8, "7 pages of up to 40 lines, then an empty one at the end"

    page = log_api(client, chatty_job, region, start="tail", limit=40)
    backward = [messages(page)]
    assert backward[0] == expected[-40:], "the newest page first"
    while page["events"]:
        page = log_api(client, chatty_job, region, start="tail", limit=40, token=page["next_backward_token"])
        backward.append(messages(page))
    assert [line for chunk in reversed(backward) for line in chunk] == expected
    assert page["running"] is False


def test_log_page_links_older_and_newer_pages_and_the_console(view, chatty_job, emulator):
    client, _, _ = view
    params = {"region": emulator.region, "limit": 100}
    html = client.get(f"/jobs/{chatty_job}/log", params=params).text
    assert "line-250" in html
    assert "line-150" not in html
    older = re.search(r'class="log-older" href="([^"]+)"', html)
    assert older is not None
    older_html = client.get(older.group(1).replace("&amp;", "&").removeprefix("/aws-batch")).text
    shown = re.findall(r"</span> (line-\d+)\n", older_html)
    assert shown == [f"line-{number}" for number in range(51, 151)], "the 100 lines before the newest 100"
    assert "data-tail-url" not in html, "no live tail once the job has ended"

    data = log_api(client, chatty_job, emulator.region)
    group, stream = data["source"]["group"], data["source"]["stream"]
    assert group == "/aws/batch/job"
    escaped = stream.replace("/", "$252F")
    assert data["console_url"] == (
        f"https://console.aws.amazon.com/cloudwatch/home?region={emulator.region}"
        f"#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob/log-events/{escaped}"
    )
    assert data["console_url"].replace("&", "&amp;") in html
    job_page = client.get(f"/jobs/{chatty_job}", params={"region": emulator.region}).text
    assert f'href="/aws-batch/jobs/{chatty_job}/log?' in job_page, "the job page links its whole log"
    other = client.get(f"/api/jobs/{chatty_job}/log", params={"region": emulator.region, "stream": "x/y/z"})
    assert other.status_code == 404, "only the job's own streams"


def test_download_returns_every_line_up_to_the_cap(view, chatty_job, emulator, monkeypatch):
    client, _, _ = view
    params = {"region": emulator.region}
    response = client.get(f"/jobs/{chatty_job}/log/download", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{chatty_job}-')
    assert response.text.splitlines() == [f"line-{number}" for number in range(1, LINES + 1)]

    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_LOG_DOWNLOAD_MB", str(100 / 1024 / 1024))  # 100 bytes
    capped = client.get(f"/jobs/{chatty_job}/log/download", params=params).text.splitlines()
    assert capped[:-1] == [f"line-{number}" for number in range(1, len(capped))]
    assert sum(len(line) + 1 for line in capped[:-1]) <= 100
    assert capped[-1].startswith("[download stopped after ")


def test_live_tail_returns_the_new_lines_of_a_running_job(aws_conn_env, running_job, emulator):
    client, _, _ = counted_view(aws_conn_env.region, cache_seconds=0)
    region = emulator.region
    html = client.get(f"/jobs/{running_job}/log", params={"region": region}).text
    assert "data-tail-url=" in html, "a running job's newest page follows the log"
    until(lambda: log_api(client, running_job, region)["events"], timeout=30)
    first = log_api(client, running_job, region)
    assert first["running"] is True
    seen = messages(first)
    token = first["next_forward_token"]
    last = int(seen[-1].removeprefix("tick-"))
    new: list[str] = []
    deadline = time.monotonic() + 30
    while len(new) < 5:
        assert time.monotonic() < deadline, f"no new lines after {seen[-1]}"
        page = log_api(client, running_job, region, start="head", token=token)
        new += messages(page)
        token = page["next_forward_token"]
        time.sleep(0.1)
    assert new == [f"tick-{number}" for number in range(last + 1, last + 1 + len(new))], "each new line once"


# -- times in Airflow's timezone ------------------------------------------------------------------------


def test_times_are_in_the_configured_default_timezone(view, jobs, emulator, monkeypatch):
    client, _, _ = view
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Kolkata")
    params = {"region": emulator.region}
    created = client.get(f"/api/jobs/{jobs['single']}", params=params).json()["row"]["created_at"]
    local = datetime.datetime.fromtimestamp(created / 1000, tz=ZoneInfo("Asia/Kolkata"))
    html = client.get(f"/jobs/{jobs['single']}", params=params).text
    assert f"<dt>Created</dt><dd>{local:%Y-%m-%d %H:%M:%S} Asia/Kolkata</dd>" in html
    assert "UTC" not in html
    overview = client.get("/", params=params).text
    assert "<th>Created (Asia/Kolkata)</th>" in overview
    log = client.get(f"/jobs/{jobs['single']}/log", params=params).text
    assert "<dt>Times</dt><dd>Asia/Kolkata</dd>" in log
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "utc")
    utc = datetime.datetime.fromtimestamp(created / 1000, tz=datetime.UTC)
    assert f"{utc:%Y-%m-%d %H:%M:%S} UTC" in client.get(f"/jobs/{jobs['single']}", params=params).text


# -- who may read a job's log ---------------------------------------------------------------------------


def test_a_jobs_log_is_shown_only_to_users_who_see_the_job(per_dag_app, jobs, emulator):
    app, auth_manager = per_dag_app
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    params = {"region": emulator.region}

    def paths(job_id: str) -> list[str]:
        return [
            f"/aws-batch/jobs/{job_id}/log",
            f"/aws-batch/api/jobs/{job_id}/log",
            f"/aws-batch/jobs/{job_id}/log/download",
        ]

    for path in paths(jobs["single"]):
        response = reader.get(path, params=params)
        assert response.status_code == 200, path
        assert "line-one" in response.text
    for job_id in (jobs["b_full"], jobs["b_dag_only"], jobs["untagged"], jobs["failed"]):
        for path in paths(job_id):
            response = reader.get(path, params=params, headers={"accept": "text/html"})
            assert response.status_code == 404, path
            assert "line-one" not in response.text
    admin = signed_in(app, auth_manager, "admin", "admin")
    assert admin.get(paths(jobs["untagged"])[1], params=params).status_code == 200
    tagged = reader.get(f"/aws-batch/api/jobs/{jobs['single']}", params=params)
    assert tagged.headers["etag"].startswith('W/"'), "ETags on the api-server's mount too"
    again = reader.get(
        f"/aws-batch/api/jobs/{jobs['single']}",
        params=params,
        headers={"If-None-Match": tagged.headers["etag"]},
    )
    assert again.status_code == 304
