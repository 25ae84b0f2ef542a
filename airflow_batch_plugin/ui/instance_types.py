"""The sizes of common EC2 instance types, to tell whether a job could fit a compute environment.

A built-in table (vCPUs, memory in MiB, GPUs) of the families AWS Batch picks for ``optimal``,
``default_x86_64`` and ``default_arm64`` and of common general purpose, compute, memory, burstable
and GPU families, from EC2's instance type descriptions. ``instanceTypes`` of a compute
environment name types (``c5.large``), families (``c5``) or those three categories; what the
table does not know is reported as unknown, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

#: What AWS Batch's instance type categories choose from ("optimal" turns into default_x86_64's
#: families from November 2025; both generations are counted).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "optimal": ("c4", "m4", "r4", "c5", "m5", "r5", "m6i", "c6i", "r6i", "c7i"),
    "default_x86_64": ("m6i", "c6i", "r6i", "c7i"),
    "default_arm64": ("m6g", "c6g", "r6g", "c7g"),
}

#: family -> size -> (vCPUs, memory MiB, GPUs).
FAMILIES: dict[str, dict[str, tuple[int, int, int]]] = {
    "c4": {
        "large": (2, 3840, 0),
        "xlarge": (4, 7680, 0),
        "2xlarge": (8, 15360, 0),
        "4xlarge": (16, 30720, 0),
        "8xlarge": (36, 61440, 0),
    },
    "m4": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "10xlarge": (40, 163840, 0),
        "16xlarge": (64, 262144, 0),
    },
    "r4": {
        "large": (2, 15616, 0),
        "xlarge": (4, 31232, 0),
        "2xlarge": (8, 62464, 0),
        "4xlarge": (16, 124928, 0),
        "8xlarge": (32, 249856, 0),
        "16xlarge": (64, 499712, 0),
    },
    "c5": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "9xlarge": (36, 73728, 0),
        "12xlarge": (48, 98304, 0),
        "18xlarge": (72, 147456, 0),
        "24xlarge": (96, 196608, 0),
        "metal": (96, 196608, 0),
    },
    "m5": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
        "metal": (96, 393216, 0),
    },
    "r5": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
        "metal": (96, 786432, 0),
    },
    "c5d": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "9xlarge": (36, 73728, 0),
        "12xlarge": (48, 98304, 0),
        "18xlarge": (72, 147456, 0),
        "24xlarge": (96, 196608, 0),
        "metal": (96, 196608, 0),
    },
    "m5d": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
        "metal": (96, 393216, 0),
    },
    "r5d": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
        "metal": (96, 786432, 0),
    },
    "c5n": {
        "large": (2, 5376, 0),
        "xlarge": (4, 10752, 0),
        "2xlarge": (8, 21504, 0),
        "4xlarge": (16, 43008, 0),
        "9xlarge": (36, 98304, 0),
        "18xlarge": (72, 196608, 0),
        "metal": (72, 196608, 0),
    },
    "c5a": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "24xlarge": (96, 196608, 0),
    },
    "m5a": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
    },
    "r5a": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
    },
    "c6i": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "24xlarge": (96, 196608, 0),
        "32xlarge": (128, 262144, 0),
        "metal": (128, 262144, 0),
    },
    "m6i": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
        "32xlarge": (128, 524288, 0),
        "metal": (128, 524288, 0),
    },
    "r6i": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
        "32xlarge": (128, 1048576, 0),
        "metal": (128, 1048576, 0),
    },
    "c6a": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "24xlarge": (96, 196608, 0),
        "32xlarge": (128, 262144, 0),
        "48xlarge": (192, 393216, 0),
        "metal": (192, 393216, 0),
    },
    "m6a": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
        "32xlarge": (128, 524288, 0),
        "48xlarge": (192, 786432, 0),
        "metal": (192, 786432, 0),
    },
    "r6a": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
        "32xlarge": (128, 1048576, 0),
        "48xlarge": (192, 1572864, 0),
        "metal": (192, 1572864, 0),
    },
    "c7i": {
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "24xlarge": (96, 196608, 0),
        "metal-24xl": (96, 196608, 0),
        "48xlarge": (192, 393216, 0),
        "metal-48xl": (192, 393216, 0),
    },
    "m7i": {
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "24xlarge": (96, 393216, 0),
        "metal-24xl": (96, 393216, 0),
        "48xlarge": (192, 786432, 0),
        "metal-48xl": (192, 786432, 0),
    },
    "r7i": {
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "24xlarge": (96, 786432, 0),
        "metal-24xl": (96, 786432, 0),
        "48xlarge": (192, 1572864, 0),
        "metal-48xl": (192, 1572864, 0),
    },
    "c6g": {
        "medium": (1, 2048, 0),
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "metal": (64, 131072, 0),
    },
    "m6g": {
        "medium": (1, 4096, 0),
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "metal": (64, 262144, 0),
    },
    "r6g": {
        "medium": (1, 8192, 0),
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "metal": (64, 524288, 0),
    },
    "c7g": {
        "medium": (1, 2048, 0),
        "large": (2, 4096, 0),
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "4xlarge": (16, 32768, 0),
        "8xlarge": (32, 65536, 0),
        "12xlarge": (48, 98304, 0),
        "16xlarge": (64, 131072, 0),
        "metal": (64, 131072, 0),
    },
    "m7g": {
        "medium": (1, 4096, 0),
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
        "4xlarge": (16, 65536, 0),
        "8xlarge": (32, 131072, 0),
        "12xlarge": (48, 196608, 0),
        "16xlarge": (64, 262144, 0),
        "metal": (64, 262144, 0),
    },
    "r7g": {
        "medium": (1, 8192, 0),
        "large": (2, 16384, 0),
        "xlarge": (4, 32768, 0),
        "2xlarge": (8, 65536, 0),
        "4xlarge": (16, 131072, 0),
        "8xlarge": (32, 262144, 0),
        "12xlarge": (48, 393216, 0),
        "16xlarge": (64, 524288, 0),
        "metal": (64, 524288, 0),
    },
    "t3": {
        "nano": (2, 512, 0),
        "micro": (2, 1024, 0),
        "small": (2, 2048, 0),
        "medium": (2, 4096, 0),
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
    },
    "t3a": {
        "nano": (2, 512, 0),
        "micro": (2, 1024, 0),
        "small": (2, 2048, 0),
        "medium": (2, 4096, 0),
        "large": (2, 8192, 0),
        "xlarge": (4, 16384, 0),
        "2xlarge": (8, 32768, 0),
    },
    "x1": {"16xlarge": (64, 999424, 0), "32xlarge": (128, 1998848, 0)},
    "x1e": {
        "xlarge": (4, 124928, 0),
        "2xlarge": (8, 249856, 0),
        "4xlarge": (16, 499712, 0),
        "8xlarge": (32, 999424, 0),
        "16xlarge": (64, 1998848, 0),
        "32xlarge": (128, 3997696, 0),
    },
    "g4dn": {
        "xlarge": (4, 16384, 1),
        "2xlarge": (8, 32768, 1),
        "4xlarge": (16, 65536, 1),
        "8xlarge": (32, 131072, 1),
        "12xlarge": (48, 196608, 4),
        "16xlarge": (64, 262144, 1),
        "metal": (96, 393216, 8),
    },
    "g5": {
        "xlarge": (4, 16384, 1),
        "2xlarge": (8, 32768, 1),
        "4xlarge": (16, 65536, 1),
        "8xlarge": (32, 131072, 1),
        "12xlarge": (48, 196608, 4),
        "16xlarge": (64, 262144, 1),
        "24xlarge": (96, 393216, 4),
        "48xlarge": (192, 786432, 8),
    },
    "g6": {
        "xlarge": (4, 16384, 1),
        "2xlarge": (8, 32768, 1),
        "4xlarge": (16, 65536, 1),
        "8xlarge": (32, 131072, 1),
        "12xlarge": (48, 196608, 4),
        "16xlarge": (64, 262144, 1),
        "24xlarge": (96, 393216, 4),
        "48xlarge": (192, 786432, 8),
    },
    "p3": {"2xlarge": (8, 62464, 1), "8xlarge": (32, 249856, 4), "16xlarge": (64, 499712, 8)},
    "p4d": {"24xlarge": (96, 1179648, 8)},
    "inf1": {
        "xlarge": (4, 8192, 0),
        "2xlarge": (8, 16384, 0),
        "6xlarge": (24, 49152, 0),
        "24xlarge": (96, 196608, 0),
    },
    "trn1": {"2xlarge": (8, 32768, 0), "32xlarge": (128, 524288, 0)},
}


@dataclass(frozen=True)
class InstanceSize:
    """One EC2 instance type's vCPUs, memory (MiB) and GPUs."""

    name: str
    vcpus: int
    memory_mib: int
    gpus: int


def sizes_of(instance_types: list[str]) -> tuple[list[InstanceSize], list[str]]:
    """Return the sizes ``instance_types`` (types, families, categories) allow, and the names unknown."""
    sizes: dict[str, InstanceSize] = {}
    unknown: list[str] = []
    for name in instance_types:
        family, _, size = name.partition(".")
        families = CATEGORIES.get(name, (family,))
        found = False
        for each in families:
            for size_name, (vcpus, memory, gpus) in FAMILIES.get(each, {}).items():
                if size and size_name != size:
                    continue
                full = f"{each}.{size_name}"
                sizes[full] = InstanceSize(full, vcpus, memory, gpus)
                found = True
        if not found:
            unknown.append(name)
    return list(sizes.values()), unknown
