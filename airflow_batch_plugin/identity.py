"""Who submitted a job: the Airflow task instance, as AWS tags and as a human-readable reason."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Tag keys our operators put on every job they submit (so a retry can find its job again).
DAG_TAG = "airflow:dag_id"
RUN_TAG = "airflow:run_id"
TASK_TAG = "airflow:task_id"
MAP_INDEX_TAG = "airflow:map_index"
#: What AWS allows in tag values besides letters, digits and white space.
_NOT_IN_TAGS = re.compile(r"[^\w\s.:/=+\-@]")


def task_instance_tags(context: Mapping[str, Any]) -> dict[str, str]:
    """Return the tags naming the task instance in ``context`` (values clipped to AWS's 256)."""
    ti = context["ti"]
    tags = {
        DAG_TAG: str(ti.dag_id),
        RUN_TAG: str(ti.run_id),
        TASK_TAG: str(ti.task_id),
        MAP_INDEX_TAG: str(getattr(ti, "map_index", -1)),
    }
    return {key: tag_value(value) for key, value in tags.items()}


def tag_value(text: str) -> str:
    """Make ``text`` a valid AWS tag value: allowed characters only, at most 256 of them."""
    return _NOT_IN_TAGS.sub("_", text)[:256]


def task_instance_label(context: Mapping[str, Any]) -> str:
    """Return ``dag_id/run_id/task_id[map_index]`` for messages such as termination reasons."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    suffix = f"[{map_index}]" if map_index is not None and map_index >= 0 else ""
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}{suffix}"


def termination_reason(context: Mapping[str, Any], why: str = "was stopped") -> str:
    """Return the reason given to TerminateJob for the task instance's job: ``... task d/r/t was stopped``."""
    return f"Terminated by Airflow: task {task_instance_label(context)} {why}"


def terminated_for_task(job: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Tell whether ``job`` FAILED because a try of this task instance terminated it."""
    reason = str(job.get("statusReason") or "")
    ours = f"Terminated by Airflow: task {task_instance_label(context)} "
    return job.get("status") == "FAILED" and reason.startswith(ours)
