"""Private addresses, Fargate network interfaces and node host names, as AWS hands them out.

A Fargate task runs in ``awsvpc`` network mode: it gets an elastic network interface in one of
its compute environment's subnets, which DescribeJobs shows under ``container.networkInterfaces``
(``attachmentId``, ``privateIpv4Address``). EC2 container jobs run in bridge mode and show an
empty list. An EKS node is named after its private address (``ip-10-0-1-23.ec2.internal``).
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from typing import Any

#: Used when no subnet of the compute environment is known to the EC2 model.
FALLBACK_CIDR = "10.0.0.0/16"
#: AWS reserves the first four addresses and the last address of every subnet.
RESERVED_AT_START = 4


def _subnet_cidr(environment: Any) -> str:
    """Return the CIDR block of the compute environment's first subnet known to moto's EC2 model."""
    region = getattr(environment, "region", None)
    resources = getattr(environment, "compute_resources", None) or {}
    if region is None:
        return FALLBACK_CIDR
    for subnet_id in resources.get("subnets") or []:
        try:
            return str(region.moto.ec2.get_subnet(subnet_id).cidr_block)
        except Exception:  # an unknown subnet: try the next one
            continue
    return FALLBACK_CIDR


def private_ipv4_address(environment: Any) -> str:
    """Return an address a task or node of ``environment`` could be given in its subnet."""
    network = ipaddress.ip_network(_subnet_cidr(environment), strict=False)
    last = max(RESERVED_AT_START, network.num_addresses - 2)
    return str(network.network_address + random.randint(RESERVED_AT_START, last))


def fargate_network_interfaces(environment: Any) -> list[dict[str, str]]:
    """Return the ``networkInterfaces`` of a Fargate task: one ENI in the environment's subnet."""
    return [{"attachmentId": str(uuid.uuid4()), "privateIpv4Address": private_ipv4_address(environment)}]


def private_dns_name(address: str, region: str) -> str:
    """Return EC2's private DNS name of an address: ``ip-10-0-1-23.ec2.internal`` in us-east-1."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{address.replace('.', '-')}.{domain}"


def is_fargate(environment: Any) -> bool:
    """Return whether a compute environment runs its jobs on Fargate."""
    resources = getattr(environment, "compute_resources", None) or {}
    return "FARGATE" in str(resources.get("type", ""))
