"""EC2 instance types (vCPUs, memory, GPUs), read once from moto's EC2 backend (DescribeInstanceTypes)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

#: Any region serves the catalog: moto's instance types are the same in each.
_CATALOG_REGION = "us-east-1"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, Any]]:
    """Return every instance type moto's EC2 model describes, by name (``m5.large``)."""
    ec2 = get_backend("ec2")[DEFAULT_ACCOUNT_ID][_CATALOG_REGION]
    return {str(item["InstanceType"]): dict(item) for item in ec2.describe_instance_types()}


@lru_cache(maxsize=1)
def families() -> frozenset[str]:
    """Return the instance families (``m5``) of the catalog."""
    return frozenset(name.split(".", 1)[0] for name in catalog())
