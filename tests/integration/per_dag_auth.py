"""An auth manager with per-DAG permissions, for the view's tests: Airflow loads it by its path.

It is Airflow's SimpleAuthManager (users and roles from ``[core] simple_auth_manager_users``),
except that the users :data:`GRANTS` names read only the DAGs it gives them, and the users
:data:`EDITS` names read and edit (PUT) only the DAGs it gives them, as a role- or team-based
auth manager in production would decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

#: user name -> the only DAGs that user may read (users not named here: as SimpleAuthManager says).
GRANTS: dict[str, frozenset[str]] = {"reader_a": frozenset({"view_test_dag"})}
#: user name -> the only DAGs that user may read and edit (GET and PUT; nothing else).
EDITS: dict[str, frozenset[str]] = {"editor_a": frozenset({"view_test_dag"})}
#: Its import path, for ``[core] auth_manager``.
PATH = f"{__name__}.PerDagAuthManager"


class PerDagAuthManager(SimpleAuthManager):
    """SimpleAuthManager whose :data:`GRANTS` users read (GET) only the DAGs granted to them, and
    whose :data:`EDITS` users read and edit (GET, PUT) only theirs."""

    def is_authorized_dag(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        edits = EDITS.get(user.username)
        if edits is not None:
            return method in ("GET", "PUT") and details is not None and details.id in edits
        granted = GRANTS.get(user.username)
        if granted is None:
            return bool(
                super().is_authorized_dag(
                    method=method, user=user, access_entity=access_entity, details=details
                )
            )
        return method == "GET" and details is not None and details.id in granted
