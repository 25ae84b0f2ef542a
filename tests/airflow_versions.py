"""Skip markers for tests that need a feature only some supported Airflow releases have.

A skipped test says which feature it needs, from which Airflow release, and which one runs.
"""

from __future__ import annotations

import pytest

from airflow_batch_plugin.compat import (
    AIRFLOW_VERSION_TEXT,
    HAS_EXTERNAL_VIEWS,
    HAS_TASK_STATE_STORE,
    TRIGGER_ON_KILL,
)


def needs(available: bool, feature: str, since: str) -> pytest.MarkDecorator:
    """Skip unless ``available``, saying the feature and the release it arrived in."""
    return pytest.mark.skipif(
        not available, reason=f"needs {feature} (Airflow {since}); this is Airflow {AIRFLOW_VERSION_TEXT}"
    )


needs_task_state_store = needs(HAS_TASK_STATE_STORE, "the task state store", "3.3")
needs_trigger_on_kill = needs(TRIGGER_ON_KILL, "BaseTrigger.on_kill", "3.3")
needs_external_views = needs(HAS_EXTERNAL_VIEWS, "plugins' external_views", "3.1")
