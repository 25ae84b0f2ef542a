"""The base of the plugin's AWS hooks: one botocore data loader for every session of the process.

Every hook instance of the Amazon provider builds a new boto3 session, and a new botocore session
parses botocore's JSON data again: the endpoint rules of every partition (``endpoints.json``, the
largest part), then the service model and its endpoint ruleset, about 80 ms of CPU for a session
and two clients. A task makes several hooks (Batch, CloudWatch Logs), a DAG run in one process
(``airflow dags test``, a triggerer) many more. The data is static, so the plugin's hooks give each
sync session one process-wide loader, which parses each file once; the Amazon provider does the
same for its async (aiobotocore) sessions. Credentials, region and configuration stay per session.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.loaders
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

#: The loader every sync session of the plugin's hooks reads botocore's data through.
SHARED_DATA_LOADER = botocore.loaders.create_loader()


def share_data_loader(session: boto3.session.Session) -> boto3.session.Session:
    """Make ``session`` read botocore's data through :data:`SHARED_DATA_LOADER`; return it.

    Registered before the session makes its first client, so that its endpoint resolver and every
    client it makes use the shared loader.
    """
    session._session.register_component("data_loader", SHARED_DATA_LOADER)
    return session


class PluginAwsHook(AwsBaseHook):
    """An Amazon provider AWS hook whose sync sessions share :data:`SHARED_DATA_LOADER`."""

    def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
        session = super().get_session(region_name=region_name, deferrable=deferrable)
        if isinstance(session, boto3.session.Session):
            share_data_loader(session)
        return session
