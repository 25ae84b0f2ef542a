"""The README's least-privilege IAM policy grants every AWS action the package calls, and no other.

The calls are found by scanning the package's source (the emulator aside): ``client.<operation>(``
on boto3 and aiobotocore clients, and ``_paginate("<operation>", ...)``. Each snake_case operation
is mapped to its IAM action (``batch:SubmitJob``, ``logs:GetLogEvents``) through botocore's own
service models, so a call that is not an AWS operation of the service fails the test too.
"""

from __future__ import annotations

import json
import re
import warnings
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "airflow_batch_plugin"
README = REPO / "README.md"

#: Calls on an AWS client: ``self.client.submit_job(``, ``client.describe_jobs(`` (aiobotocore).
CLIENT_CALL = re.compile(r"\bclient\.([a-z][a-z0-9_]*)\(")
#: Paginated calls through the hook's helper: ``self._paginate("list_jobs", ...)``.
PAGINATE_CALL = re.compile(r"_paginate\(\s*\"([a-z][a-z0-9_]*)\"")
#: Services whose clients the package may hold; an operation found in one of them only is its own.
SERVICES = ("batch", "logs", "s3", "sts", "secretsmanager", "ssm", "iam", "ec2", "ecs")
#: Which service a module's clients talk to, to settle a name several services share (tag_resource).
SERVICE_BY_MODULE = {"hooks/logs.py": "logs", "hooks/batch.py": "batch", "hooks/batch_resources.py": "batch"}
#: Methods of the Amazon provider's hooks the package calls, and the IAM action each needs.
PROVIDER_HOOK_CALL = re.compile(
    r"\.(load_bytes|load_string|load_file|read_key|get_key|check_for_key|list_keys|delete_objects)\("
)
PROVIDER_HOOK_ACTIONS = {
    "load_bytes": "s3:PutObject",
    "load_string": "s3:PutObject",
    "load_file": "s3:PutObject",
    "read_key": "s3:GetObject",
    "get_key": "s3:GetObject",
    "check_for_key": "s3:GetObject",
    "list_keys": "s3:ListBucket",
    "delete_objects": "s3:DeleteObject",
}
#: Actions AWS checks without a call of their own: passing the job, execution, service and
#: instance roles (RegisterJobDefinition, CreateComputeEnvironment), and tagging on create
#: (SubmitJob and RegisterJobDefinition with tags need batch:TagResource).
IMPLIED_ACTIONS = {"iam:PassRole", "batch:TagResource"}


@cache
def operations(service: str) -> dict[str, str]:
    """Map the snake_case names of ``service``'s operations to their PascalCase API names."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def service_of(module: str, name: str) -> str:
    """Return the service whose operation ``name`` a module calls (its file says, or the only one)."""
    owners = [service for service in SERVICES if name in operations(service)]
    hint = SERVICE_BY_MODULE.get(module)
    if hint in owners:
        return str(hint)
    assert owners, f"{module} calls {name}(), which is no operation of {', '.join(SERVICES)}"
    assert len(owners) == 1, f"{module} calls {name}(), an operation of {owners}: name its service"
    return owners[0]


def called_actions() -> dict[str, set[str]]:
    """Return each IAM action the package calls, with the modules that call it."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module.startswith("emulator/"):
            continue  # the local endpoint, not a client of AWS
        source = path.read_text()
        for name in CLIENT_CALL.findall(source) + PAGINATE_CALL.findall(source):
            service = service_of(module, name)
            found.setdefault(f"{service}:{operations(service)[name]}", set()).add(module)
        for method in PROVIDER_HOOK_CALL.findall(source):
            found.setdefault(PROVIDER_HOOK_ACTIONS[method], set()).add(module)
    return found


def readme_policy() -> dict[str, Any]:
    """Return the JSON policy block of the README's "On AWS" section."""
    text = README.read_text()
    section = text.split("\n## On AWS", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match, "README.md's 'On AWS' section has no ```json policy block"
    return dict(json.loads(match.group(1)))


def statements() -> list[dict[str, Any]]:
    return [dict(statement) for statement in readme_policy()["Statement"]]


def granted(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def policy_actions() -> list[str]:
    return [action for statement in statements() for action in granted(statement)]


def is_granted(action: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def test_the_scan_finds_the_calls_we_know_of():
    calls = called_actions()
    for action in ("batch:SubmitJob", "batch:DescribeJobs", "batch:ListJobs", "logs:GetLogEvents"):
        assert action in calls, f"the scan missed {action}: {sorted(calls)}"
    assert "hooks/batch.py" in calls["batch:SubmitJob"]


def test_the_policy_is_valid_iam_json():
    policy = readme_policy()
    assert policy["Version"] == "2012-10-17"
    for statement in statements():
        assert statement["Effect"] == "Allow"
        assert statement.get("Resource"), f"statement {statement.get('Sid')} names no Resource"
        for action in granted(statement):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", action), f"not an IAM action: {action!r}"


def test_every_action_the_package_calls_is_in_the_readme_policy():
    patterns = policy_actions()
    calls = called_actions()
    needed = {**{action: {"(implied)"} for action in IMPLIED_ACTIONS}, **calls}
    missing = {
        action: sorted(modules) for action, modules in needed.items() if not is_granted(action, patterns)
    }
    assert not missing, (
        "README.md's IAM policy (section 'On AWS') lacks actions the package calls: "
        + "; ".join(
            f"{action} (called in {', '.join(modules)})" for action, modules in sorted(missing.items())
        )
    )


def test_the_readme_policy_grants_nothing_the_package_does_not_call():
    """Least privilege: an action nothing calls should not be granted (wildcards count as unused too)."""
    needed = set(called_actions()) | IMPLIED_ACTIONS
    unused = sorted(action for action in policy_actions() if not any(fnmatchcase(a, action) for a in needed))
    assert not unused, f"README.md's IAM policy grants actions nothing in the package calls: {unused}"


def test_the_policy_has_no_write_wildcards():
    """No ``batch:*`` or ``batch:Create*``: a wildcard grants every future write of the service."""
    wild = [action for action in policy_actions() if "*" in action]
    assert not wild, f"wildcard actions in README.md's IAM policy: {wild}"


#: The roles the specs can pass to AWS, and the service each is passed to (iam:PassedToService).
PASSED_ROLES = {
    "ContainerSpec.job_role_arn / execution_role_arn": "ecs-tasks.amazonaws.com",
    "ComputeEnvironmentSpec.service_role": "batch.amazonaws.com",
    "ComputeEnvironmentSpec.instance_role": "ec2.amazonaws.com",
    "ComputeEnvironmentSpec.spot_iam_fleet_role": "spotfleet.amazonaws.com",
}


def test_pass_role_covers_every_role_the_specs_can_pass():
    """Warn (not fail) when iam:PassRole's service condition leaves out a role the specs can pass.

    Which service IAM sees a role passed to depends on the role (its trust policy), so a gap
    here is worth a look rather than a failure.
    """
    passing = [statement for statement in statements() if is_granted("iam:PassRole", granted(statement))]
    assert passing, "README.md's IAM policy has no iam:PassRole statement"
    services: set[str] = set()
    for statement in passing:
        condition = statement.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService")
        if condition is None:
            return  # PassRole without a service condition covers every role
        services.update([condition] if isinstance(condition, str) else condition)
    missing = {field: service for field, service in PASSED_ROLES.items() if service not in services}
    if missing:
        warnings.warn(
            f"README.md's iam:PassRole condition has no iam:PassedToService for: {missing}",
            UserWarning,
            stacklevel=1,
        )
