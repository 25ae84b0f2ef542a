"""Which extra-link URLs a task stored, so that a link with nothing to show asks XCom for nothing.

At the end of every run of a task (success, failure, deferral, reschedule) Airflow's task runner
asks each operator extra link for its URL (``get_link``) and stores the answer under the link's
XCom key. Asking XCom for a key that was never pushed makes Airflow's API client log
``[error] XCom not found`` in the task log, so a link must know without asking whether its key
is there. This ledger answers that:

- every URL the operator stores (``BatchLink.persist``) is noted here, per task instance try,
  in the process that runs it;
- Airflow deletes a task instance's XComs when a run starts (a first try, a retry, a sensor's
  reschedule), except when the run resumes a deferral
  (:func:`~airflow_batch_plugin.compat.resumes_a_deferral`). So in a run that resumed nothing,
  what this process noted is all there is;
- a run that resumed a deferral also sees what the run before the deferral stored; that run's
  end stored every link's key (a URL or ''), so reading it never misses.
"""

from __future__ import annotations

from typing import Any

from airflow_batch_plugin.compat import resumes_a_deferral

#: One task instance try: dag id, run id, task id, map index, try number.
TryKey = tuple[str, str, str, int, int]

#: The URLs stored in this process, per task instance try and link key.
_STORED: dict[TryKey, dict[str, str]] = {}


def try_key(ti: Any) -> TryKey | None:
    """Return the try that ``ti`` (a task instance or a TaskInstanceKey) names; None when it names none."""
    try:
        return (str(ti.dag_id), str(ti.run_id), str(ti.task_id), int(ti.map_index), int(ti.try_number))
    except (AttributeError, TypeError, ValueError):
        return None


def note(ti: Any, link_key: str, url: str) -> None:
    """Note that this process stored ``url`` for the link ``link_key`` of ``ti``'s try."""
    key = try_key(ti)
    if key is not None:
        _STORED.setdefault(key, {})[link_key] = url


def stored_url(ti: Any, link_key: str) -> str | None:
    """Return the URL this process stored for the link of ``ti``'s try; None if it stored none."""
    key = try_key(ti)
    return None if key is None else _STORED.get(key, {}).get(link_key)


def may_hold_earlier_urls(ti: Any) -> bool:
    """Whether XCom may hold a URL of ``ti``'s try that this process did not store.

    False only when ``ti`` is a running task instance whose run resumed nothing (Airflow deleted
    the try's XComs as it started): then the ledger knows every URL. True for a run that resumed
    a deferral, and for anything else (a plain TaskInstanceKey: only XCom knows).
    """
    return resumes_a_deferral(ti) is not False


def forget() -> None:
    """Forget every noted URL (for tests)."""
    _STORED.clear()
