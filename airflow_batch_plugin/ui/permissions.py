"""Who may see what in the "AWS Batch" view, decided by Airflow's auth manager and one setting.

Two kinds of things are shown:

- **jobs Airflow started**, tagged ``airflow:dag_id``: shown to the users who may read that DAG
  (``get_authorized_dag_ids``), whatever other ``airflow:*`` tags a job has or lacks. A DAG
  Airflow does not know is a DAG nobody may read;
- **the account**: jobs without a DAG tag (Airflow did not start them) and the job queue, compute
  environment and job definition pages (images, commands, roles). They are shown to the users
  ``[aws_batch] view_resources_for`` names:

  - ``admins`` (default): the users Airflow's auth manager lets edit the connection the page
    reads AWS with (``is_authorized_connection``, method ``PUT``): the Admin and Op roles of
    Airflow's simple and FAB auth managers. They manage those credentials already;
  - ``everyone``: every user allowed into the view (for small teams).

  Any other value counts as ``admins``. A user not allowed gets 404 for such a job (as for a job
  of a DAG they may not read) and 403 for a resource page, before any AWS call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection

    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

CONFIG_SECTION = "aws_batch"
#: The setting naming who sees the account's resources and jobs Airflow did not start.
RESOURCES_SETTING = "view_resources_for"
ADMINS = "admins"
EVERYONE = "everyone"


@dataclass(frozen=True)
class Rights:
    """What one user may see in the view.

    :param readable_dags: the DAG ids whose jobs the user may see; None for every DAG.
    :param sees_account: whether the user sees the resource pages and jobs without a DAG tag.
    """

    readable_dags: frozenset[str] | None
    sees_account: bool

    def may_see_job(self, dag_id: str | None) -> bool:
        """Whether a job tagged with ``dag_id`` (None: no DAG tag) is shown to the user."""
        if dag_id is None:
            return self.sees_account
        return self.readable_dags is None or dag_id in self.readable_dags


#: Every job and every page (the view's own tests of its pages, with authorization off).
UNRESTRICTED = Rights(readable_dags=None, sees_account=True)


def resources_for() -> str:
    """The value of ``[aws_batch] view_resources_for`` (``admins`` unless set to ``everyone``)."""
    from airflow.providers.common.compat.sdk import conf

    value = str(conf.get(CONFIG_SECTION, RESOURCES_SETTING, fallback=ADMINS) or ADMINS).strip().lower()
    return EVERYONE if value == EVERYONE else ADMINS


def sees_account(auth_manager: BaseAuthManager, user: BaseUser, conn_id: str) -> bool:
    """Whether ``user`` sees the account that connection ``conn_id`` reads (see the module)."""
    if resources_for() == EVERYONE:
        return True
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return bool(
        auth_manager.is_authorized_connection(
            method="PUT", details=ConnectionDetails(conn_id=conn_id), user=user
        )
    )


def rights_of(auth_manager: BaseAuthManager, user: BaseUser, conn_id: str) -> Rights:
    """What ``user`` may see of the account connection ``conn_id`` reads."""
    readable: Collection[str] = auth_manager.get_authorized_dag_ids(user=user, method="GET")
    return Rights(readable_dags=frozenset(readable), sees_account=sees_account(auth_manager, user, conn_id))


def refusal() -> str:
    """Why a resource page is refused (the 403's detail)."""
    return (
        "job queues, compute environments and job definitions are shown to the users "
        f"[{CONFIG_SECTION}] {RESOURCES_SETTING} = {resources_for()} names"
    )
