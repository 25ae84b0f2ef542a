"""Operators that register and deregister AWS Batch job definitions, idempotently."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.links import BatchJobDefinitionLink, link_target
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec
from airflow_batch_plugin.templating import render_spec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

_REVISION = re.compile(r"^(arn:.+:job-definition/)?[^:]+:\d+$")


class BatchRegisterJobDefinitionOperator(AwsBaseOperator[BatchHook]):
    """Register a job definition from a spec, reusing the ACTIVE revision when nothing changed.

    An unchanged spec (same content hash) registers nothing and returns the existing ARN; a
    changed one registers a new revision. Strings in the spec may be Jinja templates; the spec is
    validated again after rendering, before any AWS call.

    :param spec: the job definition to ensure.
    :return: the ARN of the revision (also pushed as XCom ``return_value``); XComs ``revision``
        and ``registered`` (False when an existing revision was reused).
    """

    aws_hook_class = BatchHook
    template_fields: Sequence[str] = aws_template_fields()
    ui_color = "#f8e1b4"
    operator_extra_links = (BatchJobDefinitionLink(),)

    def __init__(self, *, spec: JobDefinitionSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(spec, JobDefinitionSpec):
            raise TypeError(f"spec must be a JobDefinitionSpec, got {type(spec).__name__}")
        self.spec = spec

    def execute(self, context: Context) -> str:
        spec = render_spec(self.spec, lambda value: self.render_template(value, context))
        definition = self.hook.ensure_job_definition(spec)
        if definition.registered:
            self.log.info("Registered job definition %s revision %s", definition.name, definition.revision)
        else:
            self.log.info(
                "Job definition %s revision %s already matches the spec; nothing registered",
                definition.name,
                definition.revision,
            )
        BatchJobDefinitionLink.persist(context, link_target(self.hook).job_definition(definition.arn))
        context["ti"].xcom_push(key="revision", value=definition.revision)
        context["ti"].xcom_push(key="registered", value=definition.registered)
        return definition.arn


class BatchDeregisterJobDefinitionOperator(AwsBaseOperator[BatchHook]):
    """Deregister one job definition revision, or all but the newest ``keep_latest`` revisions.

    :param job_definition: ``name:revision`` or an ARN to deregister that revision; a bare name
        to deregister its ACTIVE revisions except the newest ``keep_latest``.
    :param keep_latest: with a bare name, how many of the newest ACTIVE revisions to keep.
    :return: the ARNs deregistered.
    """

    aws_hook_class = BatchHook
    template_fields: Sequence[str] = (*aws_template_fields(), "job_definition")

    def __init__(self, *, job_definition: str, keep_latest: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(keep_latest, bool) or not isinstance(keep_latest, int) or keep_latest < 0:
            raise ValueError(f"keep_latest={keep_latest!r}: must be a whole number, 0 or more")
        self.job_definition = job_definition
        self.keep_latest = keep_latest

    def execute(self, context: Context) -> list[str]:
        if not self.job_definition:
            raise ValueError("job_definition='': name a job definition, name:revision or ARN")
        if _REVISION.match(self.job_definition):
            targets = [self.job_definition]
        else:
            revisions = self.hook.list_job_definition_revisions(self.job_definition, status="ACTIVE")
            targets = [rev["jobDefinitionArn"] for rev in revisions[self.keep_latest :]]
        for target in targets:
            self.hook.deregister_job_definition(target)
            self.log.info("Deregistered %s", target)
        if not targets:
            self.log.info("Nothing to deregister for %s", self.job_definition)
        return targets
