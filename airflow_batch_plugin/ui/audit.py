"""Write the view's actions to Airflow's audit log (the ``log`` table, the UI's "Audit Log").

Airflow's own API writes a :class:`airflow.models.log.Log` row for each change a user makes
(``airflow.api_fastapi.logging.decorators.action_logging``): the event, the user as ``owner``
and ``owner_display_name``, the DAG, task and run it concerns, and a JSON ``extra``. The view
writes the same kind of row, with the job's DAG, task, run and map index (from its ``airflow:*``
tags), so a termination shows in that DAG's audit log too. ``Log`` takes these fields the same
way in every Airflow release the plugin supports (3.0 to 3.3).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from airflow_batch_plugin.ui.data import TaskRef

#: The events the view writes (``Log.event`` holds at most 60 characters).
TERMINATE_JOB = "aws_batch.terminate_job"
DISABLE_QUEUE = "aws_batch.disable_job_queue"
ENABLE_QUEUE = "aws_batch.enable_job_queue"


def record(
    event: str,
    user: BaseUser,
    extra: Mapping[str, Any],
    *,
    dag_id: str | None = None,
    task: TaskRef | None = None,
) -> None:
    """Add one audit log row for ``user`` doing ``event``; ``extra`` is stored as JSON."""
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    where: dict[str, Any] = {"dag_id": dag_id}
    if task is not None:
        where = {"dag_id": task.dag_id, "task_id": task.task_id, "run_id": task.run_id}
        where["map_index"] = task.map_index
    name = user.get_name()
    with create_session() as session:
        session.add(
            Log(
                event=event,
                owner=name,
                owner_display_name=name,
                extra=json.dumps(dict(extra), sort_keys=True, default=str),
                **where,
            )
        )
