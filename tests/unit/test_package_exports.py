"""The package's public names: listed alike in _EXPORTS, __all__ and the TYPE_CHECKING imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import airflow_batch_plugin
import airflow_batch_plugin.specs


def _type_checking_imports() -> set[str]:
    tree = ast.parse(Path(airflow_batch_plugin.__file__).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in statement.names)
    return names


def test_every_export_is_listed_in_all_three_places():
    exports = set(airflow_batch_plugin._EXPORTS)
    assert set(airflow_batch_plugin.__all__) - {"__version__"} == exports
    assert _type_checking_imports() == exports


def test_every_export_resolves_to_the_object_of_its_module():
    for name, module in airflow_batch_plugin._EXPORTS.items():
        assert getattr(airflow_batch_plugin, name) is getattr(importlib.import_module(module), name), name


def test_every_name_of_the_specs_package_resolves():
    for name in airflow_batch_plugin.specs.__all__:
        assert getattr(airflow_batch_plugin.specs, name) is not None, name


def test_the_ecs_specs_are_exported():
    for name in (
        "EcsTaskSpec",
        "TaskContainerSpec",
        "TaskContainerDependency",
        "EcsPropertiesOverride",
        "TaskContainerOverrides",
    ):
        assert name in airflow_batch_plugin.__all__
        assert name in airflow_batch_plugin.specs.__all__
