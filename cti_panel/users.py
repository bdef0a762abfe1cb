"""Panel accounts: the flask-login user object and account creation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import select
from sqlalchemy.orm import Session

from cti_panel.security import hash_password
from servicedesk.models import PanelUser

ROLES = ("agent", "supervisor", "admin")


@dataclass
class LoginUser(UserMixin):
    """A detached snapshot of PanelUser, so views never lazy-load after the session closes."""

    id: int
    username: str
    role: str
    agent_login: str | None
    language: str
    active: bool
    fingerprint: str = ""

    def get_id(self) -> str:
        """'id:fingerprint': a session ends when the password changes (a reset by an
        administrator logs out every open session of that account)."""
        return f"{self.id}:{self.fingerprint}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @classmethod
    def from_model(cls, u: PanelUser) -> LoginUser:
        return cls(u.id, u.username, u.role, u.agent_login, u.language, u.active, fingerprint(u))


def fingerprint(u: PanelUser) -> str:
    return hashlib.sha256(u.password_hash.encode()).hexdigest()[:16]


def load_session_user(session_id: str) -> LoginUser | None:
    """The account behind a session, if it is still active and its password unchanged."""
    from cti_panel.context import db
    from cti_panel.params import BadNumber, parse_id

    raw_id, _sep, print_ = session_id.partition(":")
    try:
        uid = parse_id(raw_id, "user")
    except BadNumber:
        return None
    user = db().get(PanelUser, uid) if uid is not None else None
    if user is None or not user.active or print_ != fingerprint(user):
        return None
    return LoginUser.from_model(user)


def ensure_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    agent_login: str | None = None,
    language: str = "es",
) -> PanelUser:
    """Create or update an account (idempotent, used by the demo seed and `centralita panel user`)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = session.scalar(select(PanelUser).where(PanelUser.username == username))
    if user is None:
        user = PanelUser(username=username, password_hash="", role=role)
        session.add(user)
    user.password_hash = hash_password(password)
    user.role = role
    user.agent_login = agent_login
    user.language = language
    user.active = True
    session.flush()
    return user
