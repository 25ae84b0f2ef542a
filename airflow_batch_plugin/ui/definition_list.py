"""The job definitions list: one DescribeJobDefinitions page as rows, with its nextToken.

Filtered as AWS filters: by status (ACTIVE, INACTIVE) and by an exact name
(``jobDefinitionName``). Rows carry what tells definitions apart (type, platform, image,
resources), never environment values. Pure: no AWS call here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.ui.job_details import ContainerDetails, containers_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The statuses DescribeJobDefinitions filters by.
DEFINITION_STATUSES = ("ACTIVE", "INACTIVE")
#: Rows a page of the list shows (DescribeJobDefinitions' maximum maxResults).
DEFINITIONS_PAGE = 100


@dataclass(frozen=True)
class DefinitionRow:
    """One job definition revision in the list."""

    name: str
    revision: int
    arn: str
    status: str
    type: str
    orchestration: str
    platform_capabilities: list[str]
    images: list[str]
    resources: str


@dataclass(frozen=True)
class DefinitionsPage:
    """One page of the list: its rows, the filters it was read with, and the next page's token."""

    rows: list[DefinitionRow]
    status: str
    name: str | None
    next_token: str | None = None
    token: str | None = None
    notes: list[str] = field(default_factory=list)


def definition_row(definition: Mapping[str, Any]) -> DefinitionRow:
    """Turn one DescribeJobDefinitions entry into a :class:`DefinitionRow`."""
    containers: list[ContainerDetails] = containers_of(
        {
            "container": definition.get("containerProperties"),
            "ecsProperties": definition.get("ecsProperties"),
            "eksProperties": definition.get("eksProperties"),
        }
    )
    for item in (definition.get("nodeProperties") or {}).get("nodeRangeProperties") or []:
        containers += containers_of(item)
    return DefinitionRow(
        name=str(definition.get("jobDefinitionName") or ""),
        revision=int(definition.get("revision") or 0),
        arn=str(definition.get("jobDefinitionArn") or ""),
        status=str(definition.get("status") or ""),
        type=str(definition.get("type") or ""),
        orchestration=str(definition.get("containerOrchestrationType") or ""),
        platform_capabilities=[str(item) for item in definition.get("platformCapabilities") or []],
        images=list(dict.fromkeys(c.image for c in containers if c.image)),
        resources="; ".join(summary for c in containers if (summary := c.resources.summary())),
    )


def definitions_page(
    definitions: Iterable[Mapping[str, Any]],
    *,
    status: str,
    name: str | None,
    token: str | None,
    next_token: str | None,
) -> DefinitionsPage:
    """The rows of one page, in the order AWS sent them."""
    return DefinitionsPage(
        rows=[definition_row(item) for item in definitions],
        status=status,
        name=name,
        next_token=next_token,
        token=token,
    )
