"""Extra links and the "AWS Batch" view on a real api-server, after a real run of batch_etl.

The run (``airflow dags test batch_etl`` on the emulator) stored the links while its tasks ran;
the api-server answers them from the database, and each link opens a page of the view. The view
itself is opened in a real headless Chromium through Airflow's login.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.stack import ETL_CONF, UI_TIMEOUT_MS, login, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack import EtlStack

pytestmark = pytest.mark.e2e

QUEUE = "airflow-batch-queue"
VIEW_QUERY = "?conn_id=aws_default&region=us-east-1"


def task_links(stack: EtlStack, task_id: str) -> dict[str, str | None]:
    run_id = quote(stack.run_id, safe="")
    response = stack.api.get(f"/api/v2/dags/{stack.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links")
    assert response.status_code == 200, response.text
    return dict(response.json()["extra_links"])


def job_of(stack: EtlStack, task_id: str) -> str:
    job_id = stack.dag_run.task(task_id)["return_value"]
    assert isinstance(job_id, str), f"{task_id} returned {job_id!r}"
    return job_id


def test_task_instance_links_point_at_the_view_and_resolve(etl_stack: EtlStack) -> None:
    view = f"{etl_stack.base_url}/aws-batch"
    extract, load = job_of(etl_stack, "extract"), job_of(etl_stack, "load")

    links = task_links(etl_stack, "extract")  # an array job
    assert links["AWS Batch Job"] == f"{view}/jobs/{extract}{VIEW_QUERY}"
    assert links["AWS Batch Array Children"] == f"{view}/jobs/{extract}{VIEW_QUERY}#children"
    assert links["AWS Batch Job Queue"] == f"{view}/queues/{quote(queue_arn(etl_stack), safe='')}{VIEW_QUERY}"
    assert links["AWS Batch Job Definition"].startswith(f"{view}/job-definitions/arn%3Aaws%3Abatch%3A")
    assert links["AWS Batch Job Logs"] is None, "an array parent has no log of its own"

    links = task_links(etl_stack, "load")  # a single job
    assert links["AWS Batch Job"] == f"{view}/jobs/{load}{VIEW_QUERY}"
    assert links["AWS Batch Job Logs"] == f"{view}/jobs/{load}{VIEW_QUERY}#log"
    assert links["AWS Batch Array Children"] is None

    sensor = task_links(etl_stack, "extract_done")  # the sensor links the job it waited for
    assert sensor["AWS Batch Job"] == f"{view}/jobs/{extract}{VIEW_QUERY}"

    definition = task_links(etl_stack, "register_definition")
    assert set(definition) == {"AWS Batch Job Definition"}
    assert definition["AWS Batch Job Definition"] == links["AWS Batch Job Definition"]

    # Every link opens a page of the view that shows what it names.
    expectations: list[tuple[str | None, str]] = [
        (links["AWS Batch Job"], load),
        (links["AWS Batch Job Logs"], "Last "),
        (links["AWS Batch Job Queue"], f"Job queue {QUEUE}"),
        (links["AWS Batch Job Definition"], "Job definition airflow-batch-etl:"),
        (task_links(etl_stack, "extract")["AWS Batch Array Children"], f"{extract}:0"),
    ]
    for url, text in expectations:
        assert url is not None
        page = etl_stack.api.get(url, headers={"accept": "text/html"})
        assert page.status_code == 200, f"{url}: {page.status_code} {page.text[:300]}"
        assert text in page.text, f"{url} does not show {text!r}"


def queue_arn(stack: EtlStack) -> str:
    job = stack.api.get(f"/aws-batch/api/jobs/{job_of(stack, 'load')}").json()
    return str(job["job"]["jobQueue"])


def test_anonymous_requests_to_the_view_get_no_data(etl_stack: EtlStack) -> None:
    load = job_of(etl_stack, "load")
    for path in ("/aws-batch/api/overview", f"/aws-batch/api/jobs/{load}", "/aws-batch/"):
        response = httpx.get(etl_stack.url(path), timeout=10)
        assert response.status_code == 401, f"{path}: {response.status_code}"
        assert load not in response.text
        assert QUEUE not in response.text
    browser = httpx.get(etl_stack.url("/aws-batch/"), headers={"accept": "text/html"}, timeout=10)
    assert browser.status_code in (302, 307)
    assert "/auth/login" in browser.headers["location"]


def test_the_view_shows_the_queues_and_jobs_the_etl_run_produced(browser: Page, etl_stack: EtlStack) -> None:
    from playwright.sync_api import expect

    login(browser, etl_stack)
    browser.goto(etl_stack.url("/aws-batch/"))
    queue_row = browser.locator(f'tr[data-queue="{QUEUE}"]')
    expect(queue_row).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(queue_row).to_contain_text("VALID")
    succeeded = int(queue_row.locator('td[data-status="SUCCEEDED"]').inner_text().rstrip("+"))
    assert succeeded >= 3, "extract, transform and load succeeded in this queue"
    expect(browser.locator('tr[data-compute-environment="airflow-batch-ce"]')).to_contain_text("EC2")
    expect(browser.locator("svg.chart rect[data-status='SUCCEEDED']").first).to_be_visible()

    partitions = int(json.loads(ETL_CONF)["partitions"])
    for task_id in ("extract", "transform", "load"):
        row = browser.locator(f'tr[data-job-id="{job_of(etl_stack, task_id)}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("SUCCEEDED")
        expect(row.locator("a.task-link")).to_have_attribute(
            "href", re.compile(rf"/dags/batch_etl/runs/.+/tasks/{task_id}$")
        )
    array_row = browser.locator(f'tr[data-job-id="{job_of(etl_stack, "extract")}"]')
    expect(array_row.locator(".array-summary")).to_have_text(
        f"{partitions} succeeded, 0 failed, 0 running of {partitions}"
    )
    expect(array_row.locator('.progress span[data-status="SUCCEEDED"]')).to_have_attribute(
        "data-count", str(partitions)
    )
    save_screenshot(browser, "aws-batch-view-overview")

    # The job page: details and the job's own log lines.
    browser.locator(f'tr[data-job-id="{job_of(etl_stack, "load")}"] td a').first.click()
    expect(browser.locator(".job-id")).to_have_text(job_of(etl_stack, "load"), timeout=UI_TIMEOUT_MS)
    expect(browser.locator("pre.log")).not_to_be_empty()
    save_screenshot(browser, "aws-batch-view-job")


def test_the_view_is_in_airflows_navigation(browser: Page, etl_stack: EtlStack) -> None:
    from playwright.sync_api import expect

    login(browser, etl_stack)
    browser.goto(etl_stack.url("/plugin/aws-batch"))
    frame = browser.frame_locator("iframe").first
    expect(frame.locator(f'tr[data-queue="{QUEUE}"]')).to_be_visible(timeout=UI_TIMEOUT_MS)
    path = save_screenshot(browser, "aws-batch-view-in-airflow")
    assert path.stat().st_size > 10_000
