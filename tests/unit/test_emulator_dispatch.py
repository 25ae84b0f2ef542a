"""The emulator's own AWS Batch dispatch and job definition model, without a server."""

from __future__ import annotations

import botocore.session
import pytest

from aws_batch_local.batch_api import HANDLERS
from aws_batch_local.dispatch import BatchDispatch
from aws_batch_local.errors import ClientException
from aws_batch_local.job_definitions import JobDefinitions
from aws_batch_local.region import BatchRegions
from aws_batch_local.settings import EmulatorSettings
from aws_batch_local.tags import TagStore

ARN = "arn:aws:batch:us-east-1:123456789012:job/abc"
CONTAINER = {
    "image": "busybox",
    "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
}


def environ(method: str, path: str, service: str = "batch") -> dict[str, str]:
    scope = f"AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-1/{service}/aws4_request, ..."
    return {"REQUEST_METHOD": method, "RAW_URI": path, "PATH_INFO": path, "HTTP_AUTHORIZATION": scope}


@pytest.fixture(scope="module")
def dispatch() -> BatchDispatch:
    return BatchDispatch(BatchRegions(EmulatorSettings()), "us-east-1")


def test_every_handler_is_an_operation_of_botocores_batch_model():
    operations = set(botocore.session.get_session().get_service_model("batch").operation_names)
    assert set(HANDLERS) <= operations


@pytest.mark.parametrize(
    ("method", "operation"),
    [("GET", "ListTagsForResource"), ("POST", "TagResource"), ("DELETE", "UntagResource")],
)
def test_tag_routes_take_the_resource_arn_from_the_path(dispatch, method, operation):
    encoded = ARN.replace(":", "%3A").replace("/", "%2F")
    assert dispatch.route(environ(method, f"/v1/tags/{encoded}")) == (operation, {"resourceArn": ARN})


def test_fixed_routes_and_other_services(dispatch):
    assert dispatch.route(environ("POST", "/v1/submitjob")) == ("SubmitJob", {})
    assert dispatch.route(environ("POST", "/v1/getjobqueuesnapshot")) == ("GetJobQueueSnapshot", {})
    assert dispatch.route(environ("GET", "/v1/submitjob")) is None
    assert dispatch.route(environ("POST", "/v1/submitjob", service="logs")) is None
    assert dispatch.route(environ("POST", "/")) is None


def definitions() -> JobDefinitions:
    return JobDefinitions("123456789012", "us-east-1", TagStore())


def test_revisions_count_per_name_and_deregistering_keeps_the_revision_described():
    store = definitions()
    first = store.register(
        {"jobDefinitionName": "etl", "type": "container", "containerProperties": CONTAINER}
    )
    second = store.register(
        {"jobDefinitionName": "etl", "type": "container", "containerProperties": CONTAINER}
    )
    assert (first.revision, second.revision) == (1, 2)
    assert second.arn.endswith(":job-definition/etl:2")
    store.deregister("etl:2")
    assert store.get("etl") is first, "the latest ACTIVE revision"
    described = store.describe({"jobDefinitionName": "etl"})["jobDefinitions"]
    assert [(item["revision"], item["status"]) for item in described] == [(1, "ACTIVE"), (2, "INACTIVE")]
    assert store.describe({"status": "ACTIVE"})["jobDefinitions"][0]["containerProperties"]["command"] == []
    with pytest.raises(ClientException, match="does not exist"):
        store.deregister("etl:9")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"type": "container"}, "exactly one of containerProperties"),
        (
            {"type": "container", "containerProperties": CONTAINER, "eksProperties": {"podProperties": {}}},
            "exactly one of containerProperties",
        ),
        ({"type": "multinode", "containerProperties": CONTAINER}, "can't be used in a multinode"),
        ({"type": "container", "containerProperties": {"image": "busybox"}}, "MEMORY"),
        ({"type": "batch", "containerProperties": CONTAINER}, "type must be one of"),
        (
            {"type": "container", "containerProperties": CONTAINER, "schedulingPriority": 10_000},
            "schedulingPriority",
        ),
    ],
)
def test_registration_follows_aws_rules(body, problem):
    with pytest.raises(ClientException, match=problem):
        definitions().register({"jobDefinitionName": "bad", **body})
