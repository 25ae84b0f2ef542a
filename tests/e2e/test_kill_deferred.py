"""Killing a deferred Batch task in a real Airflow terminates its AWS Batch job.

Starts ``airflow standalone`` (scheduler, triggerer, dag-processor, api-server) against the
emulator, triggers tests/e2e/dags_kill/kill_deferred.py, waits until its task is deferred and its
job RUNNING, marks the task failed through the REST API and checks that the triggerer's
``BatchJobTrigger.on_kill()`` terminated the job with a reason naming the DAG, run and task.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_batch_plugin.localrun import airflow_env
from tests.airflow_versions import needs_trigger_on_kill
from tests.e2e.cluster import trigger_taken
from tests.e2e.stack import shared_sqlite

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [pytest.mark.e2e, needs_trigger_on_kill]

DAGS = Path(__file__).parent / "dags_kill"
REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "kill_deferred"
TASK_ID = "long_job"
JOB_NAME = "kill-me"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
API_TIMEOUT_SECONDS = 180.0
DAG_TIMEOUT_SECONDS = 120.0
DEFER_TIMEOUT_SECONDS = 120.0
TERMINATE_TIMEOUT_SECONDS = 90.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Standalone:
    """A running ``airflow standalone`` and an authenticated REST client for it."""

    process: subprocess.Popen[bytes]
    home: Path
    output: Path
    api: httpx.Client

    def tail(self, lines: int = 80) -> str:
        """The last lines of the scheduler, triggerer and api-server (the dag-processor's, which
        repeat every few seconds and would fill the tail, left out)."""
        kept = [
            line
            for line in self.output.read_text(errors="replace").splitlines()
            if not line.startswith("dag-processor")
        ]
        return "\n".join(kept[-lines:])


def _wait_for(
    what: str, check: Callable[[], Any], timeout: float, standalone: Standalone | None = None
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the standalone output otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if standalone is not None and standalone.process.poll() is not None:
            pytest.fail(f"airflow standalone exited while waiting for {what}:\n{standalone.tail()}")
        try:
            result = check()
        except (httpx.HTTPError, OSError, ValueError, KeyError) as error:
            last_error, result = error, None
        if result:
            return result
        time.sleep(1)
    tail = standalone.tail() if standalone is not None else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})\n{tail}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, wait up to 30 s for it to go, then SIGKILL what is left."""
    pgid = process.pid  # start_new_session=True: the standalone process leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(pgid)):
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=15)


@pytest.fixture
def standalone(emulator, tmp_path: Path) -> Iterator[Standalone]:
    home = tmp_path / "airflow"
    home.mkdir()
    port = _free_port()
    env = airflow_env(home, emulator.airflow_connection, DAGS)
    env.update(
        {
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            **shared_sqlite(home),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    output = tmp_path / "standalone.log"
    with output.open("wb") as output_file:
        process = subprocess.Popen(
            ["airflow", "standalone"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base_url, timeout=10)
    running = Standalone(process=process, home=home, output=output, api=api)
    try:
        _wait_for(
            "the api-server",
            lambda: httpx.get(f"{base_url}/api/v2/version", timeout=5).is_success,
            API_TIMEOUT_SECONDS,
            running,
        )
        passwords_file = home / PASSWORDS_FILE
        password = _wait_for(
            "the admin password file", lambda: json.loads(passwords_file.read_text())["admin"], 30, running
        )
        token = api.post("/auth/token", json={"username": "admin", "password": password})
        token.raise_for_status()
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield running
    finally:
        api.close()
        _stop_group(process)


def _task_instance(standalone: Standalone, run_id: str) -> dict[str, Any]:
    response = standalone.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}")
    response.raise_for_status()
    return dict(response.json())


def _task_state(standalone: Standalone, run_id: str) -> str | None:
    return _task_instance(standalone, run_id)["state"]


def _jobs_named(emulator, name: str) -> list[dict[str, Any]]:
    batch = emulator.client("batch")
    summaries = batch.list_jobs(jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    ids = [summary["jobId"] for summary in summaries["jobSummaryList"]]
    return batch.describe_jobs(jobs=ids)["jobs"] if ids else []


def test_marking_a_deferred_task_failed_terminates_its_batch_job(standalone, emulator):
    api = standalone.api
    _wait_for(
        "the DAG to be parsed",
        lambda: api.get(f"/api/v2/dags/{DAG_ID}").is_success,
        DAG_TIMEOUT_SECONDS,
        standalone,
    )
    api.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
    created = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
    created.raise_for_status()
    run_id = created.json()["dag_run_id"]

    started = time.monotonic()
    _wait_for(
        "the task to be deferred",
        lambda: _task_state(standalone, run_id) == "deferred",
        DEFER_TIMEOUT_SECONDS,
        standalone,
    )
    deferred_after = time.monotonic() - started

    jobs = _wait_for(
        "one RUNNING job named kill-me",
        lambda: [j for j in _jobs_named(emulator, JOB_NAME) if j["status"] == "RUNNING"],
        60,
        standalone,
    )
    assert len(jobs) == 1, jobs
    job_id = jobs[0]["jobId"]
    # on_kill runs in the triggerer that runs the trigger: wait for the triggerer to have taken it.
    _wait_for(
        "the triggerer to take the task's trigger",
        lambda: trigger_taken(api, _task_instance(standalone, run_id)),
        DEFER_TIMEOUT_SECONDS,
        standalone,
    )

    patched = api.patch(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}", json={"new_state": "failed"}
    )
    patched.raise_for_status()
    killed_at = time.monotonic()

    batch = emulator.client("batch")

    def job_failed() -> dict[str, Any] | None:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        return job if job["status"] == "FAILED" else None

    job = _wait_for("the job to be terminated", job_failed, TERMINATE_TIMEOUT_SECONDS, standalone)
    terminated_after = time.monotonic() - killed_at
    print(
        f"deferred after {deferred_after:.1f}s; job FAILED {terminated_after:.1f}s after the kill; "
        f"statusReason={job.get('statusReason')!r}"
    )

    # The trigger's own log (written by the triggerer under AIRFLOW_HOME/logs) shows who terminated it.
    trigger_log = "\n".join(
        path.read_text(errors="replace")
        for path in (standalone.home / "logs").rglob(f"task_id={TASK_ID}/*.log.trigger.*.log")
    )
    assert "Trigger cancelled by user action, invoking on_kill" in trigger_log
    assert f"Terminating AWS Batch job {job_id}" in trigger_log
    assert job["statusReason"] == f"Terminated by Airflow: task {DAG_ID}/{run_id}/{TASK_ID} was stopped"
    assert _task_state(standalone, run_id) == "failed"
