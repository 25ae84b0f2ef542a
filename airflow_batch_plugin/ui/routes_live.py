"""Live pages and a job's whole log: the routes and page globals this part of the view adds.

- Live pages: the overview, a queue page and a job page load ``static/live.js``, which polls
  the page's JSON twin every ``[aws_batch] view_refresh_seconds`` (default 10; 0 turns it off)
  with ``If-None-Match`` (:mod:`~airflow_batch_plugin.ui.etag`); when the twin changed, it
  fetches the page again and swaps the blocks that differ. Running jobs' elapsed times tick in
  the browser between polls (elements marked ``data-elapsed-from``).
- ``/jobs/{id}/log``: one page of one of the job's streams (:mod:`~airflow_batch_plugin.ui.logs`),
  older and newer pages by AWS's tokens, a live tail while the job runs (``static/log.js``), a
  download and a link to the stream in the CloudWatch console; JSON twin ``/api/jobs/{id}/log``,
  download ``/jobs/{id}/log/download``. A job's log is shown to the users who see the job (404
  for anyone else, as for the job page).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse

from airflow_batch_plugin.ui.app import CONFIG_SECTION, Chosen, Selection, UserRights, as_json
from airflow_batch_plugin.ui.etag import JsonETags
from airflow_batch_plugin.ui.logs import (
    DEFAULT_PAGE_EVENTS,
    ENDED,
    LogPage,
    LogSource,
    chosen_source,
    download_cap_bytes,
    download_lines,
    log_sources,
    read_page,
)
from airflow_batch_plugin.ui.timezone import format_time

if TYPE_CHECKING:
    from fastapi import FastAPI
    from jinja2 import Environment

    from airflow_batch_plugin.ui.app import Worlds
    from airflow_batch_plugin.ui.data import BatchWorld, JobPage
    from airflow_batch_plugin.ui.permissions import Rights

STATIC = Path(__file__).parent / "static"
#: The scripts the view serves (nothing else is read from STATIC).
SCRIPTS = ("live.js", "log.js")
DEFAULT_REFRESH_SECONDS = 10.0

Stream = Annotated[str | None, Query(max_length=1024)]
Token = Annotated[str | None, Query(max_length=1024)]
Start = Annotated[Literal["head", "tail"], Query()]
Limit = Annotated[int, Query(ge=1, le=10_000)]


def refresh_seconds() -> float:
    """How often live pages poll (``[aws_batch] view_refresh_seconds``; 0: never)."""
    from airflow.providers.common.compat.sdk import conf

    seconds = conf.getfloat(CONFIG_SECTION, "view_refresh_seconds", fallback=DEFAULT_REFRESH_SECONDS)
    return max(0.0, float(seconds))


def live_twin(request: Request, chosen: Selection) -> str:
    """The JSON twin a page polls: the overview, a job or a queue page; '' for other pages."""
    name = getattr(request.scope.get("route"), "name", "")
    params = request.path_params
    if name == "overview":
        return chosen.url("api/overview")
    if name == "job":
        return chosen.url(f"api/jobs/{quote(str(params['job_id']), safe='')}")
    if name == "queue":
        return chosen.url(f"api/queues/{quote(str(params['name']), safe='')}")
    return ""


def now_ms() -> int:
    return int(time.time() * 1000)


def console_url(world: BatchWorld, job_id: str, source: LogSource) -> str:
    """The stream in the CloudWatch console of the connection's partition and the page's region."""
    from airflow_batch_plugin.links import LinkTarget, link_target

    try:
        partition = link_target(world.logs).partition
    except Exception:  # no connection details: the commercial partition
        partition = "aws"
    target = LinkTarget(region=world.key[1], partition=partition)
    return target.log_stream(job_id, source.group, source.stream)


class LogLinks:
    """The URLs of a log page: other pages of the stream, the other streams, the download."""

    def __init__(self, chosen: Selection, job_id: str, source: LogSource | None, limit: int) -> None:
        self.chosen = chosen
        self.job = f"jobs/{quote(job_id, safe='')}"
        self.source = source
        self.limit = limit

    def page(self, start: str = "tail", token: str | None = None, stream: str | None = None) -> str:
        return self._with(f"{self.job}/log", start, token, stream)

    def api(self, start: str = "head", token: str | None = None) -> str:
        return self._with(f"api/{self.job}/log", start, token, None)

    def download(self) -> str:
        url = self.chosen.url(f"{self.job}/log/download")
        return f"{url}&stream={quote(self.source.stream, safe='')}" if self.source else url

    def _with(self, path: str, start: str, token: str | None, stream: str | None) -> str:
        stream = stream or (self.source.stream if self.source else None)
        url = f"{self.chosen.url(path)}&start={start}&limit={self.limit}"
        if stream:
            url += f"&stream={quote(stream, safe='')}"
        if token:
            url += f"&token={quote(token, safe='')}"
        return url


def page_json(log: LogPage, running: bool) -> dict[str, Any]:
    return {
        "source": as_json(log.source),
        "missing": log.missing,
        "running": running,
        "events": [
            {"timestamp": event.timestamp, "time": format_time(event.timestamp), "message": event.message}
            for event in log.events
        ],
        "next_forward_token": log.next_forward_token,
        "next_backward_token": log.next_backward_token,
    }


def attachment_name(job_id: str, stream: str) -> str:
    """A safe file name for a download: ``<job id>-<stream>.log`` with unusual characters as ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{job_id}-{stream}")[:200] + ".log"


def add_live_pages(app: FastAPI, worlds: Worlds, jinja: Environment) -> None:
    """Add the live pages' script and ETags, the log pages and their globals to the view's app."""
    app.add_middleware(JsonETags)
    jinja.globals.update(live_twin=live_twin, refresh_seconds=refresh_seconds, now_ms=now_ms)

    @app.get("/static/{name}")
    def script(name: str) -> FileResponse:
        if name not in SCRIPTS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no script {name}")
        return FileResponse(
            STATIC / name, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    def visible_job(chosen: Selection, job_id: str, allowed: Rights) -> tuple[BatchWorld, JobPage]:
        world = worlds.get(chosen.conn_id, chosen.region)
        found = world.job(job_id)
        if found is None or not allowed.may_see_job(found.row.dag_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"AWS Batch job {job_id} not found")
        return world, found

    def source_of(world: BatchWorld, found: JobPage, stream: str | None) -> tuple[list[LogSource], Any]:
        sources = log_sources(world, found)
        source = chosen_source(found, sources, stream)
        if stream and source is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{stream} is not a log stream of this job")
        return sources, source

    @app.get("/jobs/{job_id}/log", response_class=HTMLResponse)
    def job_log(
        request: Request,
        job_id: str,
        chosen: Chosen,
        allowed: UserRights,
        stream: Stream = None,
        token: Token = None,
        start: Start = "tail",
        limit: Limit = DEFAULT_PAGE_EVENTS,
    ) -> HTMLResponse:
        world, found = visible_job(chosen, job_id, allowed)
        sources, source = source_of(world, found, stream)
        log = read_page(world, source, token, start == "head", limit) if source else None
        running = found.row.status not in ENDED
        links = LogLinks(chosen, job_id, source, limit)
        html = jinja.get_template("log.html").render(
            request=request,
            chosen=chosen,
            region=world.key[1],
            page=found,
            row=found.row,
            sources=sources,
            source=source,
            log=log,
            links=links,
            running=running,
            # A live tail follows the newest page, or a page reached by going forward.
            tails=running and log is not None and (token is None or start == "head"),
            console_url=console_url(world, job_id, source) if source else None,
            nodes=[] if sources else _node_ids(found),
        )
        return HTMLResponse(html)

    @app.get("/api/jobs/{job_id}/log")
    def job_log_json(
        job_id: str,
        chosen: Chosen,
        allowed: UserRights,
        stream: Stream = None,
        token: Token = None,
        start: Start = "tail",
        limit: Limit = DEFAULT_PAGE_EVENTS,
    ) -> JSONResponse:
        world, found = visible_job(chosen, job_id, allowed)
        sources, source = source_of(world, found, stream)
        running = found.row.status not in ENDED
        body: dict[str, Any] = {
            "job_id": found.row.job_id,
            "status": found.row.status,
            "running": running,
            "sources": as_json(sources),
        }
        if source is not None:
            links = LogLinks(chosen, job_id, source, limit)
            body.update(page_json(read_page(world, source, token, start == "head", limit), running))
            body["console_url"] = console_url(world, job_id, source)
            body["download_url"] = links.download()
        return JSONResponse(body)

    @app.get("/jobs/{job_id}/log/download")
    def job_log_download(
        job_id: str, chosen: Chosen, allowed: UserRights, stream: Stream = None
    ) -> StreamingResponse:
        world, found = visible_job(chosen, job_id, allowed)
        _, source = source_of(world, found, stream)
        if source is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"AWS Batch job {job_id} has no log of its own")
        name = attachment_name(found.row.job_id, source.stream)
        return StreamingResponse(
            download_lines(world, source, download_cap_bytes()),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _node_ids(found: JobPage) -> list[str]:
    """A multi-node parent's node jobs (each with a log of its own)."""
    return [part.job_id for part in found.parts if part.job_id]
