"""What the package declares: a requirement for every import, floors, license, typing, changelog.

``make package-check`` checks the built sdist and wheel; these check the sources they come from.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from airflow_batch_plugin.version import __version__

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "airflow_batch_plugin"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
#: The emulator's own distribution (aws-batch-local), in this repository.
EMULATOR = REPO / "aws-batch-local"
EMULATOR_PACKAGE = EMULATOR / "aws_batch_local"
EMULATOR_PROJECT = tomllib.loads((EMULATOR / "pyproject.toml").read_text())["project"]
#: Distributions that provide an import without being its top-level name's only owner.
AIRFLOW_HOMES = {
    "airflow.providers.amazon": "apache-airflow-providers-amazon",
    "airflow.providers.common.compat": "apache-airflow-providers-common-compat",
    "airflow": "apache-airflow",
}


def requirements(*, emulator: bool) -> dict[str, Requirement]:
    """The plugin's requirements, or (``emulator``) the emulator distribution's."""
    specs = EMULATOR_PROJECT["dependencies"] if emulator else PROJECT["dependencies"]
    return {canonicalize_name(Requirement(spec).name): Requirement(spec) for spec in specs}


def _catches_import_error(node: ast.Try) -> bool:
    return any(
        handler.type is not None and "ImportError" in ast.unparse(handler.type) for handler in node.handlers
    )


def runtime_imports(path: Path) -> set[str]:
    """Module names a file must import at run time.

    Not under TYPE_CHECKING, not relative, and not optional (in a ``try`` that catches ImportError).
    """
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
        if isinstance(node, ast.Try) and _catches_import_error(node):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@cache
def top_level_distributions() -> dict[str, list[str]]:
    return dict(packages_distributions())


def distribution_of(module: str) -> str | None:
    """The distribution a third-party module comes from; None for the stdlib and the package."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ("airflow_batch_plugin", "aws_batch_local"):
        return None
    for prefix, distribution in AIRFLOW_HOMES.items():
        if module == prefix or module.startswith(prefix + "."):
            return distribution
    [distribution, *_] = top_level_distributions()[top]
    return canonicalize_name(distribution)


@pytest.mark.parametrize(
    "path",
    sorted([*PACKAGE.rglob("*.py"), *EMULATOR_PACKAGE.rglob("*.py")]),
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_every_import_is_covered_by_a_declared_requirement(path):
    emulator = path.is_relative_to(EMULATOR_PACKAGE)
    declared = requirements(emulator=emulator)
    missing = {
        f"{module} ({distribution})"
        for module in runtime_imports(path)
        if (distribution := distribution_of(module)) is not None and distribution not in declared
    }
    where = "aws-batch-local's dependencies" if emulator else "the plugin's [project] dependencies"
    assert not missing, f"imported but not in {where}: {sorted(missing)}"


@pytest.mark.parametrize(
    ("package", "other"),
    [(PACKAGE, "aws_batch_local"), (EMULATOR_PACKAGE, "airflow_batch_plugin")],
    ids=["the plugin needs no emulator", "the emulator needs no plugin"],
)
def test_neither_distribution_imports_the_other(package, other):
    importers = sorted(
        str(path.relative_to(REPO))
        for path in package.rglob("*.py")
        if any(module.split(".")[0] == other for module in runtime_imports(path))
    )
    assert not importers, f"{other} imported at run time by {importers}"


def test_the_plugin_declares_neither_moto_nor_an_emulator_extra():
    assert "moto" not in requirements(emulator=False)
    assert "optional-dependencies" not in PROJECT


@pytest.mark.parametrize("of_emulator", [False, True], ids=["plugin", "aws-batch-local"])
def test_every_requirement_has_one_floor_the_version_matrix_can_pin(of_emulator):
    for requirement in requirements(emulator=of_emulator).values():
        floors = [spec for spec in requirement.specifier if spec.operator in (">=", "==")]
        assert len(floors) == 1, f"{requirement}: one >= (or ==) floor, for the floors venv to pin"


def test_the_supported_airflow_range_is_3_0_6_to_3_3():
    assert str(requirements(emulator=False)["apache-airflow"].specifier) == "<3.4,>=3.0.6"


def test_common_compat_is_declared_from_the_release_with_resumable_job_mixin():
    # ResumableJobMixin is in airflow.providers.common.compat.sdk from common-compat 1.23.0.
    requirement = requirements(emulator=False)["apache-airflow-providers-common-compat"]
    assert ">=1.23.0" in str(requirement.specifier)


def test_the_license_is_apache_2_0_by_a_pep_639_expression():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")], (
        "PEP 639: no License classifier"
    )
    [backend] = PYPROJECT["build-system"]["requires"]
    assert backend == "setuptools>=77", "the first setuptools that reads license expressions"


def test_the_python_classifiers_are_the_versions_ci_runs():
    python = PYPROJECT["tool"]["mypy"]["python_version"]  # what CI's venvs run (and the image)
    versions = {
        c.rsplit(":: ", 1)[1] for c in PROJECT["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)
    }
    assert versions == {python}
    assert PROJECT["requires-python"] == f">={python}"
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + python.replace(".", "")


def test_the_package_ships_py_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["airflow_batch_plugin"]
    assert "Typing :: Typed" in PROJECT["classifiers"]


def test_the_changelog_has_an_entry_for_this_version():
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.M), __version__
    assert PROJECT["dynamic"] == ["version"], "the version comes from airflow_batch_plugin/version.py"


@pytest.mark.parametrize("pins", sorted((REPO / ".ci" / "pins").glob("*.txt")), ids=lambda path: path.name)
def test_every_pin_of_the_version_matrix_says_which_bug_it_avoids(pins):
    lines = pins.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            Requirement(line)
            assert number > 0, f"{pins.name}: {line} has no comment"
            assert lines[number - 1].startswith("#"), f"{pins.name}: {line} has no comment"
