"""A real Airflow made of separate processes, so a test can kill and restart one of them.

``AirflowCluster`` migrates a fresh SQLite database, then starts ``airflow api-server``,
``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer``, each in its own process group
with its own log, all with the emulator as ``aws_default``. Tests drive it through the REST API
(``api``), find a running task's process (``task_process``), and kill or restart the triggerer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from airflow_batch_plugin.localrun import prepare_airflow_home
from tests.e2e.stack import (
    StackError,
    admin_token,
    free_port,
    shared_sqlite,
    stack_env,
    stop_process_group,
    tail_of,
    wait_for,
    write_admin_password,
)

if TYPE_CHECKING:
    from collections.abc import Callable

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
START_TIMEOUT_SECONDS = 180.0


@dataclass
class AirflowCluster:
    """Airflow's components as separate processes over one database (see the module docstring)."""

    home: Path
    dags_folder: Path
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    api: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.api = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- processes --------------------------------------------------------------------------------

    def log_path(self, component: str) -> Path:
        return self.home / f"{component}-{self.restarts.get(component, 0)}.log"

    def start(self, component: str) -> None:
        """Start one component in its own process group."""
        airflow = str(Path(self.env["PATH"].split(os.pathsep)[0]) / "airflow")  # the venv's
        command = [airflow, component]
        if component == "api-server":
            command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        with self.log_path(component).open("wb") as log:
            self.processes[component] = subprocess.Popen(
                command,
                cwd=self.home,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, component: str) -> None:
        """SIGKILL a component's whole process group (no chance to clean up), and wait for it."""
        process = self.processes[component]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, component: str) -> None:
        """Start a killed component again, with a fresh log."""
        self.restarts[component] = self.restarts.get(component, 0) + 1
        self.start(component)

    def check_running(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(
                    f"airflow {component} exited with code {process.returncode}:\n{self.tail(component)}"
                )

    def tail(self, component: str, lines: int = 60) -> str:
        return tail_of(self.log_path(component), lines)

    def tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.tail(name, 30)}" for name in self.processes)

    def stop(self) -> None:
        self.api.close()
        for process in self.processes.values():
            stop_process_group(process)

    # -- the REST API -----------------------------------------------------------------------------

    def wait(self, what: str, check: Callable[[], Any], timeout: float, alive: bool = True) -> Any:
        """Wait for ``check``; on timeout fail with every component's log tail."""
        try:
            return wait_for(what, check, timeout, self.check_running if alive else None)
        except StackError as error:
            raise StackError(f"{error}\n{self.tails()}") from None

    def trigger(self, dag_id: str) -> str:
        """Unpause ``dag_id`` (waiting for the DAG processor to have parsed it) and start a run."""

        def parsed() -> bool:
            return self.api.get(f"/api/v2/dags/{dag_id}").status_code == 200

        self.wait(f"DAG {dag_id} to be parsed", parsed, 120)
        self.api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
        response = self.api.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        response.raise_for_status()
        return str(response.json()["dag_run_id"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        response.raise_for_status()
        return dict(response.json())

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self.task_instance(dag_id, run_id, task_id).get("state")

    def trigger_taken(self, dag_id: str, run_id: str, task_id: str) -> bool:
        """Tell whether the triggerer running now (the newest) has taken the deferred task's trigger.

        A trigger's ``on_kill`` runs only in a triggerer that runs the trigger: a task cleared or
        marked failed while its trigger still waits for a triggerer (e.g. the one that had it was
        killed) ends without it. So a test of ``on_kill`` first sees the trigger taken.
        """
        return trigger_taken(self.api, self.task_instance(dag_id, run_id, task_id))

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        response = self.api.patch(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": state}
        )
        response.raise_for_status()

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        response = self.api.post(
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "task_ids": [task_id], "dag_run_id": run_id, "only_failed": False},
        )
        response.raise_for_status()


def trigger_taken(api: Any, task_instance: dict[str, Any]) -> bool:
    """Tell whether ``task_instance``'s trigger is assigned to the newest triggerer job (REST ``api``)."""
    trigger = task_instance.get("trigger") or {}
    if trigger.get("triggerer_id") is None:
        return False
    response = api.get("/api/v2/jobs", params={"job_type": "TriggererJob", "limit": 100})
    response.raise_for_status()
    newest = max((job["id"] for job in response.json()["jobs"]), default=None)
    return bool(trigger["triggerer_id"] == newest)


def task_process_ids(ti_id: str) -> list[int]:
    """The processes running task instance ``ti_id`` (its title is ``airflow worker -- <id>``)."""
    result = subprocess.run(
        ["pgrep", "-f", f"airflow worker -- {ti_id}"], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in result.stdout.split()]


def start_cluster(emulator_connection: str, home: Path, dags_folder: Path) -> AirflowCluster:
    """Migrate a fresh database in ``home`` and start every component; log in as admin."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = stack_env(home, emulator_connection, port)
    env.update(
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            **shared_sqlite(home),
        }
    )
    password = write_admin_password(home)
    prepare_airflow_home(env)
    cluster = AirflowCluster(home=home, dags_folder=dags_folder, env=env, port=port)
    try:
        for component in COMPONENTS:
            cluster.start(component)
        cluster.wait(
            "the api-server",
            lambda: httpx.get(f"{cluster.base_url}/api/v2/version", timeout=5).is_success,
            START_TIMEOUT_SECONDS,
        )
        token = admin_token(cluster.base_url, "admin", password)
        cluster.api.headers["Authorization"] = f"Bearer {token}"
    except BaseException:
        cluster.stop()
        raise
    return cluster
