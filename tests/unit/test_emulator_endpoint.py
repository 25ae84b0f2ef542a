"""The emulator's advertised endpoint: what clients on this machine (and the jobs it runs) use."""

from __future__ import annotations

import pytest

from aws_batch_local import EmulatorServer


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:4566"),
        ("0.0.0.0", "http://127.0.0.1:4566"),  # listening everywhere: reached through loopback
        ("::", "http://127.0.0.1:4566"),
        ("batch-emulator", "http://batch-emulator:4566"),
    ],
)
def test_endpoint_url_is_one_a_client_can_connect_to(host, url):
    server = EmulatorServer(host=host, port=4566, bootstrap=False)
    assert server.endpoint_url == url
    assert url in server.airflow_connection
