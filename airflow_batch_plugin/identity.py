"""Who submitted a job: the Airflow task instance, as AWS tags and as a human-readable reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Tag keys our operators put on every job they submit (so a retry can find its job again).
DAG_TAG = "airflow:dag_id"
RUN_TAG = "airflow:run_id"
TASK_TAG = "airflow:task_id"
MAP_INDEX_TAG = "airflow:map_index"


def task_instance_tags(context: Mapping[str, Any]) -> dict[str, str]:
    """Return the tags naming the task instance in ``context`` (values clipped to AWS's 256)."""
    ti = context["ti"]
    tags = {
        DAG_TAG: str(ti.dag_id),
        RUN_TAG: str(ti.run_id),
        TASK_TAG: str(ti.task_id),
        MAP_INDEX_TAG: str(getattr(ti, "map_index", -1)),
    }
    return {key: value[:256] for key, value in tags.items()}


def task_instance_label(context: Mapping[str, Any]) -> str:
    """Return ``dag_id/run_id/task_id[map_index]`` for messages such as termination reasons."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    suffix = f"[{map_index}]" if map_index is not None and map_index >= 0 else ""
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}{suffix}"
