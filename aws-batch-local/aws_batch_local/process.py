"""Start and stop job processes, and pump their merged output into CloudWatch Logs line by line.

One pump thread serves every running process through ``selectors``: it reads each process's
output pipe as data arrives and learns of each exit through a pidfd (or by polling where pidfds
are missing), so a thousand concurrent processes cost one thread, not a thousand.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_batch_local.jobs import now_ms

logger = logging.getLogger(__name__)

READ_CHUNK_BYTES = 65536
MAX_LINE_BYTES = 16384
POLL_SECONDS = 0.1

LogEvents = list[dict[str, Any]]
LinesCallback = Callable[[LogEvents], None]
ExitCallback = Callable[[int], None]


@dataclass(frozen=True)
class LaunchSpec:
    """What to run: the argument vector (exec form, no shell), its environment and directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: str


class CloudWatchLogSink:
    """Append log events to one stream of moto's CloudWatch Logs model."""

    def __init__(self, logs_backend: Any, group: str, stream: str) -> None:
        self._logs_backend = logs_backend
        self.group = group
        self.stream = stream
        logs_backend.ensure_log_group(group)
        logs_backend.ensure_log_stream(group, stream)

    def write(self, events: LogEvents) -> None:
        """Put ``events`` (``{timestamp, message}``, in order) into the stream."""
        try:
            answer = self._logs_backend.put_log_events(self.group, self.stream, events)
        except Exception as error:
            # A job's output must not stop the pump; the reason is kept, so a lost line can be explained.
            logger.warning(
                "could not write %d log events to %s/%s: %r", len(events), self.group, self.stream, error
            )
            return
        rejected = answer[1] if isinstance(answer, tuple) and len(answer) == 2 else None
        if rejected:  # moto drops events dated more than 14 days back or 2 hours ahead
            logger.warning("CloudWatch Logs rejected events of %s/%s: %s", self.group, self.stream, rejected)


class ProcessHandle:
    """One running process: its output pipe, its exit notification and its half-read line."""

    def __init__(
        self, popen: subprocess.Popen[bytes], on_lines: LinesCallback, on_exit: ExitCallback
    ) -> None:
        self.popen = popen
        self.on_lines = on_lines
        self.on_exit = on_exit
        assert popen.stdout is not None
        self.output_fd = popen.stdout.fileno()
        os.set_blocking(self.output_fd, False)
        self.pidfd = _open_pidfd(popen.pid)
        self.partial_line = bytearray()
        self.last_timestamp = 0
        self.output_closed = False
        self.exit_code: int | None = None
        self.finished = False

    @property
    def pid(self) -> int:
        """Return the process id (also its process group id)."""
        return self.popen.pid


def _open_pidfd(pid: int) -> int | None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        return int(pidfd_open(pid))
    except OSError:
        return None


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def container_exit_code(returncode: int) -> int:
    """Return the exit code Docker reports: 128 + signal number for a killed process."""
    return 128 - returncode if returncode < 0 else returncode


class ProcessSupervisor:
    """Run processes and deliver their output lines and exit codes from one pump thread."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, ("wake", None))
        self._lock = threading.Lock()
        self._incoming: list[ProcessHandle] = []
        self._live: dict[int, ProcessHandle] = {}
        self._kill_deadlines: list[tuple[float, int, ProcessHandle]] = []
        self._tiebreak = itertools.count()
        self._polled: set[ProcessHandle] = set()
        self._thread = threading.Thread(target=self._pump, name="batch-emulator-log-pump", daemon=True)
        self._thread.start()

    def launch(self, spec: LaunchSpec, on_lines: LinesCallback, on_exit: ExitCallback) -> ProcessHandle:
        """Start ``spec`` in its own process group; raise OSError when it cannot be started."""
        popen = subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
        handle = ProcessHandle(popen, on_lines, on_exit)
        with self._lock:
            self._incoming.append(handle)
            self._live[handle.pid] = handle
        self._wake()
        return handle

    def stop(self, handle: ProcessHandle, grace_seconds: float) -> None:
        """Send SIGTERM to the process group now and SIGKILL after ``grace_seconds``."""
        if handle.exit_code is not None:
            return
        _signal_group(handle.pid, signal.SIGTERM)
        with self._lock:
            deadline = time.monotonic() + grace_seconds
            heapq.heappush(self._kill_deadlines, (deadline, next(self._tiebreak), handle))
        self._wake()

    def kill_all(self) -> None:
        """Send SIGKILL to every live process group."""
        with self._lock:
            pids = list(self._live)
        for pid in pids:
            _signal_group(pid, signal.SIGKILL)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"x")

    def _pump(self) -> None:
        while True:
            try:
                self._pump_once()
            except Exception:
                logger.exception("log pump iteration failed")
                time.sleep(POLL_SECONDS)

    def _pump_once(self) -> None:
        for key, _ in self._selector.select(self._select_timeout()):
            kind, handle = key.data
            if kind == "wake":
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_read, 4096):
                        pass
            elif kind == "output":
                self._read_output(handle)
            else:
                self._reap(handle)
        self._register_incoming()
        self._fire_kill_deadlines()
        for handle in list(self._polled):
            if handle.popen.poll() is not None:
                self._polled.discard(handle)
                self._reap(handle)

    def _select_timeout(self) -> float | None:
        timeouts = []
        with self._lock:
            if self._kill_deadlines:
                timeouts.append(max(0.0, self._kill_deadlines[0][0] - time.monotonic()))
        if self._polled:
            timeouts.append(POLL_SECONDS)
        return min(timeouts) if timeouts else None

    def _register_incoming(self) -> None:
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for handle in incoming:
            self._selector.register(handle.output_fd, selectors.EVENT_READ, ("output", handle))
            if handle.pidfd is not None:
                self._selector.register(handle.pidfd, selectors.EVENT_READ, ("exit", handle))
            else:
                self._polled.add(handle)

    def _fire_kill_deadlines(self) -> None:
        now = time.monotonic()
        due = []
        with self._lock:
            while self._kill_deadlines and self._kill_deadlines[0][0] <= now:
                due.append(heapq.heappop(self._kill_deadlines)[2])
        for handle in due:
            if handle.exit_code is None:
                _signal_group(handle.pid, signal.SIGKILL)

    def _read_output(self, handle: ProcessHandle) -> None:
        try:
            chunk = os.read(handle.output_fd, READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            handle.partial_line.extend(chunk)
            self._deliver_lines(handle, final=False)
            return
        self._deliver_lines(handle, final=True)
        self._selector.unregister(handle.output_fd)
        assert handle.popen.stdout is not None
        handle.popen.stdout.close()
        handle.output_closed = True
        self._finish_if_done(handle)

    def _deliver_lines(self, handle: ProcessHandle, final: bool) -> None:
        *lines, rest = bytes(handle.partial_line).split(b"\n")
        while len(rest) > MAX_LINE_BYTES:
            lines.append(rest[:MAX_LINE_BYTES])
            rest = rest[MAX_LINE_BYTES:]
        if final and rest:
            lines.append(rest)
            rest = b""
        handle.partial_line = bytearray(rest)
        if not lines:
            return
        timestamp = max(now_ms(), handle.last_timestamp)
        handle.last_timestamp = timestamp
        events = [{"timestamp": timestamp, "message": line.decode("utf-8", "replace")} for line in lines]
        try:
            handle.on_lines(events)
        except Exception:
            logger.exception("log sink of process %s failed", handle.pid)

    def _reap(self, handle: ProcessHandle) -> None:
        if handle.pidfd is not None:
            self._selector.unregister(handle.pidfd)
            os.close(handle.pidfd)
            handle.pidfd = None
        handle.exit_code = container_exit_code(handle.popen.wait())
        # Like a container, nothing of the job outlives its main process.
        _signal_group(handle.pid, signal.SIGKILL)
        self._finish_if_done(handle)

    def _finish_if_done(self, handle: ProcessHandle) -> None:
        if handle.finished or not handle.output_closed or handle.exit_code is None:
            return
        handle.finished = True
        with self._lock:
            self._live.pop(handle.pid, None)
        try:
            handle.on_exit(handle.exit_code)
        except Exception:
            logger.exception("exit handler of process %s failed", handle.pid)


_supervisor: ProcessSupervisor | None = None
_supervisor_lock = threading.Lock()


def supervisor() -> ProcessSupervisor:
    """Return this process's one ProcessSupervisor, starting it on first use."""
    global _supervisor
    with _supervisor_lock:
        if _supervisor is None:
            _supervisor = ProcessSupervisor()
        return _supervisor
