"""The view's actions: terminate a job, disable or enable a job queue (rules: ``ui/actions.py``).

Each action has a confirmation page (GET, safe), the form it posts (POST, then a redirect back to
the job's or queue's page with a message), and a JSON twin for scripts:

- ``GET|POST /actions/jobs/{id}/terminate`` (form: ``reason``), ``POST /api/jobs/{id}/terminate``
  (JSON ``{"reason": "..."}``): 1 DescribeJobs (read fresh, not from the cache), then 1 TerminateJob
  unless the job has ended already (then it says so and calls nothing);
- ``GET /actions/queues/{name}/state?to=DISABLED``, ``POST /actions/queues/{name}/state`` (form:
  ``state``), ``POST /api/queues/{name}/state`` (JSON ``{"state": "DISABLED"}``): 1 DescribeJobQueues,
  then 1 UpdateJobQueue unless the queue is in that state already.

A POST is checked for forgery (``ui/csrf.py``), then for permission, before AWS changes anything;
each change is written to Airflow's audit log (``ui/audit.py``) and empties the view's cache, so
the page the user is sent back to reads AWS again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qs, quote

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from airflow_batch_plugin.ui import audit, csrf
from airflow_batch_plugin.ui.actions import (
    ENDED,
    REASON_TEXT_LIMIT,
    may_change_queues,
    may_terminate,
    refusal_to_change_queues,
    refusal_to_terminate,
    termination_reason,
)
from airflow_batch_plugin.ui.app import Chosen, Selection, UserRights, Worlds, auth_manager
from airflow_batch_plugin.ui.data import JobRow, job_row, queue_name

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from fastapi import FastAPI
    from jinja2 import Environment

    from airflow_batch_plugin.ui.data import QueueRow

#: What the page a user is sent back to says (``?done=<code>``); other codes say nothing.
NOTICES = {
    "terminating": "Termination requested: AWS Batch stops the job and marks it FAILED with your reason "
    "(for a few seconds the page may still show its former status).",
    "already-ended": "The job had already ended: nothing was terminated.",
    "queue-disabled": "The queue is now DISABLED: it takes no new jobs; the jobs already in it can finish.",
    "queue-enabled": "The queue is now ENABLED: it takes new jobs again.",
    "queue-unchanged": "The queue was already in that state: nothing changed.",
}
#: The most bytes a confirmation form may post.
FORM_LIMIT = 16_384


class TerminateBody(BaseModel):
    """The JSON twin's body: the user's own words for the termination reason (optional)."""

    reason: str = Field("", max_length=REASON_TEXT_LIMIT)


class QueueStateBody(BaseModel):
    """The JSON twin's body: the state the queue should be in."""

    state: Literal["ENABLED", "DISABLED"]


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted confirmation form (``application/x-www-form-urlencoded``)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "post the confirmation page's form")
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


Form = Annotated[dict[str, str], Depends(form_fields)]
#: The signed-in user (Airflow's dependency; FastAPI reads it when the routes are added).
User = GetUserDep


def purpose(action: str, chosen: Selection, region: str, target: str) -> str:
    """What a form token is for: one action on one thing, read with one connection and region."""
    return f"{action}|{chosen.conn_id}|{region}|{target}"


def aws_refusal(error: Exception) -> HTTPException:
    """AWS said no (a ClientError): 409 with its words."""
    detail = getattr(error, "response", {}).get("Error", {}).get("Message") or str(error)
    return HTTPException(status.HTTP_409_CONFLICT, f"AWS Batch refused: {detail}")


def add_action_routes(app: FastAPI, worlds: Worlds, jinja: Environment) -> None:
    """Add the action routes to the view's app, and the buttons' helpers to its templates."""

    def region_of(chosen: Selection) -> str:
        return worlds.get(chosen.conn_id, chosen.region).key[1]

    def render(request: Request, template: str, chosen: Selection, **values: Any) -> HTMLResponse:
        html = jinja.get_template(template).render(
            request=request, chosen=chosen, region=region_of(chosen), **values
        )
        return HTMLResponse(html)

    def forged(request: Request, user: BaseUser, token: str | None, what: str) -> None:
        why = csrf.refusal(request, token, user.get_id(), what)
        if why is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, why)

    # -- terminate a job -----------------------------------------------------------------------------

    def job_to_terminate(
        chosen: Selection, job_id: str, allowed: Any, user: BaseUser
    ) -> tuple[JobRow, dict[str, Any]]:
        """The job, read fresh: 404 when the user may not see it, 403 when they may not end it."""
        described = worlds.get(chosen.conn_id, chosen.region).batch.describe_jobs([job_id]).get(job_id)
        if described is None or not allowed.may_see_job(job_row(described).dag_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"AWS Batch job {job_id} not found")
        row = job_row(described)
        if not may_terminate(auth_manager(), user, row.dag_id, chosen.conn_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal_to_terminate(row.dag_id))
        return row, described

    def terminate(chosen: Selection, row: JobRow, user: BaseUser, text: str) -> tuple[str, str]:
        """Terminate the job unless it has ended; return the outcome's code and the reason sent."""
        reason = termination_reason(user.get_name(), text)
        if row.status in ENDED:
            return "already-ended", reason
        world = worlds.get(chosen.conn_id, chosen.region)
        try:
            world.batch.terminate_job(row.job_id, reason)
        except Exception as error:
            if hasattr(error, "response"):
                raise aws_refusal(error) from error
            raise
        audit.record(
            audit.TERMINATE_JOB,
            user,
            {
                "job_id": row.job_id,
                "job_name": row.name,
                "status_before": row.status,
                "reason": reason,
                "conn_id": chosen.conn_id,
                "region": world.key[1],
            },
            dag_id=row.dag_id,
            task=row.task,
        )
        worlds.cache.clear()
        return "terminating", reason

    @app.get("/actions/jobs/{job_id}/terminate", response_class=HTMLResponse)
    def confirm_terminate(
        request: Request, job_id: str, chosen: Chosen, allowed: UserRights, user: User
    ) -> HTMLResponse:
        row, _ = job_to_terminate(chosen, job_id, allowed, user)
        token = csrf.issue(user.get_id(), purpose("terminate-job", chosen, region_of(chosen), job_id))
        return render(
            request,
            "confirm_terminate.html",
            chosen,
            row=row,
            token=token,
            field=csrf.FORM_FIELD,
            limit=REASON_TEXT_LIMIT,
            reason=termination_reason(user.get_name()),
        )

    @app.post("/actions/jobs/{job_id}/terminate")
    def terminate_form(
        request: Request, job_id: str, chosen: Chosen, allowed: UserRights, user: User, form: Form
    ) -> RedirectResponse:
        what = purpose("terminate-job", chosen, region_of(chosen), job_id)
        forged(request, user, form.get(csrf.FORM_FIELD), what)
        if form.get("confirm") != "yes":
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "confirm the termination on its confirmation page"
            )
        row, _ = job_to_terminate(chosen, job_id, allowed, user)
        outcome, _ = terminate(chosen, row, user, form.get("reason", "")[:REASON_TEXT_LIMIT])
        back = chosen.url(f"jobs/{quote(job_id, safe='')}")
        return RedirectResponse(f"{back}&done={outcome}", status_code=status.HTTP_303_SEE_OTHER)

    @app.post("/api/jobs/{job_id}/terminate")
    def terminate_json(
        request: Request,
        job_id: str,
        chosen: Chosen,
        allowed: UserRights,
        user: User,
        body: TerminateBody | None = None,
    ) -> JSONResponse:
        what = purpose("terminate-job", chosen, region_of(chosen), job_id)
        forged(request, user, request.headers.get(csrf.HEADER), what)
        row, _ = job_to_terminate(chosen, job_id, allowed, user)
        outcome, reason = terminate(chosen, row, user, body.reason if body else "")
        return JSONResponse(
            {"job_id": row.job_id, "status": row.status, "outcome": outcome, "reason": reason}
        )

    # -- disable / enable a job queue ----------------------------------------------------------------

    def queue_to_change(chosen: Selection, name: str, user: BaseUser) -> dict[str, Any]:
        """The queue, read fresh, after the permission check (403 before any AWS call)."""
        if not may_change_queues(auth_manager(), user, chosen.conn_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal_to_change_queues())
        wanted = queue_name(name)
        found = worlds.get(chosen.conn_id, chosen.region).batch.describe_job_queues([wanted])
        queue = next((q for q in found if q.get("status") != "DELETED"), None)
        if queue is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job queue {wanted} not found")
        return queue

    def change_queue(chosen: Selection, queue: dict[str, Any], user: BaseUser, state: str) -> str:
        """Put the queue in ``state`` unless it is in it; return the outcome's code."""
        if queue.get("state") == state:
            return "queue-unchanged"
        world = worlds.get(chosen.conn_id, chosen.region)
        name = str(queue["jobQueueName"])
        try:
            world.batch.update_job_queue({"jobQueue": name, "state": state})
        except Exception as error:
            if hasattr(error, "response"):
                raise aws_refusal(error) from error
            raise
        audit.record(
            audit.DISABLE_QUEUE if state == "DISABLED" else audit.ENABLE_QUEUE,
            user,
            {
                "job_queue": name,
                "state": state,
                "state_before": queue.get("state"),
                "conn_id": chosen.conn_id,
                "region": world.key[1],
            },
        )
        worlds.cache.clear()
        return f"queue-{state.lower()}"

    @app.get("/actions/queues/{name:path}/state", response_class=HTMLResponse)
    def confirm_queue_state(
        request: Request,
        name: str,
        chosen: Chosen,
        user: User,
        to: Annotated[Literal["ENABLED", "DISABLED"], Query()],
    ) -> HTMLResponse:
        queue = queue_to_change(chosen, name, user)
        what = purpose("queue-state", chosen, region_of(chosen), str(queue["jobQueueName"]))
        token = csrf.issue(user.get_id(), what)
        return render(
            request,
            "confirm_queue_state.html",
            chosen,
            queue=queue,
            to=to,
            token=token,
            field=csrf.FORM_FIELD,
        )

    @app.post("/actions/queues/{name:path}/state")
    def queue_state_form(
        request: Request, name: str, chosen: Chosen, user: User, form: Form
    ) -> RedirectResponse:
        forged(
            request,
            user,
            form.get(csrf.FORM_FIELD),
            purpose("queue-state", chosen, region_of(chosen), queue_name(name)),
        )
        state = form.get("state", "")
        if form.get("confirm") != "yes" or state not in ("ENABLED", "DISABLED"):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "confirm the change on its confirmation page")
        queue = queue_to_change(chosen, name, user)
        outcome = change_queue(chosen, queue, user, state)
        back = chosen.url(f"queues/{quote(str(queue['jobQueueName']), safe='')}")
        return RedirectResponse(f"{back}&done={outcome}", status_code=status.HTTP_303_SEE_OTHER)

    @app.post("/api/queues/{name:path}/state")
    def queue_state_json(
        request: Request, name: str, chosen: Chosen, user: User, body: QueueStateBody
    ) -> JSONResponse:
        what = purpose("queue-state", chosen, region_of(chosen), queue_name(name))
        forged(request, user, request.headers.get(csrf.HEADER), what)
        queue = queue_to_change(chosen, name, user)
        outcome = change_queue(chosen, queue, user, body.state)
        return JSONResponse({"job_queue": queue["jobQueueName"], "state": body.state, "outcome": outcome})

    # -- what the job and queue pages show -------------------------------------------------------------

    def page_user(request: Request) -> BaseUser | None:
        """The signed-in user of a page (``rights`` keeps it on the request; None without auth)."""
        return getattr(request.state, "aws_batch_user", None)

    def terminate_link(request: Request, chosen: Selection, row: JobRow) -> str | None:
        user = page_user(request)
        if user is None or row.status in ENDED:
            return None
        if not may_terminate(auth_manager(), user, row.dag_id, chosen.conn_id):
            return None
        return chosen.url(f"actions/jobs/{quote(row.job_id, safe='')}/terminate")

    def queue_state_link(request: Request, chosen: Selection, queue: QueueRow) -> tuple[str, str] | None:
        user = page_user(request)
        if user is None or not may_change_queues(auth_manager(), user, chosen.conn_id):
            return None
        to = "ENABLED" if queue.state == "DISABLED" else "DISABLED"
        label = "Enable queue…" if to == "ENABLED" else "Disable queue…"
        path = f"actions/queues/{quote(queue.name, safe='')}/state"
        return label, f"{chosen.url(path)}&to={to}"

    def notice(request: Request) -> str | None:
        return NOTICES.get(request.query_params.get("done", ""))

    jinja.globals["terminate_link"] = terminate_link
    jinja.globals["queue_state_link"] = queue_state_link
    jinja.globals["action_notice"] = notice
