"""The Airflow UI of a real api-server, in a real headless Chromium: log in, find the DAG, read its run."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.stack import UI_TIMEOUT_MS, login, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack import EtlStack

pytestmark = pytest.mark.e2e


def test_anonymous_rest_calls_are_refused(etl_stack: EtlStack) -> None:
    assert httpx.get(etl_stack.url("/api/v2/dags"), timeout=10).status_code == 401
    assert etl_stack.api.get("/api/v2/dags").status_code == 200


def test_the_api_server_resolves_the_runs_operator_links(etl_stack: EtlStack) -> None:
    # airflow dags test wrote the serialized DAG to the database, which is what the links need.
    run_id = quote(etl_stack.run_id, safe="")
    response = etl_stack.api.get(
        f"/api/v2/dags/{etl_stack.dag_id}/dagRuns/{run_id}/taskInstances/extract/links"
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["extra_links"], dict)


def test_the_ui_shows_the_dag_and_its_successful_run(browser: Page, etl_stack: EtlStack) -> None:
    # Imported here: without Playwright the browser fixture skips (or fails in CI) instead.
    from playwright.sync_api import expect

    login(browser, etl_stack)
    assert "_token" in {cookie.get("name") for cookie in browser.context.cookies(etl_stack.base_url)}

    browser.goto(etl_stack.url("/dags"))
    dag_link = browser.get_by_role("link", name="batch_etl", exact=True)
    expect(dag_link).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(browser.get_by_text("batch_infra", exact=True)).to_be_visible()
    save_screenshot(browser, "airflow-ui-dags")

    dag_link.click()
    browser.wait_for_url(f"**/dags/{etl_stack.dag_id}**", timeout=UI_TIMEOUT_MS)

    tasks = [task["task_id"] for task in etl_stack.dag_run.summary["tasks"]]
    browser.goto(etl_stack.url(f"/dags/{etl_stack.dag_id}/runs/{quote(etl_stack.run_id, safe='')}"))
    expect(browser.get_by_text(f"{len(tasks)} Task Instances")).to_be_visible(timeout=UI_TIMEOUT_MS)
    for task_id in tasks:
        row = browser.get_by_role("row").filter(has=browser.get_by_role("link", name=task_id, exact=True))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Success")
    path = save_screenshot(browser, "airflow-ui-batch_etl-run")
    assert path.stat().st_size > 10_000
