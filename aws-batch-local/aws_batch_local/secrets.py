"""Resolve a container's ``secrets`` from the emulator's own Secrets Manager and SSM Parameter Store."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SECRET_PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: "


class SecretResolutionError(Exception):
    """A secret could not be read; the message is the job's statusReason, worded as ECS words it."""


def _secrets_manager_failure(arn: str, cause: str) -> SecretResolutionError:
    return SecretResolutionError(
        f"{_SECRET_PREFIX}execution resource retrieval failed: unable to retrieve secret from asm: "
        f"service call has been retried 1 time(s): failed to fetch secret {arn} from secrets manager: "
        f"{cause} status code: 400, request id: {uuid.uuid4()}"
    )


def _ssm_failure(name: str) -> SecretResolutionError:
    return SecretResolutionError(
        f"{_SECRET_PREFIX}execution resource retrieval failed: unable to retrieve secrets from ssm: "
        f"service call has been retried 1 time(s): invalid ssm parameters: {name}"
    )


def _read_secrets_manager(account_id: str, region: str, value_from: str) -> str:
    """Read ``arn:...:secret:NAME[:json-key[:version-stage[:version-id]]]``."""
    parts = value_from.split(":")
    secret_arn = ":".join(parts[:7])
    json_key, version_stage, version_id = ([*parts[7:], "", "", ""])[:3]
    backend = secretsmanager_backends[account_id][parts[3] or region]
    try:
        value = backend.get_secret_value(secret_arn, version_id, version_stage)
    except Exception:
        raise _secrets_manager_failure(
            secret_arn, "ResourceNotFoundException: Secrets Manager can't find the specified secret."
        ) from None
    secret_string = value.get("SecretString")
    if secret_string is None:
        raise _secrets_manager_failure(secret_arn, "InvalidRequestException: the secret has no string value.")
    if not json_key:
        return str(secret_string)
    try:
        return str(json.loads(secret_string)[json_key])
    except (ValueError, KeyError, TypeError):
        raise _secrets_manager_failure(
            secret_arn, f"InvalidParameterException: json key {json_key} not found in the secret."
        ) from None


def _read_parameter(account_id: str, region: str, value_from: str) -> str:
    """Read an SSM parameter given by name or ARN."""
    if value_from.startswith("arn:"):
        parameter_region = value_from.split(":")[3]
        name = value_from.split(":parameter", 1)[1]
        candidates = [name, name.removeprefix("/")]
    else:
        parameter_region, candidates = region, [value_from]
    backend = ssm_backends[account_id][parameter_region]
    for candidate in candidates:
        try:
            parameter = backend.get_parameter(candidate)
        except Exception:
            parameter = None
        if parameter is not None:
            return str(parameter.response_object(decrypt=True)["Value"])
    raise _ssm_failure(value_from)


def resolve_secrets(secrets: Sequence[Mapping[str, Any]], account_id: str, region: str) -> dict[str, str]:
    """Return ``{name: value}`` of a container's ``secrets``; raise SecretResolutionError if one fails."""
    resolved = {}
    for secret in secrets:
        value_from = str(secret["valueFrom"])
        if value_from.startswith("arn:") and value_from.split(":")[2] == "secretsmanager":
            resolved[secret["name"]] = _read_secrets_manager(account_id, region, value_from)
        else:
            resolved[secret["name"]] = _read_parameter(account_id, region, value_from)
    return resolved
