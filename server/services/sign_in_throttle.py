"""Slowing down password guessing: after a few consecutive failures of one email from one address,
sign-ins from there are refused for a while, longer with every further failure.

The lock is checked before the password, so guesses made while locked out cost nothing and tell
nothing. Keyed by email and address (``sign_in_failures``): an attacker elsewhere cannot lock an
admin out of their own desk, and unknown emails are throttled exactly like known ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from server.core.errors import RateLimited
from server.db.admin_models import SignInFailure
from server.db.database import Database
from server.db.types import utcnow
from sync_protocol.errors import ErrorCode


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 5  # failures allowed before the first lockout
    first_lockout: timedelta = timedelta(minutes=1)  # doubled with each failure after that
    longest_lockout: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(hours=24)  # a failure streak older than this starts over

    def lockout_after(self, failures: int) -> timedelta | None:
        beyond = failures - self.free_failures
        if beyond < 0:
            return None
        lockout: timedelta = min(self.first_lockout * (2 ** min(beyond, 20)), self.longest_lockout)
        return lockout


class SignInThrottle:
    def __init__(self, database: Database, policy: LockoutPolicy | None = None) -> None:
        self._db = database
        self.policy = policy or LockoutPolicy()

    async def check(self, email: str, source: str) -> None:
        """Raises ``RateLimited`` while this email is locked out from this address."""
        async with self._db.sessions() as session:
            locked_until = await session.scalar(
                select(SignInFailure.locked_until).where(
                    SignInFailure.email == email, SignInFailure.source == source
                )
            )
        now = utcnow()
        if locked_until is not None and locked_until > now:
            wait = (locked_until - now).total_seconds()
            raise RateLimited(
                f"too many failed sign-ins; try again in {_in_words(wait)}",
                retry_after=wait,
                code=ErrorCode.SIGN_IN_LOCKED,
            )

    async def failed(self, email: str, source: str) -> datetime | None:
        """Counts a failure; returns until when the email is now locked out from this address."""
        for _attempt in range(2):  # a concurrent first failure may insert the row under us
            try:
                return await self._count_failure(email, source)
            except IntegrityError:
                continue
        return None

    async def _count_failure(self, email: str, source: str) -> datetime | None:
        now = utcnow()
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(SignInFailure)
                .where(SignInFailure.email == email, SignInFailure.source == source)
                .with_for_update()
            )
            if row is None:
                row = SignInFailure(email=email, source=source, failures=0)
                session.add(row)
            elif row.last_failed_at < now - self.policy.forget_after:
                row.failures = 0
            row.failures += 1
            row.last_failed_at = now
            lockout = self.policy.lockout_after(row.failures)
            row.locked_until = now + lockout if lockout else None
            return row.locked_until

    async def succeeded(self, email: str, source: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                delete(SignInFailure).where(SignInFailure.email == email, SignInFailure.source == source)
            )


def _in_words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
