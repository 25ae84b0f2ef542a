"""Share what every spec needs: the base class, AWS's patterns, retry strategy and timeout.

Every spec is a frozen, keyword-only dataclass that validates itself when it is built and can
be validated again with :meth:`BatchSpec.validate`. Validation reports every broken rule at once
(:class:`~airflow_batch_plugin.specs.validation.SpecValidationError`), each naming the field path,
the value and the rule.

Strings holding a Jinja marker (``{{`` or ``{%``) skip pattern and number checks: their value is
only known once Airflow renders them, and the spec is validated again when it is rebuilt from the
rendered values (:func:`airflow_batch_plugin.templating.render_spec`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from airflow_batch_plugin.specs.validation import Checker, Problem, drop_none, is_unresolved

__all__ = [
    "AWS_RESERVED_ENV_PREFIX",
    "IAM_ROLE_ARN",
    "JOB_DEFINITION_NAME",
    "JOB_NAME",
    "MIN_TIMEOUT_SECONDS",
    "SPOT_RECLAIM_STATUS_REASON",
    "BatchSpec",
    "EvaluateOnExit",
    "RetryStrategy",
    "SpecContext",
    "check_timeout",
    "deferred_validation",
    "timeout_request",
]

SpecT = TypeVar("SpecT", bound="BatchSpec")

# --- AWS's own rules, as patterns and limits -------------------------------------------------

#: Job definition (and job queue) names: up to 128 letters, numbers, hyphens and underscores.
JOB_DEFINITION_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
JOB_DEFINITION_NAME_RULE = "must be 1 to 128 letters, numbers, hyphens (-) and underscores (_)"
#: Job names: as above, and the first character must be a letter or a number.
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
JOB_NAME_RULE = (
    "must be 1 to 128 letters, numbers, hyphens (-) and underscores (_), starting with a letter or number"
)
#: ARN of an IAM role (job role, execution role).
IAM_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
IAM_ROLE_ARN_RULE = "must be the ARN of an IAM role (arn:aws:iam::123456789012:role/name)"
#: Where a secret comes from: a Secrets Manager or SSM Parameter Store ARN, or an SSM parameter name.
SECRET_SOURCE = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:\S+|[A-Za-z0-9_./-]{1,2048}"
)
SECRET_SOURCE_RULE = (
    "must be the ARN of a Secrets Manager secret or SSM parameter, or an SSM parameter name "
    "(letters, numbers, _ . - /)"
)
#: Environment variable names AWS Batch reserves for the variables it sets itself.
AWS_RESERVED_ENV_PREFIX = "AWS_BATCH"
#: How environment variable names holding a secret end (``DB_PASSWORD``, ``GITHUB_TOKEN``...).
SECRET_NAME_ENDINGS = (
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "SECRET_KEY",
    "PRIVATE_KEY",
    "SECRET_ACCESS_KEY",
    "PWD",
)
#: A value that only points at a secret (a Secrets Manager or SSM ARN) holds none itself.
_SECRET_REFERENCE = re.compile(r"arn:aws[a-z-]*:(secretsmanager|ssm):\S+")
#: The statusReason of an attempt whose EC2 instance went away, e.g. a Spot reclaim
#: ("Host EC2 (instance i-0123) terminated.").
SPOT_RECLAIM_STATUS_REASON = "Host EC2*"
#: Shortest job timeout AWS Batch accepts.
MIN_TIMEOUT_SECONDS = 60
#: Evaluate-on-exit glob patterns (AWS: up to 512 characters, may end with ``*``).
_EXIT_CODE_GLOB = re.compile(r"(?=.{1,512}\Z)[0-9]*\*?")
_REASON_GLOB = re.compile(r"(?=.{1,512}\Z)[A-Za-z0-9.: \t]*\*?", re.DOTALL)


# --- deferred validation ---------------------------------------------------------------------

_DEFERRED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "airflow_batch_plugin_specs_deferred", default=False
)


@contextmanager
def deferred_validation() -> Iterator[None]:
    """Build specs without validating them, so an enclosing spec reports every problem at once.

    Specs built inside this block skip their own validation; the caller must validate the
    enclosing spec (which checks its parts with full field paths) outside of it.
    """
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpecContext:
    """Carry what a nested spec needs to know from the spec that holds it.

    :param platform: ``"EC2"`` or ``"FARGATE"`` for ECS containers; None when not known.
    :param multinode: True for the container of a multi-node parallel node range.
    """

    platform: str | None = None
    multinode: bool = False


class BatchSpec(ABC):
    """Normalize friendly inputs, then validate, whenever a spec dataclass is built."""

    #: Problems found while converting friendly inputs (dicts, strings) into their spec types.
    _input_problems: tuple[Problem, ...] = ()

    def __post_init__(self) -> None:
        checker = Checker(type(self).__name__)
        self._normalize(checker)
        object.__setattr__(self, "_input_problems", tuple(checker.problems))
        if not _DEFERRED.get():
            self.validate()

    def _normalize(self, c: Checker) -> None:
        """Convert friendly inputs into their canonical form in place; record what cannot be."""
        return None

    def _replace_field(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def validate(self, context: SpecContext | None = None) -> None:
        """Raise :class:`SpecValidationError` listing every rule this spec breaks."""
        checker = Checker(type(self).__name__)
        self.check_into(checker, context or SpecContext())
        checker.raise_if_any()

    def problems(self, context: SpecContext | None = None) -> list[Problem]:
        """Return every rule this spec breaks, without raising."""
        checker = Checker(type(self).__name__)
        self.check_into(checker, context or SpecContext())
        return checker.problems

    def check_into(self, c: Checker, context: SpecContext) -> None:
        """Record this spec's problems into ``c`` (whose prefix is this spec's field path)."""
        for problem in self._input_problems:
            c.fail(problem.field, problem.value, problem.rule)
        self._check(c, context)

    @abstractmethod
    def _check(self, c: Checker, context: SpecContext) -> None:
        """Record every rule this spec breaks into ``c``."""

    @abstractmethod
    def to_request(self) -> dict[str, Any]:
        """Return this spec as the AWS request shape (camelCase keys, unset fields omitted)."""


# --- friendly input conversion ---------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def camel_to_snake(name: str) -> str:
    """Turn an AWS field name into the matching spec field name: ``onExitCode -> on_exit_code``."""
    return _CAMEL.sub(r"_\1", name).lower()


def coerce_spec(
    c: Checker,
    field: str,
    value: Any,
    cls: type[SpecT],
    from_scalar: Callable[[Any], SpecT | None] | None = None,
) -> Any:
    """Return ``value`` as a ``cls`` instance when it is a dict of its fields (snake or camelCase).

    The nested spec is built with validation deferred: the enclosing spec checks it with its full
    field path. A value that cannot be converted is recorded as a problem and returned unchanged.
    """
    if value is None or isinstance(value, cls):
        return value
    if from_scalar is not None and not isinstance(value, Mapping):
        converted = from_scalar(value)
        if converted is not None:
            return converted
    if isinstance(value, Mapping):
        names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        kwargs = {}
        for key, item in value.items():
            snake = camel_to_snake(key) if isinstance(key, str) else key
            kwargs[key if key in names or snake not in names else snake] = item
        unknown = sorted(str(key) for key in kwargs if key not in names)
        if unknown:
            c.fail(field, value, f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
            return value
        try:
            with deferred_validation():
                return cls(**kwargs)
        except TypeError as exc:
            c.fail(field, value, f"not a valid {cls.__name__}: {exc}")
            return value
    c.fail(field, value, f"must be a {cls.__name__} or a dict of its fields")
    return value


def coerce_spec_list(c: Checker, field: str, value: Any, cls: type[SpecT]) -> Any:
    """Return ``value`` as a list whose dict items are converted to ``cls`` (see :func:`coerce_spec`)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        c.fail(field, value, f"must be a list of {cls.__name__}")
        return value
    return [coerce_spec(c, f"{field}[{index}]", item, cls) for index, item in enumerate(value)]


def to_int(value: Any) -> Any:
    """Return whole-number strings and floats as ints; leave anything else for the checks."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and not is_unresolved(value) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return value


def to_number(value: Any) -> Any:
    """Return numeric strings as int or float; leave anything else for the checks."""
    if isinstance(value, str) and not is_unresolved(value):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def is_number(value: Any) -> bool:
    """Tell whether ``value`` is a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def format_number(value: Any) -> Any:
    """Render a number the way AWS resource requirements want it: ``1``, ``0.25``, never ``1.0``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_upper(value: Any) -> Any:
    """Upper-case a string enum value (AWS enums are case-insensitive on input); keep templates."""
    return value.upper() if isinstance(value, str) and not is_unresolved(value) else value


def normalize_str_map(c: Checker, field: str, value: Any, *, allow_pairs: bool = False) -> Any:
    """Return a ``dict[str, str]`` from a dict (numbers become strings) or AWS name/value pairs.

    :param allow_pairs: also accept AWS's ``[{"name": ..., "value": ...}]`` list shape.
    """
    if value is None:
        return None
    if allow_pairs and isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        pairs: dict[Any, Any] = {}
        for index, item in enumerate(value):
            if isinstance(item, Mapping) and "name" in item:
                pairs[item["name"]] = item.get("value", "")
            else:
                c.fail(f"{field}[{index}]", item, 'must be a {"name": ..., "value": ...} pair')
        value = pairs
    if not isinstance(value, Mapping):
        c.fail(field, value, "must be a dict of string to string")
        return value
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if is_number(item):
            item = format_number(item)
        result[key] = item
    return result


def normalize_str_list(c: Checker, field: str, value: Any) -> Any:
    """Return a list of strings from a list or tuple; a lone string is a mistake worth naming."""
    if value is None:
        return None
    if isinstance(value, str) and not is_unresolved(value):
        c.fail(field, value, "must be a list of strings, not one string (split it, e.g. with shlex.split)")
        return value
    if isinstance(value, (list, tuple)):
        return list(value)
    if is_unresolved(value):
        return value
    c.fail(field, value, "must be a list of strings")
    return value


# --- shared checks ---------------------------------------------------------------------------


def check_str_map(c: Checker, field: str, value: Any, what: str) -> None:
    """Check a normalized string map: non-empty string keys, string values."""
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        c.check(
            isinstance(key, str) and key != "",
            f"{field}[{key!r}]",
            key,
            f"{what} names are non-empty strings",
        )
        c.check(
            isinstance(item, str) or is_unresolved(item),
            f"{field}[{key!r}]",
            item,
            f"{what} values are strings",
        )


def check_environment(c: Checker, field: str, value: Any) -> None:
    """Check environment variables: string names and values, no name starting with AWS_BATCH."""
    check_str_map(c, field, value, "environment variable")
    if not isinstance(value, Mapping):
        return
    for key in value:
        if isinstance(key, str) and not is_unresolved(key):
            c.check(
                not key.startswith(AWS_RESERVED_ENV_PREFIX),
                f"{field}[{key!r}]",
                key,
                f"environment variable names must not start with {AWS_RESERVED_ENV_PREFIX!r} "
                "(reserved for the variables AWS Batch sets)",
            )


def looks_like_secret_name(name: str) -> bool:
    """Tell whether an environment variable's name says it holds a secret (``DB_PASSWORD``, ``apiToken``).

    The name (camelCase, ``-`` and ``.`` read as ``_``) must end with a word of
    :data:`SECRET_NAME_ENDINGS`: ``PGPASSWORD``, ``GITHUB_TOKEN``, ``STRIPE_API_KEY`` do, while
    ``DB_PASSWORD_FILE``, ``SECRET_ARN``, ``TOKEN_LIMIT`` or ``AWS_ACCESS_KEY_ID`` do not.
    """
    words = re.sub(r"[-.\s]+", "_", camel_to_snake(name)).upper()
    if words.endswith("PASSWORD"):
        return True
    return any(words.endswith("_" + ending) or (words == ending != "PWD") for ending in SECRET_NAME_ENDINGS)


def check_plaintext_secrets(
    c: Checker, field: str, environment: Any, not_secrets: Any, *, where: str, instead: str
) -> None:
    """Refuse a value in an environment variable whose name says it is a secret.

    AWS Batch stores environment values in plain text (``where`` says where, and who reads
    them), so a secret belongs in a reference (``instead``). An empty value, a Secrets
    Manager/SSM ARN (the code resolves it) and the names listed in ``not_secrets`` pass. The
    value itself is never put in the message.
    """
    if not isinstance(environment, Mapping):
        return
    allowed = set(not_secrets) if isinstance(not_secrets, (list, tuple)) else set()
    for name, value in environment.items():
        if not isinstance(name, str) or is_unresolved(name) or name in allowed:
            continue
        if not looks_like_secret_name(name) or value in (None, ""):
            continue
        if isinstance(value, str) and _SECRET_REFERENCE.fullmatch(value):
            continue
        if is_unresolved(value):
            shown: Any = value  # the template is no secret; what it renders to would be
        else:
            shown = f"<{len(value)} characters, not shown>" if isinstance(value, str) else "<not shown>"
        c.fail(
            f"{field}[{name!r}]",
            shown,
            f"{name!r} looks like a secret, and {where} stores environment values in plain text; "
            f"{instead}, or list {name!r} in not_secrets if it holds no secret",
        )


def check_not_secrets(c: Checker, field: str, value: Any) -> None:
    """Check the ``not_secrets`` list: names of variables that look like secrets but hold none."""
    check_str_list(c, field, value)


def check_str_list(c: Checker, field: str, value: Any, *, allow_empty_items: bool = True) -> None:
    """Check a normalized list of strings."""
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        if not c.check(isinstance(item, str), f"{field}[{index}]", item, "must be a string"):
            continue
        if not allow_empty_items:
            c.check(item != "", f"{field}[{index}]", item, "must not be an empty string (AWS rejects it)")


def check_bool(c: Checker, field: str, value: Any) -> None:
    """Check an optional flag is a bool."""
    if value is not None and not is_unresolved(value):
        c.check(isinstance(value, bool), field, value, "must be True or False")


def check_choice(c: Checker, field: str, value: Any, choices: Sequence[str]) -> None:
    """Check an optional enum value is one of ``choices``."""
    if value is not None and not is_unresolved(value):
        c.check(value in choices, field, value, f"must be one of {', '.join(choices)}")


def check_non_empty(c: Checker, field: str, value: Any) -> bool:
    """Check a required string is a non-empty string; return whether it is (skip run-time values)."""
    if value is not None and not isinstance(value, str) and is_unresolved(value):
        return False
    return c.check(isinstance(value, str) and value.strip() != "", field, value, "must be a non-empty string")


def check_role_arn(c: Checker, field: str, value: Any) -> None:
    """Check an optional IAM role ARN."""
    c.pattern(field, value, IAM_ROLE_ARN, IAM_ROLE_ARN_RULE)


def check_secret_map(c: Checker, field: str, value: Any) -> None:
    """Check a ``name -> valueFrom`` secrets map."""
    check_str_map(c, field, value, "secret")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str):
                c.pattern(f"{field}[{key!r}]", item, SECRET_SOURCE, SECRET_SOURCE_RULE)


def secrets_request(value: Any) -> list[dict[str, Any]] | None:
    """Return a ``name -> valueFrom`` map as AWS's sorted secret list."""
    if not isinstance(value, Mapping) or not value:
        return None
    return [{"name": name, "valueFrom": value[name]} for name in sorted(value, key=str)]


def environment_request(value: Any) -> list[dict[str, Any]] | None:
    """Return an environment dict as AWS's name/value list, sorted by name for a stable hash."""
    if not isinstance(value, Mapping) or not value:
        return None
    return [{"name": name, "value": value[name]} for name in sorted(value, key=str)]


def check_timeout(c: Checker, field: str, seconds: Any) -> None:
    """Check a job timeout: whole seconds, at least 60 (AWS Batch's minimum)."""
    if seconds is None or is_unresolved(seconds):
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        c.fail(field, seconds, "must be a whole number of seconds")
        return
    c.check(
        seconds >= MIN_TIMEOUT_SECONDS,
        field,
        seconds,
        f"must be at least {MIN_TIMEOUT_SECONDS} seconds (AWS Batch's minimum job timeout)",
    )


def timeout_request(seconds: Any) -> dict[str, Any] | None:
    """Return a timeout in seconds as AWS's ``{"attemptDurationSeconds": n}``."""
    return None if seconds is None else {"attemptDurationSeconds": seconds}


def request_of(value: Any) -> Any:
    """Return a nested spec's request; pass anything else (an unconverted input) through."""
    return value.to_request() if isinstance(value, BatchSpec) else value


def request_list(value: Any) -> list[Any] | None:
    """Return a list of nested specs as a list of requests; None when empty."""
    if not value:
        return None
    return [request_of(item) for item in value]


# --- retry strategy --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluateOnExit(BatchSpec):
    """Retry or fail a job when every condition given here matches how its attempt ended.

    :param action: ``"RETRY"`` or ``"EXIT"`` (any case).
    :param on_status_reason: glob on the job's status reason: letters, numbers, periods, colons
        and white space, optionally ending with ``*``; up to 512 characters.
    :param on_reason: glob on the container's reason, same rules.
    :param on_exit_code: glob on the exit code: digits, optionally ending with ``*``; an int is
        accepted too.
    """

    action: str
    on_status_reason: str | None = None
    on_reason: str | None = None
    on_exit_code: str | int | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("action", to_upper(self.action))
        if isinstance(self.on_exit_code, int) and not isinstance(self.on_exit_code, bool):
            self._replace_field("on_exit_code", str(self.on_exit_code))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "action", self.action, ("RETRY", "EXIT"))
        c.check(
            any(v is not None for v in (self.on_status_reason, self.on_reason, self.on_exit_code)),
            "",
            None,
            "give at least one condition: on_status_reason, on_reason or on_exit_code",
        )
        reason_rule = (
            "up to 512 letters, numbers, periods, colons and white space, optionally ending with '*'"
        )
        c.pattern("on_status_reason", self.on_status_reason, _REASON_GLOB, reason_rule)
        c.pattern("on_reason", self.on_reason, _REASON_GLOB, reason_rule)
        c.pattern(
            "on_exit_code",
            self.on_exit_code,  # type: ignore[arg-type]
            _EXIT_CODE_GLOB,
            "up to 512 digits, optionally ending with '*'",
        )

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "action": self.action,
                "onStatusReason": self.on_status_reason,
                "onReason": self.on_reason,
                "onExitCode": self.on_exit_code,
            }
        )


def _attempts_only(value: Any) -> RetryStrategy | None:
    value = to_int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        with deferred_validation():
            return RetryStrategy(attempts=value)
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryStrategy(BatchSpec):
    """Decide how many times AWS Batch moves a failed job back to RUNNABLE, and on which exits.

    :param attempts: 1 to 10 attempts in all.
    :param evaluate_on_exit: up to 5 rules (:class:`EvaluateOnExit` or dicts of their fields);
        the first that matches decides; when none matches, the job is retried.
    """

    attempts: int = 1
    evaluate_on_exit: Sequence[EvaluateOnExit | Mapping[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_value(cls, value: RetryStrategy | int | Mapping[str, Any]) -> RetryStrategy:
        """Build a retry strategy from a number of attempts, a dict, or a retry strategy."""
        if isinstance(value, RetryStrategy):
            return value
        if isinstance(value, Mapping):
            return cls(**{camel_to_snake(str(k)): v for k, v in value.items()})
        return cls(attempts=value)

    @classmethod
    def spot_reclaim(cls, attempts: int = 3, *, retry_exit_codes: Sequence[str | int] = ()) -> RetryStrategy:
        """Retry an attempt lost with its EC2 instance (a Spot reclaim); fail on the job's own errors.

        The rules, in order (the first that matches decides):

        1. ``RETRY`` when the status reason matches ``Host EC2*`` (AWS's reason when the instance
           of the attempt went away: ``Host EC2 (instance i-...) terminated.``);
        2. ``RETRY`` on each of ``retry_exit_codes`` (at most 2: AWS allows 5 rules);
        3. ``EXIT`` on any exit code: the job's own error is not retried;
        4. ``EXIT`` on any reason, the catch-all AWS documents (without it, a failure that no
           rule matches is retried).

        Rule 3 makes an application error exit even where a missing container reason does not
        match ``*`` (as in the local emulator).

        :param attempts: attempts in all, 1 to 10 (3: two reclaims survived).
        :param retry_exit_codes: exit codes (or ``"14*"`` globs) of the job's own that are worth
            another attempt, e.g. a transient download error.
        """
        rules: list[EvaluateOnExit | Mapping[str, Any]] = [
            {"action": "RETRY", "on_status_reason": SPOT_RECLAIM_STATUS_REASON}
        ]
        rules += [{"action": "RETRY", "on_exit_code": code} for code in retry_exit_codes]
        rules += [{"action": "EXIT", "on_exit_code": "*"}, {"action": "EXIT", "on_reason": "*"}]
        return cls(attempts=attempts, evaluate_on_exit=rules)

    def _normalize(self, c: Checker) -> None:
        self._replace_field("attempts", to_int(self.attempts))
        converted = coerce_spec_list(c, "evaluate_on_exit", self.evaluate_on_exit, EvaluateOnExit)
        self._replace_field("evaluate_on_exit", [] if converted is None else converted)

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.int_range("attempts", self.attempts, 1, 10)
        rules = self.evaluate_on_exit
        if isinstance(rules, list):
            c.check(len(rules) <= 5, "evaluate_on_exit", f"<{len(rules)} rules>", "at most 5 rules")
            for index, rule in enumerate(rules):
                if isinstance(rule, EvaluateOnExit):
                    rule.check_into(c.at(f"evaluate_on_exit[{index}]"), context)

    def to_request(self) -> dict[str, Any]:
        return drop_none({"attempts": self.attempts, "evaluateOnExit": request_list(self.evaluate_on_exit)})


def coerce_retry_strategy(c: Checker, field: str, value: Any) -> Any:
    """Return a retry strategy from a :class:`RetryStrategy`, a number of attempts or a dict."""
    return coerce_spec(c, field, value, RetryStrategy, from_scalar=_attempts_only)
