"""Run one ``@task.batch`` function inside an AWS Batch job; standard library only (boto3 for S3).

The job definition's command is ``python3 -c <this file> NAME SOURCE``: SOURCE is the function's
source, or an ``s3://`` URI of it. The submission's environment carries the rest:

- ``AIRFLOW_BATCH_INPUT``: the serialized call ``{"args", "kwargs", "map"}``, inline
  (``text:...`` or ``zlib:<base64>``) or an ``s3://`` URI. ``map`` is ``[[name, values], ...]``
  for an array job: child *i* calls the function with element *i* of their product (the last
  name varies fastest, as Airflow's ``expand``), *i* read from ``AWS_BATCH_JOB_ARRAY_INDEX``.
- ``AIRFLOW_BATCH_OUTPUT``: ``log``, or an ``s3://`` prefix under which the job writes
  ``JOB/result`` (array child: ``JOB/INDEX/result``), and ``.../error`` when the function raises.
- ``AIRFLOW_BATCH_SERIALIZER``: a module with ``dumps``/``loads`` (``json`` unless set).

With ``log``, the result is printed last, as base64 lines ``::airflow-batch-result:: I/N DATA``
(zlib-compressed, at most :data:`MAX_LOG_RESULT_BYTES`); an exception is printed as its
traceback between ``::airflow-batch-error:: begin`` and ``::airflow-batch-error:: end TYPE``.
The task reads them back from the job's CloudWatch log. This module is also imported by the
operator for these constants and codecs, so both sides speak the same format.
"""

from __future__ import annotations

import base64
import importlib
import json
import linecache
import os
import sys
import traceback
import zlib
from typing import Any

INPUT_ENV = "AIRFLOW_BATCH_INPUT"
OUTPUT_ENV = "AIRFLOW_BATCH_OUTPUT"
SERIALIZER_ENV = "AIRFLOW_BATCH_SERIALIZER"
LOG_OUTPUT = "log"
RESULT_MARKER = "::airflow-batch-result::"
ERROR_MARKER = "::airflow-batch-error::"
#: Characters of base64 per result line (Docker's awslogs driver splits lines at 16 KiB).
LOG_CHUNK_CHARS = 4000
#: Largest compressed result that may travel through the log; beyond it, use S3.
MAX_LOG_RESULT_BYTES = 64 * 1024
#: Longest traceback printed between the error markers (first and last lines kept).
MAX_TRACEBACK_LINES = 200
TEXT_PREFIX = "text:"
ZLIB_PREFIX = "zlib:"


def function_filename(name: str) -> str:
    """Return the file name tracebacks show for the function's source."""
    return f"<@task.batch {name}>"


# -- codecs (shared with the operator) -------------------------------------------------------------


def encode_inline(data: bytes) -> str:
    """Return ``data`` as an environment value: readable text when it is, else zlib + base64."""
    compressed = ZLIB_PREFIX + base64.b64encode(zlib.compress(data, 9)).decode("ascii")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return compressed
    if "\x00" in text or len(json.dumps(text)) > len(compressed):
        return compressed
    return TEXT_PREFIX + text


def decode_inline(value: str) -> bytes:
    """Invert :func:`encode_inline`."""
    if value.startswith(TEXT_PREFIX):
        return value[len(TEXT_PREFIX) :].encode("utf-8")
    if value.startswith(ZLIB_PREFIX):
        return zlib.decompress(base64.b64decode(value[len(ZLIB_PREFIX) :]))
    raise ValueError(f"not an inline payload: {value[:40]!r}")


def result_lines(data: bytes) -> list[str]:
    """Return the log lines that carry ``data``; raise ValueError when it is too large for the log."""
    packed = zlib.compress(data, 9)
    if len(packed) > MAX_LOG_RESULT_BYTES:
        raise ValueError(
            f"the result is {len(data)} bytes serialized ({len(packed)} compressed): a result read "
            f"back from the job's log may take at most {MAX_LOG_RESULT_BYTES} bytes compressed; "
            "set xcom_s3_prefix on the task to return it through S3"
        )
    text = base64.b64encode(packed).decode("ascii")
    chunks = [text[i : i + LOG_CHUNK_CHARS] for i in range(0, len(text), LOG_CHUNK_CHARS)] or [""]
    return [f"{RESULT_MARKER} {n}/{len(chunks)} {chunk}" for n, chunk in enumerate(chunks, start=1)]


def parse_result_lines(lines: list[str]) -> bytes | None:
    """Return the last complete result carried by ``lines``, or None when there is none."""
    parts: dict[int, str] = {}
    total = 0
    for line in lines:
        if not line.startswith(RESULT_MARKER):
            continue
        fields = line[len(RESULT_MARKER) :].split()
        number, _, count = fields[0].partition("/") if fields else ("", "", "")
        if not (number.isdigit() and count.isdigit()):
            continue
        if number == "1":
            parts, total = {}, int(count)
        parts[int(number)] = fields[1] if len(fields) > 1 else ""
    if total == 0 or sorted(parts) != list(range(1, total + 1)):
        return None
    return zlib.decompress(base64.b64decode("".join(parts[n] for n in range(1, total + 1))))


def error_block(error_type: str, text: str) -> list[str]:
    """Return the lines that print a traceback between the error markers (long ones shortened)."""
    lines = text.rstrip("\n").splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        head, tail = lines[:50], lines[-(MAX_TRACEBACK_LINES - 51) :]
        lines = [*head, f"... {len(lines) - len(head) - len(tail)} lines left out ...", *tail]
    return [f"{ERROR_MARKER} begin", *lines, f"{ERROR_MARKER} end {error_type}"]


def parse_error_block(lines: list[str]) -> tuple[str, str] | None:
    """Return ``(type, traceback)`` of the last complete error block in ``lines``, or None."""
    found: tuple[str, str] | None = None
    inside: list[str] | None = None
    for line in lines:
        if line == f"{ERROR_MARKER} begin":
            inside = []
        elif line.startswith(f"{ERROR_MARKER} end") and inside is not None:
            found = (line[len(f"{ERROR_MARKER} end") :].strip(), "\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return found


def pick_call(document: dict[str, Any], index: int) -> tuple[list[Any], dict[str, Any]]:
    """Return the positional and keyword arguments of call ``index`` of an input document."""
    kwargs = dict(document.get("kwargs") or {})
    for name, values in reversed(document.get("map") or []):
        index, position = divmod(index, len(values))
        kwargs[name] = values[position]
    return list(document.get("args") or []), kwargs


# -- the job's side ----------------------------------------------------------------------------------


def load_serializer(name: str) -> Any:
    """Import the serializer module the task named (``json``, ``pickle``, ``cloudpickle``...)."""
    module = importlib.import_module(name)
    if not (callable(getattr(module, "dumps", None)) and callable(getattr(module, "loads", None))):
        raise TypeError(f"serializer {name!r} has no dumps() and loads()")
    return module


def dumps(serializer: Any, value: Any) -> bytes:
    """Serialize ``value``; text serializers give UTF-8."""
    data = serializer.dumps(value)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def split_s3(uri: str) -> tuple[str, str]:
    """Return the bucket and key of ``s3://bucket/key``."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def s3_client() -> Any:
    """Return a boto3 S3 client (the image needs boto3 only when the task uses S3)."""
    import boto3

    return boto3.client("s3")


def is_s3(value: str) -> bool:
    """Tell whether ``value`` is an ``s3://`` URI."""
    return value.startswith("s3://")


def fetch(uri: str) -> bytes:
    """Return the object at ``uri``."""
    bucket, key = split_s3(uri)
    return bytes(s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())


def write_s3(uri: str, data: bytes) -> None:
    """Write ``data`` to ``uri``."""
    bucket, key = split_s3(uri)
    s3_client().put_object(Bucket=bucket, Key=key, Body=data)


def output_key(output: str, job_id: str, index: int | None, what: str) -> str:
    """Return where under the S3 ``output`` prefix this job writes its ``result`` or ``error``."""
    parent = job_id.split(":", 1)[0]
    return f"{output}{parent}/{what}" if index is None else f"{output}{parent}/{index}/{what}"


def load_function(name: str, source: str) -> Any:
    """Define the function from its source (annotations stay strings) and return it."""
    filename = function_filename(name)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    flags = importlib.import_module("__future__").annotations.compiler_flag
    namespace: dict[str, Any] = {"__name__": "__airflow_batch_task__"}
    exec(compile(source, filename, "exec", flags=flags, dont_inherit=True), namespace)
    return namespace[name]


def user_traceback(error: BaseException, name: str) -> str:
    """Format ``error`` from the function's own first frame on (the runner's frames left out)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != function_filename(name):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


class LineEnds:
    """Wrap stdout and stderr to know whether the function's output ended its last line."""

    def __init__(self) -> None:
        self.open_line = False

    def wrap(self, stream: Any) -> Any:
        """Return ``stream`` with its writes watched."""
        ends = self

        class Watched:
            def write(self, text: str) -> int:
                if text:
                    ends.open_line = not text.endswith("\n")
                return int(stream.write(text))

            def __getattr__(self, name: str) -> Any:
                return getattr(stream, name)

        return Watched()


_line_ends = LineEnds()


def line_break() -> str:
    """Return the newline that puts the runner's next line on a line of its own."""
    return "\n" if _line_ends.open_line else ""


def report_error(error: BaseException, name: str, output: str, job_id: str, index: int | None) -> None:
    """Print the traceback between the error markers; with S3 output, also write it there."""
    text = user_traceback(error, name)
    error_type = type(error).__qualname__
    sys.stdout.flush()
    sys.stderr.flush()
    print(f"{line_break()}airflow-batch: {name}() raised {error_type}", flush=True)
    print("\n".join(error_block(error_type, text)), flush=True)
    if output != LOG_OUTPUT:
        document = {"type": error_type, "message": str(error), "traceback": text}
        try:
            write_s3(output_key(output, job_id, index, "error"), json.dumps(document).encode("utf-8"))
        except Exception as s3_error:
            print(f"airflow-batch: could not write the error to S3: {s3_error!r}", flush=True)


def run(name: str, source: str, environ: dict[str, str]) -> int:
    """Call the function as the environment says, report its result or error; return the exit code."""
    output = environ.get(OUTPUT_ENV, LOG_OUTPUT)
    job_id = environ.get("AWS_BATCH_JOB_ID", "local")
    raw_index = environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
    index = int(raw_index) if raw_index not in (None, "") else None
    try:
        serializer_name = environ.get(SERIALIZER_ENV, "json")
        serializer = load_serializer(serializer_name)
        function = load_function(name, fetch(source).decode("utf-8") if is_s3(source) else source)
        payload = environ.get(INPUT_ENV, TEXT_PREFIX + '{"args": [], "kwargs": {}}')
        document = serializer.loads(fetch(payload) if is_s3(payload) else decode_inline(payload))
        args, kwargs = pick_call(document, index or 0)
        value = function(*args, **kwargs)
        try:
            data = dumps(serializer, value)
        except Exception as error:
            raise TypeError(
                f"could not serialize the return value of {name}() with {serializer_name}: {error}"
            ) from error
        if output == LOG_OUTPUT:
            lines = result_lines(data)
        else:
            write_s3(output_key(output, job_id, index, "result"), data)
            lines = []
    except Exception as error:
        report_error(error, name, output, job_id, index)
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    where = "in the log" if lines else "to S3"
    size = f"{len(data)} bytes ({serializer_name})"
    print(f"{line_break()}airflow-batch: {name}() returned {size}, written {where}")
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python3 -c <runner> NAME SOURCE``."""
    args = sys.argv[1:] if argv is None else argv
    sys.stdout, sys.stderr = _line_ends.wrap(sys.stdout), _line_ends.wrap(sys.stderr)
    if len(args) != 2:
        print("usage: python3 -c <runner> FUNCTION_NAME SOURCE_OR_S3_URI", file=sys.stderr)
        return 2
    return run(args[0], args[1], dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
