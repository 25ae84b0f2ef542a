"""The jobs finder's routes: ``/jobs`` (HTML) and its JSON twin ``/api/jobs``.

``?queue=NAME&status=RUNNABLE`` pages through a queue's jobs of a status (``next_token`` carries
AWS's nextToken); ``array_job_id=ID&status=...`` through an array's children; ``job_id=ID[,ID...]``
searches by id; ``name`` (a trailing ``*`` for a prefix), ``created_after`` / ``created_before``
(ISO 8601 in ``[core] default_timezone`` unless an offset is given, or epoch milliseconds),
``dag_id``, ``task_id`` and ``run_id`` filter; ``per_page`` sets the ListJobs page size (1 to 100). See
:mod:`~airflow_batch_plugin.ui.finder` for the AWS calls a page costs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse

from airflow_batch_plugin.ui.app import Chosen, Selection, UserRights, as_json
from airflow_batch_plugin.ui.data import STATUSES
from airflow_batch_plugin.ui.finder import (
    DEFAULT_PAGE_SIZE,
    MAX_JOB_IDS,
    MAX_PAGE_SIZE,
    SCAN_PAGES,
    FinderPage,
    JobFinder,
    JobQuery,
    parse_time,
)
from airflow_batch_plugin.ui.timezone import configured_timezone

if TYPE_CHECKING:
    from fastapi import FastAPI
    from jinja2 import Environment

    from airflow_batch_plugin.ui.app import Worlds
    from airflow_batch_plugin.ui.permissions import Rights

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,128}\*?$"
JOB_ID = re.compile(r"^[A-Za-z0-9:#_-]{1,128}$")
Text = Annotated[str | None, Query(max_length=250)]


def job_query(
    queue: Text = None,
    array_job_id: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9:#_-]+$")] = None,
    job_id: Annotated[str | None, Query(max_length=MAX_JOB_IDS * 130)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    dag_id: Text = None,
    task_id: Text = None,
    run_id: Text = None,
    name: Annotated[str | None, Query(max_length=129)] = None,
    created_after: Annotated[str | None, Query(max_length=40)] = None,
    created_before: Annotated[str | None, Query(max_length=40)] = None,
    per_page: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=8192)] = None,
) -> JobQuery:
    """Read and check the finder's query (400 for what AWS would refuse or the view cannot read)."""
    wanted_status = (status_ or "").strip().upper() or None
    if wanted_status is not None and wanted_status not in STATUSES:
        raise _bad(f"status must be one of {', '.join(STATUSES)} (or empty for every status)")
    ids = tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", job_id or "") if part))
    if len(ids) > MAX_JOB_IDS or not all(JOB_ID.match(part) for part in ids):
        raise _bad(f"job_id takes up to {MAX_JOB_IDS} job ids separated by commas or spaces")
    name = (name or "").strip() or None
    if name is not None and not re.match(NAME_PATTERN, name):
        raise _bad("name is a job name (letters, digits, - and _), with a trailing * for a prefix")
    try:
        zone = configured_timezone()  # the zone the page shows times in, and names
        after, before = parse_time(created_after, zone), parse_time(created_before, zone)
    except ValueError:
        raise _bad("created_after and created_before take ISO 8601 times or epoch milliseconds") from None
    return JobQuery(
        queue=(queue or "").strip() or None,
        array_job_id=array_job_id or None,
        job_ids=ids,
        status=wanted_status,
        dag_id=(dag_id or "").strip() or None,
        task_id=(task_id or "").strip() or None,
        run_id=(run_id or "").strip() or None,
        name=name,
        created_after=after,
        created_before=before,
        page_size=per_page,
        token=next_token or None,
    )


def _bad(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail)


Wanted = Annotated[JobQuery, Depends(job_query)]


def query_params(query: JobQuery, **changes: Any) -> dict[str, str]:
    """The URL parameters that ask for ``query`` (with ``changes``), for links between pages."""
    values: dict[str, Any] = {
        "queue": query.queue,
        "array_job_id": query.array_job_id,
        "job_id": ",".join(query.job_ids),
        "status": query.status,
        "dag_id": query.dag_id,
        "task_id": query.task_id,
        "run_id": query.run_id,
        "name": query.name,
        "created_after": query.created_after,
        "created_before": query.created_before,
        "per_page": query.page_size if query.page_size != DEFAULT_PAGE_SIZE else None,
        "next_token": query.token,
        **changes,
    }
    return {key: str(value) for key, value in values.items() if value not in (None, "")}


def finder_url(chosen: Selection, query: JobQuery, path: str = "jobs", **changes: Any) -> str:
    """The finder's URL (``path``: the page or ``api/jobs``) for ``query`` with ``changes``,
    keeping the connection and region."""
    base = chosen.url(path)
    params = query_params(query, **changes)
    return f"{base}&{urlencode(params)}" if params else base


def add_finder_routes(app: FastAPI, worlds: Worlds, jinja: Environment) -> None:
    """Add ``/jobs`` and ``/api/jobs`` to the view's app."""

    def found(chosen: Selection, query: JobQuery, allowed: Rights) -> FinderPage | None:
        if not (query.queue or query.array_job_id or query.job_ids):
            return None  # the form alone
        finder = JobFinder(worlds.get(chosen.conn_id, chosen.region), allowed)
        try:
            return finder.find(query)
        except LookupError:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"AWS Batch job {query.array_job_id} not found"
            ) from None
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message") or str(error)
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"AWS refused the listing: {message}") from None

    @app.get("/jobs", response_class=HTMLResponse)
    def jobs_page(request: Request, chosen: Chosen, allowed: UserRights, query: Wanted) -> HTMLResponse:
        result = found(chosen, query, allowed)
        region = worlds.get(chosen.conn_id, chosen.region).key[1]
        html = jinja.get_template("jobs.html").render(
            request=request,
            chosen=chosen,
            region=region,
            query=query,
            result=result,
            sees_account=allowed.sees_account,
            finder_url=lambda **changes: finder_url(chosen, query, **changes),
            scan_pages=SCAN_PAGES,
        )
        return HTMLResponse(html)

    @app.get("/api/jobs")
    def jobs_json(chosen: Chosen, allowed: UserRights, query: Wanted) -> JSONResponse:
        result = found(chosen, query, allowed)
        if result is None:
            raise _bad("give a queue, an array_job_id or a job_id")
        body = as_json(result)
        token = result.next_token
        body["next_url"] = finder_url(chosen, query, "api/jobs", next_token=token) if token else None
        return JSONResponse(body)
