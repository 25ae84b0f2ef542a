"""Settings shared by every emulated Batch backend in this process."""

from __future__ import annotations

from dataclasses import dataclass

DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True)
class EmulatorSettings:
    """How jobs run: concurrency, pacing of status steps, and where jobs find the emulator.

    :param max_running: most job processes running at once; further jobs wait in RUNNABLE.
    :param step_seconds: least time a job spends in each status, so every step is observable.
    :param endpoint_url: the emulator's own URL, handed to jobs as ``AWS_ENDPOINT_URL``.
    :param region: the region handed to jobs as ``AWS_REGION``/``AWS_DEFAULT_REGION``.
    :param kill_grace_seconds: time between SIGTERM and SIGKILL when a job is stopped.
    """

    max_running: int = 16
    step_seconds: float = 0.2
    endpoint_url: str | None = None
    region: str = "us-east-1"
    kill_grace_seconds: float = 5.0


_current = EmulatorSettings()


def current_settings() -> EmulatorSettings:
    """Return the settings in force."""
    return _current


def configure(settings: EmulatorSettings) -> None:
    """Replace the settings in force; running schedulers read them on their next step."""
    global _current
    if settings.max_running < 1:
        raise ValueError(f"max_running must be at least 1, got {settings.max_running}")
    if settings.step_seconds < 0:
        raise ValueError(f"step_seconds must not be negative, got {settings.step_seconds}")
    _current = settings
