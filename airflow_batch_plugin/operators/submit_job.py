"""BatchSubmitJobOperator: submit one AWS Batch job (single, array or dependent) and wait for it.

It waits on the worker (``JobStatusPoller``, logs streamed live) or, with ``deferrable=True``, in
the triggerer (:class:`~airflow_batch_plugin.triggers.job.BatchJobTrigger`, no worker slot held);
a deferred task reads the job's whole log when it resumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from airflow_batch_plugin.compat import (
    AIRFLOW_VERSION_TEXT,
    ResumableJobMixin,
    TaskDeferralTimeout,
    keep_job_id_without_store,
    push_xcom,
    remember_job_id,
    remembered_job_id,
    what_this_airflow_lacks,
)
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG, BatchHook
from airflow_batch_plugin.identity import (
    DAG_TAG,
    MAP_INDEX_TAG,
    RUN_TAG,
    TASK_TAG,
    task_instance_label,
    task_instance_tags,
    terminated_for_task,
    termination_reason,
)
from airflow_batch_plugin.job_state import ACTIVE_STATUSES, BatchJobFailed
from airflow_batch_plugin.links import JOB_LINKS, JobLinkKeeper, submitted_job
from airflow_batch_plugin.monitor import JobMonitor, eks_log_convention, job_result_xcoms
from airflow_batch_plugin.poller import JobStatusPoller
from airflow_batch_plugin.specs.job import ContainerOverrides, JobDependency, JobSubmissionSpec
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec
from airflow_batch_plugin.specs.validation import Problem, SpecValidationError, is_unresolved
from airflow_batch_plugin.task_wait import resume_from_trigger, task_monitor
from airflow_batch_plugin.templating import render_spec
from airflow_batch_plugin.triggers.job import BatchJobTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

    from airflow_batch_plugin.hooks.duplicates import Submission
    from airflow_batch_plugin.specs.common import RetryStrategy
    from airflow_batch_plugin.specs.job import EcsPropertiesOverride, TaskContainerOverrides


#: Tags the operator and its hook add to every job: who submitted it, and the submit token.
ADDED_TAGS = (DAG_TAG, RUN_TAG, TASK_TAG, MAP_INDEX_TAG, SUBMIT_TOKEN_TAG)
#: AWS's limit on a job's tags.
MAX_JOB_TAGS = 50
#: Stands in for the hook's submit token (32 hex digits) while the request is checked.
_TOKEN_PLACEHOLDER = "0" * 32


def _check_own_tags(tags: Any) -> None:
    """Refuse more tags than leave room for the ones the operator adds (AWS allows 50 in all)."""
    if tags is None or is_unresolved(tags) or not hasattr(tags, "keys"):
        return
    own = [key for key in tags if key not in ADDED_TAGS]
    room = MAX_JOB_TAGS - len(ADDED_TAGS)
    if len(own) > room:
        problem = Problem(
            "tags",
            f"<{len(own)} tags>",
            f"at most {room} of your own: AWS allows {MAX_JOB_TAGS} tags a job and the operator "
            f"adds {len(ADDED_TAGS)} ({', '.join(ADDED_TAGS)})",
        )
        raise SpecValidationError("BatchSubmitJobOperator", [problem])


class BatchSubmitJobOperator(ResumableJobMixin, AwsBaseOperator[BatchHook]):
    """Submit an AWS Batch job and, by default, wait for it with its logs in the task log.

    The arguments map one to one onto SubmitJob and are validated (AWS's limits) before any
    call: at DAG parse time when they are plain values, after rendering when they are templates.
    Before any write, the hook checks with reads what only AWS knows
    (:meth:`~airflow_batch_plugin.hooks.batch.BatchHook.check_submission_target`): that the queue
    exists and is ENABLED (and its fair-share rules), that a named definition has an ACTIVE
    revision, that the jobs of ``depends_on`` exist (``check_target=False`` skips those reads).

    :param job_name: Batch job name (letters, numbers, hyphens, underscores; up to 128).
    :param job_queue: queue name or ARN.
    :param job_definition: ``name``, ``name:revision`` or ARN, or a :class:`JobDefinitionSpec`
        to register (idempotently) before submitting.
    :param parameters: values for ``Ref::name`` placeholders in the definition's command.
    :param container_overrides: :class:`ContainerOverrides` or a dict of its fields (command,
        environment, vcpus, memory, gpus, instance_type).
    :param ecs_properties_override: for an ECS multi-container job (a definition with
        ``ecsProperties``): :class:`EcsPropertiesOverride`, a list of
        :class:`TaskContainerOverrides` or dicts (``name`` of the container, command, environment,
        vcpus, memory, gpus), or SubmitJob's ``ecsPropertiesOverride`` as AWS spells it. With a
        :class:`JobDefinitionSpec`, each name must be one of its containers.
    :param eks_properties_override: SubmitJob's ``eksPropertiesOverride``, as AWS spells it.
    :param node_overrides: SubmitJob's ``nodeOverrides`` for multi-node jobs.
    :param array_size: submit an array job of this many children (2..10,000).
    :param depends_on: job ids (e.g. ``upstream.output``), dicts ``{"jobId", "type"}`` or
        :class:`JobDependency`; type ``N_TO_N`` or ``SEQUENTIAL`` for array jobs. At most 20.
    :param retry_strategy: :class:`RetryStrategy` overriding the definition's.
    :param timeout_seconds: attempt timeout (at least 60) overriding the definition's.
    :param tags: tags for the job; the operator adds tags naming the DAG, run and task.
    :param propagate_tags: copy the job's tags to its ECS task.
    :param share_identifier: fair-share identifier (fair-share queues).
    :param scheduling_priority_override: fair-share scheduling priority (0..9999).
    :param extra_request_fields: SubmitJob members the operator does not model yet, as AWS
        spells them (e.g. ``{"consumableResourcePropertiesOverride": {...}}``): merged into the
        request and checked by botocore's parameter validation before any call (see
        :class:`JobSubmissionSpec`).
    :param check_target: before any write, read the queue, the named job definition and the
        jobs of ``depends_on`` (DescribeJobQueues, DescribeJobDefinitions, DescribeJobs) and fail
        with a message naming the field when SubmitJob would refuse them. False makes none of
        those reads (for tight API budgets): SubmitJob itself then refuses, less precisely.
    :param wait_for_completion: wait until the job ends (fail the task if it FAILED).
    :param poll_interval: seconds between status polls while waiting.
    :param stream_logs: copy the job's CloudWatch log into the task log while it runs.
    :param log_tail_lines: how many last log lines a failure message carries.
    :param failed_children_logs: for array jobs, how many failed children's logs to show.
    :param array_children_logs: for array jobs, how many children's logs to show when the job
        ends, lowest indexes first, besides the failed ones (``"all"``: every child; 0: none).
    :param eks_log_group: where EKS jobs' container logs are: a log group template with
        ``{cluster}`` and ``{namespace}`` (default: ``[aws_batch] eks_log_group``, else Container
        Insights' ``/aws/containerinsights/{cluster}/application``).
    :param eks_log_stream_prefix: what the streams of one container of one pod start with, a
        template with ``{node_name}``, ``{pod_name}``, ``{namespace}``, ``{container_name}``,
        ``{cluster}`` (default: ``[aws_batch] eks_log_stream_prefix``, else Fluent Bit's
        ``{node_name}-application.var.log.containers.{pod_name}_{namespace}_{container_name}-``).
    :param max_runnable_seconds: fail (and terminate) the job if it stays RUNNABLE this long.
    :param deferrable: wait in the triggerer instead of on a worker (default: the
        ``[operators] default_deferrable`` option). The job's log is then read in full, page by
        page, when the task resumes, and ``execution_timeout`` bounds the deferral.
    :return: the job id (XCom ``return_value``); XComs ``job_arn``, ``job_name``, ``job_queue``,
        ``duplicate_jobs`` (only when SubmitJob had to be sent again after a lost answer: the other
        jobs its requests created and what was done to them, ``[{"jobId", "status", "action"}]``),
        ``array_size``, ``log_stream_names`` (every stream the task read: each attempt's, each
        container's, each node's, the children's it showed), ``exit_code`` and ``exit_codes``
        (by container name for ECS and EKS jobs, by ``node N`` for multi-node jobs).

    Extra links (stored right after SubmitJob, so they work while the job runs): the job, its
    log stream (once it has one), an array job's children, the job definition and the queue.
    """

    aws_hook_class = BatchHook
    external_id_key = "aws_batch_job_id"
    operator_extra_links = JOB_LINKS
    template_fields: Sequence[str] = (
        *aws_template_fields(),
        "job_name",
        "job_queue",
        "job_definition",
        "parameters",
        "container_overrides",
        "ecs_properties_override",
        "eks_properties_override",
        "node_overrides",
        "array_size",
        "depends_on",
        "tags",
        "share_identifier",
        "scheduling_priority_override",
        "timeout_seconds",
        "extra_request_fields",
    )
    template_fields_renderers = {
        "parameters": "json",
        "container_overrides": "json",
        "ecs_properties_override": "json",
        "eks_properties_override": "json",
        "node_overrides": "json",
        "tags": "json",
        "extra_request_fields": "json",
    }
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        job_name: str,
        job_queue: str,
        job_definition: str | JobDefinitionSpec,
        parameters: Mapping[str, str] | None = None,
        container_overrides: ContainerOverrides | Mapping[str, Any] | None = None,
        ecs_properties_override: (
            EcsPropertiesOverride
            | Sequence[TaskContainerOverrides | Mapping[str, Any]]
            | Mapping[str, Any]
            | None
        ) = None,
        eks_properties_override: Mapping[str, Any] | None = None,
        node_overrides: Mapping[str, Any] | None = None,
        array_size: int | str | None = None,
        depends_on: Sequence[str | Mapping[str, Any] | JobDependency] | None = None,
        retry_strategy: RetryStrategy | None = None,
        timeout_seconds: int | None = None,
        tags: Mapping[str, str] | None = None,
        propagate_tags: bool | None = None,
        share_identifier: str | None = None,
        scheduling_priority_override: int | None = None,
        extra_request_fields: Mapping[str, Any] | None = None,
        check_target: bool = True,
        wait_for_completion: bool = True,
        poll_interval: float = 10.0,
        stream_logs: bool = True,
        log_tail_lines: int = 50,
        failed_children_logs: int = 3,
        array_children_logs: int | str = 3,
        eks_log_group: str | None = None,
        eks_log_stream_prefix: str | None = None,
        max_runnable_seconds: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.job_queue = job_queue
        self.job_definition = job_definition
        self.parameters = parameters
        self.container_overrides = container_overrides
        self.ecs_properties_override = ecs_properties_override
        self.eks_properties_override = eks_properties_override
        self.node_overrides = node_overrides
        self.array_size = array_size
        self.depends_on = depends_on
        self.retry_strategy = retry_strategy
        self.timeout_seconds = timeout_seconds
        self.tags = tags
        self.propagate_tags = propagate_tags
        self.share_identifier = share_identifier
        self.scheduling_priority_override = scheduling_priority_override
        self.extra_request_fields = extra_request_fields
        self.check_target = check_target
        self.wait_for_completion = wait_for_completion
        if poll_interval <= 0:
            raise ValueError(f"poll_interval={poll_interval!r}: must be a positive number of seconds")
        self.poll_interval = poll_interval
        self.stream_logs = stream_logs
        self.log_tail_lines = log_tail_lines
        self.failed_children_logs = failed_children_logs
        self.array_children_logs = array_children_logs
        self.eks_log_group = eks_log_group
        self.eks_log_stream_prefix = eks_log_stream_prefix
        self.eks_logs = eks_log_convention(eks_log_group, eks_log_stream_prefix)  # bad templates fail here
        self.max_runnable_seconds = max_runnable_seconds
        self.deferrable = deferrable
        self._job_id: str | None = None
        #: The monitor of the wait (what it read gives the log_stream_names XCom).
        self._wait_monitor: JobMonitor | None = None
        self._termination_reason = "Terminated by Airflow"
        self._links = JobLinkKeeper(self.log)
        #: This try follows a job an earlier try of this task instance submitted.
        self._reattached = False
        #: The final description the wait read (so the result needs no second DescribeJobs).
        self._ended_job: dict[str, Any] | None = None
        # Bad input fails at DAG parse time; templates and XComArgs are checked once rendered.
        definition = job_definition.name if isinstance(job_definition, JobDefinitionSpec) else job_definition
        _check_own_tags(tags)
        self._build_submission(definition, {})

    # -- building the request ------------------------------------------------------------------

    def _submission_arguments(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "job_queue": self.job_queue,
            "parameters": self.parameters,
            "container_overrides": self.container_overrides,
            "ecs_properties_override": self.ecs_properties_override,
            "eks_properties_override": self.eks_properties_override,
            "node_overrides": self.node_overrides,
            "array_size": self.array_size,
            "depends_on": self.depends_on,
            "timeout_seconds": self.timeout_seconds,
            "tags": self.tags,
            "share_identifier": self.share_identifier,
            "scheduling_priority_override": self.scheduling_priority_override,
            "extra_request_fields": self.extra_request_fields,
            "job_definition_spec": (
                self.job_definition if isinstance(self.job_definition, JobDefinitionSpec) else None
            ),
        }

    def _build_submission(self, job_definition: str, extra_tags: Mapping[str, str]) -> JobSubmissionSpec:
        args = self._submission_arguments()
        array_size = args.pop("array_size")
        tags = {**(args.pop("tags") or {}), **extra_tags}
        return JobSubmissionSpec(
            **args,
            job_definition=job_definition,
            array_size=None if array_size in (None, "") else array_size,
            retry_strategy=self.retry_strategy,
            propagate_tags=self.propagate_tags,
            tags=tags or None,
        )

    def _rendered_definition(self, context: Context) -> JobDefinitionSpec | None:
        """Return the job definition spec to register, rendered and validated; None when named."""
        if not isinstance(self.job_definition, JobDefinitionSpec):
            return None
        return render_spec(self.job_definition, lambda value: self.render_template(value, context))

    def _validated_submission(
        self, spec: JobDefinitionSpec | None, tags: Mapping[str, str]
    ) -> JobSubmissionSpec:
        """Validate the rendered arguments (AWS's rules) before any call; name the definition."""
        _check_own_tags(self.tags)
        named = spec.name if spec is not None else str(self.job_definition)
        # The hook's submit token counts towards the tag limit and the 30 KiB payload too.
        return self._build_submission(named, {**tags, SUBMIT_TOKEN_TAG: _TOKEN_PLACEHOLDER})

    def _resolve_definition(self, spec: JobDefinitionSpec | None) -> str:
        if spec is not None:
            definition = self.hook.ensure_job_definition(spec)
            verb = "Registered" if definition.registered else "Reusing"
            self.log.info("%s job definition %s", verb, definition.arn)
            return definition.arn
        return str(self.job_definition)

    # -- Airflow entry points -------------------------------------------------------------------

    def execute(self, context: Context) -> str:
        self._termination_reason = termination_reason(context)
        self._say_what_this_airflow_lacks(context)
        result = self.execute_resumable(context)
        if result is None and self._job_id is not None:
            # Reattaching to a live job, the mixin returns what poll_until_complete returned
            # (None) without calling get_job_result: push the XComs and return the job id here.
            return self.get_job_result(self._job_id, context)
        return str(result)

    def _say_what_this_airflow_lacks(self, context: Context) -> None:
        """Say once in the task log what this Airflow cannot do for the task, and the fallback."""
        lacks = what_this_airflow_lacks(context, deferrable=self.deferrable and self.wait_for_completion)
        if lacks:
            self.log.warning("On Airflow %s: %s", AIRFLOW_VERSION_TEXT, "; ".join(lacks))

    def on_kill(self) -> None:
        """Terminate the job this task submitted or reattached to."""
        if self._job_id and self.wait_for_completion:
            self.log.info("Terminating AWS Batch job %s: %s", self._job_id, self._termination_reason)
            self.hook.terminate_job(self._job_id, self._termination_reason)

    def _terminate_after(self, error: BaseException) -> None:
        """Terminate the job because waiting ended with ``error``; never hide ``error``."""
        try:
            self.on_kill()
        except Exception as terminate_error:
            self.log.error("Could not terminate job %s after %r: %s", self._job_id, error, terminate_error)

    # -- ResumableJobMixin ------------------------------------------------------------------------

    def submit_job(self, context: Context) -> str:
        """Submit the job, unless an earlier try of this task instance already did (see below)."""
        tags = task_instance_tags(context)
        spec = self._rendered_definition(context)
        checked = self._validated_submission(spec, tags)
        previous = self._find_previous_submission(context, checked, tags)
        if previous is not None:
            self._reattached = True
            return self._own_job(context, previous)
        self.hook.check_submission_target(checked, spec, check_target=self.check_target)  # reads only
        submission = self._build_submission(self._resolve_definition(spec), tags)
        request = submission.to_request()
        sent = self.hook.send_submit_job(request)
        self._own_job(context, sent.job_id)  # before anything can fail
        self._links.keep(context, self.hook, submitted_job(sent.response(), request))
        self.log.info(
            "Submitted AWS Batch job %s (%s) to queue %s", sent.job_name, sent.job_id, submission.job_queue
        )
        self._stop_duplicates(sent, context)
        return sent.job_id

    def _own_job(self, context: Context, job_id: str) -> str:
        """Make ``job_id`` this try's job: ``on_kill`` terminates it, and it is kept for a retry.

        The mixin records it in the task state store once ``submit_job`` returns; an Airflow
        without the store keeps it in an XCom here.
        """
        self._job_id = job_id
        keep_job_id_without_store(context, self.external_id_key, job_id)
        return job_id

    def _stop_duplicates(self, sent: Submission, context: Context) -> None:
        """When SubmitJob had to be sent again, have the hook stop what else its lost requests create.

        This runs here, on the worker, before the task waits or defers: a deferrable task thus
        gets the same guarantee, and the job id is already recorded (``on_kill`` terminates it).
        What was stopped goes to the ``duplicate_jobs`` XCom (the hook logs it).
        """
        if sent.needs_reconciling:
            stopped = self.hook.reconcile_submission(sent, owner=task_instance_label(context))
            context["ti"].xcom_push(key="duplicate_jobs", value=[item.as_xcom() for item in stopped])

    def _find_previous_submission(
        self, context: Context, submission: JobSubmissionSpec, tags: Mapping[str, str]
    ) -> str | None:
        """On a retry, find a live or succeeded job an earlier try submitted but did not record.

        The task state store (Airflow 3.3) records the job id right after SubmitJob; a worker
        that died in between, or an Airflow without the store, leaves only the job's tags behind,
        so the hook looks them up.
        """
        if getattr(context["ti"], "try_number", 1) <= 1:
            return None
        job_id = self.hook.find_job_to_reattach(
            job_queue=submission.job_queue, job_name=submission.job_name, tags=tags
        )
        if job_id is not None:
            self.log.info("Reattaching to job %s submitted by an earlier try", job_id)
        return job_id

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Return the job's status (``UNKNOWN`` when AWS does not know it); a read, nothing else."""
        try:
            return str(self.hook.describe_job(str(external_id))["status"])
        except LookupError:
            return "UNKNOWN"

    def is_job_active(self, status: str) -> bool:
        return status in ACTIVE_STATUSES

    def is_job_succeeded(self, status: str) -> bool:
        return status == "SUCCEEDED"

    def poll_until_complete(self, external_id: Any, context: Context) -> None:
        """Wait for the job here, or defer to the triggerer (the job id is already stored).

        A job id this try did not submit is an earlier try's, that the mixin reattaches to.
        """
        self._reattached = self._reattached or str(external_id) != self._job_id
        self._job_id = str(external_id)
        if not self.wait_for_completion:
            return
        if self.deferrable:
            if self._reattached:  # the new try's links, before it waits
                self._link_reattached_job(context, self._job_id)
            self._defer(self._job_id, reattached=self._reattached)
        monitor = self._monitor(self._job_id, stream_logs=self.stream_logs)
        poller = JobStatusPoller(self.hook, self.poll_interval)

        def on_round(found: Mapping[str, Mapping[str, Any]]) -> None:
            job = found.get(str(self._job_id))
            if job is not None:
                self._links.keep(context, self.hook, job)  # exact revision, queue ARN, new streams
                monitor.observe(job)

        try:
            jobs = poller.wait([self._job_id], on_round=on_round)
        except BaseException as error:  # stuck, timed out, interrupted: no job runs on unowned
            self._terminate_after(error)
            raise
        self._finish(monitor, jobs[self._job_id], context)

    def _monitor(self, job_id: str, *, stream_logs: bool) -> JobMonitor:
        self._wait_monitor = task_monitor(self, job_id, stream_logs=stream_logs)
        return self._wait_monitor

    # -- deferrable mode --------------------------------------------------------------------------

    def _defer(self, job_id: str, *, reattached: bool = False) -> NoReturn:
        self.log.info("Waiting for AWS Batch job %s in the triggerer", job_id)
        self.defer(
            trigger=BatchJobTrigger(
                job_id=job_id,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                poll_interval=self.poll_interval,
                max_runnable_seconds=self.max_runnable_seconds,
                termination_reason=self._termination_reason,
            ),
            method_name="execute_complete",
            kwargs={"reattached": True} if reattached else None,
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context: Context, event: dict[str, Any], reattached: bool = False) -> str:
        """Resume after the trigger fired: read the whole log, judge the outcome, push the XComs."""
        self._job_id = str(event["job_id"])
        self._reattached = reattached
        self._termination_reason = termination_reason(context)
        monitor = self._monitor(self._job_id, stream_logs=False)
        try:
            job = resume_from_trigger(self.hook, event, monitor)
        except BatchJobFailed as stuck:  # it can never start: no job runs on unowned
            self._terminate_after(stuck)
            raise
        if job is None:
            self._defer(self._job_id, reattached=reattached)
        self._finish(monitor, job, context)
        return self.get_job_result(self._job_id, context)

    def _finish(self, monitor: JobMonitor, job: Mapping[str, Any], context: Context) -> None:
        """Judge the ended job; replace it if it was stopped along with an earlier try of this task.

        Clearing (or marking failed) a task whose job runs terminates that job, from the stopped
        try's ``on_kill`` or its trigger's. The new try may start and reattach to the job before
        the termination lands; the job then fails with that try's termination reason, which is
        not this try's outcome: this try submits a new job and waits for it instead.
        """
        try:
            monitor.finish(job)
        except BatchJobFailed:
            if not (self._reattached and terminated_for_task(job, context)):
                raise
            self.log.warning(
                "AWS Batch job %s was terminated because an earlier try of this task was stopped "
                "(%s); this try submits a new job",
                job.get("jobId"),
                job.get("statusReason"),
            )
            self._replace_job(context)
            return
        self._ended_job = dict(job)

    def _replace_job(self, context: Context) -> None:
        """Submit a new job for this try, record it where a retry looks first, and wait for it."""
        self._reattached = False
        job_id = self._job_id = self.submit_job(context)
        remember_job_id(context, self.external_id_key, job_id)
        self.poll_until_complete(job_id, context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after deferral; when the deferral timed out, terminate the job before failing."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout as error:
            job_id = remembered_job_id(context, self.external_id_key)
            if job_id:
                self._job_id = job_id
                self._termination_reason = termination_reason(context, "timed out")
                self._terminate_after(error)
            raise

    def get_job_result(self, external_id: Any, context: Context) -> str:
        """Push what later tasks and links need to know about the job; return its id."""
        job_id = self._job_id or str(external_id)  # a replaced job's successor, if there was one
        self._job_id = job_id
        job = self.ended_job(job_id)
        self._links.keep(context, self.hook, job)  # the exact definition revision and the last attempt's log
        ti = context["ti"]
        push_xcom(ti, "job_arn", job.get("jobArn"))
        push_xcom(ti, "job_name", job.get("jobName"))
        push_xcom(ti, "job_queue", job.get("jobQueue"))
        push_xcom(ti, "array_size", job.get("arrayProperties", {}).get("size"))
        for key, value in job_result_xcoms(job, self._wait_monitor).items():
            push_xcom(ti, key, value)
        return job_id

    def ended_job(self, job_id: str) -> dict[str, Any]:
        """The job's description: the final one the wait already read, else a fresh DescribeJobs."""
        if self._ended_job is not None and self._ended_job.get("jobId") == job_id:
            return self._ended_job
        return self.hook.describe_job(job_id)

    # -- extra links ------------------------------------------------------------------------------

    def _link_reattached_job(self, context: Context, job_id: str) -> None:
        """Store the links to an earlier try's job this try follows; never fail the task for it."""
        try:
            job = self.hook.describe_job(job_id)
        except Exception as error:
            self.log.warning("Could not describe AWS Batch job %s for its links: %s", job_id, error)
            return
        self._links.keep(context, self.hook, job)
