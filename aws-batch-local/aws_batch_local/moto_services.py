"""The other AWS services of the endpoint, moto's, reached only as moto documents it.

Every read or write of IAM, EC2, ECS and CloudWatch Logs state goes through the backend
``moto.backends.get_backend(<service>)[account][region]`` and that backend's public methods; no
moto class is patched, subclassed or given attributes, and no private member is read.
"""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend

#: Where moto keeps IAM's account-wide backend: under the partition (moto 5.1+) or "global".
_IAM_KEYS = ("aws", "global")


class MotoServices:
    """moto's backends of one account and region, for the Batch models that use them."""

    def __init__(self, account_id: str, region_name: str) -> None:
        self.account_id = account_id
        self.region_name = region_name

    @property
    def iam(self) -> Any:
        """Return moto's IAM backend of the account."""
        account = get_backend("iam")[self.account_id]
        regions = list(getattr(account, "regions", []) or [])
        key = next((candidate for candidate in _IAM_KEYS if candidate in regions), _IAM_KEYS[0])
        return account[key]

    @property
    def ec2(self) -> Any:
        """Return moto's EC2 backend of the region."""
        return get_backend("ec2")[self.account_id][self.region_name]

    @property
    def ecs(self) -> Any:
        """Return moto's ECS backend of the region."""
        return get_backend("ecs")[self.account_id][self.region_name]

    @property
    def logs(self) -> Any:
        """Return moto's CloudWatch Logs backend of the region."""
        return get_backend("logs")[self.account_id][self.region_name]
