"""Check an answer against botocore's model of the Batch API: member names, types, enums, required."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.session

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
}


@cache
def _batch_model() -> Any:
    return botocore.session.get_session().get_service_model("batch")


def _structure_problems(value: Any, shape: StructureShape, path: str, optional: frozenset[str]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({shape.name}), got {type(value).__name__}"]
    problems = [f"{path}.{key}: not a member of {shape.name}" for key in value if key not in shape.members]
    problems += [
        f"{path}.{key}: required by {shape.name} but missing"
        for key in shape.required_members
        if key not in value and f"{shape.name}.{key}" not in optional
    ]
    for key, member in shape.members.items():
        if key in value:
            problems += _problems(value[key], member, f"{path}.{key}", optional)
    return problems


def _problems(value: Any, shape: Shape, path: str, optional: frozenset[str]) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        return _structure_problems(value, shape, path, optional)  # type: ignore[arg-type]
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        member = shape.member  # type: ignore[attr-defined]
        return [
            problem
            for index, item in enumerate(value)
            for problem in _problems(item, member, f"{path}[{index}]", optional)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        member = shape.value  # type: ignore[attr-defined]
        return [
            problem
            for key, item in value.items()
            for problem in _problems(item, member, f"{path}[{key}]", optional)
        ]
    expected = _PYTHON_TYPES.get(kind)
    if expected is None:
        return []
    if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {value!r}"]
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        return [f"{path}: {value!r} is not one of {enum}"]
    return []


def shape_problems(value: Any, shape_name: str, optional: tuple[str, ...] = ()) -> list[str]:
    """Return how ``value`` departs from botocore's shape ``shape_name`` (empty when it fits).

    ``optional`` names required members (``"JobDetail.startedAt"``) allowed to be missing.
    """
    return _problems(value, _batch_model().shape_for(shape_name), shape_name, frozenset(optional))


def assert_shape(value: Any, shape_name: str, optional: tuple[str, ...] = ()) -> None:
    """Fail with every departure of ``value`` from botocore's shape ``shape_name``."""
    problems = shape_problems(value, shape_name, optional)
    assert not problems, "\n".join(problems)
