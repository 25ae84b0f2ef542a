"""Run an example DAG on the local emulator with ``airflow dags test`` and summarize the run.

``make demo`` calls ``python -m airflow_batch_plugin.localrun batch_etl``: it starts the emulator
(bootstrapped with a queue and a bucket), prepares a throwaway AIRFLOW_HOME, runs the DAG once
with a real Airflow, and prints the tasks, their Batch jobs, the jobs' final states and where the
logs are. The end-to-end tests use the same functions. With
``AWS_BATCH_LOCAL_CHECK_SHAPES=1`` the emulator checks its answers against botocore's
shapes and a run whose answers differed fails, listing them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from aws_batch_local import EmulatorServer

EMULATOR_MISSING = (
    "the local AWS Batch emulator is not installed: it is its own distribution, aws-batch-local "
    "(in this repository: `pip install -e ./aws-batch-local`, which `make demo` does)"
)


def airflow_env(home: Path, connection: str, dags_folder: Path, region: str = "us-east-1") -> dict[str, str]:
    """Return the environment for Airflow commands that use ``home`` and talk to the emulator."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_DEFAULT": connection,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def airflow(
    args: Sequence[str], env: Mapping[str, str], *, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the ``airflow`` command of this interpreter's environment."""
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    return subprocess.run(command, env=dict(env), text=True, capture_output=capture, check=False)


def prepare_airflow_home(env: Mapping[str, str]) -> None:
    """Create (or migrate) the metadata database of ``env``'s AIRFLOW_HOME."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    result = airflow(["db", "migrate"], env, capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")


def run_summary(dag_id: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Read the latest run of ``dag_id`` from Airflow's database (in a subprocess using ``env``)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow_batch_plugin.localrun", "--summary-json", dag_id],
        env=dict(env),
        text=True,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not read the run of {dag_id}:\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _summary_from_database(dag_id: str) -> dict[str, Any]:
    """Return the state, the tasks and their XCom return values of the latest run of ``dag_id``."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).first()
        if run is None:
            raise LookupError(f"no run of {dag_id}")
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        tasks = []
        for ti in sorted(tis, key=lambda t: (t.start_date is None, t.start_date, t.task_id, t.map_index)):
            rows = session.execute(
                select(XComModel.key, XComModel.value).where(
                    XComModel.dag_id == dag_id,
                    XComModel.run_id == run.run_id,
                    XComModel.task_id == ti.task_id,
                    XComModel.map_index == ti.map_index,
                )
            ).all()
            xcoms: dict[str, Any] = {str(key): value for key, value in rows}
            tasks.append(
                {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "state": str(ti.state),
                    "try_number": ti.try_number,
                    "return_value": xcoms.get("return_value"),
                    "xcoms": xcoms,
                }
            )
        return {"dag_id": dag_id, "run_id": run.run_id, "state": str(run.state), "tasks": tasks}


def describe_batch_jobs(
    summary: Mapping[str, Any], endpoint_url: str, region: str
) -> dict[str, dict[str, Any]]:
    """Describe the Batch jobs the run's tasks returned, straight from the emulator."""
    import boto3

    ids = [
        task["return_value"]
        for task in summary["tasks"]
        if isinstance(task["return_value"], str) and len(task["return_value"]) == 36
    ]
    if not ids:
        return {}
    client = boto3.client(
        "batch",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {job["jobId"]: dict(job) for job in client.describe_jobs(jobs=ids)["jobs"]}


def print_summary(summary: Mapping[str, Any], jobs: Mapping[str, Mapping[str, Any]]) -> None:
    """Print the run's tasks, their Batch jobs' final states and where the jobs' logs are."""
    print(f"\nDAG {summary['dag_id']} run {summary['run_id']}: {summary['state']}")
    for task in summary["tasks"]:
        job = jobs.get(str(task["return_value"]))
        batch = ""
        if job is not None:
            size = job.get("arrayProperties", {}).get("size")
            shape = f"array of {size}" if size else "single"
            batch = f"  Batch job {job['jobId']} ({shape}): {job['status']}"
        print(f"  {task['task_id']:<20} {task['state']:<10}{batch}")
    streams = [
        (job["jobName"], job.get("container", {}).get("logStreamName"))
        for job in jobs.values()
        if job.get("container", {}).get("logStreamName")
    ]
    if streams:
        print("\nJob logs in CloudWatch Logs (group /aws/batch/job on the emulator):")
        for name, stream in streams:
            print(f"  {name:<20} {stream}")
        print("  (each array child logs to its own stream; the task log shows the first 3 children's lines")
        print("   and the failed ones', labelled [batch child N])")


def run_dag(dag_id: str, home: Path, dags_folder: Path, conf: str | None = None) -> int:
    """Start the emulator, run ``dag_id`` once with ``airflow dags test``, print the summary."""
    try:
        from aws_batch_local import EmulatorServer
    except ImportError as missing:
        raise SystemExit(EMULATOR_MISSING) from missing
    with EmulatorServer(port=0, bootstrap=True) as emulator:
        print(f"AWS Batch emulator on {emulator.endpoint_url}", flush=True)
        env = airflow_env(home, emulator.airflow_connection, dags_folder)
        prepare_airflow_home(env)
        output_file = home / f"dags-test-{dag_id}.log"
        returncode = tee_airflow(["dags", "test", dag_id, *(["-c", conf] if conf else [])], env, output_file)
        summary = run_summary(dag_id, env)
        print_summary(summary, describe_batch_jobs(summary, emulator.endpoint_url, "us-east-1"))
        print(f"Full output of the run, every task log with the jobs' [batch] lines: {output_file}")
        shapes_differ = report_shape_violations(emulator)
    return 0 if returncode == 0 and summary["state"] == "success" and not shapes_differ else 1


def report_shape_violations(emulator: EmulatorServer) -> bool:
    """Print what the emulator answered unlike botocore's shapes (when checking); return whether any."""
    if emulator.shape_violations is None:
        return False
    report = emulator.shape_violations.report()
    if report["violations"]:
        print("\nThe emulator's answers differ from botocore's output shapes:")
        print(emulator.shape_violations.describe())
        return True
    checked = sum(report["checked"].values())
    print(f"\nEvery emulator answer matched botocore's output shapes ({checked} checked)")
    return False


def tee_airflow(args: Sequence[str], env: Mapping[str, str], output_file: Path) -> int:
    """Run an ``airflow`` command, showing its output and keeping a copy in ``output_file``."""
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    with (
        output_file.open("w") as copy,
        subprocess.Popen(
            command, env=dict(env), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            copy.write(line)
    return process.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_batch_plugin.localrun", description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--airflow-home", type=Path, default=Path(".airflow"))
    parser.add_argument("--dags-folder", type=Path, default=Path("dags"))
    parser.add_argument("--conf", help="DAG run conf as JSON")
    parser.add_argument("--summary-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.summary_json:
        print(json.dumps(_summary_from_database(args.dag_id), default=str))
        return 0
    return run_dag(args.dag_id, args.airflow_home.resolve(), args.dags_folder.resolve(), args.conf)


if __name__ == "__main__":
    sys.exit(main())
