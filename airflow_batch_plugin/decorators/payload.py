"""Serialize a ``@task.batch`` call for the job, and the job's answer back, on the Airflow side.

The serializer is a module importable both here and in the job's image that has ``dumps`` and
``loads``: ``json`` (the default: arguments and results must be JSON values), ``pickle``, or
e.g. ``cloudpickle``/``dill`` when the image has them. JSON arguments are checked before
anything is sent, naming the first value that is not JSON.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.decorators.runner import dumps, load_serializer

if TYPE_CHECKING:
    from types import ModuleType

DEFAULT_SERIALIZER = "json"
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SCALARS = (str, bytes, bytearray, int, float, bool, type(None))


class PayloadError(ValueError):
    """A call's arguments cannot be sent to the job as they are (the message says why)."""


def serializer_name(serializer: str | ModuleType | None) -> str:
    """Return the module name of ``serializer`` (a name or a module), checking it can be used."""
    name = DEFAULT_SERIALIZER if serializer is None else getattr(serializer, "__name__", serializer)
    if not isinstance(name, str) or not _MODULE_NAME.fullmatch(name):
        raise ValueError(f"serializer={serializer!r}: give a module name such as 'json' or 'pickle'")
    try:
        load_serializer(name)
    except (ImportError, TypeError) as error:
        raise ValueError(f"serializer={name!r} cannot be used here: {error}") from error
    return name


def plain(value: Any) -> Any:
    """Turn Airflow's lazy sequences and read-only mappings (XCom lists, params) into lists and dicts."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, Sequence):
        return [plain(item) for item in value]
    return value


def check_json(value: Any, path: str) -> None:
    """Raise PayloadError naming the first part of ``value`` that JSON would not carry as it is."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadError(f"{path} is {value!r}: JSON has no NaN or infinity")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError(
                    f"{path} has the key {key!r} ({type(key).__name__}): JSON object keys are strings"
                )
            check_json(item, f"{path}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):  # a tuple comes back as a list, as with JSON anywhere
        for position, item in enumerate(value):
            check_json(item, f"{path}[{position}]")
        return
    raise PayloadError(
        f"{path} is {type(value).__name__}, not a JSON value: pass JSON types (dict, list, str, int, "
        "float, bool, None) or choose another serializer, e.g. serializer='pickle'"
    )


def input_document(
    args: Sequence[Any], kwargs: Mapping[str, Any], mapped: Sequence[tuple[str, Sequence[Any]]] | None
) -> dict[str, Any]:
    """Return what the runner reads: the arguments, and for an array job the mapped lists."""
    document: dict[str, Any] = {"args": [plain(arg) for arg in args], "kwargs": plain(dict(kwargs))}
    if mapped is not None:
        document["map"] = [[name, plain(list(values))] for name, values in mapped]
    return document


def serialize_input(document: Mapping[str, Any], serializer: str) -> bytes:
    """Serialize an input document (checked first when the serializer is JSON)."""
    if serializer == "json":
        for position, arg in enumerate(document["args"]):
            check_json(arg, f"argument {position}")
        for name, arg in document["kwargs"].items():
            check_json(arg, f"argument {name!r}")
        for name, values in document.get("map") or []:
            check_json(values, f"mapped argument {name!r}")
        return json.dumps(dict(document), separators=(",", ":")).encode("utf-8")
    try:
        return dumps(importlib.import_module(serializer), dict(document))
    except Exception as error:
        raise PayloadError(f"the arguments cannot be serialized with {serializer}: {error}") from error


def deserialize(data: bytes, serializer: str) -> Any:
    """Read a value the job serialized."""
    return load_serializer(serializer).loads(data)
