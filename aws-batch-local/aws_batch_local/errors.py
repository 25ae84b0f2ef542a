"""The errors AWS Batch answers with: ClientException (HTTP 400) and ServerException (HTTP 500)."""

from __future__ import annotations


class BatchError(Exception):
    """An error AWS Batch answers as restJson1 does: status, ``x-amzn-ErrorType`` and ``message``."""

    status = 400
    error_type = "ClientException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientException(BatchError):
    """The request is wrong: a missing or invalid member, a resource that does not exist (HTTP 400)."""


class ServerException(BatchError):
    """The emulator failed to answer (HTTP 500)."""

    status = 500
    error_type = "ServerException"
