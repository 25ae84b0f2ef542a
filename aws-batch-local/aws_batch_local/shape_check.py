"""Check an AWS answer against botocore's output shape for its operation.

``check_output(service_model, "DescribeJobs", answer)`` returns every way the parsed JSON body of
a successful answer differs from what botocore's model says AWS sends: a member the shape lacks,
a value of the wrong type (string, integer, long, float, double, boolean, list, map, structure,
blob, timestamp as the JSON protocols send it), a string outside its enum, a required member
missing, a null (AWS omits a member that has no value). Each violation names its path
(``jobs[0].container.exitCode``) and what is wrong. The emulator's ``--check-shapes`` switch
(:mod:`.shape_middleware`) runs it on every Batch and CloudWatch Logs answer it gives.

A few members botocore marks required are absent on AWS in documented cases; those are listed,
each with its condition and source, in ``DOCUMENTED_OMISSIONS``, never skipped wholesale.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from botocore.model import ServiceModel, Shape, StructureShape

JSON_PROTOCOLS = frozenset({"json", "rest-json"})
INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
#: Where a JSON-protocol timestamp is a number (botocore's default for ``json`` and ``rest-json``).
UNIX_TIMESTAMP = "unixtimestamp"
#: Members of a rest-json output that travel outside the body.
NON_BODY_LOCATIONS = frozenset({"header", "headers", "statusCode"})
_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class Violation:
    """One way an answer differs from its output shape.

    :param path: where, from the answer's root: ``jobs[0].container.exitCode``, ``tags["k"]``;
        ``<answer>`` for the answer itself.
    :param problem: what is wrong, e.g. ``expected integer, got string '5'``.
    """

    path: str
    problem: str

    @property
    def pattern(self) -> str:
        """Return the path with list indices and map keys generalized: ``jobs[*].container``."""
        return _INDEX.sub("[*]", self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class DocumentedOmission:
    """A member botocore marks required that AWS leaves out in a documented case.

    :param structure: the botocore structure shape's name, e.g. ``JobDetail``.
    :param member: the member's name in that shape.
    :param applies: given the structure's value (a dict), whether AWS omits the member then.
    :param case: the documented case, in words.
    :param source: the AWS documentation that says so.
    """

    structure: str
    member: str
    applies: Callable[[Mapping[str, Any]], bool]
    case: str
    source: str


#: The statuses of a job that has not reached RUNNING yet.
_NOT_YET_RUNNING = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"})


def _never_ran(job: Mapping[str, Any]) -> bool:
    """Return whether a JobDetail is of a job that has not reached RUNNING, or failed before it did.

    A FAILED job never ran when none of its attempts (``attempts`` or ``eksAttempts``) started:
    cancelled, terminated before it started, a failed dependency, a container that never started.
    """
    status = job.get("status")
    if status in _NOT_YET_RUNNING:
        return True
    attempts = [*(job.get("attempts") or []), *(job.get("eksAttempts") or [])]
    return status == "FAILED" and not any(isinstance(a, dict) and "startedAt" in a for a in attempts)


#: Every member the checker lets an answer leave out although botocore marks it required.
DOCUMENTED_OMISSIONS: tuple[DocumentedOmission, ...] = (
    # The API reference defines JobDetail.startedAt as the moment the job went from STARTING to
    # RUNNING; a job still in SUBMITTED, PENDING, RUNNABLE or STARTING has no such moment, nor
    # has one that failed before any attempt started (cancelled, terminated, a failed
    # dependency: the user guide's job states). AWS then leaves the member out; SDKs generated
    # from the model had to make it optional (amazonka, github.com/brendanhay/amazonka/pull/561).
    DocumentedOmission(
        structure="JobDetail",
        member="startedAt",
        applies=_never_ran,
        case="the job has not reached RUNNING, or failed with no attempt that started",
        source="https://docs.aws.amazon.com/batch/latest/APIReference/API_JobDetail.html, "
        "https://docs.aws.amazon.com/batch/latest/userguide/job_states.html",
    ),
)


def check_output(
    service_model: ServiceModel,
    operation_name: str,
    answer: Any,
    omissions: Sequence[DocumentedOmission] = DOCUMENTED_OMISSIONS,
) -> list[Violation]:
    """Return the violations of ``answer`` (a parsed JSON body) against ``operation_name``'s output.

    An operation without an output shape expects an empty object.
    """
    if service_model.protocol not in JSON_PROTOCOLS:
        raise ValueError(f"{service_model.service_name} answers in {service_model.protocol}, not JSON")
    operation = service_model.operation_model(operation_name)
    checker = _Checker(omissions)
    output = operation.output_shape
    if output is None:
        if answer not in ({}, None):
            return [Violation("<answer>", f"{operation_name} has no output members, got {_describe(answer)}")]
        return []
    payload = output.serialization.get("payload")
    if payload:
        checker.check(output.members[payload], answer, "<answer>")
    else:
        checker.check_structure(output, answer, "", body_only=True)
    return checker.violations


def check_shape(
    shape: Shape, value: Any, omissions: Sequence[DocumentedOmission] = DOCUMENTED_OMISSIONS
) -> list[Violation]:
    """Return the violations of ``value`` (parsed JSON) against one shape; its path is ``<answer>``."""
    checker = _Checker(omissions)
    checker.check(shape, value, "<answer>")
    return checker.violations


class _Checker:
    """Walks a value and its shape together, collecting violations."""

    def __init__(self, omissions: Sequence[DocumentedOmission]) -> None:
        self.omissions = omissions
        self.violations: list[Violation] = []

    def fail(self, path: str, problem: str) -> None:
        self.violations.append(Violation(path or "<answer>", problem))

    def check(self, shape: Shape, value: Any, path: str) -> None:
        if value is None:
            self.fail(path, f"expected {_type_label(shape)}, got null (AWS omits a member without a value)")
            return
        if getattr(shape, "is_document_type", False):
            return
        handler = getattr(self, f"_check_{shape.type_name}", None)
        if handler is None:
            self.fail(
                path, f"shape {shape.name} has type {shape.type_name!r}, which the checker does not know"
            )
            return
        handler(shape, value, path)

    # -- aggregates ---------------------------------------------------------------------------------

    def check_structure(
        self, shape: StructureShape, value: Any, path: str, *, body_only: bool = False
    ) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"expected structure {shape.name}, got {_describe(value)}")
            return
        by_wire_name: dict[str, tuple[str, Shape]] = {}
        for name, member in shape.members.items():
            if body_only and member.serialization.get("location") in NON_BODY_LOCATIONS:
                continue
            by_wire_name[member.serialization.get("name", name)] = (name, member)
        for key, item in value.items():
            known = by_wire_name.get(key)
            if known is None:
                self.fail(_join(path, key), f"member not in shape {shape.name}")
                continue
            self.check(known[1], item, _join(path, key))
        for name in shape.required_members:
            member = shape.members[name]
            wire_name = member.serialization.get("name", name)
            if wire_name not in by_wire_name or wire_name in value:
                continue
            if not self._omission_documented(shape.name, name, value):
                self.fail(_join(path, wire_name), f"required member of {shape.name} missing")
        if getattr(shape, "is_tagged_union", False):
            present = [key for key in value if key in by_wire_name]
            if len(present) != 1:
                self.fail(path, f"union {shape.name} must set exactly one member, got {sorted(present)}")

    def _omission_documented(self, structure: str, member: str, value: Mapping[str, Any]) -> bool:
        return any(
            omission.structure == structure and omission.member == member and omission.applies(value)
            for omission in self.omissions
        )

    def _check_structure(self, shape: Shape, value: Any, path: str) -> None:
        self.check_structure(shape, value, path)  # type: ignore[arg-type]

    def _check_list(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.fail(path, f"expected list {shape.name}, got {_describe(value)}")
            return
        member = shape.member  # type: ignore[attr-defined]
        for index, item in enumerate(value):
            self.check(member, item, f"{path}[{index}]")

    def _check_map(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"expected map {shape.name}, got {_describe(value)}")
            return
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        for key, item in value.items():
            item_path = f'{path}["{key}"]'
            self.check(key_shape, key, f"{item_path} (key)")
            self.check(value_shape, item, item_path)

    # -- scalars ------------------------------------------------------------------------------------

    def _check_string(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected string, got {_describe(value)}")
            return
        enum = list(shape.metadata.get("enum", []))
        if enum and value not in enum:
            self.fail(path, f"{value!r} is not a value of enum {shape.name} ({', '.join(enum)})")

    def _check_integer(self, shape: Shape, value: Any, path: str) -> None:
        self._check_whole_number(value, path, "integer", INT32_RANGE)

    def _check_long(self, shape: Shape, value: Any, path: str) -> None:
        self._check_whole_number(value, path, "long", INT64_RANGE)

    def _check_whole_number(self, value: Any, path: str, label: str, bounds: tuple[int, int]) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected {label}, got {_describe(value)}")
        elif not bounds[0] <= value <= bounds[1]:
            self.fail(path, f"{value} is outside the {label} range {bounds[0]}..{bounds[1]}")

    def _check_float(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"expected {shape.type_name}, got {_describe(value)}")

    _check_double = _check_float

    def _check_boolean(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(path, f"expected boolean, got {_describe(value)}")

    def _check_blob(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected blob (base64 string), got {_describe(value)}")
            return
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            self.fail(path, "expected blob (base64 string), got a string that is not base64")

    def _check_timestamp(self, shape: Shape, value: Any, path: str) -> None:
        timestamp_format = str(shape.serialization.get("timestampFormat", UNIX_TIMESTAMP)).lower()
        if timestamp_format == UNIX_TIMESTAMP:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"expected timestamp (epoch seconds, a number), got {_describe(value)}")
            return
        if not isinstance(value, str) or not _parses_as(timestamp_format, value):
            self.fail(path, f"expected timestamp ({timestamp_format} string), got {_describe(value)}")


def _parses_as(timestamp_format: str, value: str) -> bool:
    try:
        if timestamp_format == "iso8601":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_label(shape: Shape) -> str:
    return (
        shape.type_name
        if shape.type_name not in ("structure", "list", "map")
        else f"{shape.type_name} {shape.name}"
    )


def _describe(value: Any) -> str:
    """Return a value's JSON type and a short excerpt, for messages."""
    kinds = {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}
    kind = "null" if value is None else kinds.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"
