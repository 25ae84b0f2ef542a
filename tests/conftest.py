"""Shared pytest fixtures: the local AWS Batch emulator as a subprocess, and an Airflow connection to it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from tests.shape_report import ShapeViolationWatch, shape_failure

# Airflow reads its home at import time: every test run gets a throwaway one, never the user's.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-batch-tests-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# Every emulator the tests start (subprocess or in-process) checks its answers against botocore's
# output shapes; the fixtures below fail the test during which one differed.
os.environ.setdefault("AWS_BATCH_LOCAL_CHECK_SHAPES", "1")

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _pytest.tmpdir import TempPathFactory

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_MARKER = "export AIRFLOW_CONN_AWS_DEFAULT="
STARTUP_TIMEOUT_SECONDS = 60.0
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


#: The test modules that take longest, longest first. ``make test`` runs the suite on several
#: pytest-xdist workers, which take groups of tests (see ``work_group``) in collection order:
#: these start first so that none of them is left running alone at the end. Then the other
#: end-to-end modules, the integration modules, and the unit tests (small, quick groups that fill
#: the workers' gaps).
SLOWEST_FIRST = (
    "tests/e2e/test_fault_late_fanout.py",
    "tests/e2e/test_batch_infra_dag.py",
    "tests/e2e/test_fault_etl.py",
    "tests/e2e/test_job_kinds.py",
    "tests/e2e/test_operator_scenarios.py",
)
#: The slowest of the other modules (20-60 s each): they go right after the end-to-end ones, so
#: that the quick groups are what is left at the end.
SLOW_FILLERS = (
    "tests/integration/test_fault_fanout.py",
    "tests/integration/test_emulator.py",
    "tests/integration/test_fault_late_writes.py",
    "tests/unit/test_submit_in_flight.py",
)
TIERS = ("tests/e2e/", "tests/integration/", "tests/unit/")
#: The modules whose tests share ``etl_stack`` (one api-server per session) run in one group, after
#: test_batch_etl_dag, which runs batch_etl on the same session emulator and wants its run to be
#: the first there (the first registers the job definition).
STACK_GROUP = "etl_stack"
STACK_MODULES = (
    "tests/e2e/test_batch_etl_dag.py",
    "tests/e2e/test_airflow_ui.py",
    "tests/e2e/test_batch_view.py",
    "tests/e2e/test_batch_view_console.py",
    "tests/e2e/test_batch_view_live.py",
)
#: Modules whose module-scoped parametrized fixture runs a whole DAG per parameter: each
#: parameter's tests make a group of their own, so that the runs go side by side.
SPLIT_BY_PARAMETER = ("tests/e2e/test_fault_etl.py",)


def work_group(nodeid: str) -> str:
    """The group of tests that run on one worker, one after another (module fixtures run once).

    Worked out from the test's id alone: pytest-xdist's controller, which hands out the groups,
    sees only ids.
    """
    module, _, rest = nodeid.partition("::")
    if module in STACK_MODULES:
        return STACK_GROUP
    if module in SPLIT_BY_PARAMETER and rest.endswith("]"):
        return f"{module}[{rest.rpartition('[')[2]}"
    return module


def _rank(item: pytest.Item) -> tuple[int, int]:
    """Slowest first, then the ``etl_stack`` group, the other end-to-end modules, the slow fillers,
    the integration modules and the unit modules."""
    module = item.nodeid.partition("::")[0]
    after_slowest = len(SLOWEST_FIRST)
    if module in SLOWEST_FIRST:
        return SLOWEST_FIRST.index(module), 0
    if module in STACK_MODULES:
        return after_slowest, STACK_MODULES.index(module) > 0
    if module in SLOW_FILLERS:
        return after_slowest + 2, SLOW_FILLERS.index(module)
    tier = next((index for index, prefix in enumerate(TIERS) if module.startswith(prefix)), len(TIERS))
    return after_slowest + 1 + (2 * tier if tier else 0), 0


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests slowest modules first; within a rank the collection order is kept.

    The ``etl_stack`` tests stay together (test_batch_etl_dag's first), so that its api-server is
    up only while they run when the suite runs in one process.
    """
    items.sort(key=_rank)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Hand out ``work_group``s in collection order (``--no-loadscope-reorder``), each to one worker.

    (pytest-xdist's own ``--dist loadgroup`` cannot be used: it marks groups by rewriting a test's
    id in a way pytest 9 ignores.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class WorkGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_group(nodeid)

    return WorkGroupScheduling(config, log)


@dataclass(frozen=True)
class EmulatorHandle:
    """Where the emulator listens and what the bootstrap created there."""

    endpoint_url: str
    airflow_connection: str
    region: str
    job_queue: str
    fargate_job_queue: str
    eks_job_queue: str
    compute_environment: str
    shape_watch: ShapeViolationWatch

    def client(self, service_name: str) -> Any:
        """Return a boto3 client for ``service_name`` pointed at the emulator, with dummy credentials."""
        return boto3.client(
            service_name,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            **DUMMY_CREDENTIALS,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(process: subprocess.Popen[bytes], output_path: Path) -> str:
    """Return the emulator's startup output once it printed the connection line; fail clearly otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        output = output_path.read_text(errors="replace")
        if READY_MARKER in output:
            return output
        if process.poll() is not None:
            raise RuntimeError(
                f"emulator exited with code {process.returncode} before it was ready:\n{output}"
            )
        time.sleep(0.1)
    process.kill()
    output = output_path.read_text(errors="replace")
    raise RuntimeError(f"emulator not ready after {STARTUP_TIMEOUT_SECONDS:.0f}s:\n{output}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: TempPathFactory) -> Iterator[EmulatorHandle]:
    """Start ``python -m aws_batch_local`` once per session and yield a handle to it.

    It runs with ``--check-shapes``: ``_emulator_answers_match_botocore`` fails each test during
    which it answered something botocore's model does not allow, and the session's end fails if
    anything is left unreported.
    """
    from aws_batch_local.bootstrap import (
        DEFAULT_COMPUTE_ENVIRONMENT,
        DEFAULT_JOB_QUEUE,
        EKS_JOB_QUEUE,
        FARGATE_JOB_QUEUE,
    )

    port = _free_port()
    region = "us-east-1"
    output_path = tmp_path_factory.mktemp("emulator") / "output.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    with output_path.open("wb") as output_file:
        command = [sys.executable, "-m", "aws_batch_local", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--region", region, "--check-shapes"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=subprocess.STDOUT,
        )
    try:
        output = _wait_until_ready(process, output_path)
        connection_line = next(line for line in output.splitlines() if line.startswith(READY_MARKER))
        airflow_connection = connection_line.removeprefix(READY_MARKER).strip("'")
        endpoint_url = json.loads(airflow_connection)["extra"]["endpoint_url"]
        handle = EmulatorHandle(
            endpoint_url=endpoint_url,
            airflow_connection=airflow_connection,
            region=region,
            job_queue=DEFAULT_JOB_QUEUE,
            fargate_job_queue=FARGATE_JOB_QUEUE,
            eks_job_queue=EKS_JOB_QUEUE,
            compute_environment=DEFAULT_COMPUTE_ENVIRONMENT,
            shape_watch=ShapeViolationWatch(endpoint_url),
        )
        yield handle
        handle.shape_watch.check("after the last test's fixtures")
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def _emulator_answers_match_botocore(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that uses ``emulator`` if the emulator's answers differed from botocore's shapes.

    Read after the test and its function fixtures; what module fixtures caused shows up in the
    first test that used them.
    """
    if "emulator" not in request.fixturenames:
        yield
        return
    handle: EmulatorHandle = request.getfixturevalue("emulator")
    yield
    new = handle.shape_watch.new_violations()
    if new:
        pytest.fail(str(shape_failure(new, f"during {request.node.nodeid}")), pytrace=False)


@pytest.fixture
def aws_conn_env(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """Point Airflow's ``aws_default`` connection and boto3's defaults at the emulator for one test."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", emulator.airflow_connection)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    return emulator
