"""Role checks, password hashing, login rate limiting and HTTP security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Response, abort, jsonify, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = ("agent", "supervisor", "admin")
STAFF = ("supervisor", "admin")
_hasher = PasswordHasher()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "text/event-stream"


def roles_required(*roles: str) -> Callable[[F], F]:
    """Every view carries this (tests walk url_map to prove it): 401/redirect, then 403."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if _wants_json():
                    from flask_babel import gettext as _

                    return jsonify(error=_("Log in to see this page.")), 401
                from flask import redirect, url_for

                return redirect(url_for("auth.login", next=request.full_path))
            if current_user.role not in allowed:
                if _wants_json():
                    from flask_babel import gettext as _

                    return jsonify(
                        error=_(
                            "Your account may not open this page. Ask a supervisor or an administrator if you need it."
                        )
                    ), 403
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Marks a view as deliberately open (login, health); the route audit test allows only these."""
    view.public = True  # type: ignore[attr-defined]
    return view


def set_security_headers(resp: Response) -> Response:
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if resp.mimetype == "text/html":
        h.setdefault("Cache-Control", "no-store")
    return resp
