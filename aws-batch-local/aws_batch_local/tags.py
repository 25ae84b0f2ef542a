"""The tags of a region's Batch resources, by ARN, with AWS's limits."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from aws_batch_local.errors import ClientException

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_PREFIX = "aws:"


def check_tags(tags: Mapping[str, str]) -> None:
    """Raise ClientException unless ``tags`` keep AWS's limits (50 tags, key and value lengths)."""
    if len(tags) > MAX_TAGS:
        raise ClientException(f"A resource can have at most {MAX_TAGS} tags, got {len(tags)}")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ClientException(f"Tag key {key!r} must be 1 to {MAX_KEY_LENGTH} characters")
        if len(str(value)) > MAX_VALUE_LENGTH:
            raise ClientException(f"The value of tag {key} must be at most {MAX_VALUE_LENGTH} characters")
        if key.lower().startswith(RESERVED_PREFIX):
            raise ClientException(f"Tag key {key} uses the reserved prefix {RESERVED_PREFIX}")


class TagStore:
    """Tags by resource ARN; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tags: dict[str, dict[str, str]] = {}

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add or replace tags of ``arn``."""
        with self._lock:
            merged = {**self._tags.get(arn, {}), **{str(k): str(v) for k, v in tags.items()}}
            check_tags(merged)
            self._tags[arn] = merged

    def untag(self, arn: str, keys: Iterable[str]) -> None:
        """Remove the tags with these keys from ``arn``."""
        with self._lock:
            current = self._tags.get(arn, {})
            for key in keys:
                current.pop(key, None)

    def of(self, arn: str) -> dict[str, str]:
        """Return a copy of the tags of ``arn``."""
        with self._lock:
            return dict(self._tags.get(arn, {}))

    def forget(self, arn: str) -> None:
        """Drop the tags of a resource that no longer exists."""
        with self._lock:
            self._tags.pop(arn, None)
