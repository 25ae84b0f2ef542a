"""The "AWS Batch" view as an on-call engineer's console, in a real headless Chromium against a real
api-server (issue 14's "done when", end to end).

A job of ``batch_etl`` is kept RUNNABLE on the emulator (its queue's only compute environment is
DISABLED). Signed in as the admin, the engineer finds a queue's job by DAG and a job by id with the
jobs page's forms, opens the waiting job and reads why it waits ("Why is it waiting?" shows the
account's queues and compute environments: by default to admins only). Signed in as ``viewer``
(role Viewer), a user sees the job but no Terminate button, and gets 403 on the confirmation page
and on the posts (also as a Bearer script, which the forgery check lets through to the permission
check), while the job stays RUNNABLE. Signed in as ``editor`` (role User: may edit DAGs, not an
admin), a user terminates it through the confirmation page: AWS Batch ends it FAILED with a reason
naming the editor, and Airflow's audit log has the row. The live log tail and elapsed time are
proven in test_batch_view_live.py.
Screenshots: artifacts/screenshots/aws-batch-console-*.png.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.stack import UI_TIMEOUT_MS, VIEWPORT, admin_token, login, save_screenshot
from tests.parked_queue import create_parked_queue, delete_queue

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser, Page

    from tests.conftest import EmulatorHandle
    from tests.e2e.stack import EtlStack

pytestmark = pytest.mark.e2e

VIEW_QUERY = "?conn_id=aws_default&region=us-east-1"
ETL_QUEUE = "airflow-batch-queue"
EDITOR, VIEWER = "editor", "viewer"
#: The most "next page" links the engineer follows looking for a job.
MAX_PAGES = 10
REASON = "stuck behind a disabled compute environment"


def until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy and return it; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


@pytest.fixture
def waiting_job(emulator: EmulatorHandle, etl_stack: EtlStack) -> Iterator[dict[str, str]]:
    """A job of ``batch_etl`` kept RUNNABLE: its queue's only compute environment is DISABLED."""
    batch = emulator.client("batch")
    environment, queue = create_parked_queue(emulator, "console-waiting")
    suffix = queue.rsplit("-", 1)[1]
    definition = batch.register_job_definition(
        jobDefinitionName=f"console-waits-{suffix}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
        },
    )["jobDefinitionArn"]
    tags = {
        "airflow:dag_id": etl_stack.dag_id,
        "airflow:run_id": etl_stack.run_id,
        "airflow:task_id": "waits",
    }
    job_id = str(
        batch.submit_job(jobName="console-waits", jobQueue=queue, jobDefinition=definition, tags=tags)[
            "jobId"
        ]
    )
    until("the job to be RUNNABLE", lambda: status_of(emulator, job_id) == "RUNNABLE")
    yield {"job": job_id, "queue": queue, "environment": environment}
    if status_of(emulator, job_id) not in ("SUCCEEDED", "FAILED"):
        batch.terminate_job(jobId=job_id, reason="test over")
    delete_queue(emulator, queue)


def described(emulator: EmulatorHandle, job_id: str) -> dict[str, Any]:
    return dict(emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"][0])


def status_of(emulator: EmulatorHandle, job_id: str) -> str:
    return str(described(emulator, job_id)["status"])


def etl_job(stack: EtlStack, task_id: str) -> str:
    job_id = stack.dag_run.task(task_id)["return_value"]
    assert isinstance(job_id, str), f"{task_id} returned {job_id!r}"
    return job_id


def find_on_pages(page: Page, row_selector: str) -> None:
    """Follow the jobs page's "next page" links until ``row_selector`` shows (at most MAX_PAGES)."""
    from playwright.sync_api import expect

    for _ in range(MAX_PAGES):
        expect(page.locator("nav.pager")).to_be_visible(timeout=UI_TIMEOUT_MS)
        if page.locator(row_selector).count():
            return
        next_page = page.locator("#next-page")
        assert next_page.count(), f"{row_selector} is on no page of the results"
        next_page.click()
    raise AssertionError(f"{row_selector} not found within {MAX_PAGES} pages")


@contextlib.contextmanager
def signed_in(browser: Browser, stack: EtlStack, username: str) -> Iterator[Page]:
    """A page of a new browser context (own cookies), logged into the UI as ``username``."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        login(page, stack, username)
        yield page
    finally:
        context.close()


def test_an_engineer_finds_a_waiting_job_sees_why_and_only_an_editor_terminates_it(
    browser: Page, etl_stack: EtlStack, emulator: EmulatorHandle, waiting_job: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    job_id, page = waiting_job["job"], browser
    chromium = page.context.browser
    assert chromium is not None
    login(page, etl_stack)  # the admin
    page.goto(etl_stack.url(f"/aws-batch/{VIEW_QUERY}"))
    page.get_by_role("link", name="Find jobs").click()

    # By DAG: the etl run's load job among every job of its queue (the form, then its pages).
    form = page.locator("form.finder").first
    expect(form).to_be_visible(timeout=UI_TIMEOUT_MS)
    form.locator("input[name=queue]").fill(ETL_QUEUE)
    form.locator("select[name=status]").select_option("SUCCEEDED")
    form.locator("input[name=dag_id]").fill(etl_stack.dag_id)
    form.locator("input[name=task_id]").fill("load")
    form.get_by_role("button", name="Find").click()
    load_row = f'tr[data-job-id="{etl_job(etl_stack, "load")}"]'
    find_on_pages(page, load_row)
    expect(page.locator(load_row)).to_contain_text("SUCCEEDED")
    for link in page.locator("table.jobs a.task-link").all():
        expect(link).to_contain_text(f"{etl_stack.dag_id} / load")
    save_screenshot(page, "aws-batch-console-find-by-dag")

    # By id: the waiting job, wherever it is.
    lookup = page.locator("form.finder").nth(1)
    lookup.locator("input[name=job_id]").fill(job_id)
    lookup.get_by_role("button", name="Look up").click()
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("RUNNABLE", timeout=UI_TIMEOUT_MS)
    expect(page.locator("table.jobs tr[data-job-id]")).to_have_count(1)
    save_screenshot(page, "aws-batch-console-find-by-id")

    # Why is it waiting?
    row.locator("td a").first.click()
    expect(page.locator(".job-id")).to_have_text(job_id, timeout=UI_TIMEOUT_MS)
    expect(page.locator("#waiting")).to_have_text("Why is it waiting?")
    findings = page.locator("ul.findings")
    expect(findings).to_contain_text("position 1 of 1 at the front of the queue")
    expect(findings).to_contain_text(f"compute environment {waiting_job['environment']} is DISABLED")
    expect(page.locator(".job-needs")).to_contain_text("2 vCPUs, 4096 MiB memory")
    environment = page.locator(
        f'table.waiting-environments tr[data-compute-environment="{waiting_job["environment"]}"]'
    )
    expect(environment).to_contain_text("DISABLED")
    expect(page.locator("#terminate-job")).to_be_visible()
    job_url = page.url
    save_screenshot(page, "aws-batch-console-why-waiting")

    # A viewer sees the job, but may not terminate it.
    confirm_url = etl_stack.url(f"/aws-batch/actions/jobs/{job_id}/terminate{VIEW_QUERY}")
    with signed_in(chromium, etl_stack, VIEWER) as viewer:
        viewer.goto(job_url)
        expect(viewer.locator(".job-id")).to_have_text(job_id, timeout=UI_TIMEOUT_MS)
        expect(viewer.locator("h2 .status").first).to_have_text("RUNNABLE")
        expect(viewer.locator("#terminate-job")).to_have_count(0)
        refused = viewer.goto(confirm_url)
        assert refused is not None
        assert refused.status == 403
        expect(viewer.locator(".error-detail")).to_have_text(
            f"terminating this job needs permission to edit DAG {etl_stack.dag_id}"
        )
        save_screenshot(viewer, "aws-batch-console-viewer-refused")
    # Posts that pass the forgery check (a Bearer script's) are refused for the permission too.
    viewer_token = admin_token(etl_stack.base_url, VIEWER, etl_stack.passwords[VIEWER])
    with httpx.Client(headers={"Authorization": f"Bearer {viewer_token}"}, timeout=30) as as_viewer:
        posts = (
            as_viewer.post(confirm_url, data={"confirm": "yes", "reason": "viewer tries"}),
            as_viewer.post(
                etl_stack.url(f"/aws-batch/api/jobs/{job_id}/terminate{VIEW_QUERY}"),
                json={"reason": "viewer"},
            ),
        )
    for response in posts:
        assert response.status_code == 403, response.text
        assert "permission to edit DAG" in response.json()["detail"]
    assert status_of(emulator, job_id) == "RUNNABLE", "the viewer's refused posts left the job alone"

    # An editor of the DAG (not an admin) terminates it through the confirmation page.
    with signed_in(chromium, etl_stack, EDITOR) as editor:
        editor.goto(job_url)
        expect(editor.locator(".job-id")).to_have_text(job_id, timeout=UI_TIMEOUT_MS)
        # Why it waits is account data (queues, compute environments): admins only, by default.
        expect(editor.locator("#waiting")).to_have_count(0)
        editor.locator("#terminate-job").click()
        confirmation = editor.locator("#confirm-terminate")
        expect(confirmation).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(editor.locator(".job-id")).to_have_text(job_id)
        confirmation.locator("textarea[name=reason]").fill(REASON)
        save_screenshot(editor, "aws-batch-console-confirm-terminate")
        confirmation.locator("#confirm").click()
        expect(editor.locator("#action-notice")).to_contain_text(
            "Termination requested", timeout=UI_TIMEOUT_MS
        )
        assert "done=terminating" in editor.url
        ended = until(
            "the job to end", lambda: (job := described(emulator, job_id))["status"] == "FAILED" and job
        )
        assert ended["statusReason"] == f"terminated from the Airflow AWS Batch view by {EDITOR}: {REASON}"

        # The job's page shows it FAILED with that reason (the action emptied the view's cache).
        def shows_failed() -> bool:
            editor.goto(job_url)
            return editor.locator("h2 .status").first.inner_text() == "FAILED"

        until("the job page to show FAILED", shows_failed, timeout=40)
        expect(editor.locator("dl.facts").first).to_contain_text(f"by {EDITOR}: {REASON}")
        expect(editor.locator("#terminate-job")).to_have_count(0)
        save_screenshot(editor, "aws-batch-console-terminated")

    # Airflow's audit log names the editor, the DAG and the job.
    logs = etl_stack.api.get(
        "/api/v2/eventLogs", params={"event": "aws_batch.terminate_job", "dag_id": etl_stack.dag_id}
    )
    assert logs.status_code == 200, logs.text
    rows = [entry for entry in logs.json()["event_logs"] if job_id in (entry.get("extra") or "")]
    assert [(entry["owner"], entry["task_id"]) for entry in rows] == [(EDITOR, "waits")]
    assert REASON in rows[0]["extra"]
