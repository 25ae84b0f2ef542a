"""The version matrix (`make test-compat`): the plugin on each Airflow release line it supports.

`make test` covers Airflow 3.3 with the newest dependencies. This script builds one venv per
older supported Airflow minor (3.0, 3.1, 3.2), each with the newest dependencies that minor
accepts, plus one venv on Airflow 3.0 whose direct dependencies are pinned to the floors
pyproject.toml declares (the lowest versions it claims work; everything else newest). Every
venv installs with uv from one shared cache, and Airflow's own bugs with newer third-party
releases are pinned away by .ci/pins/airflow-X.Y.txt (each pin names the bug).

In each venv it runs the unit tests, the README's Quick start DAG, a deferrable run, a
``@task.batch`` run (each with ``airflow dags test`` on the emulator) and a deferred task whose
deferral times out in a real Airflow (scheduler, triggerer), which must terminate its job.
Tests that need a newer Airflow skip, naming the feature and the version.

The emulator's own tests (``EMULATOR_TESTS``) run at both ends of its moto range
(aws-batch-local/pyproject.toml): in the floors venv, which pins moto at the range's floor, and in
a venv of the newest dependencies, which gets the newest moto the range allows (no pin of
.ci/pins names moto; tests/unit/test_moto_range.py checks both).

Usage: python .ci/compat_matrix.py [--only NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".compat"
PINS = REPO / ".ci" / "pins"
#: What each venv runs: cheap checks, not the whole suite (`make test` runs that on 3.3).
TESTS = (
    "tests/unit",
    "tests/e2e/test_readme_dag.py",
    "tests/e2e/test_deferrable.py",
    "tests/e2e/test_batch_task_mapping.py",
    "tests/e2e/test_crashes.py::test_a_deferred_task_that_times_out_terminates_its_job",
)
#: The emulator's integration tests: run where ``Venv.emulator`` is set, at the lowest and the newest
#: moto (its unit tests, in tests/unit, run in every venv).
EMULATOR_TESTS = (
    "tests/integration/test_emulator.py",
    "tests/integration/test_emulator_cli.py",
    "tests/integration/test_emulator_ecs_jobs.py",
    "tests/integration/test_emulator_infra.py",
    "tests/integration/test_emulator_job_kinds.py",
    "tests/integration/test_emulator_queue_snapshot.py",
    "tests/integration/test_emulator_server.py",
    "tests/integration/test_emulator_shapes.py",
    "tests/integration/test_infrastructure.py",
)
#: Packages whose versions the summary shows.
SHOWN = (
    "apache-airflow",
    "apache-airflow-providers-amazon",
    "apache-airflow-providers-common-compat",
    "moto",
)


@dataclass(frozen=True)
class Venv:
    """One venv of the matrix: its Airflow line, whether its direct dependencies sit at their floors,
    and whether it runs the emulator's tests too."""

    name: str
    airflow: str
    floors: bool = False
    emulator: bool = False

    @property
    def tests(self) -> tuple[str, ...]:
        return TESTS + (EMULATOR_TESTS if self.emulator else ())

    @property
    def path(self) -> Path:
        return WORK / self.name

    @property
    def pins(self) -> Path:
        return PINS / f"airflow-{self.airflow}.txt"


MATRIX = (
    Venv("airflow-3.0-lowest", "3.0", floors=True, emulator=True),
    Venv("airflow-3.0", "3.0"),
    Venv("airflow-3.1", "3.1"),
    Venv("airflow-3.2", "3.2", emulator=True),
)


@dataclass
class Outcome:
    """What one venv's install and tests gave."""

    venv: Venv
    versions: dict[str, str] = field(default_factory=dict)
    install_seconds: float = 0.0
    test_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    skips: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.counts.get("failed") and not self.counts.get("errors")


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        raise SystemExit("uv is missing: `make install` installs it (dev dependency group)")
    return found


def floor_constraints() -> list[str]:
    """``name==floor`` for every direct dependency of the plugin and of the emulator (aws-batch-local).

    A dependency both declare is pinned at the higher of the two floors.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    floors: dict[str, Version] = {}
    for pyproject in (REPO / "pyproject.toml", REPO / "aws-batch-local" / "pyproject.toml"):
        for spec in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
            requirement = Requirement(spec)
            found = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
            if len(found) != 1:
                where = pyproject.relative_to(REPO)
                raise SystemExit(f"{where}: {spec!r} declares no single floor (>= or ==)")
            name = canonicalize_name(requirement.name)
            floors[name] = max(found[0], floors.get(name, found[0]))
    return [f"{name}=={floor}" for name, floor in floors.items()]


def run(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("a") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        return subprocess.run(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
        ).returncode


def install(venv: Venv, log: Path) -> None:
    if venv.path.exists():
        shutil.rmtree(venv.path)
    if run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv.path)], log) != 0:
        raise RuntimeError("uv venv failed")
    constraints = ["--constraint", str(venv.pins)]
    if venv.floors:
        floors = WORK / f"{venv.name}-floors.txt"
        floors.write_text("\n".join(floor_constraints()) + "\n")
        constraints += ["--constraint", str(floors)]
    command = [
        uv(),
        "pip",
        "install",
        "--python",
        str(venv.path / "bin" / "python"),
        *constraints,
        f"apache-airflow=={venv.airflow}.*",
        "--editable",
        "./aws-batch-local",
        "--editable",
        ".",
        "--group",
        "test",
    ]
    if run(command, log) != 0:
        raise RuntimeError(f"uv pip install failed (see {log.relative_to(REPO)})")


def installed_versions(venv: Venv) -> dict[str, str]:
    result = subprocess.run(
        [uv(), "pip", "list", "--python", str(venv.path / "bin" / "python"), "--format", "freeze"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    versions = {}
    for line in result.stdout.splitlines():
        name, _, version = line.partition("==")
        versions[name.lower()] = version
    return versions


def check_floors(venv: Venv, versions: dict[str, str]) -> None:
    """The floors venv must hold every direct dependency at exactly its declared floor."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    wrong = []
    for pin in floor_constraints():
        name, _, floor = pin.partition("==")
        have = versions.get(canonicalize_name(name))
        if have is None or Version(have) != Version(floor):
            wrong.append(f"{name} {have} (floor {floor})")
    if wrong:
        raise RuntimeError("not at the declared floors: " + ", ".join(wrong))


def test(venv: Venv, log: Path) -> tuple[dict[str, int], list[str]]:
    report = WORK / f"{venv.name}.xml"
    env = {
        **os.environ,
        "AIRFLOW_BATCH_COMPAT_VENV": venv.name,
        "PATH": f"{venv.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv.path),
    }
    command = [
        str(venv.path / "bin" / "python"),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rs",
        f"--junitxml={report}",
        *venv.tests,
    ]
    run(command, log, env)
    if not report.exists():
        raise RuntimeError("pytest wrote no report")
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["failed"] = counts.pop("failures")
    counts["passed"] = counts["tests"] - counts["failed"] - counts["errors"] - counts["skipped"]
    skips = sorted(
        {
            f"{case.get('name')}: {skipped.get('message')}"
            for case in suite.iter("testcase")
            for skipped in case.findall("skipped")
        }
    )
    return counts, skips


def check(venv: Venv) -> Outcome:
    outcome = Outcome(venv)
    log = WORK / f"{venv.name}.log"
    log.write_text("")
    started = time.monotonic()
    try:
        install(venv, log)
        outcome.versions = installed_versions(venv)
        if venv.floors:
            check_floors(venv, outcome.versions)
        outcome.install_seconds = time.monotonic() - started
        started = time.monotonic()
        outcome.counts, outcome.skips = test(venv, log)
    except RuntimeError as error:
        outcome.error = str(error)
    finally:
        if outcome.install_seconds and not outcome.test_seconds:
            outcome.test_seconds = time.monotonic() - started
    print(f"[{venv.name}] {'ok' if outcome.ok else 'FAILED'}: {summary_line(outcome)}", flush=True)
    return outcome


def summary_line(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error
    counts = outcome.counts
    return (
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped (install {outcome.install_seconds:.0f} s, "
        f"tests {outcome.test_seconds:.0f} s)"
    )


def print_report(outcomes: list[Outcome], seconds: float) -> None:
    print("\nVersion matrix (make test-compat):")
    for outcome in outcomes:
        shown = ", ".join(f"{name} {outcome.versions.get(name, '?')}" for name in SHOWN)
        print(f"  {outcome.venv.name:<20} {'ok    ' if outcome.ok else 'FAILED'} {shown}")
        print(f"  {'':<20} {summary_line(outcome)}")
        for skip in outcome.skips:
            print(f"  {'':<20}   skipped {skip}")
        if not outcome.ok:
            print(f"  {'':<20}   log: {(WORK / f'{outcome.venv.name}.log').relative_to(REPO)}")
    print(f"Matrix wall time: {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=[venv.name for venv in MATRIX], help="venvs to check")
    parser.add_argument("--jobs", type=int, default=2, help="venvs checked at once (default 2)")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    chosen = [venv for venv in MATRIX if not args.only or venv.name in args.only]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(check, chosen))
    print_report(outcomes, time.monotonic() - started)
    return 0 if all(outcome.ok for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
