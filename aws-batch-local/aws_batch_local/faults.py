"""A fault-injecting HTTP proxy in front of the emulator, for tests and by hand.

Point an Airflow connection (or a boto3 client) at the proxy and it forwards every request to
the emulator, except that, per AWS API action and at the rates of its fault spec (see
:mod:`.fault_rules`), it answers throttles, 500s and 503s, resets connections, answers nothing
until the client times out, delays requests, forwards a request and then loses the answer
(``@after``: how a SubmitJob becomes ambiguous), or fails the client first and lets the request
reach the emulator a set delay later (``@late``: the request lands after the client already saw
the 503, the reset or its timeout; with several delays, the ``@late`` faults of each action and
kind take them in turn, so that one run meets every kind at every delay). It counts every
request and every fault per action; decisions come from one random stream per action, seeded,
so the n-th request of an action meets the same fault every run.

By hand::

    python -m aws_batch_local.faults --upstream http://127.0.0.1:4566 --port 4567 \\
        --faults '*:throttle=0.3,*:transient=0.05'

It prints the Airflow connection to use and, when stopped (Ctrl-C), the counts. The counts are
also served as JSON at ``GET /_faults/counts`` (``POST /_faults/reset`` clears them); ``pending``
counts the requests held to land late that have not landed yet. It listens on loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from aws_batch_local.fault_rules import (
    Action,
    check_rates,
    draw,
    error_answer,
    identify,
    parse_rules,
    plan_for,
)
from aws_batch_local.rate_limit import RateLimit
from aws_batch_local.server import airflow_connection_json

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_batch_local.fault_rules import FaultRule

LOOPBACK = ("127.0.0.1", "::1", "localhost")
CONTROL_PREFIX = "/_faults/"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"})
#: How long a ``timeout`` fault holds a connection at most when the client never gives up.
MAX_HOLD_SECONDS = 600.0
#: How often a held connection is checked for the client having given up.
HOLD_CHECK_SECONDS = 0.02


@dataclass
class ActionCounts:
    """What the proxy saw of one action.

    ``succeeded`` counts requests the upstream applied (forwarded, answered below 400), whether
    or not their answer then reached the client; ``faults`` counts injected faults by label;
    ``pending`` counts the requests of ``@late`` faults still waiting to reach the upstream;
    ``late`` counts the ``@late`` faults by label and delay (``{"503@late 8s": 1}``).
    """

    requests: int = 0
    forwarded: int = 0
    succeeded: int = 0
    upstream_errors: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    late: dict[str, int] = field(default_factory=dict)

    def copy(self) -> ActionCounts:
        return ActionCounts(
            self.requests,
            self.forwarded,
            self.succeeded,
            self.upstream_errors,
            dict(self.faults),
            self.pending,
            dict(self.late),
        )


@dataclass(frozen=True)
class _HeldRequest:
    """What the proxy keeps of a request to forward later: method, path, headers and body."""

    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _ActionState:
    rng: random.Random
    slices: list[tuple[str, float]]
    limit: RateLimit | None


class FaultProxy:
    """Forward to ``upstream``, injecting the faults of ``rules`` (a spec string or parsed rules).

    :param upstream: the emulator's endpoint URL.
    :param rules: a fault spec (see :mod:`.fault_rules`) or parsed rules; empty: no faults.
    :param seed: seed of the per-action random streams.
    :param slow_seconds: how long a ``slow`` fault delays a request.
    :param late_seconds: how long after the client saw an ``@late`` fault (the error answer, the
        reset, or its own timeout) the request reaches the upstream; several delays are taken in
        turn by the ``@late`` faults of each action and kind (the first of each kind waits the
        first delay).
    :param host: loopback address to listen on.
    :param port: port to listen on (0 picks a free one).
    """

    def __init__(
        self,
        upstream: str,
        rules: str | Sequence[FaultRule] = "",
        *,
        seed: int = 0,
        slow_seconds: float = 1.0,
        late_seconds: float | Sequence[float] = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the fault proxy listens on loopback only, not {host!r}")
        delays = (late_seconds,) if isinstance(late_seconds, int | float) else tuple(late_seconds)
        if not delays or not all(0 <= delay < math.inf for delay in delays):
            raise ValueError(f"late_seconds={late_seconds!r}: must be zero or more seconds")
        self.upstream = upstream.rstrip("/")
        self.rules = parse_rules(rules) if isinstance(rules, str) else list(rules)
        self.seed = seed
        self.slow_seconds = slow_seconds
        self.late_seconds = delays
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._counts: dict[str, ActionCounts] = {}
        self._actions: dict[Action, _ActionState] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._late: set[asyncio.Task[None]] = set()
        self._late_turns: dict[tuple[str, str], int] = {}
        check_rates(self.rules)  # a bad spec fails now, not mid-run

    @property
    def endpoint_url(self) -> str:
        return f"http://{'127.0.0.1' if self.host == 'localhost' else self.host}:{self.port}"

    def airflow_connection(self, region: str = "us-east-1") -> str:
        """The ``aws_default`` connection (JSON) that sends Airflow's AWS calls through the proxy."""
        return airflow_connection_json(self.endpoint_url, region)

    # -- counts (thread-safe) ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, ActionCounts]:
        """Return a copy of the counts by action key (``batch:SubmitJob``, ``logs:GetLogEvents``)."""
        with self._lock:
            return {key: counts.copy() for key, counts in self._counts.items()}

    def totals(self) -> ActionCounts:
        """Return the counts of every action added up."""
        total = ActionCounts()
        for counts in self.snapshot().values():
            total.requests += counts.requests
            total.forwarded += counts.forwarded
            total.succeeded += counts.succeeded
            total.upstream_errors += counts.upstream_errors
            total.pending += counts.pending
            for label, number in counts.faults.items():
                total.faults[label] = total.faults.get(label, 0) + number
            for label, number in counts.late.items():
                total.late[label] = total.late.get(label, 0) + number
        return total

    def reset(self) -> None:
        """Forget the counts (the random streams go on; requests still to land late stay pending)."""
        with self._lock:
            self._counts = {
                key: ActionCounts(pending=counts.pending)
                for key, counts in self._counts.items()
                if counts.pending
            }

    def _count(self, action: Action, **deltas: int) -> None:
        with self._lock:
            counts = self._counts.setdefault(action.key, ActionCounts())
            for name, delta in deltas.items():
                setattr(counts, name, getattr(counts, name) + delta)

    def _count_fault(self, action: Action, label: str) -> None:
        with self._lock:
            faults = self._counts.setdefault(action.key, ActionCounts()).faults
            faults[label] = faults.get(label, 0) + 1

    def _decide(self, action: Action) -> str | None:
        with self._lock:
            state = self._actions.get(action)
            if state is None:
                slices, limit = plan_for(action, self.rules)
                rng = random.Random(f"{self.seed}:{action.key}")
                state = self._actions[action] = _ActionState(rng, slices, RateLimit(limit) if limit else None)
            fault = draw(state.rng, state.slices)
        if fault is None and state.limit is not None and not state.limit.admit():
            return "limit"
        return fault

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Serve from a thread of its own; return self once listening."""
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._failure is not None:
            raise RuntimeError(f"the fault proxy did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the proxy's thread."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve())
        except BaseException as error:  # reported by start() when it happens before ready
            self._failure = error
            self._ready.set()
        finally:
            loop.close()

    async def serve(self) -> None:
        """Serve on the running event loop until :meth:`stop` (or the task is cancelled)."""
        self._stop = asyncio.Event()
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", lambda request: self._handle(request, session))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for task in list(self._late):  # requests that were to land late never will
                task.cancel()
            await asyncio.gather(*self._late, return_exceptions=True)
            await runner.cleanup()
            await session.close()

    # -- one request -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request, session: aiohttp.ClientSession) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        body = await request.read()
        action = identify(request.method, request.path, request.headers, body, request.query_string)
        self._count(action, requests=1)
        fault = self._decide(action)
        kind, _, when = (fault or "").partition("@")
        if fault:
            self._count_fault(action, fault)
        if when == "late":
            return await self._fail_then_land(request, action, kind, body, session)
        if kind in ("throttle", "limit", "500", "503") and when != "after":
            status, headers, payload = error_answer(action, "throttle" if kind == "limit" else kind)
            return web.Response(status=status, headers=headers, body=payload)
        if kind == "reset" and when != "after":
            return self._reset(request)
        if kind == "timeout" and when != "after":
            return await self._hold(request)
        if kind == "slow":
            await asyncio.sleep(self.slow_seconds)
        status, headers, payload = await self._forward(self._held(request, body), session)
        self._count(action, forwarded=1, succeeded=int(status < 400), upstream_errors=int(status >= 400))
        if kind == "reset":
            return self._reset(request)
        if kind == "timeout":
            return await self._hold(request)
        if kind in ("500", "503"):
            status, headers, payload = error_answer(action, kind)
        return web.Response(status=status, headers=headers, body=payload)

    async def _fail_then_land(
        self,
        request: web.Request,
        action: Action,
        kind: str,
        body: bytes,
        session: aiohttp.ClientSession,
    ) -> web.StreamResponse:
        """Fail the client first (an error answer, a reset, or silence until it gives up), then
        forward the request its late delay after the client saw the failure."""
        held = self._held(request, body)
        delay = self._late_delay(action, kind)
        self._count(action, pending=1)
        if kind == "timeout":
            response = await self._hold(request)
        elif kind == "reset":
            response = self._reset(request)
        else:
            status, headers, payload = error_answer(action, kind)
            response = web.Response(status=status, headers=headers, body=payload)
            await response.prepare(request)
            await response.write_eof()  # the client has its answer before the request lands
        task = asyncio.get_running_loop().create_task(self._land_late(action, held, delay, session))
        self._late.add(task)
        task.add_done_callback(self._late.discard)
        return response

    def _late_delay(self, action: Action, kind: str) -> float:
        """The delay of this ``@late`` fault: the action and kind's next turn of the delays."""
        with self._lock:
            turn = self._late_turns.get((action.key, kind), 0)
            self._late_turns[action.key, kind] = turn + 1
            delay = self.late_seconds[turn % len(self.late_seconds)]
            late = self._counts.setdefault(action.key, ActionCounts()).late
            label = f"{kind}@late {delay:g}s"
            late[label] = late.get(label, 0) + 1
        return delay

    async def _land_late(
        self, action: Action, held: _HeldRequest, delay: float, session: aiohttp.ClientSession
    ) -> None:
        try:
            await asyncio.sleep(delay)
            status, _, _ = await self._forward(held, session)
            self._count(action, forwarded=1, succeeded=int(status < 400), upstream_errors=int(status >= 400))
        finally:
            self._count(action, pending=-1)

    @staticmethod
    def _held(request: web.Request, body: bytes) -> _HeldRequest:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        return _HeldRequest(request.method, request.path_qs, headers, body)

    async def _forward(
        self, held: _HeldRequest, session: aiohttp.ClientSession
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            async with session.request(
                held.method, self.upstream + held.path_qs, data=held.body, headers=held.headers
            ) as upstream:
                payload = await upstream.read()
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                return upstream.status, kept, payload
        except Exception as error:  # the emulator is gone: a bad gateway, as a load balancer says
            return 502, {"Content-Type": "text/plain"}, f"upstream unreachable: {error!r}".encode()

    @staticmethod
    async def _hold(request: web.Request) -> web.StreamResponse:
        """Answer nothing until the client gives up and closes the connection (its read timeout)."""
        deadline = time.monotonic() + MAX_HOLD_SECONDS
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await asyncio.sleep(HOLD_CHECK_SECONDS)
        return FaultProxy._reset(request)  # never sent when the client is gone

    @staticmethod
    def _reset(request: web.Request) -> web.StreamResponse:
        """Close the client's connection at once, with a TCP reset, and answer nothing."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return web.Response(status=204)  # never sent: the connection is gone

    def _control(self, request: web.Request) -> web.StreamResponse:
        if request.path == CONTROL_PREFIX + "counts" and request.method == "GET":
            return web.json_response({key: asdict(counts) for key, counts in self.snapshot().items()})
        if request.path == CONTROL_PREFIX + "reset" and request.method == "POST":
            self.reset()
            return web.json_response({"reset": True})
        return web.json_response({"error": "GET /_faults/counts or POST /_faults/reset"}, status=404)


def format_counts(counts: dict[str, ActionCounts]) -> str:
    """Render the counts as a small table, one action a line."""
    lines = [f"{'action':<36} {'requests':>8} {'forwarded':>9} {'succeeded':>9}  faults"]
    for key in sorted(counts):
        item = counts[key]
        faults = ", ".join(f"{label}={number}" for label, number in sorted(item.faults.items()))
        lines.append(f"{key:<36} {item.requests:>8} {item.forwarded:>9} {item.succeeded:>9}  {faults}")
    return "\n".join(lines)


def _delays(text: str) -> tuple[float, ...]:
    """``--late-seconds``: one delay or several, comma-separated (the proxy checks the values)."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds, or several comma-separated") from None


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aws_batch_local.faults",
        description="Serve a fault-injecting proxy in front of the emulator (loopback only).",
    )
    parser.add_argument("--upstream", required=True, help="the emulator's URL, e.g. http://127.0.0.1:4566")
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK, help="loopback address")
    parser.add_argument(
        "--faults", "--rate", default="", help="fault spec, e.g. '*:throttle=0.3,*:transient=0.05'"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault decisions (default 0)")
    parser.add_argument("--slow-seconds", type=float, default=1.0, help="delay of a slow fault (default 1)")
    parser.add_argument(
        "--late-seconds",
        type=_delays,
        default=(1.0,),
        help="how long after the client saw an @late fault its request lands (default 1); "
        "several, comma-separated (8,5,1), are taken in turn by each action's faults of a kind",
    )
    parser.add_argument("--region", default="us-east-1", help="region of the printed Airflow connection")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the proxy until SIGINT or SIGTERM, then print the counts."""
    arguments = parse_arguments(argv)
    try:
        proxy = FaultProxy(
            arguments.upstream,
            arguments.faults,
            seed=arguments.seed,
            slow_seconds=arguments.slow_seconds,
            late_seconds=arguments.late_seconds,
            host=arguments.host,
            port=arguments.port,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    proxy.start()
    try:
        print(f"Fault proxy listening on {proxy.endpoint_url}, forwarding to {proxy.upstream}")
        print(f"Faults: {arguments.faults or 'none'} (seed {arguments.seed}); counts at /_faults/counts")
        print(f"export AIRFLOW_CONN_AWS_DEFAULT='{proxy.airflow_connection(arguments.region)}'", flush=True)
        started = time.monotonic()
        while not stop_requested.wait(timeout=1.0):
            pass
    finally:
        proxy.stop()
    print(f"\nServed {time.monotonic() - started:.1f}s:\n{format_counts(proxy.snapshot())}")
    print(json.dumps({key: asdict(counts) for key, counts in proxy.snapshot().items()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
