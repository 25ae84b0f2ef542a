"""Let a spec carry request members AWS has and the spec does not model yet, checked by botocore.

Every spec that becomes an AWS request takes ``extra_request_fields``: a dict in the request's
own shape (AWS's camelCase names, as boto3 takes them), e.g.
``{"consumableResourceProperties": {"consumableResourceList": [...]}}``.

How it is merged (:func:`merge_extra_fields`): deep, into the structures the spec builds.

- A member the request does not hold yet is added as it is.
- A member that is a structure in botocore's model and that the spec already fills is merged
  member by member (``{"containerProperties": {"enableExecuteCommand": True}}`` adds one member
  to the container the spec describes).
- Anything else the spec already sets is a collision, and so is a top-level member the spec
  models even when it leaves it unset (``tags``, ``schedulingPriority``...): set those through the
  spec, where AWS's rules are checked. A collision is a validation problem naming both the extra
  field and the spec field that sets it.

How it is checked (:func:`check_extra_fields`), where the spec validates (before any API call):
the merged request goes through botocore's own parameter validation
(``botocore.validate.ParamValidator``) against the operation's input shape, and each error
inside an extra field becomes a :class:`~airflow_batch_plugin.specs.validation.Problem` naming
it. botocore does not check enum values; the model lists them, so they are checked here too
(case-insensitively, as AWS reads enums). Values still to be rendered (Jinja templates,
XComArgs) are checked once they are.

How it is planned for resources that are updated in place (:func:`plan_extra_fields`): every
extra leaf that the Describe call returns is compared with the described resource; a difference
goes into the update request when the Update operation has that member, and makes the plan
``replace_required`` when it has not. A member Describe does not return cannot be compared and
is left as it was created.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.specs.validation import Checker, is_unresolved

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

    from airflow_batch_plugin.specs.update_plan import PlanBuilder

__all__ = [
    "EXTRA_FIELDS",
    "RequestModel",
    "check_extra_fields",
    "merge_extra_fields",
    "own_request_or_none",
    "plan_extra_fields",
    "with_extra_fields",
]

#: The name of the spec field holding the extra request members.
EXTRA_FIELDS = "extra_request_fields"


@functools.cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("batch")


def input_shape(operation: str) -> StructureShape:
    """Return botocore's input shape of the AWS Batch ``operation`` (``"SubmitJob"``)."""
    return _service_model().operation_model(operation).input_shape


def named_shape(name: str) -> Shape:
    """Return botocore's shape called ``name`` in AWS Batch's model (``"JobQueueDetail"``)."""
    return _service_model().shape_for(name)


@dataclasses.dataclass(frozen=True)
class RequestModel:
    """Say what a spec models of one AWS operation's request.

    :param operation: the operation the spec's request is for, e.g. ``"RegisterJobDefinition"``.
    :param fields: each top-level request member the spec models -> the spec field(s) setting it;
        a dotted path (``"computeResources.maxvCpus"``) names the field of a nested member.
    """

    operation: str
    fields: Mapping[str, str]

    def owner(self, path: str) -> str | None:
        """Name the spec field(s) that set the request member at ``path`` (the closest known)."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            found = self.fields.get(".".join(parts[:end]))
            if found is not None:
                return f"its field{'s' if ',' in found else ''} {found}"
        return None


@dataclasses.dataclass
class MergeResult:
    """The merged request, the extra paths placed in it, and the collisions found."""

    request: dict[str, Any]
    inserted: list[str] = dataclasses.field(default_factory=list)
    collisions: list[tuple[str, Any, str]] = dataclasses.field(default_factory=list)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _member(shape: Shape | None, key: str) -> Shape | None:
    if shape is not None and shape.type_name == "structure":
        return shape.members.get(key)  # type: ignore[attr-defined]
    return None


def merge_extra_fields(
    request: Mapping[str, Any], extras: Mapping[str, Any], model: RequestModel
) -> MergeResult:
    """Merge ``extras`` into a copy of ``request`` (see the module docstring); never overwrite."""
    result = MergeResult(request=dict(request))
    _merge_into(result.request, extras, input_shape(model.operation), "", model, result)
    return result


def _merge_into(
    target: dict[str, Any],
    extras: Mapping[str, Any],
    shape: Shape | None,
    path: str,
    model: RequestModel,
    result: MergeResult,
) -> None:
    for key, value in extras.items():
        where = _join(path, str(key))
        member = _member(shape, str(key))
        owner = model.owner(where)
        held = target.get(key)
        if (
            isinstance(held, dict)
            and isinstance(value, Mapping)
            and member is not None
            and member.type_name == "structure"
        ):
            target[key] = dict(held)
            _merge_into(target[key], value, member, where, model, result)
        elif not path and owner is not None:
            rule = (
                f"collides with {where}, which the spec models as {owner}: set it there, where AWS's "
                "rules for it are checked"
            )
            result.collisions.append((where, value, rule))
        elif key in target:
            rule = (
                f"collides with {where}, which the spec already sets from {owner or 'its fields'}: "
                "set it there"
            )
            result.collisions.append((where, value, rule))
        else:
            target[key] = value
            result.inserted.append(where)


def with_extra_fields(request: dict[str, Any], extras: Any, model: RequestModel) -> dict[str, Any]:
    """Return ``request`` with ``extras`` merged in; on a collision the spec's own value stays."""
    if not isinstance(extras, Mapping) or not extras:
        return request
    return merge_extra_fields(request, extras, model).request


# --- checking ----------------------------------------------------------------------------------


def own_request_or_none(build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """Return ``build()``, or None when a spec with broken fields cannot build its request yet."""
    try:
        return build()
    except (TypeError, ValueError, AttributeError, KeyError):
        return None


def _error_path(name: str, reason: str, details: Mapping[str, Any]) -> str:
    path = name[1:] if name.startswith(".") else name
    if reason == "unknown field":
        return _join(path, str(details.get("unknown_param")))
    if reason == "missing required field":
        return _join(path, str(details.get("required_name")))
    return path


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith((root + ".", root + "[", root + " ")) for root in roots)


def _lookup(value: Any, path: str) -> Any:
    """Return the value at a botocore-style ``a.b[0].c`` path of ``value``; None when absent."""
    current = value
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part.strip("[]").split("]")[0])
            if not isinstance(current, list) or index >= len(current):
                return None
            current = current[index]
        elif isinstance(current, Mapping):
            current = current.get(part.split(" ")[0])
        else:
            return None
    return current


def _holds_unresolved(value: Any) -> bool:
    if is_unresolved(value):
        return True
    if isinstance(value, Mapping):
        return any(_holds_unresolved(key) or _holds_unresolved(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_unresolved(item) for item in value)
    return False


def check_extra_fields(
    c: Checker, extras: Any, request: Mapping[str, Any] | None, model: RequestModel, field: str = EXTRA_FIELDS
) -> None:
    """Record every problem of ``extras`` against ``request`` (the spec's request without them).

    :param request: the request the spec builds on its own; None when it cannot be built yet (then
        only the form of ``extras`` and the top-level collisions are checked).
    """
    if extras is None:
        return
    if not isinstance(extras, Mapping):
        c.fail(field, extras, "must be a dict of AWS request members, named as boto3 takes them (camelCase)")
        return
    for key in extras:
        c.check(
            isinstance(key, str) and key != "" and not is_unresolved(key),
            f"{field}[{key!r}]",
            key,
            "request member names are non-empty strings",
        )
    if not all(isinstance(key, str) for key in extras):
        return
    result = merge_extra_fields(request if request is not None else {}, extras, model)
    for where, value, rule in result.collisions:
        c.fail(_join(field, where), value, rule)
    if request is None or not result.inserted:
        return
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(result.request, input_shape(model.operation))
    for error in getattr(report, "_errors", ()):
        reason, name, details = error
        path = _error_path(name, reason, details)
        if not _under(path, result.inserted):
            continue
        if _holds_unresolved(details.get("param")) or _holds_unresolved(_lookup(result.request, path)):
            continue  # checked again once rendered
        c.fail(
            _join(field, path),
            _lookup(result.request, path),
            f"botocore's {model.operation} check: {report._format_error(error)}",
        )
    for path in result.inserted:
        shape = _shape_at(input_shape(model.operation), path)
        if shape is not None:
            for where, value, rule in _enum_problems(_lookup(result.request, path), shape, path):
                c.fail(_join(field, where), value, rule)


def _enum_problems(value: Any, shape: Shape, path: str) -> Iterator[tuple[str, Any, str]]:
    """Yield the values under ``path`` that are not among their shape's enum values."""
    if value is None or is_unresolved(value):
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            member = shape.members.get(key)  # type: ignore[attr-defined]
            if member is not None:
                yield from _enum_problems(item, member, _join(path, str(key)))
    elif kind == "list" and isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _enum_problems(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _enum_problems(item, shape.value, _join(path, str(key)))  # type: ignore[attr-defined]
    elif kind == "string" and isinstance(value, str):
        allowed = list(getattr(shape, "enum", None) or ())
        if allowed and value.upper() not in {choice.upper() for choice in allowed}:
            yield (
                path,
                value,
                f"must be one of {', '.join(allowed)} (the values of {shape.name} in botocore's model)",
            )


def _shape_at(shape: Shape | None, path: str) -> Shape | None:
    """Return the shape at a dotted path of structure members; None when the model has none."""
    for part in path.split("."):
        shape = _member(shape, part)
        if shape is None:
            return None
    return shape


# --- planning updates --------------------------------------------------------------------------


def _leaves(value: Mapping[str, Any], shape: Shape | None, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, value)`` for each leaf of ``value``: what is not a structure in the model."""
    for key, item in value.items():
        where = _join(path, str(key))
        member = _member(shape, str(key))
        if isinstance(item, Mapping) and member is not None and member.type_name == "structure":
            yield from _leaves(item, member, where)
        else:
            yield where, item


def plan_extra_fields(
    b: PlanBuilder,
    extras: Any,
    current: Mapping[str, Any],
    *,
    model: RequestModel,
    update_operation: str,
    detail_shape: str,
    blocker: Callable[[str], str | None] = lambda path: None,
    field: str = EXTRA_FIELDS,
) -> None:
    """Compare ``extras`` with the described resource and plan what the update must carry.

    :param model: the create operation's request model (``extras`` are in its shape).
    :param update_operation: the operation that updates in place, e.g. ``"UpdateJobQueue"``.
    :param detail_shape: the shape Describe returns the resource in, e.g. ``"JobQueueDetail"``.
    :param blocker: says why AWS can't update a member in place now (None when it can).
    """
    if not isinstance(extras, Mapping):
        return
    update = input_shape(update_operation)
    detail = named_shape(detail_shape)
    for path, desired in _leaves(extras, input_shape(model.operation)):
        if _shape_at(detail, path) is None:
            continue  # Describe doesn't return it: it can't be compared; it stays as created
        have = _lookup(current, path)
        if have == desired:
            continue
        name = _join(field, path)
        b.differ(name, have, desired)
        reason = blocker(path)
        if _shape_at(update, path) is None:
            b.replace(name, f"{update_operation} has no {path}: AWS can't change it in place")
        elif reason is not None:
            b.replace(name, f"AWS can't change {path} in place: {reason}")
        else:
            b.set(path, desired)
