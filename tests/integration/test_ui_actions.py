"""The view's actions on the emulator, through the real Airflow api-server app and its auth manager.

Terminate a job (editors of its DAG), disable/enable a queue (admins, when the setting allows),
each behind a confirmation page and a form token when the browser's cookie signs the user in;
every action is in Airflow's audit log. Users come from the per-DAG auth manager
(``tests/integration/per_dag_auth.py``): ``editor_a`` may read and edit DAG_ID only,
``reader_a`` may read DAG_ID only, ``admin`` and ``op`` may edit the view's connection.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_ui_view import DAG_B, DAG_ID, build_airflow_app, signed_in, tags, until

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

SETTING = "AIRFLOW__AWS_BATCH__VIEW_ACCOUNT_ACTIONS"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sleeper(emulator) -> Iterator[Any]:
    """Submit jobs that run until terminated (or end at once); terminate them all at the end."""
    batch = emulator.client("batch")
    suffix = uuid.uuid4().hex[:6]
    definitions = {
        command: batch.register_job_definition(
            jobDefinitionName=f"actions-{name}-{suffix}",
            type="container",
            containerProperties={
                "image": "public.ecr.aws/docker/library/python:3.12-slim",
                "command": ["sh", "-c", command],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "128"}],
            },
        )["jobDefinitionArn"]
        for name, command in (("sleeps", "sleep 600"), ("ends", "true"))
    }
    submitted: list[str] = []

    def submit(task: dict[str, str], *, until_status: str = "RUNNING", command: str = "sleep 600") -> str:
        job_id = str(
            batch.submit_job(
                jobName="actions-job",
                jobQueue=emulator.job_queue,
                jobDefinition=definitions[command],
                tags=task,
            )["jobId"]
        )
        submitted.append(job_id)
        until(lambda: status_of(emulator, job_id) == until_status, timeout=60)
        return job_id

    yield submit
    for job_id in submitted:
        batch.terminate_job(jobId=job_id, reason="test over")


@pytest.fixture
def actions_app(aws_conn_env, monkeypatch) -> Any:
    """The api-server with the per-DAG auth manager; account actions off unless a test turns them on."""
    from tests.integration import per_dag_auth

    assert per_dag_auth.EDITS["editor_a"] == {DAG_ID}
    assert per_dag_auth.GRANTS["reader_a"] == {DAG_ID}
    monkeypatch.delenv(SETTING, raising=False)
    monkeypatch.delenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", raising=False)
    users = "admin:admin,op:op,reader_a:viewer,editor_a:viewer"
    return build_airflow_app(monkeypatch, per_dag_auth.PATH, users, [DAG_ID, DAG_B])


@pytest.fixture
def queue(emulator) -> Iterator[str]:
    """A job queue of its own (ENABLED, on the emulator's compute environment), deleted after."""
    batch = emulator.client("batch")
    name = f"actions-queue-{uuid.uuid4().hex[:6]}"
    batch.create_job_queue(
        jobQueueName=name,
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": emulator.compute_environment}],
    )
    until(lambda: queue_of(emulator, name)["status"] == "VALID")
    yield name
    if queue_of(emulator, name)["state"] != "DISABLED":
        batch.update_job_queue(jobQueue=name, state="DISABLED")
    until(lambda: queue_of(emulator, name)["status"] == "VALID")
    batch.delete_job_queue(jobQueue=name)


# -- helpers -------------------------------------------------------------------------------------------


def status_of(emulator: Any, job_id: str) -> str:
    return str(emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]["status"])


def job_of(emulator: Any, job_id: str) -> dict[str, Any]:
    return dict(emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"][0])


def queue_of(emulator: Any, name: str) -> dict[str, Any]:
    return dict(emulator.client("batch").describe_job_queues(jobQueues=[name])["jobQueues"][0])


def with_cookie(app: Any, auth_manager: Any, user: str, role: str) -> TestClient:
    """A browser's client: the user's JWT in Airflow's ``_token`` cookie, no Authorization header."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    client = TestClient(app)
    client.cookies.set("_token", auth_manager.generate_jwt(SimpleAuthManagerUser(username=user, role=role)))
    return client


def form_token(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found, "the confirmation page has a form token"
    return found.group(1)


def audit_rows(event: str, mentioning: str) -> list[Any]:
    """Airflow's audit log rows of ``event`` whose extra mentions ``mentioning``."""
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.event == event, Log.extra.contains(mentioning))).all()
        session.expunge_all()
        return list(rows)


def params(emulator: Any) -> dict[str, str]:
    return {"region": emulator.region}


# -- terminate a job -----------------------------------------------------------------------------------


def test_an_editor_of_the_dag_confirms_and_terminates_its_job_with_a_reason_naming_them(
    actions_app, sleeper, emulator
):
    app, auth_manager = actions_app
    job_id = sleeper(tags(DAG_ID, "stuck_task"))
    browser = with_cookie(app, auth_manager, "editor_a", "viewer")

    page = browser.get(f"/aws-batch/jobs/{job_id}", params=params(emulator))
    assert page.status_code == 200
    assert 'id="terminate-job"' in page.text, "the button, for a user who may edit the DAG"
    confirm = browser.get(f"/aws-batch/actions/jobs/{job_id}/terminate", params=params(emulator))
    assert confirm.status_code == 200
    assert 'id="confirm-terminate"' in confirm.text
    assert 'method="post"' in confirm.text
    assert "terminated from the Airflow AWS Batch view by editor_a" in confirm.text
    assert status_of(emulator, job_id) == "RUNNING", "a confirmation page changes nothing"

    done = browser.post(
        f"/aws-batch/actions/jobs/{job_id}/terminate",
        params=params(emulator),
        data={"csrf_token": form_token(confirm.text), "confirm": "yes", "reason": "stuck  on\nlock"},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("&done=terminating")
    assert f"/aws-batch/jobs/{job_id}?" in done.headers["location"]
    back = browser.get(done.headers["location"])
    assert 'id="action-notice"' in back.text
    assert "Termination requested" in back.text

    until(lambda: status_of(emulator, job_id) == "FAILED", timeout=60)
    assert job_of(emulator, job_id)["statusReason"] == (
        "terminated from the Airflow AWS Batch view by editor_a: stuck on lock"
    )
    [row] = audit_rows("aws_batch.terminate_job", job_id)
    assert (row.owner, row.dag_id, row.task_id, row.run_id) == (
        "editor_a",
        DAG_ID,
        "stuck_task",
        "manual__view",
    )
    extra = json.loads(row.extra)
    assert extra["job_id"] == job_id
    assert extra["reason"] == "terminated from the Airflow AWS Batch view by editor_a: stuck on lock"
    assert extra["status_before"] == "RUNNING"
    assert extra["conn_id"] == "aws_default"


def test_the_audit_entry_shows_in_airflows_event_log_api(actions_app, sleeper, emulator):
    app, auth_manager = actions_app
    job_id = sleeper(tags(DAG_ID, "audited"), until_status="RUNNING")
    editor = signed_in(app, auth_manager, "editor_a", "viewer")
    answer = editor.post(f"/aws-batch/api/jobs/{job_id}/terminate", params=params(emulator), json={})
    assert answer.status_code == 200
    assert answer.json() == {
        "job_id": job_id,
        "status": "RUNNING",
        "outcome": "terminating",
        "reason": "terminated from the Airflow AWS Batch view by editor_a",
    }
    admin = signed_in(app, auth_manager, "admin", "admin")
    logs = admin.get("/api/v2/eventLogs", params={"event": "aws_batch.terminate_job", "dag_id": DAG_ID})
    assert logs.status_code == 200
    entries = [entry for entry in logs.json()["event_logs"] if job_id in (entry["extra"] or "")]
    assert [(entry["owner"], entry["task_id"]) for entry in entries] == [("editor_a", "audited")]
    until(lambda: status_of(emulator, job_id) == "FAILED", timeout=60)


def test_a_viewer_of_the_dag_gets_403_and_the_job_keeps_running(actions_app, sleeper, emulator):
    app, auth_manager = actions_app
    job_id = sleeper(tags(DAG_ID, "watched"))
    assert status_of(emulator, job_id) == "RUNNING"
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    page = reader.get(f"/aws-batch/jobs/{job_id}", params=params(emulator))
    assert page.status_code == 200, "reader_a may read the DAG"
    assert 'id="terminate-job"' not in page.text, "no button for a user who may not edit the DAG"

    path = f"/aws-batch/actions/jobs/{job_id}/terminate"
    assert reader.get(path, params=params(emulator)).status_code == 403
    refused = reader.post(f"/aws-batch/api/jobs/{job_id}/terminate", params=params(emulator), json={})
    assert refused.status_code == 403
    assert f"edit DAG {DAG_ID}" in refused.json()["detail"]
    # In a browser, with a form token signed for reader_a: the permission still refuses.
    from airflow_batch_plugin.ui import csrf

    browser = with_cookie(app, auth_manager, "reader_a", "viewer")
    token = csrf.issue("reader_a", f"terminate-job|aws_default|{emulator.region}|{job_id}")
    form = {"csrf_token": token, "confirm": "yes", "reason": ""}
    assert browser.post(path, params=params(emulator), data=form).status_code == 403

    assert status_of(emulator, job_id) == "RUNNING", "the job kept running"
    assert audit_rows("aws_batch.terminate_job", job_id) == []


def test_a_job_of_a_dag_the_user_may_not_read_is_404(actions_app, sleeper, emulator):
    app, auth_manager = actions_app
    b_job = sleeper(tags(DAG_B, "b_task"))
    untagged = sleeper({})
    for user in ("reader_a", "editor_a"):  # both read DAG_ID only
        client = signed_in(app, auth_manager, user, "viewer")
        for job_id in (b_job, untagged):
            confirm = client.get(f"/aws-batch/actions/jobs/{job_id}/terminate", params=params(emulator))
            assert confirm.status_code == 404, (user, job_id)
            post = client.post(f"/aws-batch/api/jobs/{job_id}/terminate", params=params(emulator), json={})
            assert post.status_code == 404, (user, job_id)
            assert DAG_B not in post.text
    assert status_of(emulator, b_job) == "RUNNING"
    assert status_of(emulator, untagged) == "RUNNING"


def test_cookie_authenticated_posts_need_the_form_token_and_this_site_as_origin(
    actions_app, sleeper, emulator
):
    app, auth_manager = actions_app
    job_id = sleeper(tags(DAG_ID, "forged"))
    other_job = sleeper(tags(DAG_ID, "other"))
    browser = with_cookie(app, auth_manager, "editor_a", "viewer")
    path = f"/aws-batch/actions/jobs/{job_id}/terminate"
    token = form_token(browser.get(path, params=params(emulator)).text)
    other_token = form_token(
        browser.get(f"/aws-batch/actions/jobs/{other_job}/terminate", params=params(emulator)).text
    )

    def post(data: dict[str, str], **headers: str) -> int:
        return browser.post(path, params=params(emulator), data=data, headers=headers).status_code

    assert post({"confirm": "yes"}) == 403, "no token"
    assert post({"confirm": "yes", "csrf_token": "1999999999.forged"}) == 403, "a token not signed here"
    assert post({"confirm": "yes", "csrf_token": other_token}) == 403, "another job's token"
    assert post({"confirm": "yes", "csrf_token": token}, origin="https://evil.example") == 403
    assert post({"confirm": "yes", "csrf_token": token}, referer="https://evil.example/page") == 403
    assert post({"csrf_token": token}) == 400, "the confirm field is needed too"
    api = f"/aws-batch/api/jobs/{job_id}/terminate"
    assert browser.post(api, params=params(emulator), json={}).status_code == 403, (
        "JSON twin, cookie, no token"
    )
    bearer = auth_manager.generate_jwt(_user("editor_a"))
    both = browser.post(api, params=params(emulator), json={}, headers={"Authorization": f"Bearer {bearer}"})
    assert both.status_code == 403, "a Bearer header does not excuse a request that carries the cookie"
    detail = browser.post(api, params=params(emulator), json={}).json()["detail"]
    assert "csrf_token" in detail
    assert status_of(emulator, job_id) == "RUNNING", "no forged request terminated it"

    accepted = browser.post(
        api, params=params(emulator), json={"reason": "ok"}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 200, "the JSON twin with the cookie and the page's token"
    assert accepted.json()["outcome"] == "terminating"
    until(lambda: status_of(emulator, job_id) == "FAILED", timeout=60)


def _user(name: str) -> Any:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return SimpleAuthManagerUser(username=name, role="viewer")


def test_terminating_an_ended_job_says_so(actions_app, sleeper, emulator):
    app, auth_manager = actions_app
    job_id = sleeper(tags(DAG_ID, "finished"), until_status="SUCCEEDED", command="true")
    browser = with_cookie(app, auth_manager, "editor_a", "viewer")
    page = browser.get(f"/aws-batch/jobs/{job_id}", params=params(emulator))
    assert 'id="terminate-job"' not in page.text, "no button on an ended job"
    path = f"/aws-batch/actions/jobs/{job_id}/terminate"
    confirm = browser.get(path, params=params(emulator))
    assert confirm.status_code == 200
    assert 'id="already-ended"' in confirm.text
    assert 'id="confirm-terminate"' not in confirm.text
    from airflow_batch_plugin.ui import csrf

    token = csrf.issue("editor_a", f"terminate-job|aws_default|{emulator.region}|{job_id}")
    done = browser.post(
        path, params=params(emulator), data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("&done=already-ended")
    assert "had already ended" in browser.get(done.headers["location"]).text
    answer = signed_in(app, auth_manager, "editor_a", "viewer").post(
        f"/aws-batch/api/jobs/{job_id}/terminate", params=params(emulator), json={}
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "already-ended"
    assert status_of(emulator, job_id) == "SUCCEEDED"
    assert audit_rows("aws_batch.terminate_job", job_id) == [], "nothing was done, nothing is logged"


def test_jobs_airflow_did_not_start_need_the_account_actions_setting(
    actions_app, sleeper, emulator, monkeypatch
):
    app, auth_manager = actions_app
    job_id = sleeper({})
    admin = signed_in(app, auth_manager, "admin", "admin")
    api = f"/aws-batch/api/jobs/{job_id}/terminate"
    page = admin.get(f"/aws-batch/jobs/{job_id}", params=params(emulator))
    assert page.status_code == 200
    assert 'id="terminate-job"' not in page.text
    refused = admin.post(api, params=params(emulator), json={})
    assert refused.status_code == 403
    assert "view_account_actions" in refused.json()["detail"]
    assert status_of(emulator, job_id) == "RUNNING"

    monkeypatch.setenv(SETTING, "True")
    reader = signed_in(app, auth_manager, "reader_a", "viewer")
    assert reader.post(api, params=params(emulator), json={}).status_code == 404, "still not theirs to see"
    assert 'id="terminate-job"' in admin.get(f"/aws-batch/jobs/{job_id}", params=params(emulator)).text
    assert admin.post(api, params=params(emulator), json={"reason": "orphan"}).status_code == 200
    until(lambda: status_of(emulator, job_id) == "FAILED", timeout=60)
    assert (
        job_of(emulator, job_id)["statusReason"]
        == "terminated from the Airflow AWS Batch view by admin: orphan"
    )
    [row] = audit_rows("aws_batch.terminate_job", job_id)
    assert (row.owner, row.dag_id) == ("admin", None)


# -- disable / enable a job queue ------------------------------------------------------------------------


def test_queue_state_is_refused_while_the_setting_is_off(actions_app, queue, emulator):
    app, auth_manager = actions_app
    admin = signed_in(app, auth_manager, "admin", "admin")
    page = admin.get(f"/aws-batch/queues/{queue}", params=params(emulator))
    assert page.status_code == 200
    assert 'id="queue-state"' not in page.text
    confirm = admin.get(
        f"/aws-batch/actions/queues/{queue}/state", params={**params(emulator), "to": "DISABLED"}
    )
    assert confirm.status_code == 403
    refused = admin.post(
        f"/aws-batch/api/queues/{queue}/state", params=params(emulator), json={"state": "DISABLED"}
    )
    assert refused.status_code == 403
    assert "view_account_actions = True (it is False)" in refused.json()["detail"]
    assert queue_of(emulator, queue)["state"] == "ENABLED"


def test_an_admin_disables_and_enables_a_queue_with_the_setting_on(actions_app, queue, emulator, monkeypatch):
    monkeypatch.setenv(SETTING, "True")
    app, auth_manager = actions_app
    browser = with_cookie(app, auth_manager, "admin", "admin")
    page = browser.get(f"/aws-batch/queues/{queue}", params=params(emulator))
    assert 'id="queue-state"' in page.text
    assert "Disable queue…" in page.text
    confirm = browser.get(
        f"/aws-batch/actions/queues/{queue}/state", params={**params(emulator), "to": "DISABLED"}
    )
    assert confirm.status_code == 200
    assert 'id="confirm-queue-state"' in confirm.text
    assert queue_of(emulator, queue)["state"] == "ENABLED", "a confirmation page changes nothing"
    path = f"/aws-batch/actions/queues/{queue}/state"
    form = {"confirm": "yes", "state": "DISABLED"}
    assert browser.post(path, params=params(emulator), data=form).status_code == 403, "no form token"
    done = browser.post(
        path,
        params=params(emulator),
        data={**form, "csrf_token": form_token(confirm.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("&done=queue-disabled")
    until(
        lambda: (
            queue_of(emulator, queue)["state"] == "DISABLED"
            and queue_of(emulator, queue)["status"] == "VALID"
        )
    )
    back = browser.get(done.headers["location"])
    assert "now DISABLED" in back.text
    assert "Enable queue…" in back.text

    script = signed_in(app, auth_manager, "op", "op")  # Bearer, no cookie: no form token needed
    enabled = script.post(
        f"/aws-batch/api/queues/{queue}/state", params=params(emulator), json={"state": "ENABLED"}
    )
    assert enabled.status_code == 200
    assert enabled.json() == {"job_queue": queue, "state": "ENABLED", "outcome": "queue-enabled"}
    until(
        lambda: (
            queue_of(emulator, queue)["state"] == "ENABLED" and queue_of(emulator, queue)["status"] == "VALID"
        )
    )
    again = script.post(
        f"/aws-batch/api/queues/{queue}/state", params=params(emulator), json={"state": "ENABLED"}
    )
    assert again.json()["outcome"] == "queue-unchanged"

    [disabled] = audit_rows("aws_batch.disable_job_queue", queue)
    [enabled_row] = audit_rows("aws_batch.enable_job_queue", queue)
    assert (disabled.owner, json.loads(disabled.extra)["state_before"]) == ("admin", "ENABLED")
    assert (enabled_row.owner, json.loads(enabled_row.extra)["state"]) == ("op", "ENABLED")


def test_queue_state_is_refused_for_viewers_with_the_setting_on(actions_app, queue, emulator, monkeypatch):
    monkeypatch.setenv(SETTING, "True")
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__VIEW_RESOURCES_FOR", "everyone")  # they see the queue page
    app, auth_manager = actions_app
    for user in ("reader_a", "editor_a"):
        client = signed_in(app, auth_manager, user, "viewer")
        page = client.get(f"/aws-batch/queues/{queue}", params=params(emulator))
        assert page.status_code == 200
        assert 'id="queue-state"' not in page.text
        confirm = client.get(
            f"/aws-batch/actions/queues/{queue}/state", params={**params(emulator), "to": "DISABLED"}
        )
        assert confirm.status_code == 403
        post = client.post(
            f"/aws-batch/api/queues/{queue}/state", params=params(emulator), json={"state": "DISABLED"}
        )
        assert post.status_code == 403
        assert "permission to edit the view's connection" in post.json()["detail"]
    assert queue_of(emulator, queue)["state"] == "ENABLED"
