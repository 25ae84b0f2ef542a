"""Security on the emulator: secrets by reference, nothing secret in logs, XCom, links or the view.

The operators run with a connection whose password is a recognisable string, on a job whose
definition has an environment value, a secret read from Secrets Manager, and an override value.
None of the three secrets-to-be (password, environment values, the secret) may reach the task
log, an XCom, an extra link or a page of the AWS Batch view. A value Airflow's secrets masker
knows comes out as ``***`` in the task log and in the failure message.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from airflow.providers.common.compat.sdk import mask_secret
from fastapi.testclient import TestClient

from airflow_batch_plugin import (
    BatchJobFailed,
    BatchRegisterJobDefinitionOperator,
    BatchSubmitJobOperator,
    JobDefinitionSpec,
)
from airflow_batch_plugin.ui.app import Worlds, create_app
from airflow_batch_plugin.ui.cache import TtlCache

pytestmark = pytest.mark.integration

PASSWORD = "Recognisable-Pa55word-7731"
LOGIN = "AKIDSECURITYTEST7731"
ENV_VALUE = "stage-value-never-logged-5521"
OVERRIDE_VALUE = "override-value-never-logged-8812"
SECRET_VALUE = "db-secret-value-never-shown-9931"
MASKED = "masked-token-value-4417"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def connection(emulator, monkeypatch) -> Any:
    """Point ``aws_default`` at the emulator with a password no output may show."""
    extra = {"endpoint_url": emulator.endpoint_url, "region_name": emulator.region}
    conn = {"conn_type": "aws", "login": LOGIN, "password": PASSWORD, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.region)
    return emulator


def context() -> dict[str, Any]:
    """A minimal task context whose task instance records every XCom pushed."""
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="security",
        run_id="manual__security",
        task_id="t",
        map_index=-1,
        try_number=1,
        stats_tags={},
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
    )
    return {"ti": ti, "params": {}, "pushed": pushed}


def run(operator: Any, ctx: dict[str, Any]) -> Any:
    operator.render_template_fields(ctx)
    return operator.execute(ctx)


def secret_arn(emulator) -> str:
    secrets = emulator.client("secretsmanager")
    return str(secrets.create_secret(Name=unique("db-password"), SecretString=SECRET_VALUE)["ARN"])


@dataclass(frozen=True)
class Outputs:
    """What one register-and-submit run left behind for people to read."""

    task_log: str
    xcom: dict[str, Any]
    pages: dict[str, str]


@pytest.fixture(scope="module")
def outputs(emulator) -> Outputs:
    """Register a definition with an environment value and a secret, run a job with an override."""
    extra = {"endpoint_url": emulator.endpoint_url, "region_name": emulator.region}
    conn = {"conn_type": "aws", "login": LOGIN, "password": PASSWORD, "extra": extra}
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    patch.setenv("AWS_DEFAULT_REGION", emulator.region)
    try:
        return _run_and_read(emulator)
    finally:
        patch.undo()


def _run_and_read(emulator: Any) -> Outputs:
    spec = JobDefinitionSpec.container_job(
        name=unique("security"),
        image="busybox",
        command=["sh", "-c", 'echo started; [ -n "$DB_PASSWORD" ] && echo has-the-secret'],
        memory=128,
        environment={"STAGE": ENV_VALUE},
        secrets={"DB_PASSWORD": secret_arn(emulator)},
    )
    register_context, submit_context = context(), context()
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        definition = run(BatchRegisterJobDefinitionOperator(task_id="register", spec=spec), register_context)
        submit = BatchSubmitJobOperator(
            task_id="submit",
            job_name=unique("security"),
            job_queue=emulator.job_queue,
            job_definition=definition,
            container_overrides={"environment": {"RUN_MODE": OVERRIDE_VALUE}},
            poll_interval=0.5,
        )
        job_id = run(submit, submit_context)
    view = TestClient(create_app(worlds=Worlds(TtlCache(ttl=60)), authorize=False), root_path="/aws-batch")
    pages = {}
    for path in (
        "/",
        "/api/overview",
        f"/jobs/{job_id}",
        f"/api/jobs/{job_id}",
        f"/job-definitions/{quote(definition, safe='')}",
        f"/queues/{emulator.job_queue}",
        f"/compute-environments/{emulator.compute_environment}",
    ):
        page = view.get(path, params={"region": emulator.region})
        assert page.status_code == 200, (path, page.text[:300])
        pages[path] = page.text
    assert job_id in pages[f"/jobs/{job_id}"]
    return Outputs(log.getvalue(), {**register_context["pushed"], **submit_context["pushed"]}, pages)


def leaks(secret: str, where: dict[str, str]) -> list[str]:
    return [name for name, text in where.items() if secret in text]


def test_the_job_got_its_secret_by_reference(outputs):
    assert "[batch] has-the-secret" in outputs.task_log


def test_the_links_are_there_to_be_checked(outputs):
    links = [value for value in outputs.xcom.values() if isinstance(value, str) and "/aws-batch/" in value]
    assert len(links) >= 4, f"job, queue, definition and log links: {outputs.xcom}"


@pytest.mark.parametrize("secret", [PASSWORD, LOGIN, SECRET_VALUE, ENV_VALUE, OVERRIDE_VALUE])
def test_no_credential_or_environment_value_in_the_task_log_xcom_or_links(outputs, secret):
    where = {"task log": outputs.task_log, "XCom and links": json.dumps(outputs.xcom, default=str)}
    assert not leaks(secret, where), f"{secret!r} shows in {leaks(secret, where)}"


@pytest.mark.parametrize("secret", [PASSWORD, LOGIN, SECRET_VALUE])
def test_no_credential_in_any_page_of_the_view(outputs, secret):
    assert not leaks(secret, outputs.pages), f"{secret!r} shows in {leaks(secret, outputs.pages)}"


@pytest.mark.parametrize("secret", [ENV_VALUE, OVERRIDE_VALUE])
def test_no_environment_value_in_the_views_html_pages(outputs, secret):
    html = {path: text for path, text in outputs.pages.items() if not path.startswith("/api/")}
    assert not leaks(secret, html), f"{secret!r} shows in {leaks(secret, html)}"


@pytest.mark.parametrize("secret", [ENV_VALUE, OVERRIDE_VALUE])
def test_no_environment_value_in_the_views_json(outputs, secret):
    json_pages = {path: text for path, text in outputs.pages.items() if path.startswith("/api/")}
    assert not leaks(secret, json_pages), f"{secret!r} shows in {leaks(secret, json_pages)}"


def test_values_the_masker_knows_are_masked_in_the_task_log_and_the_failure(connection, capsys):
    mask_secret(MASKED)
    submit = BatchSubmitJobOperator(
        task_id="submit",
        job_name=unique("masked"),
        job_queue=connection.job_queue,
        job_definition=JobDefinitionSpec.container_job(
            unique("masked"),
            "busybox",
            command=["sh", "-c", f"echo using token {MASKED}; echo failed with {MASKED} >&2; exit 3"],
            memory=128,
        ),
        poll_interval=0.5,
    )
    with pytest.raises(BatchJobFailed) as caught:
        run(submit, context())
    task_log = capsys.readouterr().out
    assert "[batch] using token ***" in task_log
    assert MASKED not in task_log
    failure = str(caught.value)
    assert "exit code: 3" in failure
    assert "failed with ***" in failure
    assert MASKED not in failure
