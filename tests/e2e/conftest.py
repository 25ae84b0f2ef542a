"""Fixtures for tests against a real ``airflow api-server`` and a real headless Chromium.

``etl_stack`` (session): one run of ``batch_etl`` on the emulator and an api-server over its
database (see tests/e2e/stack.py). ``browser`` (per test): a Playwright page in Debian's
Chromium; ``logged_in_page``: the same, logged into ``etl_stack``'s UI. Without Chromium or
Playwright the browser tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pytest

from tests.e2e.stack import (
    VIEWPORT,
    EtlStack,
    StackError,
    browser_unavailable,
    launch_chromium,
    login,
    save_screenshot,
    start_etl_stack,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from _pytest.tmpdir import TempPathFactory
    from playwright.sync_api import Page

    from tests.conftest import EmulatorHandle

STACK_FIXTURES = {"etl_stack", "logged_in_page"}
BROWSER_FIXTURES = {"browser", "logged_in_page"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use the stack ``e2e`` and those that use the browser ``browser``.

    tests/conftest.py keeps the tests that use ``etl_stack`` together (one worker, one after
    another).
    """
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & STACK_FIXTURES:
            item.add_marker(pytest.mark.e2e)
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so the browser fixture knows whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def etl_stack(emulator: EmulatorHandle, tmp_path_factory: TempPathFactory) -> Iterator[EtlStack]:
    """A real api-server over a database holding one successful run of ``batch_etl``."""
    base = tmp_path_factory.mktemp("etl-stack")
    try:
        stack = start_etl_stack(emulator.airflow_connection, base / "airflow", base)
    except StackError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def _api_server_still_running(request: pytest.FixtureRequest) -> None:
    """Fail a test that uses ``etl_stack`` at once, with the log's tail, if the api-server died."""
    if "etl_stack" not in request.fixturenames:
        return
    stack: EtlStack = request.getfixturevalue("etl_stack")
    try:
        stack.check_running()
    except StackError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page (own context, 1400x1000) in headless Debian Chromium driven by Playwright.

    A test that fails leaves a screenshot of the page as artifacts/screenshots/FAILED-<test>.png.
    """
    reason = browser_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        context = chromium.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            yield page
        finally:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                with contextlib.suppress(Exception):  # a dead page must not hide the test's own failure
                    save_screenshot(page, f"FAILED-{request.node.name}")
            context.close()
            chromium.close()


@pytest.fixture
def logged_in_page(browser: Page, etl_stack: EtlStack) -> Page:
    """``browser``, logged into ``etl_stack``'s UI as its admin (carrying the ``_token`` cookie)."""
    login(browser, etl_stack)
    return browser
