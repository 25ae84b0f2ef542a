"""DescribeJobDefinitions a page at a time, as AWS answers it (moto sends every match at once).

AWS returns up to ``maxResults`` (1..100, default 100) job definitions and a ``nextToken`` when
more match; the filters (``jobDefinitionName``, ``status``, ``jobDefinitions``) stay moto's.
Definitions come in the order they were registered, so the pages of one listing never overlap.
"""

from __future__ import annotations

import json
from typing import Any

from moto.batch.responses import BatchResponse

from aws_batch_local.lifecycle import page


def handle_describe_job_definitions(self: BatchResponse) -> str:
    """Answer DescribeJobDefinitions with maxResults/nextToken paging."""
    raw = self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body
    request: dict[str, Any] = json.loads(raw) if raw else {}
    found = self.batch_backend.describe_job_definitions(
        request.get("jobDefinitionName"), request.get("jobDefinitions"), request.get("status")
    )
    chunk, token = page([definition.describe() for definition in found], request)
    answer: dict[str, Any] = {"jobDefinitions": chunk}
    if token:
        answer["nextToken"] = token
    return json.dumps(answer)


def install_definition_pages() -> None:
    """Answer DescribeJobDefinitions with paging (moto's handler sends every match at once)."""
    BatchResponse.describejobdefinitions = handle_describe_job_definitions  # type: ignore[method-assign]
