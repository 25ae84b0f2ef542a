"""The README's infrastructure example builds valid specs (its DAG example runs in tests/e2e)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_infrastructure_example_declares_a_valid_environment():
    section = README.read_text().split("## Your Batch infrastructure, declared in the DAG", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    environment = namespace["environment"]
    assert [spec.name for spec in environment.compute_environments] == ["nightly-spot"]
    request = environment.job_queues[0].to_create_request(arn_prefix="arn:aws:batch:eu-west-1:123456789012")
    assert request["schedulingPolicyArn"].endswith(":scheduling-policy/nightly-shares")
    assert request["computeEnvironmentOrder"] == [{"order": 1, "computeEnvironment": "nightly-spot"}]
