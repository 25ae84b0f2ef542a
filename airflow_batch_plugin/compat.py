"""What differs between the Airflow releases the plugin supports (3.0 to 3.3), decided in one place.

Names whose home moved between releases are imported here from where the running Airflow keeps
them, and every other module imports them from here: ``TaskDeferralTimeout`` (in
``airflow.sdk.exceptions`` from 3.2, ``airflow.exceptions`` before), ``KNOWN_CONTEXT_KEYS``,
``remove_task_decorator`` and ``TriggerRule`` (in the Task SDK from 3.1, ``airflow.utils``
before), ``ResumableJobMixin`` (common-compat's, a stand-in before 3.3); 3.1 also dropped two
parameters of ``DecoratedOperator._handle_output`` (:func:`handle_decorated_output`). Features
a release lacks have a flag, a fallback and a sentence for the task log
(:func:`what_this_airflow_lacks`):

========================  =====================================  ==========================================
feature                   from                                   before that
========================  =====================================  ==========================================
task state store          Airflow 3.3 (``task_state_store``)     the job id is kept in an XCom pushed right
                                                                 after SubmitJob (a deferral timeout reads
                                                                 it); a retry finds the job by its tags
``BaseTrigger.on_kill``   Airflow 3.3                            killing a deferred task leaves its job
                                                                 running until it ends or times out
``external_views``        Airflow 3.1                            the view is listed in the "Plugins" menu
                                                                 (``appbuilder_menu_items``) when the FAB
                                                                 provider is installed
XCom of ``None``          Airflow 3.1 (3.0's execution API       an XCom whose value is None is not pushed;
                          answers 422)                           pulling it gives None all the same
========================  =====================================  ==========================================

One thing the same on every release is read from the Task SDK's insides, so that it is read in
one place: whether a run resumes a deferral (:func:`resumes_a_deferral`).
"""

from __future__ import annotations

import importlib.util
import re
from typing import TYPE_CHECKING, Any

from airflow import __version__ as _airflow_version
from airflow.providers.common.compat.sdk import ResumableJobMixin
from airflow.triggers.base import BaseTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context, TriggerRule
    from airflow.sdk.definitions._internal.decorators import remove_task_decorator
    from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS
    from airflow.sdk.exceptions import TaskDeferralTimeout


def release(version: str) -> tuple[int, int, int]:
    """Return ``(major, minor, patch)`` of a version string such as ``3.1.8`` or ``3.2.0rc1``."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise ValueError(f"version {version!r}: not a release number (major.minor[.patch])")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


#: The running Airflow's version, e.g. ``"3.1.8"``, and its release tuple.
AIRFLOW_VERSION_TEXT: str = _airflow_version
AIRFLOW_VERSION: tuple[int, int, int] = release(_airflow_version)

#: Airflow 3.3 gives tasks a state store that outlives a deferral and a retry.
HAS_TASK_STATE_STORE = AIRFLOW_VERSION >= (3, 3)
#: Airflow 3.3's triggerer calls ``BaseTrigger.on_kill()`` when a user kills a deferred task.
TRIGGER_ON_KILL = hasattr(BaseTrigger, "on_kill")
#: Airflow 3.1 lets plugins add entries to the UI's navigation (``external_views``).
HAS_EXTERNAL_VIEWS = AIRFLOW_VERSION >= (3, 1)
#: Airflow 3.0's execution API refuses an XCom whose value is None (HTTP 422).
XCOM_ACCEPTS_NONE = AIRFLOW_VERSION >= (3, 1)

if not TYPE_CHECKING:
    if AIRFLOW_VERSION >= (3, 1):
        from airflow.sdk import TriggerRule
        from airflow.sdk.definitions._internal.decorators import remove_task_decorator
        from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS
    else:
        from airflow.utils.context import KNOWN_CONTEXT_KEYS
        from airflow.utils.decorators import remove_task_decorator
        from airflow.utils.trigger_rule import TriggerRule
    # What the Task SDK's resume_execution raises when a deferral timed out: 3.2 moved it.
    if AIRFLOW_VERSION >= (3, 2):
        from airflow.sdk.exceptions import TaskDeferralTimeout
    else:
        from airflow.exceptions import TaskDeferralTimeout

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_VERSION_TEXT",
    "HAS_EXTERNAL_VIEWS",
    "HAS_TASK_STATE_STORE",
    "KNOWN_CONTEXT_KEYS",
    "TRIGGER_ON_KILL",
    "XCOM_ACCEPTS_NONE",
    "ResumableJobMixin",
    "TaskDeferralTimeout",
    "TriggerRule",
    "fab_provider_installed",
    "handle_decorated_output",
    "keep_job_id_without_store",
    "menu_entry",
    "push_xcom",
    "remember_job_id",
    "remembered_job_id",
    "remove_task_decorator",
    "resumes_a_deferral",
    "what_this_airflow_lacks",
]


def push_xcom(ti: Any, key: str, value: Any) -> None:
    """Push an XCom; on Airflow 3.0, whose execution API refuses None, a None value is not pushed."""
    if value is None and not XCOM_ACCEPTS_NONE:
        return
    ti.xcom_push(key=key, value=value)


def resumes_a_deferral(ti: Any) -> bool | None:
    """Whether the running task instance ``ti`` resumes a deferral; None when ``ti`` cannot tell.

    The task runner of Airflow 3.0 to 3.3 keeps what the execution API said as the run started in
    ``RuntimeTaskInstance._ti_context_from_server``; its ``next_method`` names the method a
    deferred task resumes with, and is None on any other run (a try, a sensor's reschedule). The
    API keeps a task's XComs when it resumes and deletes them when any other run starts. Anything
    else (a ``TaskInstanceKey``, a task instance outside a task runner) gives None.
    """
    server_context = getattr(ti, "_ti_context_from_server", None)
    if server_context is None or not hasattr(server_context, "next_method"):
        return None
    return bool(server_context.next_method)


def handle_decorated_output(operator: Any, value: Any, context: Context | Mapping[str, Any]) -> Any:
    """Run ``DecoratedOperator._handle_output`` on a task's return value (outlets from assets).

    Airflow 3.0's takes the context and an ``xcom_push`` too (unused); 3.1 dropped both.
    """
    if AIRFLOW_VERSION >= (3, 1):
        return operator._handle_output(value)
    return operator._handle_output(value, context, context["ti"].xcom_push)


def keep_job_id_without_store(context: Context | Mapping[str, Any], key: str, job_id: str) -> None:
    """Right after SubmitJob, keep the job id where an Airflow without task state store can.

    Before Airflow 3.3 that is an XCom of this try (see :func:`remember_job_id`). With a store,
    nothing here: ``ResumableJobMixin`` records the id itself once ``submit_job`` returns.
    """
    if context.get("task_state_store") is None:
        remember_job_id(context, key, job_id)


def remember_job_id(context: Context | Mapping[str, Any], key: str, job_id: str) -> None:
    """Keep a task's job id where this Airflow can keep it: the task state store, else an XCom.

    The XCom survives a deferral (Airflow clears a task's XComs when a new try starts, not when
    it resumes), so a deferral timeout still finds the job to terminate; a retry finds it by the
    job's tags instead (see ``BatchSubmitJobOperator``).
    """
    store = context.get("task_state_store")
    if store is not None:
        store.set(key, job_id)
    else:
        context["ti"].xcom_push(key=key, value=job_id)


def remembered_job_id(context: Context | Mapping[str, Any], key: str) -> str | None:
    """Return the job id :func:`remember_job_id` kept for this try, if any."""
    store = context.get("task_state_store")
    if store is not None:
        value = store.get(key)
    else:
        ti = context["ti"]
        value = ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=ti.map_index)
    return str(value) if value else None


def what_this_airflow_lacks(context: Context | Mapping[str, Any], *, deferrable: bool) -> list[str]:
    """Say what a Batch job task cannot do on this Airflow, why, and what it does instead."""
    lacks = []
    if context.get("task_state_store") is None:
        lacks.append(
            "no task state store (Airflow 3.3 has it): the job id is kept in an XCom pushed right "
            "after SubmitJob, so a deferral timeout still terminates the job, and a retry finds the "
            "job an earlier try submitted by its tags (ListJobs)"
        )
    if deferrable and not TRIGGER_ON_KILL:
        lacks.append(
            "killing the deferred task (mark failed, clear) does not terminate the job: triggers get "
            "on_kill() from Airflow 3.3; the job runs until it ends or its attempt timeout"
        )
    return lacks


def fab_provider_installed() -> bool:
    """Whether the FAB provider (``apache-airflow-providers-fab``) is installed."""
    try:
        return importlib.util.find_spec("airflow.providers.fab") is not None
    except ModuleNotFoundError:
        return False


def menu_entry(name: str, href: str, url_route: str) -> dict[str, list[dict[str, Any]]]:
    """Return the plugin attributes that put a view in the UI's navigation on this Airflow.

    Airflow 3.1 and later: an ``external_views`` entry under Browse, shown inside the UI. Airflow
    3.0 has no ``external_views``; its UI lists ``appbuilder_menu_items`` that have an ``href``
    under a "Plugins" menu (opening the view in a new tab), but its api-server refuses to start
    with such an item unless the FAB provider is installed: without it, no entry (the view is
    still served at ``href``).
    """
    if HAS_EXTERNAL_VIEWS:
        view = {"name": name, "href": href, "destination": "nav", "category": "browse"}
        return {"external_views": [{**view, "url_route": url_route}]}
    if fab_provider_installed():
        return {"appbuilder_menu_items": [{"name": name, "href": href}]}
    return {}
