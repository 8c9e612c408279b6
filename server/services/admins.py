"""Admin accounts and their sign-in sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from server.core.errors import Conflict, InvalidInput, Unauthenticated
from server.core.tokens import new_token, token_hash
from server.db.database import Database
from server.db.models import Admin, AdminSession, Organisation
from server.db.types import utcnow
from server.services.sign_in_throttle import SignInThrottle
from sync_protocol.errors import ErrorCode

SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
# Verifying against a real hash when the email is unknown keeps timing from revealing accounts.
_DUMMY_HASH = _hasher.hash("not-a-password")


@dataclass(frozen=True)
class AdminPrincipal:
    admin_id: uuid.UUID
    organisation_id: uuid.UUID
    email: str


@dataclass(frozen=True)
class OpenedSession:
    token: str
    principal: AdminPrincipal


class AdminService:
    def __init__(self, database: Database, throttle: SignInThrottle | None = None) -> None:
        self._db = database
        self.throttle = throttle or SignInThrottle(database)

    async def create_admin(self, email: str, password: str, organisation_name: str) -> AdminPrincipal:
        """Creates the admin, and their organisation if no organisation has that name yet."""
        email = email.strip().lower()
        if "@" not in email:
            raise InvalidInput("email must be an email address", field="email")
        if len(password) < 8:
            raise InvalidInput("password must have at least 8 characters", field="password")
        async with self._db.transaction() as session:
            if await session.scalar(select(Admin.id).where(Admin.email == email)):
                raise Conflict(f"an admin with email {email} exists already", code=ErrorCode.ADMIN_EXISTS)
            organisation = await session.scalar(
                select(Organisation).where(Organisation.name == organisation_name)
            )
            if organisation is None:
                organisation = Organisation(name=organisation_name)
                session.add(organisation)
                await session.flush()
            admin = Admin(organisation_id=organisation.id, email=email, password_hash=_hasher.hash(password))
            session.add(admin)
            await session.flush()
            return AdminPrincipal(admin.id, organisation.id, email)

    async def sign_in(self, email: str, password: str, source: str = "") -> OpenedSession:
        """Opens a session; ``source`` (the client's address) keys the lockout after repeated failures."""
        email = email.strip().lower()
        await self.throttle.check(email, source)
        async with self._db.sessions() as session:
            admin = await session.scalar(select(Admin).where(Admin.email == email))
        if not _password_matches(admin.password_hash if admin else _DUMMY_HASH, password) or admin is None:
            await self.throttle.failed(email, source)
            raise Unauthenticated("email or password is wrong", code=ErrorCode.BAD_CREDENTIALS)
        await self.throttle.succeeded(email, source)
        async with self._db.transaction() as session:
            token = new_token("ls_sess")
            session.add(
                AdminSession(
                    admin_id=admin.id, token_hash=token_hash(token), expires_at=utcnow() + SESSION_LIFETIME
                )
            )
            return OpenedSession(token, AdminPrincipal(admin.id, admin.organisation_id, admin.email))

    async def resolve(self, token: str) -> AdminPrincipal:
        async with self._db.reads() as session:
            row = (
                await session.execute(
                    select(Admin.id, Admin.organisation_id, Admin.email)
                    .join(AdminSession, AdminSession.admin_id == Admin.id)
                    .where(AdminSession.token_hash == token_hash(token), AdminSession.expires_at > utcnow())
                )
            ).one_or_none()
        if row is None:
            raise Unauthenticated(
                "sign in first: the session is missing or has expired", code=ErrorCode.SESSION_REQUIRED
            )
        return AdminPrincipal(row.id, row.organisation_id, row.email)

    async def sign_out(self, token: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash(token)))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
