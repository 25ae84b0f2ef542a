"""Daily ETL on AWS Batch: extract N partitions, transform them N_TO_N, load, report.

The three Batch stages are submitted one after the other without waiting, chained by AWS Batch
itself (``dependsOn``): transform child i starts as soon as extract child i has finished, the load
job once every transform child has. Airflow registers the job definition (reusing the revision
while nothing changed), waits for each stage with its logs and progress in the task logs, and
reads the report the load job wrote.

Runs unchanged on the local emulator (``make demo``) and on AWS: set the params ``job_queue``,
``bucket``, ``image`` (see images/etl/Dockerfile) and ``job_role_arn`` (S3 access) for AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import DAG, Param, task

from airflow_batch_plugin import (
    BatchJobSensor,
    BatchRegisterJobDefinitionOperator,
    BatchSubmitJobOperator,
    ContainerSpec,
    JobDefinitionSpec,
    RetryStrategy,
)

JOB_CODE = Path(__file__).with_name("batch_etl_job.py").read_text()
POLL_SECONDS = 3

ETL_DEFINITION = JobDefinitionSpec(
    name="{{ params.job_definition_name }}",
    container=ContainerSpec(
        image="{{ params.image }}",
        vcpus=1,
        memory=512,
        command=["python3", "-c", JOB_CODE, "Ref::stage", "Ref::bucket", "Ref::prefix", "Ref::rows"],
        job_role_arn="{{ params.job_role_arn or '' }}",
        environment={"PYTHONUNBUFFERED": "1"},
    ),
    parameters={"stage": "extract", "rows": "1000"},
    retry_strategy=RetryStrategy(attempts=2),
    timeout_seconds=900,
    tags={"app": "batch-etl-example"},
)


def stage_parameters(stage: str) -> dict[str, str]:
    """SubmitJob parameters for one stage: what the job's ``Ref::`` placeholders become."""
    return {
        "stage": stage,
        "bucket": "{{ params.bucket }}",
        "prefix": "etl/{{ ds }}",
        "rows": "{{ params.rows_per_partition }}",
    }


with DAG(
    dag_id="batch_etl",
    description="Scheduled ETL of AWS Batch array jobs chained N_TO_N",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["aws-batch", "example"],
    params={
        "job_queue": Param("airflow-batch-queue", type="string", description="Batch job queue"),
        "job_definition_name": Param("airflow-batch-etl", type="string"),
        "image": Param("airflow-batch-etl:latest", type="string", description="Python 3 + boto3"),
        "job_role_arn": Param("", type="string", description="IAM role with S3 access (AWS)"),
        "bucket": Param("airflow-batch-demo", type="string"),
        "partitions": Param(4, type="integer", minimum=2, maximum=10_000),
        "rows_per_partition": Param(1000, type="integer", minimum=1),
    },
) as dag:
    register = BatchRegisterJobDefinitionOperator(task_id="register_definition", spec=ETL_DEFINITION)

    extract = BatchSubmitJobOperator(
        task_id="extract",
        job_name="etl-extract",
        job_queue="{{ params.job_queue }}",
        job_definition=register.output,
        array_size="{{ params.partitions }}",
        parameters=stage_parameters("extract"),
        wait_for_completion=False,
    )

    transform = BatchSubmitJobOperator(
        task_id="transform",
        job_name="etl-transform",
        job_queue="{{ params.job_queue }}",
        job_definition=register.output,
        array_size="{{ params.partitions }}",
        parameters=stage_parameters("transform"),
        depends_on=[{"jobId": extract.output, "type": "N_TO_N"}],
        wait_for_completion=False,
    )

    load = BatchSubmitJobOperator(
        task_id="load",
        job_name="etl-load",
        job_queue="{{ params.job_queue }}",
        job_definition=register.output,
        parameters=stage_parameters("load"),
        depends_on=[transform.output],
        poll_interval=POLL_SECONDS,
    )

    # Each array stage gets a sensor: its progress, and the logs of failed children if any fail.
    extract_done = BatchJobSensor(task_id="extract_done", job_id=extract.output, poke_interval=POLL_SECONDS)
    transform_done = BatchJobSensor(
        task_id="transform_done", job_id=transform.output, poke_interval=POLL_SECONDS
    )

    @task
    def report(params: dict, ds: str, ti: Any = None) -> dict:
        """Read the report the load job wrote and the job ids of each stage."""
        document = json.loads(
            S3Hook(aws_conn_id="aws_default").read_key(
                key=f"etl/{ds}/report.json", bucket_name=params["bucket"]
            )
        )
        jobs = {stage: ti.xcom_pull(task_ids=stage) for stage in ("extract", "transform", "load")}
        print(f"Batch jobs: {json.dumps(jobs)}")
        print(f"Revenue {document['revenue']:.2f} over {document['partitions']} partitions")
        for category, amount in sorted(document["revenue_by_category"].items()):
            print(f"  {category:<8} {amount:>12.2f}")
        return {"jobs": jobs, **document}

    transform >> extract_done  # start waiting once every stage is submitted
    [load, extract_done, transform_done] >> report()
