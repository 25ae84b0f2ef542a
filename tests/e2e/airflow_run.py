"""Run a DAG with ``airflow dags test`` against the emulator and split its output by task."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_batch_plugin.links import JOB_LINKS
from airflow_batch_plugin.localrun import airflow_env, prepare_airflow_home, run_summary

_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
#: Airflow 3.0's ``dag.test()`` also copies every task log line to stdout through a handler of
#: its own (``add_logger_if_needed``), stamped like ``[2026-01-02 03:04:05,678]``; the usual copy
#: is stamped ``[2026-01-02T03:04:05.678+0000]``. Only the usual one is kept.
_SECOND_COPY = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] ")
#: An error-level line of a task log as ``airflow dags test`` prints it: structlog's console
#: renderer (``... [error    ] XCom not found [airflow.sdk.api.client] ...``), or the format of
#: Airflow's logging config (``[...] {client.py:391} ERROR - XCom not found``).
_ERROR_LEVEL = re.compile(r"\[error\s*\]|\bERROR - ")
#: How long one ``airflow dags test`` run may take unless its test says otherwise: a run that
#: hangs fails its fixture with the run's output, before pytest-timeout's per-test limit (300 s)
#: would stop it without.
DAG_RUN_TIMEOUT_SECONDS = 240.0


@dataclass
class DagTestRun:
    """What one ``airflow dags test`` run left: exit code, output, and the run's tasks."""

    returncode: int
    output: str
    summary: dict[str, Any]

    def state(self, task_id: str) -> str:
        return str(self.task(task_id)["state"])

    def task(self, task_id: str) -> dict[str, Any]:
        for task in self.summary["tasks"]:
            if task["task_id"] == task_id:
                return dict(task)
        raise KeyError(f"no task {task_id} in the run: {[t['task_id'] for t in self.summary['tasks']]}")

    def task_output(self, task_id: str) -> str:
        """Return every line printed while ``task_id`` ran (all its tries)."""
        lines: list[str] = []
        current: str | None = None
        for line in self.output.splitlines():
            if _SECOND_COPY.match(line):
                continue
            start = _START.search(line)
            if start:
                current = start.group(1)
            if current == task_id:
                lines.append(line)
            if _END.search(line):
                current = None
        return "\n".join(lines)

    def error_lines(self, task_id: str) -> list[str]:
        """Return the error-level lines ``task_id`` logged (all its tries)."""
        return [line for line in self.task_output(task_id).splitlines() if _ERROR_LEVEL.search(line)]


#: Migrated empty metadata databases of this process, by the settings that shape them.
_TEMPLATES: dict[str, Path] = {}
_TEMPLATES_LOCK = threading.Lock()


def _shapes_the_database(name: str) -> bool:
    """Whether an Airflow setting changes what ``airflow db migrate`` creates."""
    return name.startswith("AIRFLOW__DATABASE__") or name == "AIRFLOW__CORE__AUTH_MANAGER"


def prepare_home(env: dict[str, str]) -> None:
    """Give ``env``'s AIRFLOW_HOME a migrated metadata database, unless it has one already.

    ``airflow db migrate`` of an empty SQLite database costs about 5 s of CPU: this process
    migrates one per set of Airflow settings and copies it into each new home.
    """
    home = Path(env["AIRFLOW_HOME"])
    database = home / "airflow.db"
    if database.exists():  # a later run in the same home (its first one migrated it)
        return
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in env:  # not the home's SQLite file: migrate it
        prepare_airflow_home(env)
        return
    settings = sorted((name, value) for name, value in env.items() if _shapes_the_database(name))
    key = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
    with _TEMPLATES_LOCK:  # runs side by side (threads) wait for one migration
        template = _TEMPLATES.get(key)
        if template is None:
            template_home = Path(tempfile.mkdtemp(prefix="airflow-template-"))
            prepare_airflow_home({**env, "AIRFLOW_HOME": str(template_home)})
            template = _TEMPLATES[key] = template_home / "airflow.db"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, database)


def dags_test(
    dag_id: str,
    dags_folder: Path,
    home: Path,
    connection: str,
    conf: str | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = DAG_RUN_TIMEOUT_SECONDS,
) -> DagTestRun:
    """Run ``dag_id`` once with a fresh metadata database in ``home`` (``extra_env`` on top).

    A run that has not ended after ``timeout`` seconds is killed (with everything it started)
    and the test fails with its output.
    """
    env = {
        **airflow_env(home, connection, dags_folder),
        # Wide enough that a failure's message is never wrapped (Airflow 3.0 prints it with rich).
        "COLUMNS": "1000",
        # Airflow 3.1 and 3.2 print the task logs on stdout and the [DAG TEST] lines on stderr:
        # one unbuffered stream keeps them in the order they were written.
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    prepare_home(env)
    command = [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id]
    with subprocess.Popen(
        [*command, *(["-c", conf] if conf else [])],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            pytest.fail(
                f"airflow dags test {dag_id} did not end within {timeout:.0f} s; its output ends with:\n"
                f"{output[-6000:]}",
                pytrace=False,
            )
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # nothing the run started outlives it
    return DagTestRun(process.returncode, output, run_summary(dag_id, env))


#: What Airflow itself logs at error level when a try fails.
FAILURE_REPORTS = ("Task failed with exception", "Process timed out")


def link_urls(run: DagTestRun, task_id: str) -> dict[str, str]:
    """What each job link answered at the task's end (Airflow stores it under the link's XCom key)."""
    xcoms = run.task(task_id)["xcoms"]
    return {link.key: xcoms[link.xcom_key] for link in JOB_LINKS if link.xcom_key in xcoms}


def assert_only_failure_reports(run: DagTestRun) -> None:
    """No task logged an error-level line but Airflow's report of a failed try (no ``XCom not found``)."""
    for task in run.summary["tasks"]:
        errors = run.error_lines(task["task_id"])
        others = [line for line in errors if not any(report in line for report in FAILURE_REPORTS)]
        assert not others, f"{task['task_id']} logged errors beyond its failure:\n" + "\n".join(others)
        if task["state"] == "success" and task["try_number"] == 1:
            assert errors == [], f"{task['task_id']} succeeded at once yet logged errors: {errors}"
