"""``@task.batch``: run a Python function as an AWS Batch job, its arguments and result carried across.

The decorated operator is a :class:`~airflow_batch_plugin.operators.submit_job.BatchSubmitJobOperator`
whose job definition is generated from the function (see :mod:`.definition`) and whose
submission carries the call (see :mod:`.payload`): waiting, logs, links, deferral, reattaching
retries and terminate-on-kill all work as for any Batch job. The return value becomes the
task's XCom; an exception in the job fails the task with the job's traceback.

``.expand()`` maps as usual (one job per mapped task instance). ``.expand_batch()``, or
``.expand()`` of a task declared with ``array=True``, makes one task that submits one Batch
array job for the whole mapped list and returns the children's results in order.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, cast

import attr
from airflow.providers.common.compat.sdk import AirflowSkipException
from airflow.sdk.bases.decorator import DecoratedOperator, _TaskDecorator
from airflow.sdk.definitions.mappedoperator import prevent_duplicates

from airflow_batch_plugin.compat import KNOWN_CONTEXT_KEYS, handle_decorated_output
from airflow_batch_plugin.decorators.definition import (
    definition_name,
    fits_a_definition,
    function_command,
    function_definition,
    function_source,
)
from airflow_batch_plugin.decorators.definition import job_name as default_job_name
from airflow_batch_plugin.decorators.payload import (
    PayloadError,
    input_document,
    plain,
    serialize_input,
    serializer_name,
)
from airflow_batch_plugin.decorators.results import RemoteError, ResultReader
from airflow_batch_plugin.decorators.runner import INPUT_ENV, LOG_OUTPUT, OUTPUT_ENV, encode_inline
from airflow_batch_plugin.decorators.transfer import S3Prefix, S3Transfer, input_uri
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG
from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
from airflow_batch_plugin.identity import task_instance_label, task_instance_tags
from airflow_batch_plugin.job_state import BatchJobFailed
from airflow_batch_plugin.operators.submit_job import BatchSubmitJobOperator
from airflow_batch_plugin.specs.common import deferred_validation
from airflow_batch_plugin.specs.job import (
    MAX_ARRAY_SIZE,
    MAX_CONTAINER_OVERRIDES_BYTES,
    MAX_SUBMIT_JOB_BYTES,
    ContainerOverrides,
)
from airflow_batch_plugin.specs.job_definition import MAX_JOB_DEFINITION_BYTES, JobDefinitionSpec
from airflow_batch_plugin.specs.validation import json_size

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import timedelta
    from types import ModuleType

    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator
    from airflow.sdk.definitions.xcom_arg import XComArg

    from airflow_batch_plugin.specs.common import RetryStrategy

#: BatchSubmitJobOperator arguments the decorator sets itself.
SET_BY_THE_DECORATOR = (
    "container_overrides",
    "array_size",
    "parameters",
    "eks_properties_override",
    "node_overrides",
)
#: Room kept in a SubmitJob request for what differs from the size check (the definition's ARN).
ARN_ROOM_BYTES = 160


class BatchTaskError(BatchJobFailed):
    """The function raised in its AWS Batch job; the message carries the job's traceback.

    :param remote_type: the exception's class name in the job.
    :param remote_traceback: the traceback the job printed, from the function's frame on.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        status_reason: str | None,
        exit_code: int | None,
        remote_type: str,
        remote_traceback: str,
    ) -> None:
        super().__init__(message, job_id=job_id, status_reason=status_reason, exit_code=exit_code)
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback


def _seconds(timeout: int | float | timedelta | None) -> int | None:
    if timeout is None:
        return None
    seconds = timeout if isinstance(timeout, (int, float)) else timeout.total_seconds()
    return math.ceil(seconds)


def _unset_if_empty(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class BatchDecoratedOperator(DecoratedOperator, BatchSubmitJobOperator):
    """Run a Python function as an AWS Batch job (the operator behind ``@task.batch``).

    :param job_queue: the job queue (name or ARN).
    :param image: the image; it needs ``python3`` (3.8 or later), and boto3 when S3 is used.
    :param vcpus: vCPUs of the job (default 1).
    :param memory: memory in MiB (default 2048).
    :param gpus: GPUs to reserve (EC2 compute environments with GPU instances).
    :param job_definition: the generated definition's name (default ``airflow-DAG-TASK``), or a
        :class:`JobDefinitionSpec` of a container job whose settings (roles, volumes, secrets,
        resources) the function runs with; its command is replaced.
    :param environment: environment variables of the job definition.
    :param job_role_arn: IAM role the job runs as (S3 access when ``xcom_s3_prefix`` is set).
    :param retry_strategy: the definition's :class:`RetryStrategy`, or a number of attempts.
    :param timeout: attempt timeout, seconds or a timedelta (at least 60 s).
    :param xcom_s3_prefix: ``s3://bucket/prefix`` for arguments too large for the submission and
        for the result; without it the result is read back from the job's log (up to 64 KiB
        compressed) and arguments must fit the submission (8 KiB of container overrides).
    :param serializer: module serializing arguments and results, importable here and in the
        image: ``"json"`` (default), ``"pickle"``, ``"cloudpickle"``, ``"dill"``...
    :param array_arguments: names of the arguments mapped into one array job (set by
        ``expand_batch``); the task then returns the list of results.
    :param python_command: the image's Python (default ``python3``).
    :param job_name: the job's name (default the task id).

    Other keywords are :class:`BatchSubmitJobOperator`'s (``deferrable``, ``poll_interval``,
    ``tags``, ``depends_on``, ``share_identifier``...) and Airflow's.
    """

    custom_operator_name = "@task.batch"
    template_fields: Sequence[str] = (
        *BatchSubmitJobOperator.template_fields,
        "op_args",
        "op_kwargs",
        "image",
        "vcpus",
        "memory",
        "gpus",
        "environment",
        "job_role_arn",
        "xcom_s3_prefix",
    )
    template_fields_renderers = {
        **BatchSubmitJobOperator.template_fields_renderers,
        "op_args": "py",
        "op_kwargs": "py",
        "environment": "json",
    }

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        job_queue: str,
        image: str | None = None,
        vcpus: float | str | None = None,
        memory: int | str | None = None,
        gpus: int | str | None = None,
        job_definition: str | JobDefinitionSpec | None = None,
        environment: Mapping[str, str] | None = None,
        job_role_arn: str | None = None,
        retry_strategy: RetryStrategy | int | None = None,
        timeout: int | float | timedelta | None = None,
        xcom_s3_prefix: str | None = None,
        serializer: str | ModuleType | None = None,
        array: bool = False,
        array_arguments: Sequence[str] | None = None,
        python_command: str = "python3",
        job_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = [key for key in SET_BY_THE_DECORATOR if key in kwargs]
        if given:
            raise TypeError(f"@task.batch sets {', '.join(given)} itself; do not pass it")
        task_id = str(kwargs.get("task_id") or python_callable.__name__)
        self.image = image
        self.vcpus = vcpus
        self.memory = memory
        self.gpus = gpus
        self.environment = dict(environment) if environment else None
        self.job_role_arn = job_role_arn
        self.definition_retry_strategy = retry_strategy
        self.definition_timeout = _seconds(timeout)
        self.xcom_s3_prefix = xcom_s3_prefix
        self.serializer = serializer_name(serializer)
        self.array = array
        self.array_arguments = tuple(array_arguments) if array_arguments else None
        self.python_command = python_command
        self.definition_base = job_definition if isinstance(job_definition, JobDefinitionSpec) else None
        self._derived_definition_name = job_definition is None
        self.function_name = python_callable.__name__
        self.function_source = function_source(python_callable)
        if isinstance(job_definition, JobDefinitionSpec):
            name = job_definition.name
        else:
            name = job_definition or definition_name("dag", task_id)
        super().__init__(
            python_callable=python_callable,
            job_name=job_name or default_job_name(task_id),
            job_queue=job_queue,
            job_definition=name,
            **kwargs,
        )
        self._result_ready = False
        self._check_definition()

    # -- the job definition -------------------------------------------------------------------------

    def _definition(self, name: str, source: str, base: JobDefinitionSpec | None) -> JobDefinitionSpec:
        return function_definition(
            name=name,
            command=function_command(self.python_command, self.function_name, source),
            serializer=self.serializer,
            image=self.image or None,
            vcpus=_unset_if_empty(self.vcpus),
            memory=_unset_if_empty(self.memory),
            gpus=_unset_if_empty(self.gpus),
            environment=self.environment,
            job_role_arn=self.job_role_arn or None,  # a template rendering to "" means none
            retry_strategy=self.definition_retry_strategy,
            timeout_seconds=self.definition_timeout,
            base=base,
        )

    def _check_definition(self) -> None:
        """Fail at DAG parse time on settings AWS would refuse (templates are checked when rendered)."""
        with deferred_validation():
            spec = self._definition(str(self.job_definition), self.function_source, self.definition_base)
        if not fits_a_definition(spec):
            if self.xcom_s3_prefix is None:
                raise self._source_too_long(spec)
            with deferred_validation():
                spec = self._definition(str(self.job_definition), "s3://bucket/key", self.definition_base)
        spec.validate()

    def _source_too_long(self, spec: JobDefinitionSpec) -> ValueError:
        return ValueError(
            f"@task.batch {self.function_name}: the function's source ({len(self.function_source)} "
            f"characters) makes its job definition {json_size(spec.to_request())} bytes, over AWS "
            f"Batch's {MAX_JOB_DEFINITION_BYTES // 1024} KiB job definition limit: make the function "
            "shorter or set xcom_s3_prefix so that its source is kept in S3"
        )

    def _function_definition(self, context: Context) -> JobDefinitionSpec:
        """Return the rendered definition, the source moved to S3 when it is too long to fit."""
        base = None
        if self.definition_base is not None:
            base = self._render_base(context)
        ti = context["ti"]
        if base is not None:
            name = base.name
        elif self._derived_definition_name:
            name = definition_name(str(ti.dag_id), str(ti.task_id))
        else:
            name = str(self.job_definition)
        with deferred_validation():
            spec = self._definition(name, self.function_source, base)
        if not fits_a_definition(spec):
            prefix = self._s3_prefix()
            if prefix is None:
                raise self._source_too_long(spec)
            uri = prefix.function_uri(self.function_source)
            self._transfer().put(uri, self.function_source.encode("utf-8"))
            self.log.info(
                "The source of %s() is kept in %s (too long for a job definition)", self.function_name, uri
            )
            with deferred_validation():
                spec = self._definition(name, uri, base)
        spec.validate()
        return spec

    def _render_base(self, context: Context) -> JobDefinitionSpec:
        from airflow_batch_plugin.templating import render_spec

        assert self.definition_base is not None
        return render_spec(self.definition_base, lambda value: self.render_template(value, context))

    def _rendered_definition(self, context: Context) -> JobDefinitionSpec:
        return self._prepared_definition

    # -- the call -----------------------------------------------------------------------------------

    def _s3_prefix(self) -> S3Prefix | None:
        return None if not self.xcom_s3_prefix else S3Prefix.parse(str(self.xcom_s3_prefix))

    def _folder(self, context: Context) -> str | None:
        prefix = self._s3_prefix()
        if prefix is None:
            return None
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return prefix.task_folder(
            str(ti.dag_id), str(ti.run_id), str(ti.task_id), -1 if map_index is None else map_index
        )

    def _transfer(self) -> S3Transfer:
        return S3Transfer(self.aws_conn_id, self.region_name)

    def _arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        """Return the rendered arguments, with the context values the function asks for by name."""
        args = list(self.op_args)
        kwargs = dict(self.op_kwargs)
        signature = inspect.signature(self.python_callable)
        bound = signature.bind_partial(*args, **kwargs).arguments
        for name in signature.parameters:
            if name in KNOWN_CONTEXT_KEYS and name not in bound and name in context:
                kwargs[name] = cast("Mapping[str, Any]", context)[name]
        return args, kwargs

    def _mapped(self, kwargs: dict[str, Any]) -> list[tuple[str, list[Any]]] | None:
        if not self.array_arguments:
            return None
        mapped = []
        for name in self.array_arguments:
            values = plain(kwargs.pop(name))
            values = list(values.items()) if isinstance(values, dict) else list(values)
            mapped.append((name, values))
        return mapped

    def _place_input(self, data: bytes, environment: dict[str, str], context: Context) -> str:
        """Return the INPUT value: the arguments inline when they fit the submission, else in S3."""
        inline = encode_inline(data)
        overrides = json_size(ContainerOverrides(environment={**environment, INPUT_ENV: inline}).to_request())
        payload = self._submission_size({**environment, INPUT_ENV: inline}, context)
        if overrides <= MAX_CONTAINER_OVERRIDES_BYTES and payload <= MAX_SUBMIT_JOB_BYTES:
            self.log.info(
                "Arguments of %s(): %d bytes (%s), inline in the submission",
                self.function_name,
                len(data),
                self.serializer,
            )
            return inline
        folder = self._folder(context)
        if folder is None:
            limit = (
                f"AWS Batch's {MAX_CONTAINER_OVERRIDES_BYTES // 1024} KiB limit on container overrides "
                f"(they would take {overrides} bytes)"
                if overrides > MAX_CONTAINER_OVERRIDES_BYTES
                else f"AWS Batch's {MAX_SUBMIT_JOB_BYTES // 1024} KiB limit on a SubmitJob payload "
                f"(it would take {payload} bytes)"
            )
            raise PayloadError(
                f"The arguments of {self.function_name}() are {len(data)} bytes serialized "
                f"({self.serializer}): over {limit}. Set xcom_s3_prefix='s3://bucket/prefix' on the "
                "task to pass them through S3."
            )
        uri = input_uri(folder, data)
        self._transfer().put(uri, data)
        self.log.info(
            "Arguments of %s(): %d bytes (%s), in %s", self.function_name, len(data), self.serializer, uri
        )
        return uri

    def _submission_size(self, environment: Mapping[str, str], context: Context) -> int:
        saved = self.container_overrides
        self.container_overrides = {"environment": dict(environment)}
        try:
            with deferred_validation():
                tags = {**task_instance_tags(context), SUBMIT_TOKEN_TAG: "0" * 32}
                trial = self._build_submission(self._prepared_definition.name, tags)
            return json_size(trial.to_request()) + ARN_ROOM_BYTES
        finally:
            self.container_overrides = saved

    # -- Airflow and ResumableJobMixin entry points --------------------------------------------------

    def execute(self, context: Context) -> Any:
        self._termination_reason = f"Terminated by Airflow: task {task_instance_label(context)} was stopped"
        self._result_ready = False
        self._say_what_this_airflow_lacks(context)
        value = self.execute_resumable(context)
        if not self._result_ready:  # reattached to a running job: the mixin returns after waiting
            value = self.get_job_result(self._job_id, context)
        return handle_decorated_output(self, value, context)

    def submit_job(self, context: Context) -> str:
        """Ship the function and its arguments: register its definition, submit the job."""
        args, kwargs = self._arguments(context)
        mapped = self._mapped(kwargs)
        size = None
        if mapped is not None:
            size = math.prod(len(values) for _, values in mapped)
            if size == 0:
                raise AirflowSkipException(f"{self.function_name}: the mapped arguments are empty")
            if size > MAX_ARRAY_SIZE:
                raise PayloadError(
                    f"{self.function_name}: {size} mapped calls, over AWS Batch's limit of "
                    f"{MAX_ARRAY_SIZE} children per array job"
                )
        self._prepared_definition = self._function_definition(context)
        data = serialize_input(input_document(args, kwargs, mapped), self.serializer)
        environment = {OUTPUT_ENV: self._folder(context) or LOG_OUTPUT}
        environment[INPUT_ENV] = self._place_input(data, environment, context)
        self.container_overrides = {"environment": environment}
        self.array_size = size if size is not None and size > 1 else None
        return super().submit_job(context)

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        """Push the job's XComs and return what the function returned (a list for an array job)."""
        job_id = super().get_job_result(external_id, context)
        job = self.ended_job(job_id)
        size = job.get("arrayProperties", {}).get("size")
        reader = self._reader(context)
        value: Any = reader.array(job_id, int(size)) if size is not None else reader.single(job)
        if self.array_arguments and size is None:
            value = [value]
        self._result_ready = True
        return value

    def _reader(self, context: Context) -> ResultReader:
        folder = self._folder(context)
        return ResultReader(
            batch=self.hook,
            logs=CloudWatchLogsHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name),
            transfer=self._transfer() if folder else None,
            folder=folder,
            serializer=self.serializer,
        )

    def poll_until_complete(self, external_id: Any, context: Context) -> None:
        try:
            super().poll_until_complete(external_id, context)
        except BatchJobFailed as error:
            raise self._explained(error, context) from error

    def execute_complete(self, context: Context, event: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_complete(context, event, *args, **kwargs)
        except BatchJobFailed as error:
            raise self._explained(error, context) from error

    def _explained(self, error: BatchJobFailed, context: Context) -> BatchJobFailed:
        """Return an error carrying the function's traceback when the job's function raised."""
        if isinstance(error, BatchTaskError):
            return error
        try:
            job = self.hook.describe_job(error.job_id)
        except Exception:
            return error
        remote = self._reader(context).remote_error(job)
        if remote is None:
            return error
        return BatchTaskError(
            remote_message(self.function_name, remote, str(error)),
            job_id=error.job_id,
            status_reason=error.status_reason,
            exit_code=error.exit_code,
            remote_type=remote.type,
            remote_traceback=remote.traceback,
        )


def remote_message(function_name: str, remote: RemoteError, batch_message: str) -> str:
    """Return a failed task's message: what AWS Batch says of the job, then the job's traceback."""
    summary = []
    for line in batch_message.splitlines():
        if line.startswith("last ") and line.endswith("log line(s):"):
            break
        summary.append(line)
    return "\n".join(
        [
            *summary,
            f"{function_name}() raised {remote.type} in AWS Batch job {remote.job_id}:",
            remote.traceback.rstrip("\n"),
        ]
    )


# -- the decorator ---------------------------------------------------------------------------------


@attr.define(slots=False)
class BatchTaskDecorator(_TaskDecorator[Any, Any, BatchDecoratedOperator]):
    """``@task.batch``'s decorated function: Airflow's ``expand``, plus ``expand_batch`` (one array job)."""

    def expand(self, **map_kwargs: Any) -> XComArg:
        """Map over the inputs: one job per task instance, or one array job with ``array=True``."""
        if self.kwargs.get("array"):
            return self.expand_batch(**map_kwargs)
        return super().expand(**map_kwargs)

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        if self.kwargs.get("array"):
            raise TypeError("@task.batch(array=True) maps with .expand(); use array=False for expand_kwargs")
        return super().expand_kwargs(kwargs, strict=strict)

    def expand_batch(self, **map_kwargs: Any) -> XComArg:
        """Run the function once per element (product) of the mapped lists as ONE Batch array job.

        Child *i* reads its element by ``AWS_BATCH_JOB_ARRAY_INDEX``; the task returns the
        children's results as a list, in order. Lists, dicts (their items) or upstream XComs.
        """
        if not map_kwargs:
            raise TypeError("no arguments to expand against")
        self._validate_arg_names("expand", map_kwargs)
        kwargs = dict(self.kwargs)
        partial_kwargs = dict(kwargs.pop("op_kwargs", {}))
        prevent_duplicates(partial_kwargs, map_kwargs, fail_reason="mapping already partial")
        kwargs["array_arguments"] = tuple(map_kwargs)
        single = attr.evolve(self, multiple_outputs=False, kwargs=kwargs)
        return single(**partial_kwargs, **map_kwargs)


def batch_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Run the decorated function as an AWS Batch job (``@task.batch``); see :class:`BatchDecoratedOperator`.

    ``@task.batch(job_queue="q", image="python:3.12-slim", memory=4096)`` or, without going
    through the provider registry, ``@batch_task(...)``. Keywords are the operator's.
    """
    outputs: Any = attr.NOTHING if multiple_outputs is None else multiple_outputs

    def decorate(function: Callable[..., Any]) -> BatchTaskDecorator:
        return BatchTaskDecorator(
            function=function,
            operator_class=BatchDecoratedOperator,
            multiple_outputs=outputs,
            kwargs=kwargs,
            decorator_name="task.batch",
        )

    if python_callable is not None:
        return cast("TaskDecorator", decorate(python_callable))
    return cast("TaskDecorator", decorate)
