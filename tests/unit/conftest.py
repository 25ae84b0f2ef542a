"""Fixtures for unit tests: hooks on moto's in-process AWS (no server, no network)."""

from __future__ import annotations

import json

import pytest

from airflow_batch_plugin.hooks.batch import BatchHook
from tests.in_process import emulated_aws

MOTO_CONNECTION = json.dumps(
    {"conn_type": "aws", "login": "testing", "password": "testing", "extra": {"region_name": "us-east-1"}}
)


@pytest.fixture
def hook(monkeypatch):
    """A BatchHook on the default connection, inside moto's in-process AWS."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", MOTO_CONNECTION)
    with emulated_aws():
        yield BatchHook()


@pytest.fixture
def emulated_hook(hook):
    """The hook, with the emulator's Batch model and bootstrap (queue, roles) inside mock_aws."""
    from aws_batch_local import install
    from aws_batch_local.bootstrap import bootstrap
    from aws_batch_local.settings import EmulatorSettings, configure, current_settings

    previous = current_settings()
    install(EmulatorSettings(step_seconds=0.02))
    bootstrap(None, "us-east-1")
    yield hook
    configure(previous)
