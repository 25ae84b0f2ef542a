"""The "AWS Batch" monitoring view: a FastAPI app the plugin mounts on the Airflow api-server.

Pages (HTML, rendered on the server) and their JSON twins under ``api/``:

- ``/`` the overview: job queues (state, status, priority, compute environment order, jobs by
  status, with a chart), compute environments (kind, state, status, vCPUs) and the newest jobs
  Airflow submitted (status, duration, array progress, a link back to the task instance);
- ``/jobs/{id}`` one job: details, attempts, array children, the log tail;
- ``/jobs?queue=...&status=...`` every job of a queue (or ``array_job_id=...``: an array's
  children), paged with ListJobs' nextToken, filtered and searched, counted exactly up to
  ``[aws_batch] view_count_limit`` (:mod:`~airflow_batch_plugin.ui.finder`); JSON ``api/jobs``;
- ``/queues/{name}``, ``/compute-environments/{name}``, ``/job-definitions/{name}``;
- on a RUNNABLE job's page and on a queue's page, "Why is it waiting?" (``ui/waiting.py``): the
  place in GetJobQueueSnapshot, the share order, the queue's and compute environments' state
  and capacity, whether the job fits; JSON twins ``api/jobs/{id}`` (``waiting``) and
  ``api/queues/{name}``;
- ``/jobs/{id}/log`` a job's whole log (pages, live tail, download), the overview's, queues' and
  jobs' pages refreshing themselves, times in ``[core] default_timezone``: see
  :mod:`~airflow_batch_plugin.ui.routes_live`.

Every route needs an authenticated Airflow user allowed to see the website (Airflow's own auth
manager; an anonymous request gets 401, a browser is sent to the login page). Jobs are shown
only for the DAGs the user may read; jobs without a DAG tag and the queues, compute environments
and job definitions only for the users ``[aws_batch] view_resources_for`` names (see
:mod:`~airflow_batch_plugin.ui.permissions`). AWS is read with the connection and region of the query
(``?conn_id=...&region=...``), restricted to the connections ``[aws_batch] view_connections``
names (default ``aws_default``); answers are cached ``[aws_batch] view_cache_seconds`` (15).
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from airflow_batch_plugin.ui import timezone
from airflow_batch_plugin.ui.cache import TtlCache
from airflow_batch_plugin.ui.charts import RESOURCE_COLOURS, STATUS_COLOURS, stacked_bars
from airflow_batch_plugin.ui.data import STATUSES, BatchWorld, TaskRef
from airflow_batch_plugin.ui.permissions import UNRESTRICTED, Rights, refusal, rights_of
from airflow_batch_plugin.ui.waiting import Waiting, redacted

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager

CONFIG_SECTION = "aws_batch"
DEFAULT_CONNECTION = "aws_default"
TEMPLATES = Path(__file__).parent / "templates"


# -- settings, read at request time ----------------------------------------------------------------


def allowed_connections() -> list[str]:
    """The connection ids the view may read AWS with (``[aws_batch] view_connections``)."""
    from airflow.providers.common.compat.sdk import conf

    raw = conf.get(CONFIG_SECTION, "view_connections", fallback=DEFAULT_CONNECTION) or DEFAULT_CONNECTION
    return [name.strip() for name in str(raw).split(",") if name.strip()]


def cache_seconds() -> float:
    from airflow.providers.common.compat.sdk import conf

    return float(conf.getfloat(CONFIG_SECTION, "view_cache_seconds", fallback=15.0))


def airflow_base_url() -> str:
    from airflow_batch_plugin.links import view_base_url

    return view_base_url()


# -- where the pages read AWS -------------------------------------------------------------------------


class Worlds:
    """One :class:`BatchWorld` per (connection, region), built on first use, sharing one cache.

    :meth:`get` hands each request the world with a memo of its own (one read of each thing).
    """

    def __init__(self, cache: TtlCache) -> None:
        self.cache = cache
        self._worlds: dict[tuple[str, str | None], BatchWorld] = {}
        self._lock = threading.Lock()

    def get(self, conn_id: str, region: str | None) -> BatchWorld:
        with self._lock:
            world = self._worlds.get((conn_id, region))
            if world is None:
                from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
                from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook

                batch = BatchResourceHook(aws_conn_id=conn_id, region_name=region)
                logs = CloudWatchLogsHook(aws_conn_id=conn_id, region_name=region)
                resolved = region or batch.conn_region_name or "us-east-1"
                world = BatchWorld(batch, logs, self.cache, (conn_id, resolved))
                self._worlds[(conn_id, region)] = world
            return world.for_request()


@dataclasses.dataclass(frozen=True)
class Selection:
    """The connection and region a request reads, and how to link to other pages with them."""

    conn_id: str
    region: str | None
    root: str
    connections: list[str]

    def url(self, path: str, fragment: str = "") -> str:
        query = {"conn_id": self.conn_id, **({"region": self.region} if self.region else {})}
        return f"{self.root}/{path}?{urlencode(query)}{'#' + fragment if fragment else ''}"


def selection(
    request: Request,
    conn_id: Annotated[str, Query(max_length=250)] = DEFAULT_CONNECTION,
    region: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z0-9-]+$")] = None,
) -> Selection:
    """Read and check ``conn_id`` and ``region``; refuse connections the view may not use."""
    connections = allowed_connections()
    if conn_id not in connections:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"connection {conn_id!r} is not one the AWS Batch view may use "
            f"([{CONFIG_SECTION}] view_connections = {', '.join(connections)})",
        )
    return Selection(conn_id, region, str(request.scope.get("root_path", "")).rstrip("/"), connections)


def rights(request: Request, user: GetUserDep, chosen: Annotated[Selection, Depends(selection)]) -> Rights:
    """What the signed-in user may see (:mod:`~airflow_batch_plugin.ui.permissions`)."""
    request.state.aws_batch_user = user  # for the pages' action buttons (ui/routes_actions.py)
    return rights_of(auth_manager(), user, chosen.conn_id)


def auth_manager() -> BaseAuthManager:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


Chosen = Annotated[Selection, Depends(selection)]
UserRights = Annotated[Rights, Depends(rights)]


# -- rendering -----------------------------------------------------------------------------------------


def format_time(epoch_ms: int | None) -> str:
    """An AWS time (epoch ms) in Airflow's ``[core] default_timezone`` (see ui/timezone.py)."""
    return timezone.format_time(epoch_ms)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {rest:02d}s" if hours else f"{minutes}m {rest:02d}s"


def task_instance_url(task: TaskRef) -> str:
    """The Airflow UI's page of the task instance that submitted a job."""
    path = (
        f"/dags/{quote(task.dag_id, safe='')}/runs/{quote(task.run_id, safe='')}"
        f"/tasks/{quote(task.task_id, safe='')}"
    )
    if task.map_index >= 0:
        path += f"/mapped/{task.map_index}"
    return f"{airflow_base_url()}{path}"


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["time"] = format_time
    environment.filters["duration"] = format_duration
    environment.filters["quote"] = lambda value: quote(str(value), safe="")
    environment.globals["STATUSES"] = STATUSES
    environment.globals["COLOURS"] = {**RESOURCE_COLOURS, **STATUS_COLOURS}
    environment.globals["task_instance_url"] = task_instance_url
    environment.globals["zone_name"] = timezone.zone_name
    return environment


def as_json(value: Any) -> Any:
    """Dataclasses (rows, pages) as plain JSON values, with the properties they name in
    ``JSON_PROPERTIES`` (such as a job's ``duration_seconds``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [item.name for item in dataclasses.fields(value)]
        names += getattr(value, "JSON_PROPERTIES", ())
        return {name: as_json(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [as_json(item) for item in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


# -- the app ---------------------------------------------------------------------------------------------


def create_app(*, worlds: Worlds | None = None, authorize: bool = True) -> FastAPI:
    """Build the view's FastAPI app.

    :param worlds: where pages read AWS (default: one per connection and region, cached).
    :param authorize: protect every route with Airflow's auth manager (tests of the pages alone
        may turn it off; the plugin never does).
    """
    worlds = worlds or Worlds(TtlCache(ttl=cache_seconds()))
    jinja = templates()
    app = FastAPI(
        title="AWS Batch",
        description="AWS Batch queues, compute environments and jobs, for Airflow users.",
        dependencies=[Depends(requires_access_view(AccessView.WEBSITE))] if authorize else [],
        docs_url=None,
        redoc_url=None,
    )
    app.state.worlds = worlds
    if not authorize:
        app.dependency_overrides[rights] = lambda: UNRESTRICTED

    def page(request: Request, template: str, chosen: Selection, **values: Any) -> HTMLResponse:
        region = worlds.get(chosen.conn_id, chosen.region).key[1]
        values.setdefault("region", region)
        html = jinja.get_template(template).render(request=request, chosen=chosen, **values)
        return HTMLResponse(html)

    def require_account(allowed: Rights) -> None:
        if not allowed.sees_account:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal())

    # -- overview ----------------------------------------------------------------------------------

    def overview_data(chosen: Selection, allowed: Rights) -> dict[str, Any]:
        world = worlds.get(chosen.conn_id, chosen.region)
        account = allowed.sees_account
        return {
            "region": world.key[1],
            "resources_shown": account,
            "queues": world.queues() if account else [],
            "compute_environments": world.compute_environments() if account else [],
            "jobs": world.recent_jobs(dag_ids=allowed.readable_dags),
        }

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        data = overview_data(chosen, allowed)
        chart = stacked_bars([(queue.name, queue.counts) for queue in data["queues"]], STATUSES)
        return page(request, "overview.html", chosen, chart=chart, refusal=refusal(), **data)

    @app.get("/api/overview")
    def overview_json(chosen: Chosen, allowed: UserRights) -> JSONResponse:
        return JSONResponse(as_json(overview_data(chosen, allowed)))

    # -- one job -----------------------------------------------------------------------------------

    def job_page(chosen: Selection, job_id: str, allowed: Rights) -> Any:
        found = worlds.get(chosen.conn_id, chosen.region).job(job_id)
        if found is None or not allowed.may_see_job(found.row.dag_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"AWS Batch job {job_id} not found")
        return found

    def job_waiting(chosen: Selection, found: Any, allowed: Rights) -> Waiting | None:
        """Why a RUNNABLE job waits: the queue and its compute environments are the account's,
        so only users who see the account get it (others see the job without it)."""
        if not allowed.sees_account:
            return None
        waiting = worlds.get(chosen.conn_id, chosen.region).waiting_for_job(found)
        return None if waiting is None else redacted(waiting, lambda row: allowed.may_see_job(row.dag_id))

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job(request: Request, job_id: str, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        found = job_page(chosen, job_id, allowed)
        waiting = job_waiting(chosen, found, allowed)
        return page(request, "job.html", chosen, page=found, row=found.row, waiting=waiting)

    @app.get("/api/jobs/{job_id}")
    def job_json(job_id: str, chosen: Chosen, allowed: UserRights) -> JSONResponse:
        found = job_page(chosen, job_id, allowed)
        return JSONResponse({**as_json(found), "waiting": as_json(job_waiting(chosen, found, allowed))})

    # -- queues, compute environments, definitions ---------------------------------------------------

    def queue_data(chosen: Selection, name: str, allowed: Rights) -> dict[str, Any]:
        require_account(allowed)
        world = worlds.get(chosen.conn_id, chosen.region)
        row = world.queue(name)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job queue {name} not found")
        jobs = [job for job in world.recent_jobs(dag_ids=allowed.readable_dags) if job.queue == row.name]
        waiting = world.waiting_for_queue(row.name)
        if waiting is not None:
            waiting = redacted(waiting, lambda job_row: allowed.may_see_job(job_row.dag_id))
        return {"queue": row, "jobs": jobs, "waiting": waiting}

    @app.get("/queues/{name:path}", response_class=HTMLResponse)
    def queue(request: Request, name: str, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        data = queue_data(chosen, name, allowed)
        chart = stacked_bars([(data["queue"].name, data["queue"].counts)], STATUSES)
        return page(request, "queue.html", chosen, chart=chart, **data)

    @app.get("/api/queues/{name:path}")
    def queue_json(name: str, chosen: Chosen, allowed: UserRights) -> JSONResponse:
        return JSONResponse(as_json(queue_data(chosen, name, allowed)))

    @app.get("/compute-environments/{name:path}", response_class=HTMLResponse)
    def compute_environment(request: Request, name: str, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        require_account(allowed)
        world = worlds.get(chosen.conn_id, chosen.region)
        row = world.compute_environment(name)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"compute environment {name} not found")
        queues = [queue for queue in world.queues() if row.name in queue.compute_environments]
        return page(request, "compute_environment.html", chosen, environment=row, queues=queues)

    @app.get("/job-definitions/{name:path}", response_class=HTMLResponse)
    def job_definition(request: Request, name: str, chosen: Chosen, allowed: UserRights) -> HTMLResponse:
        require_account(allowed)
        definition = worlds.get(chosen.conn_id, chosen.region).job_definition(name)
        if definition is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job definition {name} not found")
        return page(request, "job_definition.html", chosen, definition=definition)

    from airflow_batch_plugin.ui.routes_details import add_detail_routes  # these import this module
    from airflow_batch_plugin.ui.routes_finder import add_finder_routes
    from airflow_batch_plugin.ui.routes_live import add_live_pages

    add_finder_routes(app, worlds, jinja)
    add_detail_routes(app, worlds, page, require_account)
    add_live_pages(app, worlds, jinja)

    # -- errors --------------------------------------------------------------------------------------

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if error.status_code == status.HTTP_401_UNAUTHORIZED and wants_html:
            return RedirectResponse(auth_manager().get_url_login(next_url=str(request.url)))
        root = str(request.scope.get("root_path", "")).rstrip("/")
        if wants_html and not request.url.path.startswith(f"{root}/api/"):
            html = jinja.get_template("error.html").render(
                request=request, status=error.status_code, detail=error.detail, chosen=None
            )
            return HTMLResponse(html, status_code=error.status_code, headers=error.headers)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    from airflow_batch_plugin.ui.routes_actions import add_action_routes  # it imports this module

    add_action_routes(app, worlds, jinja)
    return app
