"""The plugin's hooks share one botocore data loader: botocore's JSON data is parsed once a process."""

from __future__ import annotations

from typing import Any

import botocore.loaders
import pytest
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_batch_plugin.hooks.base import SHARED_DATA_LOADER
from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook


@pytest.fixture
def data_files_parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The botocore data files parsed from disk (by any loader) while the test runs."""
    parsed: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def load_file(self: Any, file_path: str) -> Any:
        parsed.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", load_file)
    return parsed


def endpoint_files(parsed: list[str]) -> list[str]:
    return [path for path in parsed if path.endswith("endpoints")]


def test_each_hook_of_the_provider_parses_the_endpoint_data_again(hook, data_files_parsed):
    """What the shared loader saves: two hooks of the Amazon provider each parse endpoints.json."""
    for _ in range(2):
        assert AwsBaseHook(client_type="batch").conn.meta.service_model.service_name == "batch"
    assert len(endpoint_files(data_files_parsed)) == 2


def test_the_plugins_hooks_parse_botocore_data_once_per_process(hook, data_files_parsed):
    clients = [hook_class().client for hook_class in (BatchHook, CloudWatchLogsHook) * 2]
    assert [client.meta.service_model.service_name for client in clients] == ["batch", "logs"] * 2
    assert len(endpoint_files(data_files_parsed)) <= 1, "at most the first session of the process"
    assert len(data_files_parsed) == len(set(data_files_parsed)), "no file parsed twice"
    sessions = [BatchHook().get_session(), CloudWatchLogsHook().get_session()]
    assert all(session._session.get_component("data_loader") is SHARED_DATA_LOADER for session in sessions)


def test_hooks_sharing_the_loader_keep_their_own_credentials_and_region(hook, monkeypatch):
    """Only the static data is shared: each session keeps its connection's credentials and region."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_OTHER",
        '{"conn_type": "aws", "login": "other-key", "password": "other-secret", '
        '"extra": {"region_name": "eu-west-1"}}',
    )
    ours, other = BatchHook(), BatchHook(aws_conn_id="other")
    assert ours.client.meta.region_name == "us-east-1"
    assert other.client.meta.region_name == "eu-west-1"
    assert other.get_session().get_credentials().access_key == "other-key"
    assert ours.get_session().get_credentials().access_key != "other-key"
    assert ours.describe_job_queue("no-such-queue") is None, "the shared loader's client works"
