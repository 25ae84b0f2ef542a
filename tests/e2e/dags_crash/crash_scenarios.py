"""DAGs that tests/e2e/test_crashes.py interrupts: killed workers, a restarted triggerer, tasks
marked failed, cleared or timed out while their Batch job runs, in sync and deferrable mode.

Jobs that are interrupted on their first Airflow try sleep long; from the second try on (after a
clear or a retry) the templated command ends after 10 s, so a restarted task can finish.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec

QUEUE = "airflow-batch-queue"
DEFINITION = JobDefinitionSpec.container_job(
    name="crash-scenarios",
    image="busybox",
    command=["sh", "-c", "echo default"],
    vcpus=1,
    memory=128,
)
#: Sleeps ``seconds`` on the first Airflow try and 10 s on later ones. (Not less: Airflow 3.3's
#: scheduler may fail a deferred task whose trigger fires within seconds of the deferral, when it
#: reads the deferring process's exit after the resumed try started: apache/airflow#72716.)
FIRST_TRY_SLEEPS = (
    "echo try {{ ti.try_number }}; if [ {{ ti.try_number }} -le 1 ]; then sleep %d; else sleep 10; fi; "
    "echo finished"
)


def scenario(dag_id: str, *, seconds: int, deferrable: bool, **task_kwargs: object) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        tags=["e2e", "crash"],
    ) as dag:
        BatchSubmitJobOperator(
            task_id="job",
            job_name=dag_id.replace("_", "-"),
            job_queue=QUEUE,
            job_definition=DEFINITION,
            container_overrides={"command": ["sh", "-c", FIRST_TRY_SLEEPS % seconds]},
            deferrable=deferrable,
            poll_interval=2,
            **task_kwargs,  # type: ignore[arg-type]
        )
    return dag


# The worker running the task is SIGKILLed while its job runs: the retry must reattach, not resubmit.
# (The job sleeps on the first try only, but a reattached retry follows the first try's job.)
crash_worker_killed = scenario(
    "crash_worker_killed", seconds=25, deferrable=False, retries=1, retry_delay=timedelta(seconds=2)
)
# The triggerer is SIGKILLed while the task is deferred, then started again.
crash_triggerer_restarted = scenario("crash_triggerer_restarted", seconds=40, deferrable=True)
# Marked failed while its job runs.
crash_sync_marked_failed = scenario("crash_sync_marked_failed", seconds=600, deferrable=False)
# Cleared while its job runs: the job is terminated and the task runs again with a new job.
crash_sync_cleared = scenario("crash_sync_cleared", seconds=600, deferrable=False)
# The new try may reattach to the cleared try's job just before that try's on_kill terminates it:
# its trigger then fires within seconds of the deferral, which apache/airflow#72716 can fail (the
# scheduler reads the deferring process's exit after the resumed try started). A retry, as a DAG
# author would set, then finds the terminated job and submits a new one.
crash_deferred_cleared = scenario(
    "crash_deferred_cleared", seconds=600, deferrable=True, retries=1, retry_delay=timedelta(seconds=2)
)
# execution_timeout while deferred.
crash_deferred_timed_out = scenario(
    "crash_deferred_timed_out", seconds=600, deferrable=True, execution_timeout=timedelta(seconds=25)
)
