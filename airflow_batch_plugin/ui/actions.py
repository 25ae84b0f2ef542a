"""Who may act in the "AWS Batch" view, and what an action says to AWS.

Two actions, each decided by Airflow's auth manager (after the user may see the thing at all,
:mod:`~airflow_batch_plugin.ui.permissions`: a job they may not see is 404, as for viewing):

- **terminate a job** (TerminateJob): a job tagged ``airflow:dag_id`` by the users who may edit
  that DAG (``is_authorized_dag``, method ``PUT``: in Airflow's simple and FAB auth managers the
  User, Op and Admin roles, not Viewer); a job without a DAG tag (Airflow did not start it) by
  the users who may edit the view's connection, when account actions are on (below);
- **disable / enable a job queue** (UpdateJobQueue ``state``): only when
  ``[aws_batch] view_account_actions = True`` (default False: the view changes no shared
  resource unless the admin opts in), and then by the users who may edit the connection the page
  reads AWS with (``is_authorized_connection``, ``PUT``: Admin and Op), as for seeing the account.

Anyone else gets 403. The termination reason names the Airflow user (AWS keeps it as the job's
``statusReason``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

CONFIG_SECTION = "aws_batch"
#: The setting that lets admins disable/enable queues and terminate jobs Airflow did not start.
ACCOUNT_ACTIONS_SETTING = "view_account_actions"
#: Job statuses with nothing left to terminate.
ENDED = frozenset({"SUCCEEDED", "FAILED"})
#: The queue states UpdateJobQueue takes.
QUEUE_STATES = ("ENABLED", "DISABLED")
#: The most characters of a user's own words in a termination reason.
REASON_TEXT_LIMIT = 500


def account_actions() -> bool:
    """The value of ``[aws_batch] view_account_actions`` (False unless set)."""
    from airflow.providers.common.compat.sdk import conf

    return bool(conf.getboolean(CONFIG_SECTION, ACCOUNT_ACTIONS_SETTING, fallback=False))


def edits_connection(auth_manager: BaseAuthManager, user: BaseUser, conn_id: str) -> bool:
    """Whether ``user`` may edit connection ``conn_id`` (the view's admins)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return bool(
        auth_manager.is_authorized_connection(
            method="PUT", details=ConnectionDetails(conn_id=conn_id), user=user
        )
    )


def may_terminate(auth_manager: BaseAuthManager, user: BaseUser, dag_id: str | None, conn_id: str) -> bool:
    """Whether ``user`` may terminate a job tagged with ``dag_id`` (None: no DAG tag)."""
    if dag_id is None:
        return account_actions() and edits_connection(auth_manager, user, conn_id)
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    return bool(auth_manager.is_authorized_dag(method="PUT", details=DagDetails(id=dag_id), user=user))


def may_change_queues(auth_manager: BaseAuthManager, user: BaseUser, conn_id: str) -> bool:
    """Whether ``user`` may disable and enable the job queues connection ``conn_id`` reads."""
    return account_actions() and edits_connection(auth_manager, user, conn_id)


def termination_reason(user_name: str, text: str = "") -> str:
    """The reason sent with TerminateJob: who, from where, and the user's own words if any."""
    words = " ".join(text.split())[:REASON_TEXT_LIMIT]
    reason = f"terminated from the Airflow AWS Batch view by {user_name}"
    return f"{reason}: {words}" if words else reason


def refusal_to_terminate(dag_id: str | None) -> str:
    """Why a termination is refused (the 403's detail)."""
    if dag_id is None:
        return (
            "jobs Airflow did not start may be terminated only by the users who may edit the view's "
            f"connection, and only with [{CONFIG_SECTION}] {ACCOUNT_ACTIONS_SETTING} = True"
        )
    return f"terminating this job needs permission to edit DAG {dag_id}"


def refusal_to_change_queues() -> str:
    """Why a queue's state change is refused (the 403's detail)."""
    setting = f"[{CONFIG_SECTION}] {ACCOUNT_ACTIONS_SETTING}"
    return (
        f"disabling and enabling job queues needs {setting} = True (it is {account_actions()}) "
        "and permission to edit the view's connection"
    )
