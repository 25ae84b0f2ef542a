"""airflow_batch_plugin.compat: each name is the one the running Airflow uses, each fallback works."""

from __future__ import annotations

from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

from airflow_batch_plugin import compat
from airflow_batch_plugin.compat import (
    AIRFLOW_VERSION,
    AIRFLOW_VERSION_TEXT,
    KNOWN_CONTEXT_KEYS,
    TaskDeferralTimeout,
    TriggerRule,
    keep_job_id_without_store,
    menu_entry,
    push_xcom,
    release,
    remember_job_id,
    remembered_job_id,
    remove_task_decorator,
    what_this_airflow_lacks,
)


class StateStore(dict):
    def set(self, key: str, value: Any) -> None:
        self[key] = value


class RecordingTi(SimpleNamespace):
    """A task instance that keeps its XComs in a dict, as the execution API does for one try."""

    def __init__(self) -> None:
        super().__init__(task_id="t", map_index=-1, xcoms={})

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[(self.task_id, key, self.map_index)] = value

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int) -> Any:
        return self.xcoms.get((task_ids, key, map_indexes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3.0.6", (3, 0, 6)), ("3.1.8", (3, 1, 8)), ("3.2.0rc1", (3, 2, 0)), ("3.3", (3, 3, 0))],
)
def test_release_reads_major_minor_patch(text, expected):
    assert release(text) == expected


def test_release_refuses_what_is_no_version():
    with pytest.raises(ValueError, match="'main': not a release number"):
        release("main")


def test_the_version_is_the_installed_airflows():
    assert version("apache-airflow-core") == AIRFLOW_VERSION_TEXT
    assert (3, 0, 0) <= AIRFLOW_VERSION < (3, 4, 0), "the releases the plugin supports"


def test_task_deferral_timeout_is_what_this_airflows_task_sdk_raises():
    operator = BaseOperator(task_id="t")
    with pytest.raises(TaskDeferralTimeout):
        operator.resume_execution(TRIGGER_FAIL_REPR, {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, {})


def test_known_context_keys_name_the_task_context():
    assert {"ti", "ds", "logical_date", "params", "run_id"} <= set(KNOWN_CONTEXT_KEYS)


def test_trigger_rule_is_the_one_operators_accept():
    operator = BaseOperator(task_id="t", trigger_rule=TriggerRule.ALL_DONE)
    assert operator.trigger_rule == "all_done"


def test_remove_task_decorator_strips_the_decorator_line():
    source = '@task.batch(job_queue="q")\ndef f(x):\n    return x\n'
    assert remove_task_decorator(source, "@task.batch") == "def f(x):\n    return x\n"


def test_push_xcom_pushes_values_and_none_only_where_airflow_takes_it():
    ti = RecordingTi()
    push_xcom(ti, "job_arn", "arn:aws:batch:us-east-1:123456789012:job/j")
    push_xcom(ti, "array_size", None)
    assert ti.xcoms[("t", "job_arn", -1)].endswith("job/j")
    assert (("t", "array_size", -1) in ti.xcoms) is (AIRFLOW_VERSION >= (3, 1))


def test_push_xcom_leaves_out_none_on_airflow_3_0(monkeypatch):
    monkeypatch.setattr(compat, "XCOM_ACCEPTS_NONE", False)
    ti = RecordingTi()
    push_xcom(ti, "array_size", None)
    push_xcom(ti, "exit_code", 0)
    assert ti.xcoms == {("t", "exit_code", -1): 0}, "a falsy value that is not None is still pushed"


def test_the_job_id_is_kept_in_the_task_state_store_when_there_is_one():
    ti = RecordingTi()
    context = {"ti": ti, "task_state_store": StateStore()}
    remember_job_id(context, "aws_batch_job_id", "job-1")
    assert context["task_state_store"] == {"aws_batch_job_id": "job-1"}
    assert ti.xcoms == {}
    assert remembered_job_id(context, "aws_batch_job_id") == "job-1"


def test_without_a_store_the_job_id_is_kept_in_this_trys_xcom():
    ti = RecordingTi()
    context = {"ti": ti}
    assert remembered_job_id(context, "aws_batch_job_id") is None
    remember_job_id(context, "aws_batch_job_id", "job-1")
    assert ti.xcoms == {("t", "aws_batch_job_id", -1): "job-1"}
    assert remembered_job_id(context, "aws_batch_job_id") == "job-1"


def test_right_after_submit_job_only_an_airflow_without_store_needs_the_xcom():
    ti = RecordingTi()
    store = StateStore()
    keep_job_id_without_store({"ti": ti, "task_state_store": store}, "aws_batch_job_id", "job-1")
    assert store == {}, "ResumableJobMixin records it once submit_job returns"
    assert ti.xcoms == {}
    keep_job_id_without_store({"ti": ti}, "aws_batch_job_id", "job-1")
    assert ti.xcoms == {("t", "aws_batch_job_id", -1): "job-1"}


def test_a_mapped_task_reads_its_own_map_indexs_job_id():
    ti = RecordingTi()
    ti.map_index = 2
    remember_job_id({"ti": ti}, "aws_batch_job_id", "job-2")
    ti.map_index = 3
    assert remembered_job_id({"ti": ti}, "aws_batch_job_id") is None
    ti.map_index = 2
    assert remembered_job_id({"ti": ti}, "aws_batch_job_id") == "job-2"


def test_nothing_lacks_with_a_state_store_and_triggers_on_kill(monkeypatch):
    monkeypatch.setattr(compat, "TRIGGER_ON_KILL", True)
    assert what_this_airflow_lacks({"task_state_store": StateStore()}, deferrable=True) == []


def test_what_an_airflow_without_store_and_trigger_on_kill_lacks(monkeypatch):
    monkeypatch.setattr(compat, "TRIGGER_ON_KILL", False)
    sync = what_this_airflow_lacks({}, deferrable=False)
    assert len(sync) == 1
    assert "no task state store (Airflow 3.3 has it)" in sync[0]
    assert "XCom" in sync[0]
    assert "by its tags" in sync[0]
    [_, kill] = what_this_airflow_lacks({}, deferrable=True)
    assert "does not terminate the job" in kill
    assert "Airflow 3.3" in kill


def test_menu_entry_is_a_navigation_entry_from_airflow_3_1(monkeypatch):
    monkeypatch.setattr(compat, "HAS_EXTERNAL_VIEWS", True)
    entry = menu_entry("AWS Batch", "/aws-batch/", "aws-batch")
    assert entry == {
        "external_views": [
            {
                "name": "AWS Batch",
                "href": "/aws-batch/",
                "destination": "nav",
                "category": "browse",
                "url_route": "aws-batch",
            }
        ]
    }


def test_menu_entry_is_a_plugins_menu_item_on_airflow_3_0_with_the_fab_provider(monkeypatch):
    monkeypatch.setattr(compat, "HAS_EXTERNAL_VIEWS", False)
    monkeypatch.setattr(compat, "fab_provider_installed", lambda: True)
    entry = menu_entry("AWS Batch", "/aws-batch/", "aws-batch")
    assert entry == {"appbuilder_menu_items": [{"name": "AWS Batch", "href": "/aws-batch/"}]}


def test_no_menu_entry_on_airflow_3_0_without_the_fab_provider(monkeypatch):
    # Airflow 3.0's api-server refuses to start with an appbuilder menu item and no FAB provider.
    monkeypatch.setattr(compat, "HAS_EXTERNAL_VIEWS", False)
    monkeypatch.setattr(compat, "fab_provider_installed", lambda: False)
    assert menu_entry("AWS Batch", "/aws-batch/", "aws-batch") == {}


def test_fab_provider_installed_says_whether_it_can_be_imported():
    from importlib.util import find_spec

    assert compat.fab_provider_installed() is (find_spec("airflow.providers.fab") is not None)


def test_this_airflows_plugins_api_takes_the_menu_entry():
    from airflow.api_fastapi.core_api.datamodels import plugins

    entries = menu_entry("AWS Batch", "/aws-batch/", "aws-batch")
    if not entries:
        pytest.skip(f"Airflow {AIRFLOW_VERSION_TEXT} without the FAB provider: no menu entry to check")
    [(attribute, [entry])] = entries.items()
    model = (
        plugins.ExternalViewResponse if attribute == "external_views" else plugins.AppBuilderMenuItemResponse
    )
    shown = model.model_validate(entry).model_dump()
    assert shown["name"] == "AWS Batch"
    assert shown["href"] == "/aws-batch/"
