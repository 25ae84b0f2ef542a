"""Release checks (`make package-check`): the package as users get it, not the working tree.

1. ``python -m build``: the sdist, then the wheel built from that sdist; the build must print
   no deprecation warning (setuptools prints one for every metadata form it will stop reading).
2. ``twine check --strict`` on both (metadata and README render as PyPI would).
3. The wheel alone in a fresh venv (newest dependencies), from a folder outside the checkout:
   every public name imports, ``py.typed`` and the view's templates are installed, the
   provider and plugin entry points resolve, and neither the emulator nor moto is there.
4. The emulator's distribution (aws-batch-local/) likewise: built, checked, installed alone in a
   fresh venv (no Airflow there), its console script answers ``--help``.

Usage: python .ci/package_check.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".compat"
DIST = WORK / "dist"
VENV = WORK / "wheel"

#: Run inside the wheel's venv, from a folder where the checkout is not importable.
IMPORT_CHECK = r"""
import importlib.metadata as metadata
import importlib.resources as resources
import sys
from pathlib import Path

import airflow_batch_plugin

where = Path(airflow_batch_plugin.__file__).resolve()
assert "site-packages" in where.parts, f"imported from {where}, not from the installed wheel"
missing = [name for name in airflow_batch_plugin.__all__ if not hasattr(airflow_batch_plugin, name)]
for name in airflow_batch_plugin.__all__:
    getattr(airflow_batch_plugin, name)
assert not missing, missing
package = resources.files("airflow_batch_plugin")
assert package.joinpath("py.typed").is_file(), "py.typed is not installed"
templates = [entry.name for entry in package.joinpath("ui", "templates").iterdir()]
assert any(name.endswith(".html") for name in templates), templates
distribution = metadata.distribution("airflow-batch-plugin")
license_expression = distribution.metadata["License-Expression"]
assert license_expression == "Apache-2.0", license_expression
assert any(path.name == "LICENSE" for path in distribution.files), "LICENSE is not in the wheel"
groups = {"apache_airflow_provider": "provider_info", "airflow.plugins": "airflow_batch_plugin"}
for group, name in groups.items():
    ours = metadata.entry_points(group=group, name=name)
    [entry_point] = [ep for ep in ours if ep.dist is not None and ep.dist.name == distribution.name]
    entry_point.load()
from airflow_batch_plugin.provider import get_provider_info

info = get_provider_info()
assert info["package-name"] == "airflow-batch-plugin", info
import importlib.util

for absent in ("aws_batch_local", "moto"):
    assert importlib.util.find_spec(absent) is None, f"{absent} is installed with the plugin's wheel"
assert not [path for path in distribution.files if "emulator" in str(path)], "the wheel holds an emulator"
print(f"airflow-batch-plugin {distribution.version}: {len(airflow_batch_plugin.__all__)} public names import "
      f"on Airflow {metadata.version('apache-airflow')}, Python {sys.version.split()[0]}, "
      "without moto or the emulator")
"""

#: Run inside the emulator's venv: it stands alone (no Airflow, no plugin).
EMULATOR_CHECK = r"""
import importlib.metadata as metadata
import importlib.util

import aws_batch_local

assert "site-packages" in aws_batch_local.__file__, aws_batch_local.__file__
for absent in ("airflow", "airflow_batch_plugin"):
    assert importlib.util.find_spec(absent) is None, f"{absent} came with aws-batch-local"
version = metadata.version("aws-batch-local")
print(f"aws-batch-local {version} imports alone (no Airflow), with moto {metadata.version('moto')}")
"""


class CheckFailed(RuntimeError):
    """A release check failed; the message says which and why."""


def run(command: list[str], *, cwd: Path = REPO) -> str:
    shown = [argument if "\n" not in argument else "<script>" for argument in command]
    print(f"$ {' '.join(shown)}", flush=True)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise CheckFailed(f"{command[0]} exited with {result.returncode}:\n{output}")
    return output


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise CheckFailed(f"{name} is missing: `make install` installs it (dev dependency group)")
    return found


def build(source: Path = REPO, dist: Path = DIST) -> list[Path]:
    if dist.exists():
        shutil.rmtree(dist)
    output = run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)])
    warnings = [line for line in output.splitlines() if re.search(r"deprecat", line, re.IGNORECASE)]
    if warnings:
        raise CheckFailed("the build printed deprecation warnings:\n" + "\n".join(warnings))
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise CheckFailed(f"expected one sdist and one wheel, got {[path.name for path in dist.iterdir()]}")
    print(f"built {sdists[0].name} and {wheels[0].name}: no deprecation warning")
    return [sdists[0], wheels[0]]


def install_wheel(wheel: Path, venv: Path = VENV) -> Path:
    if venv.exists():
        shutil.rmtree(venv)
    run([tool("uv"), "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    run([tool("uv"), "pip", "install", "--quiet", "--python", str(python), str(wheel)])
    return python


def main() -> int:
    started = time.monotonic()
    try:
        sdist, wheel = build()
        print(run([tool("twine"), "check", "--strict", str(sdist), str(wheel)]).strip())
        python = install_wheel(wheel)
        with tempfile.TemporaryDirectory() as elsewhere:
            print(run([str(python), "-c", IMPORT_CHECK], cwd=Path(elsewhere)).strip().splitlines()[-1])
        emulator_sdist, emulator_wheel = build(REPO / "aws-batch-local", WORK / "emulator-dist")
        print(run([tool("twine"), "check", "--strict", str(emulator_sdist), str(emulator_wheel)]).strip())
        emulator_python = install_wheel(emulator_wheel, WORK / "emulator-wheel")
        with tempfile.TemporaryDirectory() as elsewhere:
            print(run([str(emulator_python), "-c", EMULATOR_CHECK], cwd=Path(elsewhere)).strip())
            script = emulator_python.parent / "aws-batch-local"
            usage = run([str(script), "--help"], cwd=Path(elsewhere))
            if "--port" not in usage:
                raise CheckFailed(f"aws-batch-local --help does not describe --port:\n{usage}")
            print("aws-batch-local --help: the console script runs")
    except CheckFailed as failure:
        print(f"package check FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"package check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
