"""Tests for SchedulingPolicySpec: AWS's CreateSchedulingPolicy rules and the update planner."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    Problem,
    SchedulingPolicySpec,
    ShareAttributes,
    SpecValidationError,
    UpdatePlan,
)

ARN = "arn:aws:batch:us-east-1:123456789012:scheduling-policy/fair"


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


def policy(**changes: Any) -> SchedulingPolicySpec:
    kwargs: dict[str, Any] = {"name": "fair"}
    kwargs.update(changes)
    return SchedulingPolicySpec(**kwargs)


RULES = [
    ("name-empty", {"name": ""}, "name", "non-empty"),
    ("name-chars", {"name": "fair.share"}, "name", "1 to 128 letters"),
    ("name-129", {"name": "f" * 129}, "name", "1 to 128 letters"),
    ("decay-low", {"share_decay_seconds": -1}, "share_decay_seconds", "at least 0"),
    ("decay-high", {"share_decay_seconds": 604_801}, "share_decay_seconds", "at most 604800"),
    ("decay-type", {"share_decay_seconds": 1.5}, "share_decay_seconds", "whole number"),
    ("reservation-low", {"compute_reservation": -1}, "compute_reservation", "at least 0"),
    ("reservation-high", {"compute_reservation": 100}, "compute_reservation", "at most 99"),
    ("tags-51", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags", "at most 50 tags"),
    ("tags-aws", {"tags": {"aws:k": "v"}}, "tags['aws:k']", "aws:"),
    (
        "share-chars",
        {"share_distribution": {"team-a": 1}},
        "share_distribution[0].share_identifier",
        "letters",
    ),
    ("share-256", {"share_distribution": ["a" * 256]}, "share_distribution[0].share_identifier", "255"),
    ("share-star-inside", {"share_distribution": ["a*b"]}, "share_distribution[0].share_identifier", "'*'"),
    ("share-empty", {"share_distribution": [""]}, "share_distribution[0].share_identifier", "non-empty"),
    (
        "weight-0",
        {"share_distribution": {"a": 0}},
        "share_distribution[0].weight_factor",
        "0.0001 to 999.9999",
    ),
    ("weight-small", {"share_distribution": {"a": 0.00009}}, "share_distribution[0].weight_factor", "0.0001"),
    ("weight-1000", {"share_distribution": {"a": 1000}}, "share_distribution[0].weight_factor", "999.9999"),
    (
        "weight-type",
        {"share_distribution": {"a": "heavy"}},
        "share_distribution[0].weight_factor",
        "a number",
    ),
    (
        "share-twice",
        {"share_distribution": [("a", 1), ("a", 2)]},
        "share_distribution[1].share_identifier",
        "already listed",
    ),
    (
        "share-overlap",
        {"share_distribution": ["teamA*", "teamA1"]},
        "share_distribution[1].share_identifier",
        "must not overlap",
    ),
    (
        "share-overlap-prefixes",
        {"share_distribution": ["teamAB*", "teamA*"]},
        "share_distribution[1].share_identifier",
        "must not overlap",
    ),
    (
        "share-501",
        {"share_distribution": [f"id{i}" for i in range(501)]},
        "share_distribution",
        "at most 500",
    ),
    ("shares-type", {"share_distribution": 5}, "share_distribution", "dict of share identifier"),
    (
        "share-unknown-field",
        {"share_distribution": [{"identifier": "a"}]},
        "share_distribution[0]",
        "unknown ShareAttributes field(s) ['identifier']",
    ),
]


@pytest.mark.parametrize(("changes", "field", "fragment"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_scheduling_policy_rules(changes, field, fragment):
    assert_problem(lambda: policy(**changes), field, fragment)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "f"},
        {"name": "F" * 128},
        {"name": "-fair_share"},
        {"share_decay_seconds": 0, "compute_reservation": 0},
        {"share_decay_seconds": 604_800, "compute_reservation": 99},
        {"share_decay_seconds": "3600"},
        {"share_distribution": {"a" * 255: 0.0001, "b*": 999.9999}},
        {"share_distribution": {"teamA*": 1, "teamB": "0.5"}},
        {"share_distribution": ["teamA", "teamB*"]},
        {
            "share_distribution": [
                {"shareIdentifier": "teamA", "weightFactor": 0.5},
                {"share_identifier": "teamB"},
            ]
        },
        {"share_distribution": [ShareAttributes(share_identifier="x", weight_factor=2)]},
        {"share_distribution": {"share_identifier": "solo", "weight_factor": 3}},
        {"share_distribution": [f"id{i}" for i in range(500)]},
        {"share_distribution": ["teamA*", "teamB*", "team"]},
        {"tags": {f"k{i}": "v" for i in range(50)}},
    ],
)
def test_scheduling_policy_accepts_valid_values(changes):
    policy(**changes)


def test_create_request_with_two_share_identifiers():
    built = policy(
        share_decay_seconds=3600,
        compute_reservation=10,
        share_distribution={"teamA": 0.5, "teamB*": 2},
        tags={"team": "data"},
    )
    assert built.to_create_request() == {
        "name": "fair",
        "fairsharePolicy": {
            "shareDecaySeconds": 3600,
            "computeReservation": 10,
            "shareDistribution": [
                {"shareIdentifier": "teamA", "weightFactor": 0.5},
                {"shareIdentifier": "teamB*", "weightFactor": 2.0},
            ],
        },
        "tags": {"team": "data"},
    }
    assert built.to_request() == built.to_create_request()


def test_minimal_create_request_is_a_fair_share_policy():
    assert policy().to_create_request() == {"name": "fair", "fairsharePolicy": {}}
    assert policy(share_distribution=["a"]).to_create_request()["fairsharePolicy"] == {
        "shareDistribution": [{"shareIdentifier": "a"}]
    }


# --- the planner -----------------------------------------------------------------------------


def described(**fairshare: Any) -> dict[str, Any]:
    """A policy as DescribeSchedulingPolicies returns it (identifiers in another order)."""
    detail: dict[str, Any] = {
        "name": "fair",
        "arn": ARN,
        "fairsharePolicy": {
            "shareDecaySeconds": 3600,
            "computeReservation": 10,
            "shareDistribution": [
                {"shareIdentifier": "teamB*", "weightFactor": 2.0},
                {"shareIdentifier": "teamA", "weightFactor": 0.5},
                {"shareIdentifier": "teamC", "weightFactor": 1.0},
            ],
        },
        "tags": {"team": "data", "aws:cloudformation:stack-id": "stack"},
    }
    detail["fairsharePolicy"].update(fairshare)
    return detail


def matching(**changes: Any) -> SchedulingPolicySpec:
    kwargs: dict[str, Any] = {
        "share_decay_seconds": 3600,
        "compute_reservation": 10,
        "share_distribution": {"teamA": 0.5, "teamB*": 2, "teamC": None},
        "tags": {"team": "data"},
    }
    kwargs.update(changes)
    return policy(**kwargs)


def assert_none(plan: UpdatePlan) -> None:
    assert plan.action == "none", plan.summary()
    assert plan.update_request is None
    assert plan.tags_to_add == {}
    assert plan.tag_keys_to_remove == ()
    assert plan.action not in ("create", "update")


def test_absent_policy_is_created():
    built = matching()
    plan = built.plan(None)
    assert plan.action == "create"
    assert plan.create_request == built.to_create_request()


def test_identical_policy_needs_nothing():
    assert_none(matching().plan(described()))


def test_unset_fields_are_not_compared():
    assert_none(policy().plan(described(shareDecaySeconds=0)))
    assert_none(policy(share_distribution={"teamC": 1, "teamA": 0.5, "teamB*": 2.0}).plan(described()))


def test_weight_change_updates_the_whole_fair_share_policy():
    plan = matching(share_distribution={"teamA": 0.25, "teamB*": 2, "teamC": 1}).plan(described())
    assert plan.action == "update"
    assert plan.update_request == {
        "arn": ARN,
        "fairsharePolicy": {
            "shareDecaySeconds": 3600,
            "computeReservation": 10,
            "shareDistribution": [
                {"shareIdentifier": "teamA", "weightFactor": 0.25},
                {"shareIdentifier": "teamB*", "weightFactor": 2.0},
                {"shareIdentifier": "teamC", "weightFactor": 1.0},
            ],
        },
    }
    assert plan.differences[0].startswith("share_distribution: ")
    assert plan.tags_to_add == {}


def test_fields_the_spec_leaves_unset_keep_their_current_values():
    plan = policy(compute_reservation=20).plan(described())
    assert plan.update_request == {
        "arn": ARN,
        "fairsharePolicy": {**described()["fairsharePolicy"], "computeReservation": 20},
    }
    assert plan.differences == ("compute_reservation: 10 -> 20",)


def test_decay_change_updates():
    plan = policy(share_decay_seconds=0).plan(described())
    assert plan.update_request["fairsharePolicy"]["shareDecaySeconds"] == 0


def test_missing_numbers_default_to_zero():
    current = described()
    del current["fairsharePolicy"]["computeReservation"]
    assert_none(policy(compute_reservation=0).plan(current))


def test_tags_added_and_removed():
    plan = policy(tags={"owner": "etl"}).plan(described())
    assert plan.action == "update"
    assert plan.update_request is None
    assert plan.tags_to_add == {"owner": "etl"}
    assert plan.tag_keys_to_remove == ("team",)
    assert (plan.resource_arn, list(plan.tag_keys_to_remove)) == (ARN, ["team"])


def test_quota_share_policy_cannot_become_fair_share():
    current = {"name": "fair", "arn": ARN, "quotaSharePolicy": {"idleResourceAssignmentStrategy": "FIFO"}}
    plan = policy(share_decay_seconds=60).plan(current)
    assert plan.action == "replace_required"
    assert "quota share" in next(iter(plan.replacement_fields.values()))


def test_plan_does_not_modify_the_described_policy():
    current = described()
    before = copy.deepcopy(current)
    matching(compute_reservation=50, tags={"a": "b"}).plan(current)
    assert current == before


# --- extra request fields --------------------------------------------------------------------

QUOTA = {"idleResourceAssignmentStrategy": "FIFO"}


def test_extra_fields_go_into_the_create_plan():
    plan = policy(extra_request_fields={"quotaSharePolicy": QUOTA}).plan(None)
    assert plan.action == "create"
    assert plan.create_request == {"name": "fair", "fairsharePolicy": {}, "quotaSharePolicy": QUOTA}


def test_an_extra_field_is_compared_with_the_description_and_updated_in_place():
    built = matching(extra_request_fields={"quotaSharePolicy": QUOTA})
    assert_none(built.plan({**described(), "quotaSharePolicy": QUOTA}))
    plan = built.plan(described())
    assert plan.action == "update"
    assert plan.update_request == {"arn": ARN, "quotaSharePolicy": QUOTA}


def test_a_fair_share_change_still_sends_the_whole_policy_with_extras():
    plan = matching(share_decay_seconds=7200, extra_request_fields={"quotaSharePolicy": QUOTA}).plan(
        {**described(), "quotaSharePolicy": QUOTA}
    )
    assert plan.update_request is not None
    assert plan.update_request["fairsharePolicy"]["shareDecaySeconds"] == 7200
    assert len(plan.update_request["fairsharePolicy"]["shareDistribution"]) == 3
    assert "quotaSharePolicy" not in plan.update_request
