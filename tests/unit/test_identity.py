"""Jobs carry tags naming their task instance; tag values always satisfy AWS's rules."""

from __future__ import annotations

import re
from types import SimpleNamespace

from airflow_batch_plugin.identity import tag_value, task_instance_label, task_instance_tags

AWS_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")


def context(run_id: str, map_index: int = -1) -> dict:
    return {"ti": SimpleNamespace(dag_id="etl", run_id=run_id, task_id="load", map_index=map_index)}


def test_tags_name_dag_run_task_and_map_index():
    tags = task_instance_tags(context("scheduled__2026-11-28T00:00:00+00:00", 3))
    assert tags == {
        "airflow:dag_id": "etl",
        "airflow:run_id": "scheduled__2026-11-28T00:00:00+00:00",
        "airflow:task_id": "load",
        "airflow:map_index": "3",
    }


def test_tag_values_are_made_valid_and_clipped():
    assert tag_value("my run #1 (retry)") == "my run _1 _retry_"
    assert len(tag_value("x" * 500)) == 256
    for text in ("a#b", "ü&ö", "x" * 300, "manual__2026-11-28T15:04:47.408636+00:00"):
        assert AWS_TAG_VALUE.match(tag_value(text))


def test_label_names_the_task_instance():
    assert task_instance_label(context("r1")) == "etl/r1/load"
    assert task_instance_label(context("r1", 2)) == "etl/r1/load[2]"
