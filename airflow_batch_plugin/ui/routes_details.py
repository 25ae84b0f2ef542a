"""Routes of the scheduling policy page and the job definitions list (and their JSON twins).

Both show the account's resources: only users who see the account get them (403 for others,
before any AWS call). The job page's details come with the job page itself (``ui/app.py``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse

from airflow_batch_plugin.ui.app import Chosen, Selection, UserRights, as_json
from airflow_batch_plugin.ui.definition_list import DEFINITION_STATUSES, DefinitionsPage

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from airflow_batch_plugin.ui.app import Worlds
    from airflow_batch_plugin.ui.permissions import Rights
    from airflow_batch_plugin.ui.scheduling_policies import SchedulingPolicyPage

#: AWS's job definition names: letters, numbers, hyphens and underscores, up to 128.
DEFINITION_NAME = r"^[A-Za-z0-9_-]{1,128}$"

Status = Annotated[str, Query(pattern="^(ACTIVE|INACTIVE)$")]
Name = Annotated[str | None, Query(max_length=128)]
Token = Annotated[str | None, Query(max_length=4096)]


def add_detail_routes(
    app: FastAPI,
    worlds: Worlds,
    page: Callable[..., HTMLResponse],
    require_account: Callable[[Rights], None],
) -> None:
    """Add ``/scheduling-policies/{name or ARN}`` and ``/job-definitions`` (with ``api/`` twins)."""

    def policy_data(chosen: Selection, name: str, allowed: Rights) -> SchedulingPolicyPage:
        require_account(allowed)
        found = worlds.get(chosen.conn_id, chosen.region).scheduling_policy(name)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"scheduling policy {name} not found")
        return found

    @app.get("/scheduling-policies/{name:path}", response_class=HTMLResponse)
    def scheduling_policy(request: Request, name: str, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        return page(request, "scheduling_policy.html", chosen, policy=policy_data(chosen, name, allowed))

    @app.get("/api/scheduling-policies/{name:path}")
    def scheduling_policy_json(name: str, chosen: Chosen, allowed: UserRights) -> JSONResponse:
        return JSONResponse(as_json(policy_data(chosen, name, allowed)))

    def definitions_data(
        chosen: Selection, allowed: Rights, status_: str, name: str | None, token: str | None
    ) -> DefinitionsPage:
        require_account(allowed)
        name = (name or "").strip() or None
        if name is not None and not _valid_name(name):
            raise HTTPException(
                422,  # Unprocessable: a name AWS would refuse
                "a job definition name has up to 128 letters, numbers, hyphens and underscores",
            )
        return worlds.get(chosen.conn_id, chosen.region).job_definitions(status_, name, token or None)

    @app.get("/job-definitions", response_class=HTMLResponse)
    def job_definitions(
        request: Request,
        chosen: Chosen,
        allowed: UserRights,
        status: Status = "ACTIVE",
        name: Name = None,
        next_token: Token = None,
    ) -> HTMLResponse:
        found = definitions_data(chosen, allowed, status, name, next_token)
        return page(
            request,
            "job_definitions.html",
            chosen,
            listing=found,
            statuses=DEFINITION_STATUSES,
            list_url=lambda **query: _list_url(chosen, **query),
        )

    @app.get("/api/job-definitions")
    def job_definitions_json(
        chosen: Chosen,
        allowed: UserRights,
        status: Status = "ACTIVE",
        name: Name = None,
        next_token: Token = None,
    ) -> JSONResponse:
        return JSONResponse(as_json(definitions_data(chosen, allowed, status, name, next_token)))


def _valid_name(name: str) -> bool:
    return re.match(DEFINITION_NAME, name) is not None


def _list_url(chosen: Selection, **query: Any) -> str:
    """The list's URL with the connection, region and these filters (empty ones left out)."""
    extra = {key: value for key, value in query.items() if value}
    url = chosen.url("job-definitions")
    return f"{url}&{urlencode(extra)}" if extra else url
