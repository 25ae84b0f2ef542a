"""Fixtures for unit tests: hooks on the emulator running in this process (a free port, no patch)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from airflow_batch_plugin.hooks.batch import BatchHook
from tests.in_process import CREDENTIALS, REGION, fresh_emulator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aws_batch_local import EmulatorServer


def _point_at(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the default connection, and every boto3 client made without an endpoint, to ``emulator``."""
    connection = {
        "conn_type": "aws",
        "login": CREDENTIALS["aws_access_key_id"],
        "password": CREDENTIALS["aws_secret_access_key"],
        "extra": {"region_name": REGION, "endpoint_url": emulator.endpoint_url},
    }
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchHook]:
    """A BatchHook on the default connection, on an in-process emulator without bootstrap."""
    with fresh_emulator(bootstrap=False) as emulator:
        _point_at(emulator, monkeypatch)
        yield BatchHook()


@pytest.fixture
def emulated_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchHook]:
    """The hook on an in-process emulator with its bootstrap (network, roles, queues)."""
    with fresh_emulator() as emulator:
        _point_at(emulator, monkeypatch)
        yield BatchHook()
