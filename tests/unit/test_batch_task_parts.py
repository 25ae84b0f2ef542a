"""@task.batch without AWS: the runner's format, payload checks, the generated definition, the decorator."""

from __future__ import annotations

import itertools
import json
import pickle
import random
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.sdk.bases.decorator import DecoratedMappedOperator

from airflow_batch_plugin.decorators import batch as batch_module
from airflow_batch_plugin.decorators import runner
from airflow_batch_plugin.decorators.batch import BatchDecoratedOperator, batch_task
from airflow_batch_plugin.decorators.definition import (
    definition_name,
    function_command,
    function_definition,
    function_source,
)
from airflow_batch_plugin.decorators.payload import (
    PayloadError,
    check_json,
    input_document,
    plain,
    serialize_input,
    serializer_name,
)
from airflow_batch_plugin.decorators.transfer import S3Prefix, input_uri, result_uri
from airflow_batch_plugin.specs.validation import SpecValidationError

TASK = {"job_queue": "q", "image": "python:3.12-slim"}


# -- the runner's format -----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b'{"a": [1, 2.5, null]}', "héllo\n".encode(), bytes(range(256))])
def test_inline_payloads_round_trip(data):
    encoded = runner.encode_inline(data)
    assert runner.decode_inline(encoded) == data
    kind = runner.TEXT_PREFIX if data.startswith(b"{") else None
    if kind:
        assert encoded == kind + data.decode()


def test_repetitive_text_is_compressed_when_shorter():
    data = json.dumps([0] * 5000).encode()
    assert runner.encode_inline(data).startswith(runner.ZLIB_PREFIX)


def test_result_lines_round_trip_across_many_lines():
    data = json.dumps([f"value {i}" for i in range(20000)]).encode()
    lines = runner.result_lines(data)
    assert len(lines) > 1
    assert all(len(line) < 16384 for line in lines)  # Docker splits longer lines
    noise = ["user output", f"{runner.RESULT_MARKER} 1/3 stale-partial-set"]
    assert runner.parse_result_lines([*noise, *lines, "a thread printing late"]) == data
    assert runner.parse_result_lines(lines[:-1]) is None


def test_a_result_too_large_for_the_log_names_the_limit_and_s3():
    data = random.Random(0).randbytes(100_000)  # does not compress
    with pytest.raises(ValueError, match=r"at most 65536 bytes compressed.*xcom_s3_prefix"):
        runner.result_lines(data)


def test_error_blocks_round_trip_and_long_tracebacks_are_shortened():
    text = "Traceback (most recent call last):\n" + "".join(f"  line {i}\n" for i in range(1000)) + "E: x\n"
    block = runner.error_block("E", text)
    assert len(block) <= runner.MAX_TRACEBACK_LINES + 3
    found = runner.parse_error_block(["before", *block, "after"])
    assert found is not None
    error_type, traceback = found
    assert error_type == "E"
    assert traceback.startswith("Traceback")
    assert traceback.endswith("E: x")
    assert "lines left out" in traceback


def test_array_children_pick_the_product_in_airflow_order():
    mapped = [["a", [1, 2, 3]], ["b", ["x", "y"]]]
    document = {"args": [0], "kwargs": {"c": True}, "map": mapped}
    calls = [runner.pick_call(document, index) for index in range(6)]
    expected = [([0], {"c": True, "a": a, "b": b}) for a, b in itertools.product([1, 2, 3], ["x", "y"])]
    assert calls == expected


def run_in_process(capsys, source: str, name: str, document: Any, **env: str) -> tuple[int, list[str]]:
    environ = {runner.INPUT_ENV: runner.encode_inline(json.dumps(document).encode()), **env}
    code = runner.run(name, source, environ)
    return code, capsys.readouterr().out.splitlines()


def test_the_runner_returns_the_value_through_its_output(capsys):
    source = "def f(x, y=1) -> Undefined:\n    print('working')\n    return {'sum': x + y}\n"
    code, lines = run_in_process(capsys, source, "f", {"args": [2], "kwargs": {"y": 5}})
    assert code == 0
    assert lines[0] == "working"
    assert json.loads(runner.parse_result_lines(lines) or b"") == {"sum": 7}


def test_the_runner_reports_the_functions_traceback_without_its_own_frames(capsys):
    source = "def f(x):\n    return helper(x)\n\ndef helper(x):\n    raise KeyError(x)\n"
    code, lines = run_in_process(capsys, source, "f", {"args": ["k"], "kwargs": {}})
    assert code == 1
    found = runner.parse_error_block(lines)
    assert found is not None
    error_type, traceback = found
    assert error_type == "KeyError"
    assert 'File "<@task.batch f>", line 2, in f' in traceback
    assert "in helper" in traceback
    assert "raise KeyError(x)" in traceback
    assert "runner" not in traceback
    assert "def run(" not in traceback


def test_a_result_json_cannot_carry_fails_in_the_job(capsys):
    code, lines = run_in_process(capsys, "def f():\n    return {1, 2}\n", "f", {"args": [], "kwargs": {}})
    assert code == 1
    found = runner.parse_error_block(lines)
    assert found is not None
    assert "could not serialize the return value of f() with json" in found[1]


def test_the_runner_speaks_other_serializers(capsys):
    document = {"args": [(1, 2)], "kwargs": {}}
    environ = {
        runner.INPUT_ENV: runner.encode_inline(pickle.dumps(document)),
        runner.SERIALIZER_ENV: "pickle",
    }
    assert runner.run("f", "def f(pair):\n    return {pair: set(pair)}\n", environ) == 0
    data = runner.parse_result_lines(capsys.readouterr().out.splitlines())
    assert pickle.loads(data or b"") == {(1, 2): {1, 2}}


# -- arguments on the Airflow side -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {1, 2}}, r"argument\['a'\] is set, not a JSON value.*serializer='pickle'"),
        ({1: "x"}, r"has the key 1 \(int\): JSON object keys are strings"),
        ([1.0, float("nan")], r"argument\[1\] is nan: JSON has no NaN"),
        (b"bytes", r"argument is bytes"),
    ],
)
def test_arguments_json_cannot_carry_are_named(value, message):
    with pytest.raises(PayloadError, match=message):
        check_json(value, "argument")


def test_json_values_pass_and_lazy_airflow_values_become_plain():
    check_json({"s": "x", "i": 1, "f": 1.5, "b": True, "n": None, "l": [1, [2]], "t": (1, 2)}, "argument")

    class LazySequence:
        def __init__(self, items: list[Any]) -> None:
            self.items = items

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, index: int) -> Any:
            return self.items[index]

    from collections.abc import Sequence

    Sequence.register(LazySequence)
    assert plain({"xs": LazySequence([1, 2])}) == {"xs": [1, 2]}
    document = input_document([1], {"k": "v"}, [("x", LazySequence([3, 4]))])
    assert json.loads(serialize_input(document, "json")) == {
        "args": [1],
        "kwargs": {"k": "v"},
        "map": [["x", [3, 4]]],
    }


def test_serializers_are_module_names_importable_here():
    assert serializer_name(None) == "json"
    assert serializer_name(pickle) == "pickle"
    with pytest.raises(ValueError, match="cannot be used here"):
        serializer_name("no_such_serializer_module")
    with pytest.raises(ValueError, match="give a module name"):
        serializer_name("not a module")


def test_s3_locations_are_per_task_instance_and_content_addressed():
    prefix = S3Prefix.parse("s3://bucket/xcom/")
    folder = prefix.task_folder("dag", "manual__2026-01-01T00:00:00+00:00", "group.task", 3)
    assert folder == "s3://bucket/xcom/dag/manual__2026-01-01T00:00:00+00:00/group.task/3/"
    assert input_uri(folder, b"a") == input_uri(folder, b"a") != input_uri(folder, b"b")
    assert result_uri(folder, "job-1:4", 4) == folder + "job-1/4/result"
    assert S3Prefix.parse("s3://bucket").uri("k") == "s3://bucket/k"
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        S3Prefix.parse("bucket/prefix")


# -- the generated definition ------------------------------------------------------------------------


def test_the_source_shipped_has_no_task_decorator():
    with DAG("unit_source"):

        @batch_task(job_queue="q", image="python:3.12-slim")
        def shipped(x: int) -> int:
            """Double it."""
            return 2 * x

    source = function_source(shipped.function)
    assert source.startswith("def shipped(x: int) -> int:")
    assert "batch_task" not in source
    assert "@" not in source
    with pytest.raises(ValueError, match="plain functions defined with def"):
        function_source(lambda: 1)


def test_definition_names_are_valid_for_aws():
    assert definition_name("my.dag", "group.task") == "airflow-my-dag-group-task"
    long = definition_name("d" * 100, "t" * 100)
    assert len(long) == 128
    assert long != definition_name("d" * 100, "t" * 99)


def test_the_definition_carries_the_function_and_is_stable():
    def spec(source: str) -> Any:
        return function_definition(
            name="airflow-d-t",
            command=function_command("python3", "f", source),
            serializer="json",
            image="python:3.12-slim",
            gpus=1,
        )

    first, again = spec("def f(): return 1\n"), spec("def f(): return 1\n")
    changed = spec("def f(): return 2\n")
    request = first.to_request()
    container = request["containerProperties"]
    assert container["command"][:2] == ["python3", "-c"]
    assert container["command"][3:] == ["f", "def f(): return 1\n"]
    assert {"name": runner.SERIALIZER_ENV, "value": "json"} in container["environment"]
    assert {"type": "GPU", "value": "1"} in container["resourceRequirements"]
    assert first.content_hash() == again.content_hash() != changed.content_hash()


def test_a_source_too_long_for_a_definition_fails_at_parse_time_unless_s3_is_set():
    body = "".join(f"    x{i} = {i}  # {'padding ' * 8}\n" for i in range(400))
    namespace: dict[str, Any] = {}
    code = f"def huge():\n{body}    return 1\n"
    path = _write_module(code)
    exec(compile(code, str(path), "exec"), namespace)
    with DAG("unit_huge"):
        with pytest.raises(ValueError, match=r"over AWS Batch's 24 KiB job definition limit.*xcom_s3_prefix"):
            BatchDecoratedOperator(python_callable=namespace["huge"], task_id="huge", **TASK)
        BatchDecoratedOperator(
            python_callable=namespace["huge"], task_id="huge_s3", xcom_s3_prefix="s3://b/p", **TASK
        )


def _write_module(code: str) -> Any:
    import linecache
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "huge_task.py"
    path.write_text(code)
    linecache.checkcache(str(path))
    return path


def test_bad_settings_fail_at_parse_time():
    def work() -> None:
        return None

    with DAG("unit_bad"):
        with pytest.raises(SpecValidationError, match="memory"):
            BatchDecoratedOperator(python_callable=work, task_id="a", job_queue="q", image="i", memory=2)
        with pytest.raises(ValueError, match="needs an image"):
            BatchDecoratedOperator(python_callable=work, task_id="b", job_queue="q")
        with pytest.raises(TypeError, match="sets container_overrides itself"):
            BatchDecoratedOperator(python_callable=work, task_id="c", container_overrides={}, **TASK)


# -- the decorator -----------------------------------------------------------------------------------


def test_calling_makes_one_task_and_infers_multiple_outputs():
    with DAG("unit_call"):

        @batch_task(**TASK)
        def stats(xs: list) -> dict[str, float]:
            return {"n": len(xs)}

        out = stats([1, 2])
    operator = out.operator
    assert isinstance(operator, BatchDecoratedOperator)
    assert operator.multiple_outputs is True
    assert operator.op_args == [1, 2] or list(operator.op_args) == [[1, 2]]
    assert operator.job_name == "stats"


def test_expand_maps_task_instances_and_expand_batch_makes_one_array_task():
    with DAG("unit_expand"):

        @batch_task(**TASK)
        def square(x: int, scale: int = 1) -> int:
            return x * x * scale

        mapped = square.partial(scale=2).expand(x=[1, 2, 3])
        array = square.partial(scale=2).expand_batch(x=[1, 2, 3])
        flagged = square.override(task_id="flagged", array=True).expand(x=[4, 5])
    assert isinstance(mapped.operator, DecoratedMappedOperator)
    for out, values in ((array, [1, 2, 3]), (flagged, [4, 5])):
        assert isinstance(out.operator, BatchDecoratedOperator)
        assert out.operator.array_arguments == ("x",)
        assert out.operator.op_kwargs["x"] == values
        assert out.operator.multiple_outputs is False
    assert array.operator.op_kwargs["scale"] == 2
    unmapped = mapped.operator.unmap({"op_kwargs": {"x": 7}})
    assert isinstance(unmapped, BatchDecoratedOperator)
    assert unmapped.op_kwargs == {"scale": 2, "x": 7}
    with pytest.raises(TypeError, match=r"maps with \.expand\(\)"):
        square.override(array=True).expand_kwargs([{"x": 1}])


def test_arguments_over_the_override_limit_without_s3_name_the_limit():
    with DAG("unit_limit"):

        @batch_task(**TASK)
        def big(rows: list) -> int:
            return len(rows)

        operator = big(random_rows(400)).operator
    limit = r"over AWS Batch's 8 KiB limit on container overrides.*xcom_s3_prefix"
    with pytest.raises(PayloadError, match=limit):
        operator.submit_job(unit_context(operator))


def test_a_submission_over_the_payload_limit_names_the_30_kib_limit(monkeypatch):
    monkeypatch.setattr(batch_module, "MAX_SUBMIT_JOB_BYTES", 1024)
    with DAG("unit_payload"):

        @batch_task(**TASK)
        def medium(rows: list) -> int:
            return len(rows)

        operator = medium(random_rows(20)).operator
    with pytest.raises(PayloadError, match=r"over AWS Batch's 1 KiB limit on a SubmitJob payload"):
        operator.submit_job(unit_context(operator))


def random_rows(count: int) -> list[str]:
    """Rows that do not compress (so they cannot slip under a limit inline)."""
    rng = random.Random(count)
    return [rng.randbytes(24).hex() for _ in range(count)]


def unit_context(operator: Any) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id=operator.task_id, map_index=-1, try_number=1)
    return {"ti": ti}


def test_task_batch_comes_from_the_provider_info_and_the_package():
    from airflow.sdk import task

    import airflow_batch_plugin
    from airflow_batch_plugin.provider import get_provider_info

    entry = {"name": "batch", "class-name": "airflow_batch_plugin.decorators.batch.batch_task"}
    assert entry in get_provider_info()["task-decorators"]
    assert task.batch is batch_task
    assert airflow_batch_plugin.batch_task is batch_task
