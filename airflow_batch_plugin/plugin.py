"""The Airflow plugin (``airflow.plugins`` entry point): extra links and the "AWS Batch" view.

Nothing is built at import time: Airflow's plugin manager instantiates the plugin once, which
fills that instance's lists (never lists shared on the class), and the monitoring view's FastAPI
app is built on its first request (:class:`LazyAsgiApp`), so the scheduler, workers and DAG
processor, which load plugins too, never build it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin

from airflow_batch_plugin.compat import menu_entry
from airflow_batch_plugin.links import VIEW_PREFIX

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The name of the view in Airflow's navigation.
VIEW_NAME = "AWS Batch"


class LazyAsgiApp:
    """An ASGI app that builds the real one (``factory()``) on its first request.

    :param factory: returns the app to serve.
    """

    def __init__(self, factory: Callable[[], AsgiApp]) -> None:
        self.factory = factory
        self._app: AsgiApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self.factory()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return f"LazyAsgiApp({getattr(self.factory, '__qualname__', self.factory)!r})"


def _monitoring_app() -> AsgiApp:
    from airflow_batch_plugin.ui.app import create_app

    return create_app()


class AwsBatchPlugin(AirflowPlugin):
    """AWS Batch integration for the Airflow UI: operator extra links and the "AWS Batch" view."""

    name = "aws_batch"

    def __init__(self) -> None:
        """Fill this instance's lists (not the class's: nothing shared, nothing at import)."""
        super().__init__()
        from airflow_batch_plugin.links import ALL_LINK_CLASSES

        self.operator_extra_links = [link() for link in ALL_LINK_CLASSES]
        self.fastapi_apps = [
            {"app": LazyAsgiApp(_monitoring_app), "url_prefix": VIEW_PREFIX, "name": VIEW_NAME},
        ]
        # Airflow 3.1+: an entry under Browse; 3.0: under "Plugins" (see compat.menu_entry).
        for attribute, entries in menu_entry(VIEW_NAME, f"{VIEW_PREFIX}/", "aws-batch").items():
            setattr(self, attribute, entries)
