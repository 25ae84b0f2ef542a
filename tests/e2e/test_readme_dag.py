"""The quick-start DAG in README.md, copied out of the README and run by a real Airflow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.airflow_run import dags_test

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_dag() -> str:
    section = README.read_text().split("## Quick start: a DAG", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's quick start has no python block"
    return match.group(1)


def test_the_readme_quick_start_dag_runs_on_the_emulator(emulator, tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "nightly_report.py").write_text("from __future__ import annotations\n" + quick_start_dag())
    run = dags_test("nightly_report", dags, tmp_path / "airflow", emulator.airflow_connection)
    assert run.summary["state"] == "success", run.output[-3000:]
    assert "[batch] report for 20" in run.task_output("report")
    assert "Registered job definition nightly-report" in run.task_output("register")
