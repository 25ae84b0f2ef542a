"""A real Airflow api-server over a database holding one run of the example DAG, and a browser for it.

``start_etl_stack`` runs ``dags/batch_etl.py`` once with ``airflow dags test`` against the emulator
in a fresh AIRFLOW_HOME, then starts ``airflow api-server`` on 127.0.0.1 with the same environment
(same SQLite database, same ``aws_default`` connection to the emulator) in its own process group,
waits until it answers and logs in with SimpleAuthManager's admin user (two more users, for
permission checks: ``editor``, role User, may edit DAGs; ``viewer``, role Viewer, reads only).
``EtlStack.stop`` ends the whole process group.

The browser helpers (``launch_chromium``, ``login``, ``save_screenshot``) drive Debian's Chromium
(``/usr/bin/chromium``) with Playwright; Playwright itself is imported only when a browser is
wanted, so this module imports without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from airflow_batch_plugin.localrun import airflow_env
from tests.e2e.airflow_run import DagTestRun, dags_test

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Browser, Page, Playwright, ViewportSize

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
DAG_ID = "batch_etl"
# Three partitions of 200 rows: array jobs with children, small enough to run in well under a minute.
ETL_CONF = json.dumps({"partitions": 3, "rows_per_partition": 200})
ADMIN_USERNAME = "admin"
#: SimpleAuthManager's users and their roles (``[core] simple_auth_manager_users``).
USER_ROLES = {ADMIN_USERNAME: "admin", "editor": "user", "viewer": "viewer"}
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
API_SERVER_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium stalls on a closed network, trying to reach
# Google's update, sync and component servers at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
UI_TIMEOUT_MS = 30_000


class StackError(RuntimeError):
    """The stack could not be brought up; the message says why, with the relevant output."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail_of(path: Path, lines: int = 80) -> str:
    """Return the last ``lines`` lines of the text file at ``path`` ('' if it does not exist)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class EtlStack:
    """A running ``airflow api-server`` over a database with one finished run of ``batch_etl``.

    :param base_url: where the api-server listens, ``http://127.0.0.1:PORT`` (no trailing slash)
    :param home: the AIRFLOW_HOME shared by ``airflow dags test`` and the api-server
    :param env: the environment both ran with (AIRFLOW_HOME, AIRFLOW_CONN_AWS_DEFAULT, PATH, ...)
    :param dag_run: what ``airflow dags test batch_etl`` left: ``dag_run.summary["run_id"]``, tasks
    :param api: an httpx client on ``base_url`` sending ``Authorization: Bearer <admin token>``
    :param username: SimpleAuthManager's admin user
    :param password: its password (also in ``home/simple_auth_manager_passwords.json.generated``)
    :param api_server_log: the api-server's stdout and stderr
    :param process: the api-server process, leader of its own process group
    :param timings: seconds taken by ``dags_test`` and by the api-server to answer and log in
    :param passwords: every user's password (``USER_ROLES`` names them and their roles)
    """

    base_url: str
    home: Path
    env: dict[str, str]
    dag_run: DagTestRun
    api: httpx.Client
    username: str
    password: str
    api_server_log: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def dag_id(self) -> str:
        return DAG_ID

    @property
    def run_id(self) -> str:
        return str(self.dag_run.summary["run_id"])

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` (``/dags/batch_etl``) on the api-server."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def tail(self, lines: int = 80) -> str:
        """Return the last lines of the api-server's log, for failure messages."""
        return tail_of(self.api_server_log, lines)

    def running(self) -> bool:
        return self.process.poll() is None

    def check_running(self) -> None:
        """Raise StackError with the log's tail if the api-server has exited."""
        if not self.running():
            raise StackError(
                f"the api-server exited with code {self.process.returncode}; "
                f"its log ({self.api_server_log}) ends with:\n{self.tail()}"
            )

    def stop(self) -> None:
        """Close the REST client and end the api-server's whole process group."""
        self.api.close()
        stop_process_group(self.process)


#: SQLite's wait for a lock held by another of the stack's processes (pysqlite's default: 5 s). A
#: scheduler, triggerer, dag-processor and api-server share one file; on a busy machine (the
#: suite's parallel workers) a writer can hold it longer, and the scheduler then exits on
#: "database is locked".
SQLITE_LOCK_TIMEOUT_SECONDS = 60


def shared_sqlite(home: Path) -> dict[str, str]:
    """Return the settings that point every process of a stack at ``home``'s SQLite database, with
    a lock timeout long enough for several processes writing on a busy machine."""
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"sqlite:///{home / 'airflow.db'}?timeout={SQLITE_LOCK_TIMEOUT_SECONDS}"
        )
    }


def stack_env(home: Path, connection: str, port: int) -> dict[str, str]:
    """Return the environment shared by ``airflow dags test`` and ``airflow api-server``."""
    env = airflow_env(home, connection, DAGS_FOLDER)
    env.update(
        {
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__WORKERS": "1",
            # One secret for every process that signs or checks tokens, instead of one per process.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{name}:{role}" for name, role in USER_ROLES.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def write_passwords(home: Path) -> dict[str, str]:
    """Write SimpleAuthManager's passwords file with a fresh password for each of ``USER_ROLES``.

    SimpleAuthManager only generates passwords for users missing from this file, so the
    api-server keeps these: no need to wait for it to write the file and parse its output.
    """
    passwords = {name: secrets.token_urlsafe(16) for name in USER_ROLES}
    (home / PASSWORDS_FILE).write_text(json.dumps(passwords) + "\n")
    return passwords


def write_admin_password(home: Path) -> str:
    """Write the passwords file (``write_passwords``) and return the admin's password."""
    return write_passwords(home)[ADMIN_USERNAME]


def run_etl_dag(home: Path, env: dict[str, str]) -> DagTestRun:
    """Run ``batch_etl`` once with ``airflow dags test``; raise StackError unless it succeeded."""
    run = dags_test(DAG_ID, DAGS_FOLDER, home, env["AIRFLOW_CONN_AWS_DEFAULT"], ETL_CONF, extra_env=env)
    states = {task["task_id"]: task["state"] for task in run.summary["tasks"]}
    if run.returncode != 0 or run.summary["state"] != "success":
        raise StackError(
            f"airflow dags test {DAG_ID} did not succeed (exit code {run.returncode}, run state "
            f"{run.summary['state']}, tasks {states}); its output ends with:\n{run.output[-4000:]}"
        )
    return run


def start_api_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``airflow api-server`` on 127.0.0.1:``port`` in its own process group, output to ``log_path``."""
    airflow = str(Path(env["PATH"].split(os.pathsep)[0]) / "airflow")
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=env["AIRFLOW_HOME"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, alive: Callable[[], None] | None = None
) -> Any:
    """Poll ``check`` until it returns something truthy and return it; raise StackError on timeout.

    ``alive`` is called before every try and raises when what is awaited can no longer come.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            result = check()
        except (httpx.HTTPError, OSError, ValueError, KeyError) as error:
            last_error, result = error, None
        if result:
            return result
        time.sleep(0.5)
    raise StackError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")


def admin_token(base_url: str, username: str, password: str) -> str:
    """Log in through ``POST /auth/token`` and return the JWT."""
    response = httpx.post(
        f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=10
    )
    if response.status_code != 201:
        raise StackError(f"POST /auth/token as {username} answered {response.status_code}: {response.text}")
    return str(response.json()["access_token"])


def start_etl_stack(emulator_connection: str, home: Path, log_dir: Path) -> EtlStack:
    """Run ``batch_etl`` once in ``home`` and start an api-server over its database (see the module)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = stack_env(home, emulator_connection, port)
    passwords = write_passwords(home)
    password = passwords[ADMIN_USERNAME]
    started = time.monotonic()
    dag_run = run_etl_dag(home, env)
    dags_test_seconds = time.monotonic() - started

    base_url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "api-server.log"
    process = start_api_server(env, port, log_path)
    stack = EtlStack(
        base_url=base_url,
        home=home,
        env=env,
        dag_run=dag_run,
        api=httpx.Client(base_url=base_url, timeout=30),
        username=ADMIN_USERNAME,
        password=password,
        api_server_log=log_path,
        process=process,
        timings={"dags_test": round(dags_test_seconds, 1)},
        passwords=passwords,
    )
    started = time.monotonic()
    try:
        try:
            wait_for(
                "the api-server to answer GET /api/v2/version",
                lambda: httpx.get(f"{base_url}/api/v2/version", timeout=5).is_success,
                API_SERVER_TIMEOUT_SECONDS,
                stack.check_running,
            )
        except StackError as error:
            if not stack.running():  # check_running's message already carries the log's tail
                raise
            raise StackError(f"{error}\napi-server log ({log_path}) ends with:\n{stack.tail()}") from None
        token = admin_token(base_url, ADMIN_USERNAME, password)
        stack.api.headers["Authorization"] = f"Bearer {token}"
        stack.timings["api_server"] = round(time.monotonic() - started, 1)
    except BaseException:
        stack.stop()
        raise
    return stack


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``process``'s whole group (it leads one), wait for it to go, then SIGKILL what is left."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(pgid)):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=15)


# --- the browser ---------------------------------------------------------------------------------


def browser_unavailable() -> str | None:
    """Return why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: install Debian's chromium and chromium-driver "
            "(`make test` does it as root: apt-get install chromium chromium-driver)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (it is in the dev group: pip install --group dev)"
    return None


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's Chromium headless, with the flags it needs on a closed network.

    Playwright gives every launch a fresh, empty ``--user-data-dir`` of its own.
    """
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def login(page: Page, stack: EtlStack, username: str | None = None) -> None:
    """Log into the Airflow UI through SimpleAuthManager's login form as ``username`` (default:
    the stack's admin; else one of ``USER_ROLES``).

    Afterwards the page shows the UI's home and its context carries Airflow's ``_token`` cookie.
    """
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    page.goto(stack.url("/"))
    # The UI sends a visitor without a token to /auth/login?next=...
    page.wait_for_url(re.compile(r"/auth/login"), timeout=UI_TIMEOUT_MS)
    name = username or stack.username
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(stack.passwords.get(name, stack.password))
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=UI_TIMEOUT_MS)
    cookies = {cookie.get("name") for cookie in page.context.cookies(stack.base_url)}
    if COOKIE_NAME_JWT_TOKEN not in cookies:
        names = sorted(str(name) for name in cookies)
        raise StackError(f"no {COOKIE_NAME_JWT_TOKEN} cookie after the form login (cookies: {names})")


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of ``page`` as ``artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).removesuffix('.png')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
