"""A RegisterJobDefinition whose answer was lost leaves one revision, not two (moto in-process).

Lost after moto registered it: found by its token at once. Lost before: not found by the lookups,
registered again (see test_submit_in_flight.py for a request that lands late).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ConnectionClosedError

from airflow_batch_plugin import JobDefinitionSpec
from airflow_batch_plugin.hooks import batch as batch_module
from airflow_batch_plugin.hooks.batch import BatchHook

SPEC = JobDefinitionSpec.container_job("lost-registration", "busybox", command=["true"], memory=128)


def lose_next_registration(hook, event: str) -> list[int]:
    """Make the next RegisterJobDefinition fail in transit at ``event`` (before or after AWS got it)."""
    lost: list[int] = []

    def lose(**_: object) -> None:
        if not lost:
            lost.append(1)
            raise ConnectionClosedError(endpoint_url="http://batch")

    hook.client.meta.events.register(f"{event}.batch.RegisterJobDefinition", lose)
    return lost


def active_revisions(hook) -> list[int]:
    return [int(rev["revision"]) for rev in hook.list_job_definition_revisions(SPEC.name)]


@pytest.mark.parametrize("event", ["after-call", "before-send"])
def test_a_lost_registration_leaves_exactly_one_revision(hook, event, monkeypatch):
    monkeypatch.setattr(batch_module, "IN_FLIGHT_LOOKUP_DELAYS", (0.05, 0.05))
    monkeypatch.setattr(BatchHook, "reconcile_window", 0.3)  # the window after a resend, shortened
    lost = lose_next_registration(hook, event)
    registered = hook.ensure_job_definition(SPEC)
    assert lost == [1]
    assert registered.registered
    assert active_revisions(hook) == [registered.revision]
    assert hook.write_calls["RegisterJobDefinition"] == (1 if event == "after-call" else 2)
    again = hook.ensure_job_definition(SPEC)
    assert (again.arn, again.registered) == (registered.arn, False)
