"""Cross-site request forgery protection for the view's actions (terminate a job, a queue's state).

Airflow 3's UI signs users in with a JWT that the browser keeps in the ``_token`` cookie
(``SameSite=Lax``); scripts send a JWT as ``Authorization: Bearer``. Which one names the user
when both come differs by release (``airflow.api_fastapi.core_api.security.get_user``: 3.2 and
later take the Bearer header; 3.1 takes the user its refresh middleware read from the cookie;
3.0 reads the header only). A browser attaches the cookie to requests other sites make it send,
so an action that trusted the cookie alone could be forged by any page the user visits. A
request that names its user in a Bearer header and carries no cookie cannot be: another site
can neither read a token nor make the browser add the header. So:

- an action with the ``_token`` cookie, or without a Bearer header (**cookie-authenticated**),
  must carry a **form token** (the confirmation page's hidden ``csrf_token`` field, or the
  ``X-CSRF-Token`` header for the JSON twins) that this module signed for that user, that action
  on that thing and connection, and that has not expired; and its ``Origin`` (else ``Referer``),
  when the browser sends one, must be this server's host (the ``Host`` header, or the host of
  ``[api] base_url``);
- an action with a Bearer header and no ``_token`` cookie (a script) needs neither.

Tokens are HMAC-SHA256 signatures keyed by a secret derived from ``[api_auth] jwt_secret`` (the
secret every api-server worker shares already), else from the ``[api_auth] jwt_private_key_path``
key, else a random secret of this process (then a token works on the worker that issued it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from fastapi import Request

#: The form field and the header a cookie-authenticated action carries its token in.
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
#: How long a token stays valid: long enough to read a confirmation page, not a day.
TOKEN_SECONDS = 3600


@functools.cache
def _key() -> bytes:
    """The signing key (see the module); derived, so the JWT secret itself never signs a form."""
    from airflow.providers.common.compat.sdk import conf

    secret = conf.get("api_auth", "jwt_secret", fallback=None) or ""
    if not secret:
        path = conf.get("api_auth", "jwt_private_key_path", fallback=None)
        if path and Path(path).is_file():
            secret = Path(path).read_text()
    material = secret.encode() if secret else os.urandom(32)
    return hashlib.sha256(b"airflow-batch-plugin view actions\n" + material).digest()


def _signature(user_id: str, purpose: str, expires: int) -> str:
    message = f"{user_id}\n{purpose}\n{expires}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def issue(user_id: str, purpose: str, now: float | None = None) -> str:
    """A token for ``user_id`` to do ``purpose`` (e.g. ``terminate-job:aws_default:<job id>``)."""
    expires = int(now if now is not None else time.time()) + TOKEN_SECONDS
    return f"{expires}.{_signature(user_id, purpose, expires)}"


def valid(token: str | None, user_id: str, purpose: str, now: float | None = None) -> bool:
    """Whether ``token`` was issued for this user and purpose and has not expired."""
    expires_text, _, signature = (token or "").partition(".")
    if not expires_text.isdigit() or not signature:
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature, _signature(user_id, purpose, expires))


#: The cookie Airflow's UI keeps its JWT in (``COOKIE_NAME_JWT_TOKEN`` in every 3.x release).
SESSION_COOKIE = "_token"


def bearer_only(request: Request) -> bool:
    """Whether the request names its user with ``Authorization: Bearer`` and carries no session
    cookie (so no browser could have sent it on another site's behalf)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = scheme.lower() == "bearer" and bool(credentials.strip())
    return bearer and SESSION_COOKIE not in request.cookies


def _hosts(request: Request) -> set[str]:
    """The hosts (``name[:port]``) this server answers as: the Host header, ``[api] base_url``."""
    from airflow.providers.common.compat.sdk import conf

    hosts = {request.headers.get("host", "").lower()}
    base_url = conf.get("api", "base_url", fallback=None)
    if base_url:
        hosts.add(urlsplit(str(base_url)).netloc.lower())
    return {host for host in hosts if host}


def same_origin(request: Request) -> bool:
    """Whether the request's ``Origin`` (else ``Referer``) is this server; True when it sends neither."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # no browser omits both on a POST it makes for a page; the token still decides
    return urlsplit(origin).netloc.lower() in _hosts(request)


def refusal(request: Request, token: str | None, user_id: str, purpose: str) -> str | None:
    """Why a request for an action looks forged (the 403's detail), or None when it does not."""
    if bearer_only(request):
        return None
    if not same_origin(request):
        return "this action was requested from another site (Origin/Referer is not this server)"
    if not valid(token, user_id, purpose):
        return (
            f"this action needs the form token of its confirmation page ({FORM_FIELD}, or the {HEADER} "
            "header), signed for you and not expired: open the confirmation page again"
        )
    return None
