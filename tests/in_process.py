"""The emulator in this test process, on a free port: no patch, no global state of its own.

moto's other services keep their state per process; ``fresh_emulator`` resets it first through
moto's public reset endpoint, so each test starts from an empty account.
"""

from __future__ import annotations

import urllib.request
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_batch_local import EmulatorServer

if TYPE_CHECKING:
    from collections.abc import Iterator

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


@contextmanager
def fresh_emulator(**options: Any) -> Iterator[EmulatorServer]:
    """Start an in-process emulator (``EmulatorServer`` options; shapes checked) on moto's reset state.

    Fails the caller if an answer differed from botocore's output shapes.
    """
    options = {"check_shapes": True, "step_seconds": 0.02, **options}
    bootstrap = options.pop("bootstrap", True)
    with EmulatorServer(port=0, bootstrap=False, **options) as emulator:
        request = urllib.request.Request(f"{emulator.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        if bootstrap:
            from aws_batch_local.bootstrap import bootstrap as create_resources

            emulator.resources = create_resources(emulator.endpoint_url, emulator.region)
        yield emulator
        if emulator.shape_violations is not None:
            found = emulator.shape_violations.describe()
            assert not emulator.shape_violations.report()["violations"], found
