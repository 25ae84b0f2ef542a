"""Times in the view, in Airflow's configured timezone (``[core] default_timezone``).

AWS returns epoch milliseconds; the pages show them in the timezone Airflow is configured with
(``utc`` by default, ``system`` for the server's own, or an IANA name such as
``Europe/Amsterdam``) and name that zone. Airflow 3's own UI lets each user pick a timezone in
the browser (kept in the browser's local storage, never sent to the server); pages rendered on
the server cannot know it, so they say which zone they use.
"""

from __future__ import annotations

import datetime
import zoneinfo


def configured_timezone() -> datetime.tzinfo:
    """The timezone ``[core] default_timezone`` names (read at each call; UTC when unknown)."""
    from airflow.providers.common.compat.sdk import conf

    name = str(conf.get("core", "default_timezone", fallback="utc") or "utc").strip()
    if name.lower() == "system":
        return datetime.datetime.now().astimezone().tzinfo or datetime.UTC
    if name.lower() == "utc":
        return datetime.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # a misconfigured name must not break pages
        return datetime.UTC


def zone_name() -> str:
    """How the pages name the timezone their times are in (``UTC``, ``Europe/Amsterdam``)."""
    zone = configured_timezone()
    if zone is datetime.UTC:
        return "UTC"
    return str(getattr(zone, "key", None) or zone.tzname(datetime.datetime.now()) or zone)


def format_time(epoch_ms: int | float | None) -> str:
    """``2024-05-01 14:03:07`` in the configured timezone; '' for no time."""
    if not epoch_ms:
        return ""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.UTC)
    return moment.astimezone(configured_timezone()).strftime("%Y-%m-%d %H:%M:%S")
