"""Declare a whole AWS Batch environment once; get its setup and teardown tasks.

A :class:`BatchEnvironment` lists scheduling policies, compute environments and job queues.
Its setup ensures them in dependency order (policies, compute environments, queues) and its
teardown deletes them in reverse, as Airflow setup/teardown tasks: the teardown runs even when
the work between them fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_batch_plugin.compat import TriggerRule
from airflow_batch_plugin.resources import (
    COMPUTE_ENVIRONMENT,
    JOB_QUEUE,
    SCHEDULING_POLICY,
    ActiveJobsPolicy,
    Waiting,
    delete_resource,
    ensure_resource,
)
from airflow_batch_plugin.templating import render_spec

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from logging import Logger

    from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
    from airflow_batch_plugin.operators.infrastructure import (
        BatchEnsureEnvironmentOperator,
        BatchTeardownEnvironmentOperator,
    )
    from airflow_batch_plugin.specs.compute_environment import ComputeEnvironmentSpec
    from airflow_batch_plugin.specs.job_queue import JobQueueSpec
    from airflow_batch_plugin.specs.scheduling_policy import SchedulingPolicySpec


@dataclass(frozen=True)
class BatchEnvironment:
    """Scheduling policies, compute environments and job queues that live and die together."""

    compute_environments: Sequence[ComputeEnvironmentSpec] = ()
    job_queues: Sequence[JobQueueSpec] = ()
    scheduling_policies: Sequence[SchedulingPolicySpec] = ()

    def render(self, render: Callable[[Any], Any]) -> BatchEnvironment:
        """Return this environment with every spec's templates rendered (see templating.py)."""
        return BatchEnvironment(
            compute_environments=[render_spec(spec, render) for spec in self.compute_environments],
            job_queues=[render_spec(spec, render) for spec in self.job_queues],
            scheduling_policies=[render_spec(spec, render) for spec in self.scheduling_policies],
        )

    def ensure(self, hook: BatchResourceHook, waiting: Waiting, log: Logger | Any) -> dict[str, str]:
        """Ensure every resource, policies first and queues last; return their ARNs by name."""
        arns: dict[str, str] = {}
        for kind, specs in (
            (SCHEDULING_POLICY, self.scheduling_policies),
            (COMPUTE_ENVIRONMENT, self.compute_environments),
            (JOB_QUEUE, self.job_queues),
        ):
            for spec in specs:
                arns[spec.name] = ensure_resource(hook, kind, spec, waiting, log)
        return arns

    def teardown(
        self, hook: BatchResourceHook, waiting: Waiting, log: Logger | Any, active_jobs: ActiveJobsPolicy
    ) -> list[str]:
        """Delete queues, then compute environments, then policies; return the names deleted.

        A failure does not stop the rest: every resource that can go goes, then the failures
        are raised together.
        """
        deleted: list[str] = []
        failures: list[str] = []
        for kind, specs in (
            (JOB_QUEUE, self.job_queues),
            (COMPUTE_ENVIRONMENT, self.compute_environments),
            (SCHEDULING_POLICY, self.scheduling_policies),
        ):
            for spec in specs:
                try:
                    if delete_resource(hook, kind, spec.name, waiting, log, active_jobs):
                        deleted.append(spec.name)
                except Exception as error:
                    failures.append(f"{kind.label} {spec.name}: {error}")
        if failures:
            raise AirflowException("Teardown left resources behind:\n" + "\n".join(failures))
        return deleted

    def setup_and_teardown(
        self,
        *,
        task_id_prefix: str = "batch_environment",
        active_jobs: ActiveJobsPolicy = "terminate",
        keep: bool | str = False,
        **operator_kwargs: Any,
    ) -> tuple[BatchEnsureEnvironmentOperator, BatchTeardownEnvironmentOperator]:
        """Create the setup and teardown tasks (in the current DAG context).

        Put the work between them: ``setup >> work >> teardown``. The teardown is an Airflow
        teardown task of the setup, so it runs even when the work fails (and even when the setup
        failed half way); by default it terminates jobs still in the queues so nothing is left
        behind. Its outcome does not decide the DAG run's state, as for any teardown task.
        ``keep`` (templated) skips the teardown, to keep the environment between runs.
        """
        from airflow_batch_plugin.operators.infrastructure import (
            BatchEnsureEnvironmentOperator,
            BatchTeardownEnvironmentOperator,
        )

        setup = BatchEnsureEnvironmentOperator(
            task_id=f"{task_id_prefix}_setup", environment=self, **operator_kwargs
        )
        teardown = BatchTeardownEnvironmentOperator(
            task_id=f"{task_id_prefix}_teardown",
            environment=self,
            active_jobs=active_jobs,
            keep=keep,
            **operator_kwargs,
        )
        teardown.as_teardown(setups=setup)
        # Also after a failed setup: it may have created part of the environment before failing.
        teardown.trigger_rule = TriggerRule.ALL_DONE
        return setup, teardown
