"""Describe the Kubernetes pod of an AWS Batch job that runs on Amazon EKS, and check it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_batch_plugin.specs.common import (
    BatchSpec,
    SpecContext,
    check_bool,
    check_choice,
    check_environment,
    check_non_empty,
    check_not_secrets,
    check_plaintext_secrets,
    check_str_list,
    coerce_spec,
    coerce_spec_list,
    format_number,
    is_number,
    normalize_str_list,
    normalize_str_map,
    request_list,
    request_of,
    to_number,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

__all__ = ["EksContainer", "EksEmptyDir", "EksSecretVolume", "EksSpec", "EksVolume", "EksVolumeMount"]

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_DNS_LABEL}(\.{_DNS_LABEL})*")
_DNS_SUBDOMAIN_RULE = "must be a DNS subdomain name: lowercase letters, numbers, '-' and '.', up to 253"
_NAMESPACE = re.compile(r"(?=.{1,63}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME = re.compile(r"(?=.{1,63}\Z)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"(?=.{0,63}\Z)([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_MEMORY = re.compile(r"(\d+)Mi")
_QUANTITY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_GPU = "nvidia.com/gpu"
RESOURCE_NAMES = ("cpu", "memory", _GPU)
DNS_POLICIES = ("Default", "ClusterFirst", "ClusterFirstWithHostNet")
IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
SECURITY_CONTEXT_KEYS = (
    "runAsUser",
    "runAsGroup",
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
)


def _snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _normalize_resources(c: Checker, field: str, value: Any) -> Any:
    """Return Kubernetes resources with AWS's string forms: memory ``"2048Mi"``, cpu ``"0.5"``."""
    resources = normalize_str_map(c, field, value) if value is not None else None
    if not isinstance(value, Mapping) or not isinstance(resources, dict):
        return resources
    for key, item in value.items():
        item = to_number(item)
        if key == "memory" and isinstance(item, int) and not isinstance(item, bool):
            resources[key] = f"{item}Mi"
        elif is_number(item):
            resources[key] = str(format_number(item))
    return resources


def _check_key(c: Checker, field: str, key: Any, *, what: str) -> None:
    if not isinstance(key, str) or is_unresolved(key):
        return
    prefix, _, name = key.rpartition("/")
    c.check(
        bool(_LABEL_NAME.fullmatch(name)) and (not prefix or bool(_DNS_SUBDOMAIN.fullmatch(prefix))),
        f"{field}[{key!r}]",
        key,
        f"{what} keys are an optional DNS subdomain prefix and '/', then a name of up to 63 letters, "
        "numbers, '-', '_' and '.' that starts and ends with a letter or number",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksVolumeMount(BatchSpec):
    """Mount a pod volume into a container.

    :param name: the name of a volume of the pod.
    :param mount_path: where the volume appears in the container.
    :param read_only: mount read-only.
    :param sub_path: a path inside the volume to mount instead of its root.
    """

    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_non_empty(c, "name", self.name)
        check_non_empty(c, "mount_path", self.mount_path)
        check_bool(c, "read_only", self.read_only)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "mountPath": self.mount_path,
                "readOnly": self.read_only,
                "subPath": self.sub_path,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksEmptyDir(BatchSpec):
    """Give the pod a scratch directory that lives as long as the pod.

    :param medium: ``""`` (node disk, the default) or ``"Memory"`` (tmpfs, counts against memory).
    :param size_limit: maximum size: a Kubernetes quantity like ``"1Gi"``, or an int of MiB.
    """

    medium: str | None = None
    size_limit: str | int | None = None

    def _normalize(self, c: Checker) -> None:
        if isinstance(self.size_limit, int) and not isinstance(self.size_limit, bool):
            self._replace_field("size_limit", f"{self.size_limit}Mi")

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "medium", self.medium, ("", "Memory"))
        c.pattern("size_limit", self.size_limit, _QUANTITY, "must be a Kubernetes quantity like 512Mi or 1Gi")  # type: ignore[arg-type]

    def to_request(self) -> dict[str, Any]:
        return drop_none({"medium": self.medium, "sizeLimit": self.size_limit})


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksSecretVolume(BatchSpec):
    """Mount a Kubernetes secret as files.

    :param secret_name: the secret, a DNS subdomain name.
    :param optional: do not fail when the secret or its keys are missing.
    """

    secret_name: str
    optional: bool | None = None

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.pattern("secret_name", self.secret_name, _DNS_SUBDOMAIN, _DNS_SUBDOMAIN_RULE)
        check_bool(c, "optional", self.optional)

    def to_request(self) -> dict[str, Any]:
        return drop_none({"secretName": self.secret_name, "optional": self.optional})


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksVolume(BatchSpec):
    """Declare a pod volume: exactly one of a host path, an emptyDir or a secret.

    :param name: a DNS subdomain name, unique in the pod.
    :param host_path: a file or directory of the node.
    :param empty_dir: an :class:`EksEmptyDir` (or dict; ``{}`` for the defaults).
    :param secret: an :class:`EksSecretVolume` (or dict).
    """

    name: str
    host_path: str | None = None
    empty_dir: EksEmptyDir | Mapping[str, Any] | None = None
    secret: EksSecretVolume | Mapping[str, Any] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("empty_dir", coerce_spec(c, "empty_dir", self.empty_dir, EksEmptyDir))
        self._replace_field("secret", coerce_spec(c, "secret", self.secret, EksSecretVolume))

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.pattern("name", self.name, _DNS_SUBDOMAIN, _DNS_SUBDOMAIN_RULE)
        kinds = [k for k in ("host_path", "empty_dir", "secret") if getattr(self, k) is not None]
        c.check(
            len(kinds) == 1,
            "host_path" if not kinds else kinds[-1],
            kinds,
            "give exactly one of host_path, empty_dir or secret",
        )
        if self.host_path is not None:
            check_non_empty(c, "host_path", self.host_path)
        for name in ("empty_dir", "secret"):
            part = getattr(self, name)
            if isinstance(part, BatchSpec):
                part.check_into(c.at(name), context)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "hostPath": None if self.host_path is None else {"path": self.host_path},
                "emptyDir": request_of(self.empty_dir),
                "secret": request_of(self.secret),
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksContainer(BatchSpec):
    """Describe one container of the pod.

    Resources take the keys ``cpu`` (multiples of 0.25, no millicores), ``memory`` (MiB as an
    int, or ``"2048Mi"``) and ``nvidia.com/gpu`` (whole numbers). Every container needs a cpu and
    a memory value in ``limits`` or ``requests``; when both hold memory or GPUs they must be equal,
    and a cpu limit must be at least the cpu request.

    :param image: the image.
    :param name: unique in the pod (AWS names an unnamed container ``Default``).
    :param command: the entrypoint, a list of strings.
    :param args: arguments to the entrypoint.
    :param env: environment variables; names must not start with ``AWS_BATCH``, and a name that
        says it holds a secret (``DB_PASSWORD``...) is refused with a value.
    :param not_secrets: names in ``env`` that look like secrets but hold none.
    :param limits: resource limits.
    :param requests: resource requests (AWS copies limits here when omitted).
    :param volume_mounts: :class:`EksVolumeMount` list (or dicts), each naming a pod volume.
    :param image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never``.
    :param security_context: Kubernetes security context (``runAsUser``, ``privileged``...,
        snake_case keys accepted).
    """

    image: str
    name: str | None = None
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None
    env: Mapping[str, str] | None = None
    not_secrets: Sequence[str] | None = None
    limits: Mapping[str, str | int | float] | None = None
    requests: Mapping[str, str | int | float] | None = None
    volume_mounts: Sequence[EksVolumeMount | Mapping[str, Any]] | None = None
    image_pull_policy: str | None = None
    security_context: Mapping[str, Any] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("command", normalize_str_list(c, "command", self.command))
        self._replace_field("args", normalize_str_list(c, "args", self.args))
        self._replace_field("env", normalize_str_map(c, "env", self.env, allow_pairs=True))
        self._replace_field("not_secrets", normalize_str_list(c, "not_secrets", self.not_secrets))
        self._replace_field("limits", _normalize_resources(c, "limits", self.limits))
        self._replace_field("requests", _normalize_resources(c, "requests", self.requests))
        self._replace_field(
            "volume_mounts", coerce_spec_list(c, "volume_mounts", self.volume_mounts, EksVolumeMount)
        )
        if isinstance(self.security_context, Mapping):
            self._replace_field(
                "security_context", {_snake_to_camel(str(k)): v for k, v in self.security_context.items()}
            )
        elif self.security_context is not None:
            c.fail("security_context", self.security_context, "must be a dict")

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_non_empty(c, "image", self.image)
        if self.name is not None:
            check_non_empty(c, "name", self.name)
        check_str_list(c, "command", self.command)
        check_str_list(c, "args", self.args)
        check_environment(c, "env", self.env)
        check_not_secrets(c, "not_secrets", self.not_secrets)
        check_plaintext_secrets(
            c,
            "env",
            self.env,
            self.not_secrets,
            where="the job definition (shown to anyone who may call DescribeJobDefinitions)",
            instead="mount a Kubernetes secret instead: a pod volume with secret={'secret_name': ...}",
        )
        check_choice(c, "image_pull_policy", self.image_pull_policy, IMAGE_PULL_POLICIES)
        for name in ("limits", "requests"):
            self._check_resource_map(c, name, getattr(self, name))
        self._check_resource_pairs(c)
        if isinstance(self.volume_mounts, list):
            for index, mount in enumerate(self.volume_mounts):
                if isinstance(mount, EksVolumeMount):
                    mount.check_into(c.at(f"volume_mounts[{index}]"), context)
        if isinstance(self.security_context, Mapping):
            for key in self.security_context:
                c.check(
                    key in SECURITY_CONTEXT_KEYS,
                    f"security_context[{key!r}]",
                    key,
                    f"must be one of {', '.join(SECURITY_CONTEXT_KEYS)}",
                )

    def _check_resource_map(self, c: Checker, field: str, resources: Any) -> None:
        if not isinstance(resources, Mapping):
            return
        for key, value in resources.items():
            path = f"{field}[{key!r}]"
            if not c.check(key in RESOURCE_NAMES, path, key, f"must be one of {', '.join(RESOURCE_NAMES)}"):
                continue
            if is_unresolved(value):
                continue
            if not c.check(isinstance(value, str), path, value, "must be a string or a number"):
                continue
            if key == "memory":
                match = _MEMORY.fullmatch(value)
                if c.check(
                    match is not None, path, value, 'memory is whole MiB with a "Mi" suffix, e.g. "2048Mi"'
                ):
                    c.check(int(match.group(1)) >= 4, path, value, "memory must be at least 4 MiB")  # type: ignore[union-attr]
            elif key == "cpu":
                number = to_number(value)
                c.check(
                    is_number(number) and number > 0 and float(number * 4).is_integer(),
                    path,
                    value,
                    "cpu must be a positive multiple of 0.25 (no millicores like '100m')",
                )
            else:
                c.check(
                    value.isdigit(),
                    path,
                    value,
                    "nvidia.com/gpu must be a whole number",
                )

    def _check_resource_pairs(self, c: Checker) -> None:
        limits = self.limits if isinstance(self.limits, Mapping) else {}
        requests = self.requests if isinstance(self.requests, Mapping) else {}
        for key, rule in (("memory", "must equal"), (_GPU, "must equal"), ("cpu", "must be at least")):
            limit, request = limits.get(key), requests.get(key)
            if limit is None or request is None or is_unresolved(limit) or is_unresolved(request):
                continue
            if key == "cpu":
                low, high = to_number(request), to_number(limit)
                if is_number(low) and is_number(high):
                    c.check(high >= low, f"limits[{key!r}]", limit, f"{rule} requests[{key!r}] ({request})")
            else:
                c.check(limit == request, f"limits[{key!r}]", limit, f"{rule} requests[{key!r}] ({request})")

    def check_required_resources(self, c: Checker) -> None:
        """Check the container asks for cpu and memory, in limits or requests (AWS requires both)."""
        limits = self.limits if isinstance(self.limits, Mapping) else {}
        requests = self.requests if isinstance(self.requests, Mapping) else {}
        for key in ("cpu", "memory"):
            c.check(
                key in limits or key in requests,
                f"limits[{key!r}]",
                None,
                f"give {key} in limits or requests (AWS Batch needs it to place the pod)",
            )

    def to_request(self) -> dict[str, Any]:
        resources = drop_none(
            {
                "limits": dict(self.limits) if self.limits else None,
                "requests": dict(self.requests) if self.requests else None,
            }
        )
        env = None
        if isinstance(self.env, Mapping) and self.env:
            env = [{"name": name, "value": self.env[name]} for name in sorted(self.env, key=str)]
        return drop_none(
            {
                "name": self.name,
                "image": self.image,
                "imagePullPolicy": self.image_pull_policy,
                "command": None if self.command is None else list(self.command),
                "args": None if self.args is None else list(self.args),
                "env": env,
                "resources": resources or None,
                "volumeMounts": request_list(self.volume_mounts),
                "securityContext": dict(self.security_context) if self.security_context else None,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EksSpec(BatchSpec):
    """Describe the pod of a job that runs on an EKS compute environment.

    :param containers: 1 to 10 :class:`EksContainer` (or dicts).
    :param init_containers: up to 10 containers that run to completion first.
    :param service_account_name: Kubernetes service account (DNS subdomain name).
    :param host_network: use the node's network (AWS's default is True).
    :param dns_policy: ``Default``, ``ClusterFirst`` or ``ClusterFirstWithHostNet``.
    :param volumes: :class:`EksVolume` list (or dicts).
    :param labels: pod labels.
    :param annotations: pod annotations (values up to 255 characters).
    :param namespace: namespace for the pod: 1-63 lowercase letters, numbers and '-'; not
        ``default``, not starting with ``kube``.
    :param share_process_namespace: let the containers see each other's processes.
    :param image_pull_secrets: names of secrets that hold registry credentials.
    """

    containers: Sequence[EksContainer | Mapping[str, Any]]
    init_containers: Sequence[EksContainer | Mapping[str, Any]] | None = None
    service_account_name: str | None = None
    host_network: bool | None = None
    dns_policy: str | None = None
    volumes: Sequence[EksVolume | Mapping[str, Any]] | None = None
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    namespace: str | None = None
    share_process_namespace: bool | None = None
    image_pull_secrets: Sequence[str] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("containers", coerce_spec_list(c, "containers", self.containers, EksContainer))
        self._replace_field(
            "init_containers", coerce_spec_list(c, "init_containers", self.init_containers, EksContainer)
        )
        self._replace_field("volumes", coerce_spec_list(c, "volumes", self.volumes, EksVolume))
        self._replace_field("labels", normalize_str_map(c, "labels", self.labels))
        self._replace_field("annotations", normalize_str_map(c, "annotations", self.annotations))
        self._replace_field(
            "image_pull_secrets", normalize_str_list(c, "image_pull_secrets", self.image_pull_secrets)
        )

    def _check(self, c: Checker, context: SpecContext) -> None:
        volume_names = self._check_volumes(c, context)
        container_names: list[Any] = []
        for field, low in (("containers", 1), ("init_containers", 0)):
            containers = getattr(self, field)
            if not isinstance(containers, list):
                continue
            c.check(
                low <= len(containers) <= 10,
                field,
                f"<{len(containers)} containers>",
                f"give {low} to 10 containers",
            )
            for index, container in enumerate(containers):
                if not isinstance(container, EksContainer):
                    continue
                path = f"{field}[{index}]"
                container.check_into(c.at(path), context)
                if field == "containers":
                    container.check_required_resources(c.at(path))
                name = "Default" if container.name is None else container.name
                c.check(
                    name not in container_names,
                    f"{path}.name",
                    container.name,
                    "container names must be unique in the pod",
                )
                container_names.append(name)
                self._check_mounts(c, path, container, volume_names)
        c.pattern("service_account_name", self.service_account_name, _DNS_SUBDOMAIN, _DNS_SUBDOMAIN_RULE)
        check_bool(c, "host_network", self.host_network)
        check_bool(c, "share_process_namespace", self.share_process_namespace)
        check_choice(c, "dns_policy", self.dns_policy, DNS_POLICIES)
        self._check_metadata(c)
        check_str_list(c, "image_pull_secrets", self.image_pull_secrets, allow_empty_items=False)

    def _check_volumes(self, c: Checker, context: SpecContext) -> list[Any]:
        names: list[Any] = []
        if not isinstance(self.volumes, list):
            return names
        for index, volume in enumerate(self.volumes):
            if isinstance(volume, EksVolume):
                volume.check_into(c.at(f"volumes[{index}]"), context)
                c.check(
                    volume.name not in names,
                    f"volumes[{index}].name",
                    volume.name,
                    "volume names must be unique",
                )
                names.append(volume.name)
        return names

    @staticmethod
    def _check_mounts(c: Checker, path: str, container: EksContainer, volume_names: list[Any]) -> None:
        if not isinstance(container.volume_mounts, list):
            return
        for index, mount in enumerate(container.volume_mounts):
            if isinstance(mount, EksVolumeMount) and not is_unresolved(mount.name):
                c.check(
                    mount.name in volume_names,
                    f"{path}.volume_mounts[{index}].name",
                    mount.name,
                    f"must name a volume of the pod (declared: {volume_names or 'none'})",
                )

    def _check_metadata(self, c: Checker) -> None:
        if isinstance(self.labels, Mapping):
            for key, value in self.labels.items():
                _check_key(c, "labels", key, what="label")
                c.pattern(
                    f"labels[{key!r}]",
                    value,
                    _LABEL_VALUE,
                    "label values are up to 63 letters, numbers, '-', '_' and '.', "
                    "starting and ending with a letter or number",
                )
        if isinstance(self.annotations, Mapping):
            for key, value in self.annotations.items():
                _check_key(c, "annotations", key, what="annotation")
                c.check(
                    isinstance(value, str) and len(value) <= 255,
                    f"annotations[{key!r}]",
                    value,
                    "annotation values are strings of at most 255 characters",
                )
        namespace = self.namespace
        if namespace is not None and not is_unresolved(namespace):
            c.pattern(
                "namespace",
                namespace,
                _NAMESPACE,
                "must be 1 to 63 lowercase letters, numbers and '-', "
                "starting and ending with a letter or number",
            )
            c.check(namespace != "default", "namespace", namespace, "must not be 'default'")
            c.check(
                not str(namespace).startswith("kube"), "namespace", namespace, "must not start with 'kube'"
            )

    def to_request(self) -> dict[str, Any]:
        metadata = drop_none(
            {
                "labels": dict(self.labels) if self.labels else None,
                "annotations": dict(self.annotations) if self.annotations else None,
                "namespace": self.namespace,
            }
        )
        pod = drop_none(
            {
                "serviceAccountName": self.service_account_name,
                "hostNetwork": self.host_network,
                "dnsPolicy": self.dns_policy,
                "imagePullSecrets": (
                    [{"name": name} for name in self.image_pull_secrets] if self.image_pull_secrets else None
                ),
                "containers": request_list(self.containers),
                "initContainers": request_list(self.init_containers),
                "volumes": request_list(self.volumes),
                "metadata": metadata or None,
                "shareProcessNamespace": self.share_process_namespace,
            }
        )
        return {"podProperties": pod}
