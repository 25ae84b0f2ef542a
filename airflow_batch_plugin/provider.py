"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_batch_plugin.version import __version__

INTEGRATION = "AWS Batch (airflow-batch-plugin)"


def get_provider_info() -> dict[str, Any]:
    """Describe this package to Airflow's ProvidersManager."""
    return {
        "package-name": "airflow-batch-plugin",
        "name": "AWS Batch plugin",
        "description": "Operators, sensors, hooks and triggers for AWS Batch, with a local emulator.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.aws.amazon.com/batch/",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batch_plugin.operators.job_definition",
                    "airflow_batch_plugin.operators.submit_job",
                    "airflow_batch_plugin.operators.infrastructure",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batch_plugin.sensors.job",
                    "airflow_batch_plugin.sensors.infrastructure",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batch_plugin.triggers.job",
                    "airflow_batch_plugin.triggers.resources",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batch_plugin.hooks.batch",
                    "airflow_batch_plugin.hooks.batch_resources",
                    "airflow_batch_plugin.hooks.logs",
                ],
            }
        ],
        "task-decorators": [
            {"name": "batch", "class-name": "airflow_batch_plugin.decorators.batch.batch_task"},
        ],
        "extra-links": [
            "airflow_batch_plugin.links.BatchJobLink",
            "airflow_batch_plugin.links.BatchJobLogsLink",
            "airflow_batch_plugin.links.BatchArrayChildrenLink",
            "airflow_batch_plugin.links.BatchJobDefinitionLink",
            "airflow_batch_plugin.links.BatchJobQueueLink",
            "airflow_batch_plugin.links.BatchComputeEnvironmentLink",
        ],
        # The plugin (extra links, the "AWS Batch" view) comes through the ``airflow.plugins``
        # entry point; naming it here too would register it twice when providers load eagerly.
    }
