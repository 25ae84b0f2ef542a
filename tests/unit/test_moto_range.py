"""The emulator's moto range (aws-batch-local/pyproject.toml) and the moto versions CI runs agree."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def _matrix() -> Any:
    spec = importlib.util.spec_from_file_location("compat_matrix", REPO / ".ci" / "compat_matrix.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("compat_matrix", module)
    spec.loader.exec_module(module)
    return module


def _moto(requirements: list[str]) -> Requirement:
    [found] = [Requirement(item) for item in requirements if Requirement(item).name == "moto"]
    return found


def _emulator_moto() -> Requirement:
    project = tomllib.loads((REPO / "aws-batch-local" / "pyproject.toml").read_text())["project"]
    return _moto(project["dependencies"])


def test_the_emulator_takes_a_range_of_moto_5():
    requirement = _emulator_moto()
    operators = {spec.operator: Version(spec.version) for spec in requirement.specifier}
    assert set(operators) == {">=", "<"}, f"a range, not a pin: {requirement}"
    assert operators[">="].major == 5
    assert operators["<"] == Version("6")
    assert requirement.extras == {"server"}


def test_the_plugins_test_group_asks_for_the_same_moto_range():
    groups = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]
    assert _moto([item for item in groups["test"] if isinstance(item, str)]) == _emulator_moto()


def test_ci_runs_the_emulators_tests_at_the_floor_and_at_the_newest_moto():
    matrix = _matrix()
    floor = next(spec.version for spec in _emulator_moto().specifier if spec.operator == ">=")
    assert f"moto=={floor}" in matrix.floor_constraints(), "the floors venv pins moto at the range's floor"
    emulator_venvs = [venv for venv in matrix.MATRIX if venv.emulator]
    assert any(venv.floors for venv in emulator_venvs), "the lowest moto runs the emulator's tests"
    assert any(not venv.floors for venv in emulator_venvs), "the newest moto runs the emulator's tests"
    for venv in emulator_venvs:
        assert set(matrix.EMULATOR_TESTS) <= set(venv.tests)
    for pins in (REPO / ".ci" / "pins").glob("*.txt"):
        pinned = [line for line in pins.read_text().splitlines() if line and not line.startswith("#")]
        assert not [line for line in pinned if Requirement(line).name == "moto"], (
            f"{pins.name} pins moto: the newest venvs would not get the newest moto of the range"
        )


def test_every_emulator_test_file_exists():
    for path in _matrix().EMULATOR_TESTS:
        assert (REPO / path).is_file(), path
