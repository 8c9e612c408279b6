"""The Accounting API client: one tenant, its tokens and its limiter; retries, paging, exact decoding.

    client = XeroClient(http, settings.xero_api_url, tenant_id, tokens, limiter)
    rates = await client.get("/TaxRates", wire.TaxRates)
    contacts = await client.get("/Contacts", wire.Contacts, params={...}, modified_since=hwm)
    result = await client.write("PUT", "/Invoices", body, wire.Invoices, idempotency_key=outbox_id)

Reads are retried on 5xx and transport failures with exponential backoff and jitter. Writes carry an
``Idempotency-Key`` (the caller's, stable across retries and restarts, or a fresh one), so Xero
answers a repeat with the first result: they are retried the same way. 429s pause the tenant's
limiter for ``Retry-After`` and try again while the wait is short. A 401 refreshes the access token
once (single-flight, in ``TokenSource``); a 403 AuthenticationUnsuccessful or a failed refresh means
the admin must reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import httpx
import msgspec

from server.xero import dates, wire
from server.xero.errors import (
    AuthError,
    ElementError,
    NeedsReconnect,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
    XeroError,
)
from server.xero.rate_limit import TenantLimiter

T = TypeVar("T")
_EXPIRED_REFRESHES = 3  # fresh tokens tried while Xero answers TokenExpired

log = logging.getLogger("ledgersync.xero")

PAGE_SIZE = 1000


@dataclass(frozen=True)
class AccessToken:
    value: str
    version: int


class TokenSource(Protocol):
    """Where a client gets its access token; implemented per organisation by the token store."""

    async def current(self) -> AccessToken:
        """A token fresh enough to use now (refreshed ahead of expiry)."""

    async def refreshed(self, stale: AccessToken) -> AccessToken:
        """A token newer than ``stale``: refresh it, unless someone already did."""

    async def lost(self, reason: str) -> None:
        """Xero no longer accepts this connection: mark it as needing a reconnect."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries per request for 5xx / transport failures
    backoff: float = 0.5  # first wait; doubles each time, plus up to 100% jitter
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # longer 429 waits are handed to the caller (RateLimited)
    rate_limited_attempts: int = 5


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(30.0, connect=10.0)


class XeroClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        tenant_id: str,
        tokens: TokenSource,
        limiter: TenantLimiter,
        retry: RetryPolicy = RetryPolicy(),
        use_reserve: bool = False,
    ) -> None:
        self._http = http
        self._base = api_url.rstrip("/") + "/api.xro/2.0"
        self.tenant_id = tenant_id
        self._tokens = tokens
        self._limiter = limiter
        self._retry = retry
        self._use_reserve = use_reserve
        self.calls = 0  # requests actually sent to Xero through this client

    async def get(
        self,
        path: str,
        kind: type[T],
        *,
        params: dict[str, str] | None = None,
        modified_since: datetime | None = None,
    ) -> T:
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = dates.http_date(modified_since)
        response = await self._send("GET", path, params or {}, headers, None, retry=True)
        return wire.decode(response.content, kind)

    async def write(
        self,
        method: str,
        path: str,
        body: Any,
        kind: type[T],
        *,
        idempotency_key: str | None = None,
        params: dict[str, str] | None = None,
        retry_unanswered: bool = True,
    ) -> T:
        """PUT/POST with ``summarizeErrors=false``: the answer has one result per element.

        ``body``: what ``wire.encode`` makes JSON of, or its bytes already encoded (a caller that
        keys the request by its content encodes it once, for both).
        Check each element's ``status_attribute_string``/``validation_errors`` (``element_errors``).
        A 400 for the request as a whole raises ValidationError. ``retry_unanswered=False``: a
        transport failure or 5xx is raised at once, for callers that must look in Xero before
        sending again (the repeat's idempotency key may have expired).
        """
        query = {"summarizeErrors": "false", **(params or {})}
        headers = {
            "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        content = body if isinstance(body, bytes) else wire.encode(body)
        response = await self._send(method, path, query, headers, content, retry=retry_unanswered)
        return wire.decode(response.content, kind)

    async def act(self, method: str, path: str, body: bytes, *, idempotency_key: str) -> None:
        """A write Xero answers with 204 and no body (``POST /Invoices/{id}/Email``). A transport
        failure or 5xx is raised at once, never retried here: the caller looks in Xero first."""
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        await self._send(method, path, {}, headers, body, retry=False)

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: dict[str, str],
        content: bytes | None,
        *,
        retry: bool,
    ) -> httpx.Response:
        failures = 0
        limited = 0
        token = await self._tokens.current()
        refreshes = 0
        while True:
            request_headers = {
                **headers,
                "Authorization": f"Bearer {token.value}",
                "Xero-tenant-id": self.tenant_id,
                "Accept": "application/json",
            }
            try:
                async with self._limiter.slot(self._use_reserve):
                    self.calls += 1
                    response = await self._http.request(
                        method, self._base + path, params=params, headers=request_headers, content=content
                    )
                    # Told inside the slot: a shared limiter stores both as the call ends.
                    self._limiter.observe(response.headers)
                    if response.status_code == 429:
                        self._limiter.pause(_retry_after(response))
            except httpx.HTTPError as exc:
                failures += 1
                if not retry or failures >= self._retry.attempts:
                    raise TransportError(
                        f"Xero did not answer {method} {path}: {type(exc).__name__}"
                    ) from exc
                await self._backoff(failures)
                continue
            status = response.status_code
            if status < 300:
                return response
            detail = _problem_detail(response) if status in (401, 403) else ""
            # A fresh token once; again while Xero says the token expired: one refreshed a moment ago
            # can still expire in flight (a loaded machine, the sandbox's fast clock). The grant is
            # fine then, so that alone never marks the connection lost.
            expired = status == 401 and "TokenExpired" in detail
            if status == 401 and (refreshes == 0 or (expired and refreshes < _EXPIRED_REFRESHES)):
                refreshes += 1
                token = await self._tokens.refreshed(token)
                continue
            if expired:
                raise AuthError(f"Xero kept refusing fresh tokens as expired: {detail}", status=status)
            if status in (401, 403):
                if status == 401 or "AuthenticationUnsuccessful" in detail:
                    await self._tokens.lost(f"Xero answered {status}: {detail}")
                    raise NeedsReconnect(f"Xero refused this connection: {detail}", status=status)
                raise AuthError(f"Xero refused {method} {path}: {detail}", status=status)
            if status == 429:
                wait = _retry_after(response)  # the limiter paused the tenant for it
                limited += 1
                problem = response.headers.get("x-rate-limit-problem", "")
                if wait > self._retry.max_retry_after or limited >= self._retry.rate_limited_attempts:
                    raise RateLimited(
                        f"Xero's {problem or 'rate'} limit was hit", retry_after=wait, problem=problem
                    )
                log.info("xero rate limited", extra={"problem": problem, "retry_after": wait, "path": path})
                continue
            if status >= 500:
                failures += 1
                if not retry or failures >= self._retry.attempts:
                    raise ServerError(f"Xero failed {method} {path}: {_text(response)}", status=status)
                await self._backoff(failures)
                continue
            if status == 404:
                raise NotFound(f"{method} {path}: not found in Xero", status=404)
            if status == 400:
                raise _validation_error(response)
            raise XeroError(f"Xero answered {status} to {method} {path}: {_text(response)}", status=status)

    async def _backoff(self, failures: int) -> None:
        base = min(self._retry.max_backoff, self._retry.backoff * 2 ** (failures - 1))
        await asyncio.sleep(base + random.uniform(0, base))


def element_errors(elements: list[Any]) -> list[ElementError]:
    """The refused elements of a ``summarizeErrors=false`` batch (structs with validation_errors)."""
    found = []
    for index, element in enumerate(elements):
        messages = [m.message for m in getattr(element, "validation_errors", [])]
        if messages or getattr(element, "status_attribute_string", None) == "ERROR":
            found.append(ElementError(index=index, messages=messages))
    return found


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def _text(response: httpx.Response) -> str:
    return response.text[:300]


def _problem_detail(response: httpx.Response) -> str:
    """Detail (else Title) of the gateway's problem body, whose keys Xero sends in either case
    (``Detail`` or ``detail``)."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return _text(response)
    if not isinstance(body, dict):
        return _text(response)
    problem = wire.ProblemBody(
        **{key.lower(): value for key, value in body.items() if key.lower() in _PROBLEM_KEYS}
    )
    return str(problem.detail or problem.title or "")


_PROBLEM_KEYS = frozenset({"title", "detail", "status"})


def _validation_error(response: httpx.Response) -> ValidationError:
    try:
        body = wire.decode(response.content, wire.ApiErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ValidationError(f"Xero refused the request: {_text(response)}", elements=[])
    elements = []
    for index, element in enumerate(body.elements):
        messages = [
            str(error.get("Message", ""))
            for error in element.get("ValidationErrors", [])
            if isinstance(error, dict)
        ]
        reference = next(
            (
                str(element[key])
                for key in ("ContactID", "InvoiceID", "PaymentID", "ItemID")
                if element.get(key)
            ),
            None,
        )
        elements.append(ElementError(index=index, messages=messages, reference=reference, element=element))
    return ValidationError(body.message or "Xero refused the request", elements=elements)
