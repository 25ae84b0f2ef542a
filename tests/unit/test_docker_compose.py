"""docker-compose.yaml (and its AWS override) read as Compose would read them, without a Docker engine.

The files are loaded with PyYAML (anchors and ``<<`` merge keys resolved, Compose's ``!override``
tag kept as a marker), ``${VAR:-default}`` is resolved with the defaults, and the AWS override is
merged onto the base file with Compose's merge rules. The checks are those a broken stack would
fail: missing services or healthchecks, wrong dependency conditions, an image that does not match
the Airflow this project is developed against, a connection that does not reach the emulator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from aws_batch_local.__main__ import parse_arguments
from aws_batch_local.bootstrap import DEMO_BUCKET
from aws_batch_local.server import airflow_connection_json

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
AWS_OVERRIDE_FILE = REPO_ROOT / "docker-compose.aws.yaml"
DOCKERFILE = REPO_ROOT / "docker" / "airflow" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

EMULATOR = "batch-emulator"
INIT = "airflow-init"
API_SERVER = "airflow-apiserver"
LONG_RUNNING_AIRFLOW = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
AIRFLOW_SERVICES = (INIT, *LONG_RUNNING_AIRFLOW)
EXPECTED_SERVICES = {"postgres", EMULATOR, *AIRFLOW_SERVICES}
HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"


class Override(dict[str, Any]):
    """A mapping tagged ``!override``: Compose replaces the earlier files' value with it."""


class ComposeLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus the ``!override`` tag of Compose's merge rules."""


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, "!override on a non-mapping", node.start_mark)
    return Override(loader.construct_mapping(node, deep=True))


ComposeLoader.add_constructor("!override", _construct_override)

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str] | None = None) -> Any:
    """Resolve ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$`` as Compose does."""
    env = env or {}
    if isinstance(value, dict):
        return type(value)({key: interpolate(item, env) for key, item in value.items()})
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = env.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op and op.endswith("?") and missing:
            raise LookupError(f"{name}: {arg}")
        if op and op.endswith("-") and missing:
            return arg
        return current or ""

    return _VARIABLE.sub(replace, value)


def load(path: Path) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=ComposeLoader))


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of a later file onto an earlier one (mappings merge, sequences append)."""
    if isinstance(override, Override):
        return dict(override)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolate(load(COMPOSE_FILE))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_env(compose) -> dict[str, str]:
    return compose["x-airflow-common"]["environment"]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Return {dependency: condition}; the short list form means service_started."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in declared.items()}


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Return {source: target} of the service's short-form volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_options = volume.split(":")
        mounts[source] = target
    return mounts


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """Return {container port: host port} of the service's short-form ports."""
    ports = {}
    for mapping in service.get("ports", []):
        host, container = str(mapping).rsplit(":", 1)
        ports[int(container)] = int(host.rsplit(":", 1)[-1])
    return ports


def emulator_arguments(services) -> Any:
    command = services[EMULATOR]["command"]
    assert command[0] == "aws-batch-local"  # the emulator distribution's console script
    return parse_arguments(command[1:])


def test_the_stack_is_local_executor_airflow_with_the_emulator(services, airflow_env):
    assert set(services) == EXPECTED_SERVICES
    assert airflow_env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not [key for key in airflow_env if "CELERY" in key]
    assert [services[name]["command"] for name in LONG_RUNNING_AIRFLOW] == [
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
    ]


def test_every_airflow_service_and_the_emulator_use_the_one_image(services):
    built = {name: (services[name].get("image"), services[name].get("build")) for name in services}
    images = {built[name][0] for name in (*AIRFLOW_SERVICES, EMULATOR)}
    builds = [built[name][1] for name in (*AIRFLOW_SERVICES, EMULATOR)]
    assert len(images) == 1
    assert None not in images
    assert all(build == builds[0] for build in builds)
    assert builds[0]["context"] == "."
    assert (REPO_ROOT / builds[0]["context"] / builds[0]["dockerfile"]).resolve() == DOCKERFILE
    assert services["postgres"]["image"].startswith("postgres:")


def test_dependency_conditions(services):
    for name in AIRFLOW_SERVICES:
        dependencies = depends_on(services[name])
        assert dependencies["postgres"] == HEALTHY, name
        assert dependencies[EMULATOR] == HEALTHY, name
        if name != INIT:
            assert dependencies[INIT] == COMPLETED, name
    assert INIT not in depends_on(services[INIT])
    assert not depends_on(services["postgres"])
    assert not depends_on(services[EMULATOR])


def test_every_service_waited_for_as_healthy_has_a_healthcheck(services):
    waited_for = {
        dependency
        for service in services.values()
        for dependency, condition in depends_on(service).items()
        if condition == HEALTHY
    }
    assert waited_for == {"postgres", EMULATOR}
    for name in waited_for | set(LONG_RUNNING_AIRFLOW):
        healthcheck = services[name].get("healthcheck", {})
        assert not healthcheck.get("disable", False), name
        assert healthcheck.get("test", [])[0] in ("CMD", "CMD-SHELL"), name
        assert len(healthcheck["test"]) > 1, name
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def test_healthchecks_probe_what_each_service_serves(services, airflow_env):
    api_test = services[API_SERVER]["healthcheck"]["test"]
    api_url = urlsplit(api_test[-1])
    assert api_url.port in published_ports(services[API_SERVER])
    assert api_url.path in ("/api/v2/version", "/api/v2/monitor/health")

    assert airflow_env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert urlsplit(services["airflow-scheduler"]["healthcheck"]["test"][-1]).port == 8974

    for name, job_type in (
        ("airflow-dag-processor", "DagProcessorJob"),
        ("airflow-triggerer", "TriggererJob"),
    ):
        check = services[name]["healthcheck"]["test"][-1]
        assert f"airflow jobs check --job-type {job_type} " in check, name

    emulator_probe = urlsplit(services[EMULATOR]["healthcheck"]["test"][-1])
    assert emulator_probe.port == emulator_arguments(services).port
    assert emulator_probe.path == f"/{DEMO_BUCKET}"  # the bootstrap creates the bucket last


def test_the_dags_folder_is_the_checkout_dags(services, airflow_env):
    dags_folder = airflow_env["AIRFLOW__CORE__DAGS_FOLDER"]
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == dags_folder, name
        assert bind_mounts(services[name])["./dags"] == dags_folder, name
    assert (REPO_ROOT / "dags" / "batch_etl.py").is_file()
    assert airflow_env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"


def test_services_share_the_config_and_the_password_file_on_a_volume(compose, services, airflow_env):
    for variable in ("AIRFLOW_CONFIG", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
        directory = str(Path(airflow_env[variable]).parent)
        for name in AIRFLOW_SERVICES:
            volume = {target: source for source, target in bind_mounts(services[name]).items()}[directory]
            assert volume in compose["volumes"], (variable, name)
    assert services[INIT]["user"] == "0:0"  # it chowns the volumes for the others
    assert services[API_SERVER]["user"] == "50000:0"


def test_init_migrates_and_writes_the_login_of_the_configured_user(services, airflow_env):
    script = services[INIT]["command"][-1]
    assert services[INIT]["entrypoint"] == "/bin/bash"
    assert "/entrypoint airflow db migrate" in script
    assert "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}" in script
    auth_manager = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    assert airflow_env["AIRFLOW__CORE__AUTH_MANAGER"] == auth_manager
    [user] = [
        entry.split(":")[0] for entry in airflow_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")
    ]
    [code] = re.findall(r"python -c '([^']*)'", script)
    written = subprocess.run(
        [sys.executable, "-c", code],
        env={"_AIRFLOW_ADMIN_PASSWORD": "s3cret"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(written) == {user: "s3cret"}
    assert services[INIT]["environment"]["_AIRFLOW_ADMIN_PASSWORD"] == "admin"


def test_workers_reach_the_execution_api_of_the_api_server(services, airflow_env):
    url = urlsplit(airflow_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == API_SERVER
    assert url.port in published_ports(services[API_SERVER])
    assert url.path == "/execution/"


def test_the_api_server_is_published_on_8080(services):
    assert published_ports(services[API_SERVER]) == {8080: 8080}


def test_aws_default_is_the_emulator_connection(services, airflow_env):
    arguments = emulator_arguments(services)
    connection = json.loads(airflow_env["AIRFLOW_CONN_AWS_DEFAULT"])
    endpoint = urlsplit(connection["extra"]["endpoint_url"])
    assert endpoint.hostname == EMULATOR
    assert endpoint.port == arguments.port
    assert arguments.host == "0.0.0.0"  # reachable from the other containers
    assert connection == json.loads(
        airflow_connection_json(connection["extra"]["endpoint_url"], arguments.region)
    )
    assert connection["extra"]["region_name"] == "us-east-1"
    assert arguments.bootstrap  # the queues and the bucket the example DAGs default to
    assert published_ports(services[EMULATOR]) == {arguments.port: 4566}
    # The image's entrypoint waits for Airflow's database before any command unless this is 0.
    assert services[EMULATOR]["environment"]["CONNECTION_CHECK_MAX_COUNT"] == "0"


def image_base() -> tuple[str, str]:
    """The Airflow and Python versions of the image's ``FROM apache/airflow:X-pythonY``."""
    [base] = re.findall(r"^FROM\s+apache/airflow:(\S+)-python(\d+\.\d+)\s*$", DOCKERFILE.read_text(), re.M)
    return base


def test_the_image_is_the_airflow_make_install_installs():
    venv = os.environ.get("AIRFLOW_BATCH_COMPAT_VENV")
    if venv:
        pytest.skip(
            f"the version matrix's venv {venv} runs Airflow {version('apache-airflow')} on purpose; "
            "the image follows the Airflow of `make install`"
        )
    assert image_base()[0] == version("apache-airflow")


def test_the_image_is_a_supported_airflow_on_the_project_python(pyproject):
    airflow_version, python_version = image_base()
    [requirement] = [
        Requirement(spec)
        for spec in pyproject["project"]["dependencies"]
        if Requirement(spec).name == "apache-airflow"
    ]
    assert Version(airflow_version) in requirement.specifier
    assert python_version == pyproject["tool"]["mypy"]["python_version"]
    assert Version(python_version) in SpecifierSet(pyproject["project"]["requires-python"])


def test_the_image_installs_the_plugin_and_the_emulator_from_the_checkout(pyproject):
    dockerfile = DOCKERFILE.read_text()
    [install] = [line for line in dockerfile.splitlines() if line.startswith("RUN pip install")]
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install  # pip must not change the image's Airflow
    target, emulator = re.findall(r'"(/\S+?)"', install)[-2:]
    assert emulator == f"{target}/aws-batch-local"  # the emulator is its own distribution
    assert "optional-dependencies" not in pyproject["project"]  # the plugin has no emulator extra
    copies = re.findall(r"^COPY\s+(.+)\s+(\S+)$", dockerfile, re.M)
    copied = {source for sources, destination in copies for source in sources.split()}
    assert {"pyproject.toml", "README.md", "airflow_batch_plugin", "aws-batch-local"} <= copied
    assert all(destination.startswith(target) for _sources, destination in copies)
    assert all((REPO_ROOT / source).exists() for source in copied)


def test_the_build_context_leaves_out_local_state():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch(path, pattern)
            or fnmatch(path, pattern.removeprefix("**/"))
            or path.startswith(f"{pattern}/")
            for pattern in patterns
        )

    for path in (
        ".venv",
        ".git",
        ".airflow",
        ".mypy_cache",
        ".ruff_cache",
        "bench/results",
        "dags/__pycache__",
    ):
        assert ignored(path), path
    for path in ("pyproject.toml", "README.md", "airflow_batch_plugin", "aws-batch-local/aws_batch_local"):
        assert not ignored(path), path


@pytest.fixture(scope="module")
def aws_override() -> dict[str, Any]:
    return load(AWS_OVERRIDE_FILE)


def test_the_aws_override_only_changes_existing_services(aws_override):
    base = load(COMPOSE_FILE)
    assert set(aws_override["services"]) <= set(base["services"])
    assert set(aws_override["services"]) == {EMULATOR, *AIRFLOW_SERVICES}


def test_with_the_aws_override_nothing_waits_for_the_emulator(aws_override):
    base = load(COMPOSE_FILE)
    merged = interpolate(merge(base, aws_override), {"AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type":"aws"}'})
    services = merged["services"]
    assert services[EMULATOR]["profiles"]  # not started by `docker compose up`
    for name in AIRFLOW_SERVICES:
        dependencies = depends_on(services[name])
        assert EMULATOR not in dependencies, name
        assert dependencies["postgres"] == HEALTHY, name
        if name != INIT:
            assert dependencies[INIT] == COMPLETED, name
        assert services[name]["environment"]["AIRFLOW_CONN_AWS_DEFAULT"] == '{"conn_type":"aws"}', name
        # the rest of the environment is the base file's
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name


def test_the_aws_override_requires_the_users_connection(aws_override):
    merged = merge(load(COMPOSE_FILE), aws_override)
    with pytest.raises(LookupError, match="AIRFLOW_CONN_AWS_DEFAULT"):
        interpolate(merged["services"][API_SERVER]["environment"])
