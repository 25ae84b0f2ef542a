"""The "AWS Batch" view's live pages in a real headless Chromium against a real api-server.

A job that prints a line twice a second runs on the emulator (tagged with ``batch_etl``, a DAG
the stack's admin may read); its page, opened once, shows its elapsed time ticking and its log
tail growing without a reload (live.js polling the JSON twin with ETags), and its log page
follows the log (log.js polling with GetLogEvents' forward token).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.e2e.stack import UI_TIMEOUT_MS, login, save_screenshot

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

    from tests.conftest import EmulatorHandle
    from tests.e2e.stack import EtlStack

pytestmark = pytest.mark.e2e

VIEW_QUERY = "?conn_id=aws_default&region=us-east-1"
#: The view's cache (15 s) plus the pages' polling interval (10 s), with room to spare.
LIVE_TIMEOUT_MS = 90_000
#: The highest ``tick-N`` in an element's text (0 for none), run in the page.
HIGHEST_TICK = """(selector) => {
  const element = document.querySelector(selector);
  const numbers = element ? [...element.textContent.matchAll(/tick-(\\d+)/g)].map((m) => Number(m[1])) : [];
  return numbers.length ? Math.max(...numbers) : 0;
}"""


@pytest.fixture
def ticking_job(emulator: EmulatorHandle, etl_stack: EtlStack) -> Iterator[str]:
    """A RUNNING job of ``batch_etl`` printing ``tick-N`` twice a second for five minutes."""
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=f"live-e2e-{uuid.uuid4().hex[:6]}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/python:3.12-slim",
            "command": [
                "sh",
                "-c",
                "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick-$i; sleep 0.5; done",
            ],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
        },
    )["jobDefinitionArn"]
    tags = {
        "airflow:dag_id": etl_stack.dag_id,
        "airflow:run_id": etl_stack.run_id,
        "airflow:task_id": "live_probe",
    }
    job_id = str(
        batch.submit_job(
            jobName="live-probe", jobQueue="airflow-batch-queue", jobDefinition=definition, tags=tags
        )["jobId"]
    )
    deadline = time.monotonic() + 120
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] != "RUNNING":
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.25)
    yield job_id
    batch.terminate_job(jobId=job_id, reason="test over")


def test_a_running_jobs_page_updates_without_reloading(
    browser: Page, etl_stack: EtlStack, ticking_job: str
) -> None:
    from playwright.sync_api import expect

    login(browser, etl_stack)
    browser.goto(etl_stack.url(f"/aws-batch/jobs/{ticking_job}{VIEW_QUERY}"))
    expect(browser.locator(".job-id")).to_have_text(ticking_job, timeout=UI_TIMEOUT_MS)
    browser.evaluate("() => { window.notReloaded = true; }")  # gone if the page reloads

    elapsed = browser.locator(".elapsed [data-elapsed-from]")
    expect(elapsed).to_have_text(re.compile(r"^\d+m \d\ds$"))
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first, timeout=5_000)  # ticks every second between polls

    shown = browser.evaluate(HIGHEST_TICK, "pre.log")
    browser.wait_for_function(
        f"() => window.notReloaded === true && ({HIGHEST_TICK})('pre.log') > {shown}", timeout=LIVE_TIMEOUT_MS
    )
    assert browser.evaluate("() => window.notReloaded") is True
    expect(browser.locator("[data-live-note]")).to_contain_text("live, every")
    save_screenshot(browser, "aws-batch-view-live-job")

    # The whole log's page follows the log with the forward token.
    browser.locator("a.full-log").click()
    expect(browser.locator("pre.log-page")).to_have_attribute("data-tail-url", re.compile("/api/jobs/"))
    browser.evaluate("() => { window.notReloaded = true; }")
    shown = browser.evaluate(HIGHEST_TICK, "pre.log-page")
    browser.wait_for_function(
        f"() => window.notReloaded === true && ({HIGHEST_TICK})('pre.log-page') > {shown}",
        timeout=LIVE_TIMEOUT_MS,
    )
    expect(browser.locator("a.log-console")).to_have_attribute(
        "href", re.compile(r"^https://console\.aws\.amazon\.com/cloudwatch/home\?region=us-east-1#logsV2:")
    )
    save_screenshot(browser, "aws-batch-view-live-log")
