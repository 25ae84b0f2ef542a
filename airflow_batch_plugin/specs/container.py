"""Describe the container of an ECS-based AWS Batch job (EC2, Spot or Fargate) and check it.

:class:`ContainerSpec` holds the platform-independent rules itself; the rules that depend on the
platform (Fargate's vCPU/memory pairs, what Fargate forbids, multi-node only fields) are checked
when the spec sits inside a :class:`~airflow_batch_plugin.specs.job_definition.JobDefinitionSpec`,
which knows the platform.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.specs.common import (
    BatchSpec,
    SpecContext,
    check_bool,
    check_choice,
    check_environment,
    check_non_empty,
    check_not_secrets,
    check_plaintext_secrets,
    check_role_arn,
    check_secret_map,
    check_str_list,
    check_str_map,
    coerce_spec,
    coerce_spec_list,
    environment_request,
    format_number,
    is_number,
    normalize_str_list,
    normalize_str_map,
    request_list,
    request_of,
    secrets_request,
    to_int,
    to_number,
    to_upper,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "FARGATE_MEMORY_BY_VCPU",
    "FARGATE_PLATFORM_VERSION",
    "IMAGE",
    "IMAGE_RULE",
    "SECRETS_MANAGER_ARN",
    "ContainerSpec",
    "Device",
    "EfsVolume",
    "LinuxParameters",
    "LogConfiguration",
    "MountPoint",
    "RuntimePlatform",
    "Tmpfs",
    "Ulimit",
    "Volume",
    "fargate_pair_rule",
]


def _steps(first: int, last: int, step: int) -> frozenset[int]:
    return frozenset(range(first, last + 1, step))


#: Fargate's valid vCPU -> memory (MiB) pairs, from AWS Batch's ResourceRequirement reference.
FARGATE_MEMORY_BY_VCPU: dict[float, frozenset[int]] = {
    0.25: frozenset({512, 1024, 2048}),
    0.5: _steps(1024, 4096, 1024),
    1: _steps(2048, 8192, 1024),
    2: _steps(4096, 16384, 1024),
    4: _steps(8192, 30720, 1024),
    8: _steps(16384, 61440, 4096),
    16: _steps(32768, 122880, 8192),
    32: frozenset({61440, 122880, 249856}),
}
_FARGATE_VCPUS = ", ".join(format_number(v) for v in FARGATE_MEMORY_BY_VCPU)
_FARGATE_MEMORY = sorted(set().union(*FARGATE_MEMORY_BY_VCPU.values()))


def fargate_pair_rule(vcpus: float, memory: int) -> str | None:
    """Say why ``vcpus``/``memory`` is not one of AWS's Fargate pairs; None when it is."""
    if float(vcpus) not in FARGATE_MEMORY_BY_VCPU:
        return f"is not a Fargate vCPU count: Fargate takes {_FARGATE_VCPUS} vCPU"
    allowed = sorted(FARGATE_MEMORY_BY_VCPU[float(vcpus)])
    if memory not in allowed:
        return (
            f"is not a Fargate vCPU/memory pair: with {format_number(vcpus)} vCPU, memory must be one of "
            f"{', '.join(map(str, allowed))} MiB"
        )
    return None


IMAGE = re.compile(r"[A-Za-z0-9_.:/#@-]{1,255}")
IMAGE_RULE = (
    "up to 255 letters, numbers, hyphens, underscores, colons, periods, forward slashes, "
    "number signs (and @ for digests)"
)
_VOLUME_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_EFS_ID = re.compile(r"fs-[0-9a-f]{8,40}")
_EFS_ACCESS_POINT = re.compile(r"fsap-[0-9a-f]{8,40}")
FARGATE_PLATFORM_VERSION = re.compile(r"LATEST|\d+\.\d+\.\d+")
SECRETS_MANAGER_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+")

LOG_DRIVERS = ("awslogs", "awsfirelens", "fluentd", "gelf", "journald", "json-file", "splunk", "syslog")
FARGATE_LOG_DRIVERS = ("awslogs", "splunk")
ULIMIT_NAMES = (
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)
TMPFS_MOUNT_OPTIONS = frozenset(
    {
        "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async",
        "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind",
        "rbind", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave",
        "rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid",
        "nr_inodes", "nr_blocks", "mpol",
    }
)  # fmt: skip
CPU_ARCHITECTURES = ("X86_64", "ARM64")
OPERATING_SYSTEM_FAMILIES = (
    "LINUX",
    "WINDOWS_SERVER_2019_CORE",
    "WINDOWS_SERVER_2019_FULL",
    "WINDOWS_SERVER_2022_CORE",
    "WINDOWS_SERVER_2022_FULL",
)


def check_volumes(
    c: Checker, context: SpecContext, volumes: Any, check_efs_volume: Callable[[str, EfsVolume], None]
) -> list[Any]:
    """Check a list of :class:`Volume` (each one, unique names, EFS rules); return their names."""
    names: list[Any] = []
    if not isinstance(volumes, list):
        return names
    for index, volume in enumerate(volumes):
        if not isinstance(volume, Volume):
            continue
        volume.check_into(c.at(f"volumes[{index}]"), context)
        c.check(
            volume.name not in names, f"volumes[{index}].name", volume.name, "volume names must be unique"
        )
        names.append(volume.name)
        if isinstance(volume.efs, EfsVolume):
            check_efs_volume(f"volumes[{index}].efs", volume.efs)
    return names


def check_efs(
    c: Checker,
    field: str,
    efs: EfsVolume,
    context: SpecContext,
    *,
    role_arn: Any,
    role_field: str,
    platform_version: Any,
    version_field: str,
) -> None:
    """Check AWS's rules for an EFS volume: IAM authorization needs a role, Fargate 1.4.0 or later."""
    if efs.iam is True:
        c.check(role_arn is not None, f"{field}.iam", True, f"EFS IAM authorization needs a {role_field}")
    version = platform_version
    if (
        context.platform == "FARGATE"
        and isinstance(version, str)
        and not is_unresolved(version)
        and re.fullmatch(r"\d+\.\d+\.\d+", version)
    ):
        c.check(
            tuple(int(part) for part in version.split(".")) >= (1, 4, 0),
            version_field,
            version,
            "must be at least 1.4.0 (or LATEST) to mount EFS volumes on Fargate",
        )


def to_flag(value: Any) -> Any:
    """Turn AWS's ``"ENABLED"``/``"DISABLED"`` into True/False; leave anything else as it is."""
    if isinstance(value, str) and value.upper() in ("ENABLED", "DISABLED"):
        return value.upper() == "ENABLED"
    return value


def flag_request(value: Any) -> Any:
    """Turn True/False into AWS's ``"ENABLED"``/``"DISABLED"``."""
    if isinstance(value, bool):
        return "ENABLED" if value else "DISABLED"
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class EfsVolume(BatchSpec):
    """Mount an Amazon EFS file system as a volume.

    :param file_system_id: the file system id, ``fs-...``.
    :param root_directory: directory of the file system to mount as root (up to 4,096 characters);
        must be omitted or ``/`` with an access point.
    :param transit_encryption: encrypt data in transit; required with an access point or IAM.
    :param transit_encryption_port: port for encrypted traffic, 0 to 65,535.
    :param access_point_id: an EFS access point id, ``fsap-...``.
    :param iam: mount with the job's IAM role (needs transit encryption and a job role).
    """

    file_system_id: str
    root_directory: str | None = None
    transit_encryption: bool | None = None
    transit_encryption_port: int | None = None
    access_point_id: str | None = None
    iam: bool | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("transit_encryption", to_flag(self.transit_encryption))
        self._replace_field("iam", to_flag(self.iam))
        self._replace_field("transit_encryption_port", to_int(self.transit_encryption_port))

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.pattern("file_system_id", self.file_system_id, _EFS_ID, "must be an EFS file system id (fs-...)")
        if self.root_directory is not None:
            c.check(
                isinstance(self.root_directory, str) and len(self.root_directory) <= 4096,
                "root_directory",
                self.root_directory,
                "must be a string of at most 4,096 characters",
            )
        check_bool(c, "transit_encryption", self.transit_encryption)
        check_bool(c, "iam", self.iam)
        c.int_range("transit_encryption_port", self.transit_encryption_port, 0, 65535)
        c.pattern(
            "access_point_id",
            self.access_point_id,
            _EFS_ACCESS_POINT,
            "must be an EFS access point id (fsap-...)",
        )
        if self.access_point_id is not None:
            c.check(
                self.root_directory in (None, "/"),
                "root_directory",
                self.root_directory,
                "must be omitted or '/' when an access point is used (the access point sets the path)",
            )
        if self.access_point_id is not None or self.iam is True:
            c.check(
                self.transit_encryption is True,
                "transit_encryption",
                self.transit_encryption,
                "must be enabled when an access point or IAM authorization is used",
            )

    def to_request(self) -> dict[str, Any]:
        authorization = drop_none({"accessPointId": self.access_point_id, "iam": flag_request(self.iam)})
        return drop_none(
            {
                "fileSystemId": self.file_system_id,
                "rootDirectory": self.root_directory,
                "transitEncryption": flag_request(self.transit_encryption),
                "transitEncryptionPort": self.transit_encryption_port,
                "authorizationConfig": authorization or None,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Volume(BatchSpec):
    """Declare a data volume that mount points can name: a host path, an EFS file system, or neither.

    :param name: up to 255 letters, numbers, hyphens and underscores; unique in the container.
    :param host_path: path on the host instance (not on Fargate). Without ``host_path`` and
        ``efs``, Docker picks a host path and the data lives as long as the container.
    :param efs: an :class:`EfsVolume` (or a dict of its fields).
    """

    name: str
    host_path: str | None = None
    efs: EfsVolume | Mapping[str, Any] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("efs", coerce_spec(c, "efs", self.efs, EfsVolume))

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.pattern(
            "name", self.name, _VOLUME_NAME, "up to 255 letters, numbers, hyphens (-) and underscores (_)"
        )
        if self.host_path is not None:
            check_non_empty(c, "host_path", self.host_path)
            c.check(
                self.efs is None, "efs", "<set>", "a volume is either a host path or an EFS volume, not both"
            )
            c.check(
                context.platform != "FARGATE",
                "host_path",
                self.host_path,
                "host path volumes are not available on Fargate",
            )
        if isinstance(self.efs, EfsVolume):
            self.efs.check_into(c.at("efs"), context)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "host": None if self.host_path is None else {"sourcePath": self.host_path},
                "efsVolumeConfiguration": request_of(self.efs),
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class MountPoint(BatchSpec):
    """Mount a declared volume into the container.

    :param source_volume: the name of a volume declared in the same container spec.
    :param container_path: where the volume appears in the container.
    :param read_only: mount read-only.
    """

    source_volume: str
    container_path: str
    read_only: bool | None = None

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_non_empty(c, "source_volume", self.source_volume)
        check_non_empty(c, "container_path", self.container_path)
        check_bool(c, "read_only", self.read_only)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "sourceVolume": self.source_volume,
                "containerPath": self.container_path,
                "readOnly": self.read_only,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LogConfiguration(BatchSpec):
    """Choose where the container's logs go.

    :param log_driver: one of the drivers AWS Batch supports (``awslogs``, ``splunk`` on Fargate).
    :param options: driver options, e.g. ``{"awslogs-group": "/my/jobs"}``.
    :param secret_options: driver options read from secrets: name -> Secrets Manager/SSM ARN or name.
    """

    log_driver: str
    options: Mapping[str, str] | None = None
    secret_options: Mapping[str, str] | None = None

    def _normalize(self, c: Checker) -> None:
        if isinstance(self.log_driver, str) and not is_unresolved(self.log_driver):
            self._replace_field("log_driver", self.log_driver.lower())
        self._replace_field("options", normalize_str_map(c, "options", self.options))
        self._replace_field("secret_options", normalize_str_map(c, "secret_options", self.secret_options))

    def _check(self, c: Checker, context: SpecContext) -> None:
        if context.platform == "FARGATE":
            check_choice(c, "log_driver", self.log_driver, FARGATE_LOG_DRIVERS)
        else:
            check_choice(c, "log_driver", self.log_driver, LOG_DRIVERS)
        check_str_map(c, "options", self.options, "log option")
        check_secret_map(c, "secret_options", self.secret_options)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "logDriver": self.log_driver,
                "options": dict(self.options) if self.options else None,
                "secretOptions": secrets_request(self.secret_options),
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ulimit(BatchSpec):
    """Limit a resource of the container (not on Fargate); ``-1`` means unlimited.

    :param name: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss,
        rtprio, rttime, sigpending or stack.
    :param soft_limit: the soft limit, at most the hard limit.
    :param hard_limit: the hard limit.
    """

    name: str
    soft_limit: int
    hard_limit: int

    def _normalize(self, c: Checker) -> None:
        self._replace_field("soft_limit", to_int(self.soft_limit))
        self._replace_field("hard_limit", to_int(self.hard_limit))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "name", self.name, ULIMIT_NAMES)
        c.int_range("soft_limit", self.soft_limit, -1, None)
        c.int_range("hard_limit", self.hard_limit, -1, None)
        soft, hard = self.soft_limit, self.hard_limit
        if isinstance(soft, int) and isinstance(hard, int) and hard != -1:
            c.check(
                soft != -1 and soft <= hard,
                "soft_limit",
                soft,
                f"must not exceed hard_limit ({hard})",
            )

    def to_request(self) -> dict[str, Any]:
        return {"name": self.name, "softLimit": self.soft_limit, "hardLimit": self.hard_limit}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Device(BatchSpec):
    """Expose a host device to the container (not on Fargate).

    :param host_path: the device on the host, e.g. ``/dev/fuse``.
    :param container_path: where it appears in the container (defaults to ``host_path``).
    :param permissions: any of READ, WRITE, MKNOD (all three by default).
    """

    host_path: str
    container_path: str | None = None
    permissions: Sequence[str] | None = None

    def _normalize(self, c: Checker) -> None:
        permissions = normalize_str_list(c, "permissions", self.permissions)
        if isinstance(permissions, list):
            permissions = [to_upper(p) for p in permissions]
        self._replace_field("permissions", permissions)

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_non_empty(c, "host_path", self.host_path)
        if isinstance(self.permissions, list):
            for index, permission in enumerate(self.permissions):
                check_choice(c, f"permissions[{index}]", permission, ("READ", "WRITE", "MKNOD"))

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "hostPath": self.host_path,
                "containerPath": self.container_path,
                "permissions": self.permissions,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Tmpfs(BatchSpec):
    """Mount a tmpfs in the container (not on Fargate).

    :param container_path: absolute path of the mount in the container.
    :param size: size in MiB.
    :param mount_options: tmpfs mount options, e.g. ``["rw", "noexec", "mode=1777"]``.
    """

    container_path: str
    size: int
    mount_options: Sequence[str] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("size", to_int(self.size))
        self._replace_field("mount_options", normalize_str_list(c, "mount_options", self.mount_options))

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "container_path", self.container_path) and not is_unresolved(
            self.container_path
        ):
            c.check(
                self.container_path.startswith("/"),
                "container_path",
                self.container_path,
                "must be an absolute path",
            )
        c.int_range("size", self.size, 1, None)
        check_str_list(c, "mount_options", self.mount_options)
        if isinstance(self.mount_options, list):
            for index, option in enumerate(self.mount_options):
                if isinstance(option, str) and not is_unresolved(option):
                    c.check(
                        option.split("=", 1)[0] in TMPFS_MOUNT_OPTIONS,
                        f"mount_options[{index}]",
                        option,
                        "is not a tmpfs mount option AWS Batch accepts",
                    )

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {"containerPath": self.container_path, "size": self.size, "mountOptions": self.mount_options}
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinuxParameters(BatchSpec):
    """Set Linux-specific container options; only ``init_process_enabled`` works on Fargate.

    :param init_process_enabled: run an init process that forwards signals and reaps zombies.
    :param shared_memory_size: size of ``/dev/shm`` in MiB.
    :param max_swap: swap the container may use, in MiB (0 disables swap).
    :param swappiness: 0 to 100.
    :param devices: host devices to expose (:class:`Device` or dicts).
    :param tmpfs: tmpfs mounts (:class:`Tmpfs` or dicts).
    """

    init_process_enabled: bool | None = None
    shared_memory_size: int | None = None
    max_swap: int | None = None
    swappiness: int | None = None
    devices: Sequence[Device | Mapping[str, Any]] | None = None
    tmpfs: Sequence[Tmpfs | Mapping[str, Any]] | None = None

    def _normalize(self, c: Checker) -> None:
        for name in ("shared_memory_size", "max_swap", "swappiness"):
            self._replace_field(name, to_int(getattr(self, name)))
        self._replace_field("devices", coerce_spec_list(c, "devices", self.devices, Device))
        self._replace_field("tmpfs", coerce_spec_list(c, "tmpfs", self.tmpfs, Tmpfs))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_bool(c, "init_process_enabled", self.init_process_enabled)
        c.int_range("shared_memory_size", self.shared_memory_size, 1, None)
        c.int_range("max_swap", self.max_swap, 0, None)
        c.int_range("swappiness", self.swappiness, 0, 100)
        for name in ("devices", "tmpfs"):
            items = getattr(self, name)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, BatchSpec):
                        item.check_into(c.at(f"{name}[{index}]"), context)
        if context.platform == "FARGATE":
            for name in ("shared_memory_size", "max_swap", "swappiness", "devices", "tmpfs"):
                value = getattr(self, name)
                c.check(value is None or value == [], name, value, "is not available on Fargate")

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "initProcessEnabled": self.init_process_enabled,
                "sharedMemorySize": self.shared_memory_size,
                "maxSwap": self.max_swap,
                "swappiness": self.swappiness,
                "devices": request_list(self.devices),
                "tmpfs": request_list(self.tmpfs),
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuntimePlatform(BatchSpec):
    """Choose the CPU architecture and operating system of a Fargate job.

    :param cpu_architecture: ``X86_64`` (default) or ``ARM64``; Windows needs ``X86_64``.
    :param operating_system_family: ``LINUX`` (default) or a ``WINDOWS_SERVER_20xx_CORE/FULL``.
    """

    cpu_architecture: str | None = None
    operating_system_family: str | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("cpu_architecture", to_upper(self.cpu_architecture))
        self._replace_field("operating_system_family", to_upper(self.operating_system_family))

    @property
    def is_windows(self) -> bool:
        """Tell whether the job runs a Windows container."""
        family = self.operating_system_family
        return isinstance(family, str) and family.startswith("WINDOWS")

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "cpu_architecture", self.cpu_architecture, CPU_ARCHITECTURES)
        check_choice(c, "operating_system_family", self.operating_system_family, OPERATING_SYSTEM_FAMILIES)
        if self.is_windows and self.cpu_architecture is not None:
            c.check(
                self.cpu_architecture == "X86_64",
                "cpu_architecture",
                self.cpu_architecture,
                "must be X86_64 for Windows containers",
            )

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {"cpuArchitecture": self.cpu_architecture, "operatingSystemFamily": self.operating_system_family}
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContainerSpec(BatchSpec):
    """Describe the container of an ECS-based job: image, resources, command, environment...

    vCPUs, memory and GPUs become ``resourceRequirements`` (not the deprecated ``vcpus``/``memory``).
    On EC2, vCPUs are whole numbers (at least 1) and memory at least 4 MiB; on Fargate they must
    be one of AWS's vCPU/memory pairs (:data:`FARGATE_MEMORY_BY_VCPU`).

    :param image: the image, e.g. ``public.ecr.aws/docker/library/python:3.12``.
    :param vcpus: vCPUs (EC2: whole number; Fargate: 0.25, 0.5, 1, 2, 4, 8, 16 or 32).
    :param memory: memory hard limit in MiB.
    :param gpus: physical GPUs to reserve (EC2 only).
    :param command: the command, a list of strings (``Ref::name`` placeholders take parameters).
    :param environment: environment variables; names must not start with ``AWS_BATCH``. A
        name that says it holds a secret (``DB_PASSWORD``, ``API_TOKEN``...) is refused with a
        value: the job definition would show it in plain text; use ``secrets`` instead.
    :param secrets: environment variables read from secrets: name -> Secrets Manager ARN, SSM
        parameter ARN, or SSM parameter name.
    :param not_secrets: names in ``environment`` that look like secrets but hold none.
    :param volumes: volumes (:class:`Volume` or dicts).
    :param mount_points: mount points (:class:`MountPoint` or dicts); each names a volume above.
    :param job_role_arn: IAM role the job's code runs as.
    :param execution_role_arn: IAM role ECS uses to pull images and write logs (Fargate: required).
    :param log_configuration: a :class:`LogConfiguration` (or dict).
    :param ulimits: :class:`Ulimit` list (not on Fargate).
    :param linux_parameters: :class:`LinuxParameters` (mostly not on Fargate).
    :param privileged: run privileged (not on Fargate).
    :param readonly_root_filesystem: mount the root file system read-only.
    :param user: user name or uid to run as.
    :param instance_type: instance type of a multi-node parallel node range (MNP only).
    :param assign_public_ip: give a Fargate job a public IP (Fargate only).
    :param fargate_platform_version: ``LATEST`` or ``x.y.z`` (Fargate only).
    :param ephemeral_storage_gib: Fargate ephemeral storage, 21 to 200 GiB (Fargate only).
    :param runtime_platform: a :class:`RuntimePlatform` (or dict) (Fargate only).
    :param repository_credentials_arn: Secrets Manager ARN of private registry credentials.
    """

    image: str
    vcpus: float | str | None = None
    memory: int | str | None = None
    gpus: int | str | None = None
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    secrets: Mapping[str, str] | None = None
    not_secrets: Sequence[str] | None = None
    volumes: Sequence[Volume | Mapping[str, Any]] | None = None
    mount_points: Sequence[MountPoint | Mapping[str, Any]] | None = None
    job_role_arn: str | None = None
    execution_role_arn: str | None = None
    log_configuration: LogConfiguration | Mapping[str, Any] | None = None
    ulimits: Sequence[Ulimit | Mapping[str, Any]] | None = None
    linux_parameters: LinuxParameters | Mapping[str, Any] | None = None
    privileged: bool | None = None
    readonly_root_filesystem: bool | None = None
    user: str | None = None
    instance_type: str | None = None
    assign_public_ip: bool | None = None
    fargate_platform_version: str | None = None
    ephemeral_storage_gib: int | None = None
    runtime_platform: RuntimePlatform | Mapping[str, Any] | None = None
    repository_credentials_arn: str | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("vcpus", to_number(self.vcpus))
        self._replace_field("memory", to_int(self.memory))
        self._replace_field("gpus", to_int(self.gpus))
        self._replace_field("ephemeral_storage_gib", to_int(self.ephemeral_storage_gib))
        self._replace_field("assign_public_ip", to_flag(self.assign_public_ip))
        self._replace_field("command", normalize_str_list(c, "command", self.command))
        self._replace_field(
            "environment", normalize_str_map(c, "environment", self.environment, allow_pairs=True)
        )
        self._replace_field("secrets", normalize_str_map(c, "secrets", self.secrets))
        self._replace_field("not_secrets", normalize_str_list(c, "not_secrets", self.not_secrets))
        self._replace_field("volumes", coerce_spec_list(c, "volumes", self.volumes, Volume))
        self._replace_field(
            "mount_points", coerce_spec_list(c, "mount_points", self.mount_points, MountPoint)
        )
        self._replace_field("ulimits", coerce_spec_list(c, "ulimits", self.ulimits, Ulimit))
        self._replace_field(
            "log_configuration", coerce_spec(c, "log_configuration", self.log_configuration, LogConfiguration)
        )
        self._replace_field(
            "linux_parameters", coerce_spec(c, "linux_parameters", self.linux_parameters, LinuxParameters)
        )
        self._replace_field(
            "runtime_platform", coerce_spec(c, "runtime_platform", self.runtime_platform, RuntimePlatform)
        )

    # -- checks -------------------------------------------------------------------------------

    def _check(self, c: Checker, context: SpecContext) -> None:
        platform = context.platform
        fargate = platform == "FARGATE"
        if check_non_empty(c, "image", self.image):
            c.pattern("image", self.image, IMAGE, IMAGE_RULE)
        self._check_resources(c, context)
        check_str_list(c, "command", self.command)
        check_environment(c, "environment", self.environment)
        check_not_secrets(c, "not_secrets", self.not_secrets)
        check_plaintext_secrets(
            c,
            "environment",
            self.environment,
            self.not_secrets,
            where="the job definition (shown to anyone who may call DescribeJobDefinitions)",
            instead="pass it by reference: secrets={name: 'arn:aws:secretsmanager:...'} "
            "(a Secrets Manager secret or an SSM parameter)",
        )
        check_secret_map(c, "secrets", self.secrets)
        self._check_volumes(c, context)
        check_role_arn(c, "job_role_arn", self.job_role_arn)
        check_role_arn(c, "execution_role_arn", self.execution_role_arn)
        if fargate:
            c.check(
                self.execution_role_arn is not None,
                "execution_role_arn",
                None,
                "is required on Fargate (the role ECS uses to pull the image and write logs)",
            )
        for name in ("log_configuration", "linux_parameters", "runtime_platform"):
            part = getattr(self, name)
            if isinstance(part, BatchSpec):
                part.check_into(c.at(name), context)
        if isinstance(self.ulimits, list):
            for index, ulimit in enumerate(self.ulimits):
                if isinstance(ulimit, Ulimit):
                    ulimit.check_into(c.at(f"ulimits[{index}]"), context)
        for name in ("privileged", "readonly_root_filesystem", "assign_public_ip"):
            check_bool(c, name, getattr(self, name))
        if self.user is not None:
            check_non_empty(c, "user", self.user)
        c.int_range("ephemeral_storage_gib", self.ephemeral_storage_gib, 21, 200)
        c.pattern(
            "fargate_platform_version",
            self.fargate_platform_version,
            FARGATE_PLATFORM_VERSION,
            "must be LATEST or a version like 1.4.0",
        )
        c.pattern(
            "repository_credentials_arn",
            self.repository_credentials_arn,
            SECRETS_MANAGER_ARN,
            "must be the ARN of a Secrets Manager secret",
        )
        self._check_platform_fields(c, context)
        self._check_windows(c)

    def _check_resources(self, c: Checker, context: SpecContext) -> None:
        platform = context.platform
        fargate = platform == "FARGATE"
        vcpus, memory, gpus = self.vcpus, self.memory, self.gpus
        required = platform is not None and not context.multinode
        if vcpus is None:
            c.check(not required, "vcpus", None, "is required (AWS needs the vCPUs of every job)")
        elif not is_unresolved(vcpus):
            if not is_number(vcpus) or float(vcpus) <= 0:
                c.fail("vcpus", vcpus, "must be a positive number")
            elif fargate:
                c.check(
                    float(vcpus) in FARGATE_MEMORY_BY_VCPU,
                    "vcpus",
                    vcpus,
                    f"on Fargate must be one of {_FARGATE_VCPUS}",
                )
            elif platform is not None:
                c.check(
                    float(vcpus).is_integer() and float(vcpus) >= 1,
                    "vcpus",
                    vcpus,
                    "on EC2 must be a whole number of vCPUs, at least 1",
                )
        if memory is None:
            c.check(not required, "memory", None, "is required (memory in MiB; AWS needs it for every job)")
        elif not is_unresolved(memory):
            if isinstance(memory, bool) or not isinstance(memory, int):
                c.fail("memory", memory, "must be a whole number of MiB")
            elif fargate:
                self._check_fargate_memory(c, memory)
            else:
                c.check(memory >= 4, "memory", memory, "must be at least 4 MiB (AWS minimum)")
        c.int_range("gpus", gpus, 0, None)  # type: ignore[arg-type]
        if fargate and gpus not in (None, 0):
            c.fail("gpus", gpus, "GPUs are not available on Fargate")

    def _check_fargate_memory(self, c: Checker, memory: int) -> None:
        vcpus = self.vcpus
        if isinstance(vcpus, (int, float)) and is_number(vcpus) and float(vcpus) in FARGATE_MEMORY_BY_VCPU:
            allowed = sorted(FARGATE_MEMORY_BY_VCPU[float(vcpus)])
            c.check(
                memory in allowed,
                "memory",
                memory,
                f"on Fargate with {format_number(vcpus)} vCPU, memory must be one of "
                f"{', '.join(map(str, allowed))} MiB (AWS's Fargate vCPU/memory pairs)",
            )
        elif not is_unresolved(vcpus):
            c.check(
                memory in _FARGATE_MEMORY,
                "memory",
                memory,
                "is not one of the memory sizes in AWS's Fargate vCPU/memory pairs (512 to 249,856 MiB)",
            )

    def _check_volumes(self, c: Checker, context: SpecContext) -> None:
        names = check_volumes(
            c,
            context,
            self.volumes,
            lambda field, efs: check_efs(
                c,
                field,
                efs,
                context,
                role_arn=self.job_role_arn,
                role_field="job_role_arn",
                platform_version=self.fargate_platform_version,
                version_field="fargate_platform_version",
            ),
        )
        if isinstance(self.mount_points, list):
            for index, mount in enumerate(self.mount_points):
                if not isinstance(mount, MountPoint):
                    continue
                mount.check_into(c.at(f"mount_points[{index}]"), context)
                if isinstance(mount.source_volume, str) and not is_unresolved(mount.source_volume):
                    c.check(
                        mount.source_volume in names,
                        f"mount_points[{index}].source_volume",
                        mount.source_volume,
                        f"must name a volume declared in volumes (declared: {names or 'none'})",
                    )

    def _check_platform_fields(self, c: Checker, context: SpecContext) -> None:
        platform = context.platform
        if platform == "FARGATE":
            c.check(
                self.privileged is not True,
                "privileged",
                True,
                "privileged containers are not available on Fargate",
            )
            c.check(not self.ulimits, "ulimits", self.ulimits, "ulimits are not available on Fargate")
            c.check(
                self.instance_type is None,
                "instance_type",
                self.instance_type,
                "is only for multi-node parallel jobs, which Fargate does not run",
            )
        elif platform is not None:
            ec2_only = "is only for Fargate jobs (AWS rejects it for jobs on EC2 resources)"
            for name in (
                "assign_public_ip",
                "fargate_platform_version",
                "ephemeral_storage_gib",
                "runtime_platform",
            ):
                value = getattr(self, name)
                c.check(value is None, name, value, ec2_only)
            if not context.multinode:
                c.check(
                    self.instance_type is None,
                    "instance_type",
                    self.instance_type,
                    "is only for multi-node parallel node ranges, not single-node container jobs",
                )

    def _check_windows(self, c: Checker) -> None:
        platform = self.runtime_platform
        if not (isinstance(platform, RuntimePlatform) and platform.is_windows):
            return
        rule = "is not available for Windows containers"
        for name in ("linux_parameters", "privileged", "user", "ulimits", "readonly_root_filesystem"):
            value = getattr(self, name)
            c.check(value in (None, False, []), name, value, rule)
        if isinstance(self.volumes, list):
            for index, volume in enumerate(self.volumes):
                if isinstance(volume, Volume):
                    c.check(volume.efs is None, f"volumes[{index}].efs", "<set>", "EFS volumes " + rule)

    # -- request ------------------------------------------------------------------------------

    def resource_requirements(self) -> list[dict[str, str]] | None:
        """Return vCPUs, memory and GPUs as AWS's ``resourceRequirements`` list."""
        requirements = []
        if self.vcpus is not None:
            requirements.append({"type": "VCPU", "value": str(format_number(self.vcpus))})
        if self.memory is not None:
            requirements.append({"type": "MEMORY", "value": str(format_number(self.memory))})
        if self.gpus not in (None, 0):
            requirements.append({"type": "GPU", "value": str(format_number(self.gpus))})
        return requirements or None

    def to_request(self) -> dict[str, Any]:
        network = None
        if self.assign_public_ip is not None:
            network = {"assignPublicIp": flag_request(self.assign_public_ip)}
        return drop_none(
            {
                "image": self.image,
                "command": None if self.command is None else list(self.command),
                "jobRoleArn": self.job_role_arn,
                "executionRoleArn": self.execution_role_arn,
                "volumes": request_list(self.volumes),
                "environment": environment_request(self.environment),
                "mountPoints": request_list(self.mount_points),
                "readonlyRootFilesystem": self.readonly_root_filesystem,
                "privileged": self.privileged,
                "ulimits": request_list(self.ulimits),
                "user": self.user,
                "instanceType": self.instance_type,
                "resourceRequirements": self.resource_requirements(),
                "linuxParameters": request_of(self.linux_parameters),
                "logConfiguration": request_of(self.log_configuration),
                "secrets": secrets_request(self.secrets),
                "networkConfiguration": network,
                "fargatePlatformConfiguration": (
                    None
                    if self.fargate_platform_version is None
                    else {"platformVersion": self.fargate_platform_version}
                ),
                "ephemeralStorage": (
                    None if self.ephemeral_storage_gib is None else {"sizeInGiB": self.ephemeral_storage_gib}
                ),
                "runtimePlatform": request_of(self.runtime_platform),
                "repositoryCredentials": (
                    None
                    if self.repository_credentials_arn is None
                    else {"credentialsParameter": self.repository_credentials_arn}
                ),
            }
        )
