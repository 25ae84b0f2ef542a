"""The job definition a ``@task.batch`` function runs in: its image, resources and the runner.

The definition's command is ``python3 -c <runner> NAME SOURCE`` (see :mod:`.runner`), so the
function's code is part of the definition: registering is idempotent (an unchanged function and
settings reuse the ACTIVE revision; a changed one registers a new revision), and each submission
carries only the call's arguments. Names are derived from the DAG and task ids unless given.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import inspect
import re
import textwrap
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.compat import remove_task_decorator
from airflow_batch_plugin.decorators.runner import SERIALIZER_ENV
from airflow_batch_plugin.specs.container import ContainerSpec
from airflow_batch_plugin.specs.job_definition import MAX_JOB_DEFINITION_BYTES, JobDefinitionSpec
from airflow_batch_plugin.specs.validation import json_size

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_batch_plugin.specs.common import RetryStrategy

#: The decorator spellings stripped from a function's source before it is shipped.
DECORATOR_NAMES = ("@task.batch", "@batch_task")
#: Room kept in a job definition for the tags the hook adds when registering (spec hash, token).
TAG_ROOM_BYTES = 256
DEFAULT_VCPUS = 1
DEFAULT_MEMORY_MIB = 2048
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 128


@cache
def runner_source() -> str:
    """Return the runner script the job's ``python3 -c`` executes."""
    return Path(__file__).with_name("runner.py").read_text(encoding="utf-8")


def function_source(function: Callable[..., Any]) -> str:
    """Return the function's source, dedented, without its ``@task.batch`` decorator.

    Raises ValueError when the source cannot be read or does not define a plain function (a
    lambda, a method, an ``async def``).
    """
    name = getattr(function, "__name__", repr(function))
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise ValueError(f"@task.batch needs the source code of {name}: {error}") from error
    for decorator in DECORATOR_NAMES:
        source = remove_task_decorator(source, decorator)
    tree = ast.parse(source)
    defined = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    if not defined:
        raise ValueError(
            f"@task.batch runs plain functions defined with def (not lambdas or async def): {name}"
        )
    return source


def _name(text: str) -> str:
    cleaned = _NOT_IN_NAMES.sub("-", text).strip("-_") or "task"
    if len(cleaned) <= MAX_NAME:
        return cleaned
    suffix = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned[: MAX_NAME - 9]}-{suffix}"


def definition_name(dag_id: str, task_id: str) -> str:
    """Return the default job definition name of a task: ``airflow-DAG-TASK`` made valid for AWS."""
    return _name(f"airflow-{dag_id}-{task_id}")


def job_name(task_id: str) -> str:
    """Return the default job name of a task: its id made valid for AWS (letters first)."""
    return _name(task_id)


def function_command(python_command: str, function_name: str, source: str) -> list[str]:
    """Return the container command: the image's Python running the runner on the function."""
    return [python_command, "-c", runner_source(), function_name, source]


def function_definition(
    *,
    name: str,
    command: list[str],
    serializer: str,
    image: str | None = None,
    vcpus: float | str | None = None,
    memory: int | str | None = None,
    gpus: int | str | None = None,
    environment: Mapping[str, str] | None = None,
    job_role_arn: str | None = None,
    retry_strategy: RetryStrategy | int | None = None,
    timeout_seconds: int | None = None,
    base: JobDefinitionSpec | None = None,
) -> JobDefinitionSpec:
    """Return the definition that runs ``command``: built from the arguments, or from ``base``.

    ``base`` keeps its own container settings (roles, volumes, secrets...); the command is
    replaced and the environment extended. It must describe a single container job.
    """
    env = {"PYTHONUNBUFFERED": "1", **(environment or {}), SERIALIZER_ENV: serializer}
    if base is None:
        if not image:
            raise ValueError("@task.batch needs an image (or job_definition=JobDefinitionSpec(...))")
        return JobDefinitionSpec.container_job(
            name,
            image,
            command=command,
            vcpus=DEFAULT_VCPUS if vcpus is None else vcpus,
            memory=DEFAULT_MEMORY_MIB if memory is None else memory,
            gpus=gpus,
            environment=env,
            job_role_arn=job_role_arn,
            retry_strategy=retry_strategy,
            timeout_seconds=timeout_seconds,
        )
    container = base.container
    if not isinstance(container, ContainerSpec):
        raise ValueError(
            f"job_definition={base.name!r}: @task.batch runs single container jobs (EC2 or Fargate); "
            "this spec has no container"
        )
    merged = {"PYTHONUNBUFFERED": "1", **dict(container.environment or {}), **env}
    container = dataclasses.replace(container, command=command, environment=merged)
    changes: dict[str, Any] = {"container": container}
    if retry_strategy is not None:
        changes["retry_strategy"] = retry_strategy
    if timeout_seconds is not None:
        changes["timeout_seconds"] = timeout_seconds
    return dataclasses.replace(base, **changes)


def fits_a_definition(spec: JobDefinitionSpec) -> bool:
    """Tell whether ``spec`` stays within AWS's 24 KiB job definition limit (with the hash tag)."""
    return json_size(spec.to_request()) + TAG_ROOM_BYTES <= MAX_JOB_DEFINITION_BYTES
