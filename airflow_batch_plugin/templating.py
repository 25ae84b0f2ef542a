"""Render Jinja templates inside specs, then validate the rendered spec again.

Specs are frozen dataclasses, so Airflow cannot render them in place. Operators call
:func:`render_spec` at the start of ``execute``: every templated string inside the spec is
rendered (and every XComArg resolved) and the spec is rebuilt, which re-runs its validation on
the real values. A template that renders to an empty string leaves its field unset.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_batch_plugin.specs.common import deferred_validation
from airflow_batch_plugin.specs.validation import is_templated

if TYPE_CHECKING:
    from collections.abc import Callable

SpecT = TypeVar("SpecT")


def render_spec(spec: SpecT, render: Callable[[Any], Any]) -> SpecT:
    """Return a copy of the dataclass ``spec`` with ``render`` applied to every templated value.

    Nested parts are rebuilt without validating; the outer spec then validates the whole, so a
    bad rendered value is reported with its full field path (``container.memory``).
    """
    with deferred_validation():
        rendered = _render_value(spec, render)
    if rendered is not spec:
        rendered.validate()
    return rendered


def _render_value(value: Any, render: Callable[[Any], Any]) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _render_value(getattr(value, f.name), render) for f in dataclasses.fields(value) if f.init
        }
        if all(changes[name] is getattr(value, name) for name in changes):
            return value
        return dataclasses.replace(value, **changes)
    if not isinstance(value, (str, bytes)) and callable(getattr(value, "resolve", None)):
        return render(value)  # an XComArg: Airflow's render_template resolves it from the context
    if isinstance(value, str):
        if not is_templated(value):
            return value
        rendered = render(value)
        # An optional field whose template renders to nothing is left unset (e.g. a role param "").
        return None if isinstance(rendered, str) and not rendered.strip() else rendered
    if isinstance(value, list):
        rendered = [_render_value(item, render) for item in value]
        return value if all(a is b for a, b in zip(rendered, value, strict=False)) else rendered
    if isinstance(value, tuple):
        rendered_tuple = tuple(_render_value(item, render) for item in value)
        return value if all(a is b for a, b in zip(rendered_tuple, value, strict=False)) else rendered_tuple
    if isinstance(value, dict):
        rendered_dict = {key: _render_value(item, render) for key, item in value.items()}
        return value if all(rendered_dict[k] is value[k] for k in value) else rendered_dict
    return value
