"""Operator extra links: from a task to its Batch job, definition, queue, compute environment, logs.

Each link's whole URL is pushed to XCom (under the link's ``xcom_key``) by the operator as soon
as it is known: right after SubmitJob, before the task waits or defers, so the links work while
the job runs. Airflow's api-server reads that XCom to answer the task instance's links; at the
end of every run of the task the worker calls :meth:`BatchLink.get_link` and stores its answer
under the same key. ``get_link`` hands back the stored URL, or '' for a link with nothing to
show (no array children on a single job, no log of its own on an array job, nothing at all
before SubmitJob), without asking XCom for a key that was never pushed (see
:mod:`~airflow_batch_plugin.link_ledger`).

Where the URLs point (:func:`link_target`): the AWS console of the connection's partition and
region; or, when the connection has an ``endpoint_url`` that is not AWS's (the local emulator),
the plugin's own monitoring view (:data:`VIEW_PREFIX`) on the Airflow api-server. The children of
an array job have no console page of their own, so that link always goes to the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode, urlparse

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_batch_plugin import link_ledger
from airflow_batch_plugin.job_state import log_group_name, log_stream_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    #: An Airflow task context, or any mapping with its ``ti``.
    TaskContext = Context | Mapping[str, Any]

#: Where the plugin mounts its monitoring view on the Airflow api-server.
VIEW_PREFIX = "/aws-batch"
#: Console domains of the AWS partitions.
CONSOLE_DOMAINS = {
    "aws": "aws.amazon.com",
    "aws-cn": "amazonaws.cn",
    "aws-us-gov": "amazonaws-us-gov.com",
}


@dataclass(frozen=True)
class LinkTarget:
    """Where one task's links point: the AWS console, or the plugin's view for a local endpoint.

    :param region: the connection's region.
    :param partition: the region's AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``).
    :param use_view: link to the monitoring view instead of the console.
    :param view_base: the Airflow api-server's base URL ('' for links relative to the UI).
    :param aws_conn_id: the connection the view reads AWS with.
    """

    region: str
    partition: str = "aws"
    use_view: bool = False
    view_base: str = ""
    aws_conn_id: str | None = "aws_default"

    # -- the monitoring view --------------------------------------------------------------------

    def view(self, path: str, fragment: str = "") -> str:
        """Return the view's URL for ``path`` (e.g. ``jobs/ID``) with this connection and region."""
        query = urlencode({"conn_id": self.aws_conn_id or "aws_default", "region": self.region})
        suffix = f"#{fragment}" if fragment else ""
        return f"{self.view_base}{VIEW_PREFIX}/{path}?{query}{suffix}"

    # -- the AWS console ------------------------------------------------------------------------

    def console(self, service: str, fragment: str) -> str:
        domain = CONSOLE_DOMAINS.get(self.partition, CONSOLE_DOMAINS["aws"])
        return f"https://console.{domain}/{service}/home?region={quote(self.region)}#{fragment}"

    # -- one URL per resource ---------------------------------------------------------------------

    def job(self, job_id: str) -> str:
        if self.use_view:
            return self.view(f"jobs/{quote(job_id, safe='')}")
        return self.console("batch", f"jobs/detail/{quote(job_id, safe=':')}")

    def array_children(self, job_id: str) -> str:
        return self.view(f"jobs/{quote(job_id, safe='')}", fragment="children")

    def job_definition(self, arn: str) -> str:
        if self.use_view:
            return self.view(f"job-definitions/{quote(arn, safe='')}")
        return self.console("batch", f"job-definition/detail/{arn}")

    def job_queue(self, arn: str) -> str:
        if self.use_view:
            return self.view(f"queues/{quote(arn, safe='')}")
        return self.console("batch", f"queues/detail/{arn}")

    def compute_environment(self, arn: str) -> str:
        if self.use_view:
            return self.view(f"compute-environments/{quote(arn, safe='')}")
        return self.console("batch", f"compute-environments/detail/{arn}")

    def log_stream(self, job_id: str, group: str, stream: str) -> str:
        if self.use_view:
            return self.view(f"jobs/{quote(job_id, safe='')}", fragment="log")
        return self.console(
            "cloudwatch",
            f"logsV2:log-groups/log-group/{_console_escape(group)}/log-events/{_console_escape(stream)}",
        )


def _console_escape(value: str) -> str:
    """Escape a log group or stream name as the CloudWatch console's URL fragment wants it."""
    return quote(quote(value, safe=""), safe="").replace("%", "$")


def is_aws_endpoint(endpoint_url: str | None) -> bool:
    """Whether ``endpoint_url`` (a connection's) is AWS itself: none, or an amazonaws host."""
    if not endpoint_url:
        return True
    host = urlparse(endpoint_url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def view_base_url() -> str:
    """The api-server's ``[api] base_url`` without its trailing slash; '' when not set."""
    from airflow.providers.common.compat.sdk import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


def link_target(hook: Any) -> LinkTarget:
    """Build the :class:`LinkTarget` of an AwsBaseHook's connection (region, partition, endpoint)."""
    region = hook.conn_region_name or "us-east-1"
    try:
        partition = hook.conn_partition
    except Exception:  # no credentials resolved yet, or an unknown region: the commercial partition
        partition = "aws"
    endpoint = getattr(hook.conn_config, "endpoint_url", None)
    return LinkTarget(
        region=region,
        partition=partition or "aws",
        use_view=not is_aws_endpoint(endpoint),
        view_base=view_base_url(),
        aws_conn_id=hook.aws_conn_id,
    )


# -- the link classes ---------------------------------------------------------------------------


class BatchLink(BaseOperatorLink):
    """A link whose whole URL the operator stored in XCom under :attr:`xcom_key`."""

    link_name: ClassVar[str]
    key: ClassVar[str]

    @property
    def name(self) -> str:
        return self.link_name

    @property
    def xcom_key(self) -> str:
        return f"aws_batch_link_{self.key}"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the URL the operator stored, or '' while there is none yet.

        XCom is asked only when it may hold a URL this process did not store (a run that resumed
        a deferral, or a caller with a plain TaskInstanceKey): a link with nothing to show makes
        no lookup, so Airflow's API client logs no ``XCom not found``.
        """
        stored = link_ledger.stored_url(ti_key, self.key)
        if stored is not None:
            return stored
        if not link_ledger.may_hold_earlier_urls(ti_key):
            return ""
        try:
            value = XCom.get_value(key=self.xcom_key, ti_key=ti_key)
        except Exception:  # a link must never fail the task or the page that shows it
            return ""
        return str(value) if value else ""

    @classmethod
    def persist(cls, context: TaskContext, url: str | None) -> None:
        """Store ``url`` for this link of the running task instance (nothing when ``url`` is empty,
        or when there is no task instance: an operator called outside a task)."""
        ti = context.get("ti")
        if url and ti is not None:
            ti.xcom_push(key=cls().xcom_key, value=url)
            link_ledger.note(ti, cls.key, url)


class BatchJobLink(BatchLink):
    """The Batch job's details page."""

    link_name = "AWS Batch Job"
    key = "job"


class BatchArrayChildrenLink(BatchLink):
    """The children of an array job, in the monitoring view."""

    link_name = "AWS Batch Array Children"
    key = "array_children"


class BatchJobDefinitionLink(BatchLink):
    """The job definition revision the job ran (or the task registered)."""

    link_name = "AWS Batch Job Definition"
    key = "job_definition"


class BatchJobQueueLink(BatchLink):
    """The job queue."""

    link_name = "AWS Batch Job Queue"
    key = "job_queue"


class BatchComputeEnvironmentLink(BatchLink):
    """The compute environment."""

    link_name = "AWS Batch Compute Environment"
    key = "compute_environment"


class BatchJobLogsLink(BatchLink):
    """The job's CloudWatch log stream (the latest attempt's)."""

    link_name = "AWS Batch Job Logs"
    key = "job_logs"


#: The links of the operators and sensors that follow a job.
JOB_LINKS = (
    BatchJobLink(),
    BatchJobLogsLink(),
    BatchArrayChildrenLink(),
    BatchJobDefinitionLink(),
    BatchJobQueueLink(),
)
ALL_LINK_CLASSES = (
    BatchJobLink,
    BatchJobLogsLink,
    BatchArrayChildrenLink,
    BatchJobDefinitionLink,
    BatchJobQueueLink,
    BatchComputeEnvironmentLink,
)


def persist_job_links(context: TaskContext, target: LinkTarget, job: Mapping[str, Any]) -> None:
    """Store the links of a job from its description (or SubmitJob's answer plus what is known).

    ``job`` needs ``jobId``; ``jobQueue``, ``jobDefinition``, ``arrayProperties`` and the log
    stream add their links when present.
    """
    job_id = str(job["jobId"])
    BatchJobLink.persist(context, target.job(job_id))
    if job.get("jobQueue"):
        BatchJobQueueLink.persist(context, target.job_queue(str(job["jobQueue"])))
    if job.get("jobDefinition"):
        BatchJobDefinitionLink.persist(context, target.job_definition(str(job["jobDefinition"])))
    if (job.get("arrayProperties") or {}).get("size"):
        BatchArrayChildrenLink.persist(context, target.array_children(job_id))
    persist_log_link(context, target, job)


def persist_log_link(context: TaskContext, target: LinkTarget, job: Mapping[str, Any]) -> None:
    """Store the log link once the job has a stream (the view's job page shows the log at once)."""
    if (job.get("arrayProperties") or {}).get("size"):
        return  # a parent has no log of its own; its children's logs are on the children page
    stream = log_stream_name(job)
    if target.use_view:
        BatchJobLogsLink.persist(context, target.log_stream(str(job["jobId"]), "", ""))
    elif stream:
        BatchJobLogsLink.persist(context, target.log_stream(str(job["jobId"]), log_group_name(job), stream))


class JobLinkKeeper:
    """Store a task's links to its job whenever what they show changes; never fail the task for one.

    Used by the submit operator and the job sensor alike: SubmitJob's answer, then each fresh
    description (the exact definition revision, the queue ARN, each attempt's log stream).

    :param log: where a link that could not be stored is reported.
    """

    def __init__(self, log: Any) -> None:
        self.log = log
        self._shown: tuple[Any, ...] | None = None

    def keep(self, context: TaskContext, hook: Any, job: Mapping[str, Any]) -> None:
        """Store the links to ``job`` (a description, or :func:`submitted_job`) if they changed."""
        shown = (job.get("jobId"), job.get("jobQueue"), job.get("jobDefinition"), log_stream_name(job))
        if shown == self._shown:
            return
        try:
            persist_job_links(context, link_target(hook), job)
            self._shown = shown
        except Exception as error:
            self.log.warning("Could not store the links to AWS Batch job %s: %s", job.get("jobId"), error)


def submitted_job(response: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """What SubmitJob's answer and request tell of a job, shaped like a description for the links.

    The queue's and the definition's ARNs are built from the job's ARN (same partition, region
    and account) when the request named them by name; a definition named without a revision is
    left out until a description gives the exact revision.
    """
    job: dict[str, Any] = {"jobId": response["jobId"]}
    prefix = str(response.get("jobArn", "")).rpartition(":job/")[0]  # arn:PARTITION:batch:REGION:ACCOUNT
    queue = str(request.get("jobQueue", ""))
    if queue.startswith("arn:") or not prefix:
        job["jobQueue"] = queue
    elif queue:
        job["jobQueue"] = f"{prefix}:job-queue/{queue}"
    definition = str(request.get("jobDefinition", ""))
    if definition.startswith("arn:"):
        job["jobDefinition"] = definition
    elif prefix and ":" in definition:
        job["jobDefinition"] = f"{prefix}:job-definition/{definition}"
    if request.get("arrayProperties", {}).get("size"):
        job["arrayProperties"] = {"size": request["arrayProperties"]["size"]}
    return job
