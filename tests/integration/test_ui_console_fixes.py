# ruff: noqa: F811  (the fixtures of test_ui_view, imported, are the tests' arguments)
"""Fixes found driving the view end to end as an operator's console (tests/e2e/test_batch_view_console.py).

- The jobs page reads the time window it is given in the timezone its pages show and name
  (``[core] default_timezone``), so a time copied from a page, or echoed back in the form and
  submitted again, means the same moment.
- A job that ended without starting (terminated while RUNNABLE) shows when it stopped without an
  empty duration, and says it has no log because it never started (not "not started yet").
"""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from airflow_batch_plugin.ui.finder import parse_time
from tests.integration.test_ui_view import (  # noqa: F401  (fixtures)
    jobs,
    until,
    view,
    waiting_job,
)


def test_parse_time_reads_naive_times_in_the_zone_given() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30, no daylight saving time
    noon_utc = int(datetime.datetime(2025, 1, 31, 12, 0, tzinfo=datetime.UTC).timestamp() * 1000)
    assert parse_time("2025-01-31 12:00") == noon_utc, "UTC when no zone is given"
    assert parse_time("2025-01-31 17:30", kolkata) == noon_utc
    assert parse_time("2025-01-31T12:00Z", kolkata) == noon_utc, "an offset named wins"
    assert parse_time("2025-01-31T13:00+01:00", kolkata) == noon_utc
    assert parse_time(str(noon_utc), kolkata) == noon_utc


def test_the_jobs_pages_time_window_is_in_the_configured_timezone(view, jobs, emulator, monkeypatch) -> None:
    client, _, _ = view
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Kolkata")
    params = {"region": emulator.region, "queue": emulator.job_queue}
    created = client.get(f"/api/jobs/{jobs['single']}", params={"region": emulator.region}).json()["row"][
        "created_at"
    ]
    shown = datetime.datetime.fromtimestamp(created / 1000, tz=ZoneInfo("Asia/Kolkata"))
    # A time as the pages show it (to the second) picks the job when typed into the form.
    typed = f"{shown:%Y-%m-%d %H:%M:%S}"
    after = {
        job["job_id"]
        for job in client.get("/api/jobs", params={**params, "created_after": typed}).json()["jobs"]
    }
    assert jobs["single"] in after
    # The form shows the window back in that zone, and says so; submitted again, it is the same window.
    html = client.get("/jobs", params={**params, "created_after": typed}).text
    assert "Created after (Asia/Kolkata)" in html
    assert re.search(rf'name="created_after" value="{re.escape(typed)}"', html)
    assert "Times are UTC" not in html


def test_a_job_that_ended_without_starting_says_so(view, waiting_job, emulator) -> None:
    client, _, _ = view
    batch = emulator.client("batch")
    job_id = waiting_job["job"]
    batch.terminate_job(jobId=job_id, reason="cancelled while it waited")
    until(lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "FAILED")
    params = {"region": emulator.region}
    html = client.get(f"/jobs/{job_id}", params=params).text
    assert re.search(
        r"<dt>Stopped</dt><dd>[^<]+ UTC <span class=\"muted\">\(never started\)</span></dd>", html
    )
    assert "()" not in html
    assert "No log: the job ended without starting." in html
    assert "No log yet" not in html
    log = client.get(f"/jobs/{job_id}/log", params=params).text
    assert "No log: the job ended without starting." in log
