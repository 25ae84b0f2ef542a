"""ARNs of AWS Batch resources, as AWS forms them (``arn:aws:batch:REGION:ACCOUNT:KIND/NAME``)."""

from __future__ import annotations


def batch_arn(account_id: str, region: str, kind: str, name: str) -> str:
    """Return the ARN of a Batch resource of ``kind`` (``job``, ``job-queue`` ...) named ``name``."""
    return f"arn:aws:batch:{region}:{account_id}:{kind}/{name}"


def job_arn(account_id: str, region: str, job_id: str) -> str:
    """Return a job's ARN."""
    return batch_arn(account_id, region, "job", job_id)


def compute_environment_arn(account_id: str, region: str, name: str) -> str:
    """Return a compute environment's ARN."""
    return batch_arn(account_id, region, "compute-environment", name)


def job_queue_arn(account_id: str, region: str, name: str) -> str:
    """Return a job queue's ARN."""
    return batch_arn(account_id, region, "job-queue", name)


def job_definition_arn(account_id: str, region: str, name: str, revision: int) -> str:
    """Return the ARN of one revision of a job definition."""
    return batch_arn(account_id, region, "job-definition", f"{name}:{revision}")


def scheduling_policy_arn(account_id: str, region: str, name: str) -> str:
    """Return a scheduling policy's ARN."""
    return batch_arn(account_id, region, "scheduling-policy", name)
