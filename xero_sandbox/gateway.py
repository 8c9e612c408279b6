"""The path every Accounting API call takes: faults, auth, tenant, limits, idempotency, the operation.

Operations are plain functions ``(sandbox, call) -> Outcome`` run under the state lock; everything
Xero's gateway does around them lives here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request

from . import scopes
from .errors import BadRequest, Forbidden, InjectedFault, PostDataInvalid, SandboxError, ScopeRefused
from .idempotency import IdempotencyStore, fingerprint
from .limits import Remaining
from .responses import JSON, TEXT, Reply, error_reply
from .sandbox import Sandbox
from .store import Organisation, new_id
from .wire import WireError, decode_json, encode_json, envelope_msdate, parse_bool

DROP_KEY = "xero_sandbox.drop_response"


@dataclass
class Call:
    """One API request as the operations see it."""

    method: str
    path: str
    path_params: Mapping[str, Any]
    params: Mapping[str, str]  # query parameters, names lower-cased (Xero ignores their case)
    headers: Mapping[str, str]
    body: bytes
    org: Organisation
    now: datetime
    keep_invoice_url: bool = True

    def json(self) -> Any:
        if not self.body.strip():
            raise PostDataInvalid("the request body is empty.")
        try:
            return decode_json(self.body)
        except WireError as exc:
            raise PostDataInvalid(str(exc)) from exc

    def flag(self, name: str, default: bool = False) -> bool:
        try:
            return parse_bool(self.params.get(name.lower()), default)
        except WireError as exc:
            raise BadRequest(str(exc)) from exc

    @property
    def unitdp(self) -> int:
        return 4 if self.params.get("unitdp") == "4" else 2


@dataclass
class Outcome:
    status: int = 200
    body: Any = None
    changes: list[dict[str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (category, id, CREATE/UPDATE)


Operation = Callable[[Sandbox, Call], Outcome]


def envelope(sandbox: Sandbox, now: datetime, **collections: Any) -> dict[str, Any]:
    return {
        "Id": new_id(),
        "Status": "OK",
        "ProviderName": sandbox.config.provider_name,
        "DateTimeUTC": envelope_msdate(now),
        **collections,
    }


def _accepts_json(headers: Mapping[str, str]) -> bool:
    # Xero answers XML unless asked for JSON; the sandbox speaks JSON only, so it insists on being asked.
    return "json" in headers.get("accept", "").lower()


def _resource(route: str) -> str:
    """``"GET /api.xro/2.0/Contacts/{contact_id:str}"`` -> ``"Contacts"``."""
    parts = route.split(" ", 1)[-1].split("/")
    return parts[3] if len(parts) > 3 else ""


async def serve(
    sandbox: Sandbox, request: Request[Any, Any, Any], route: str, operation: Operation, write: bool
) -> Reply:
    sandbox.state.record_call(route)
    headers = {key.lower(): value for key, value in request.headers.items()}
    tenant_id = headers.get("xero-tenant-id", "").strip().lower()
    remaining: Remaining | None = None
    try:
        with sandbox.locked() as state:
            grant = sandbox.identity.grant_for(headers.get("authorization"))
            if not scopes.allows(grant.scope, _resource(route), write):
                raise ScopeRefused()
            sandbox.identity.connection_for(grant, tenant_id)
            org = state.organisation(tenant_id)
            if org is None:
                raise Forbidden("AuthenticationUnsuccessful")
            remaining = sandbox.limiter.acquire(org.tenant_id)
        try:
            reply = await _limited(sandbox, request, headers, org, route, operation, write)
        finally:
            sandbox.limiter.release(org.tenant_id, remaining.call)
    except SandboxError as error:
        reply = error_reply(error, sandbox.config.lowercase_problems)
    if remaining is not None or tenant_id:
        reply.headers.update((remaining or sandbox.limiter.remaining(tenant_id)).headers())
    return reply


async def _limited(
    sandbox: Sandbox,
    request: Request[Any, Any, Any],
    headers: dict[str, str],
    org: Organisation,
    route: str,
    operation: Operation,
    write: bool,
) -> Reply:
    method = request.method.upper()
    path = request.url.path
    latency = sandbox.faults.take("latency", method, path)
    if latency is not None:
        await asyncio.sleep(latency.spec.seconds)
    injected = sandbox.faults.take("status", method, path)
    if injected is not None:
        raise InjectedFault(injected.spec.status)
    if not _accepts_json(headers):
        return Reply(
            406,
            b"The sandbox answers JSON only: send Accept: application/json (Xero would answer XML).",
            TEXT,
        )
    body = await request.body()
    key = headers.get("idempotency-key") if write else None
    query = request.url.query or ""
    print_ = ""
    if key is not None:
        IdempotencyStore.check_key(key)
        print_ = fingerprint(method, path, query, body)
    with sandbox.locked():
        if key is not None:
            stored = sandbox.idempotency.lookup(org.tenant_id, key, print_)
            if stored is not None:
                _ledger(sandbox, org, request, key, body, stored.status, [], replayed=True)
                return Reply(stored.status, stored.body, JSON)
        call = Call(
            method=method,
            path=path,
            path_params=request.path_params,
            params={k.lower(): v for k, v in request.query_params.items()},
            headers=headers,
            body=body,
            org=org,
            now=sandbox.now(),
            keep_invoice_url=sandbox.config.keep_invoice_url,
        )
        try:
            outcome = operation(sandbox, call)
            reply = (
                Reply(outcome.status, b"", JSON)
                if outcome.body is None
                else Reply(outcome.status, encode_json(outcome.body), JSON)
            )
        except SandboxError as error:
            outcome = Outcome(status=0)
            reply = error_reply(error)
        if write:
            if key is not None and reply.status < 500:
                sandbox.idempotency.save(org.tenant_id, key, print_, reply.status, reply.body)
            _ledger(sandbox, org, request, key, body, reply.status, outcome.changes, replayed=False)
        for category, resource_id, event_type in outcome.events:
            sandbox.notify(org.tenant_id, category, resource_id, event_type)
    if write and outcome.changes and sandbox.faults.take("drop", method, path) is not None:
        # Committed; now make the caller never hear about it (see app.drop_responses).
        request.scope[DROP_KEY] = True  # type: ignore[literal-required]
    return reply


def _ledger(
    sandbox: Sandbox,
    org: Organisation,
    request: Request[Any, Any, Any],
    key: str | None,
    body: bytes,
    status: int,
    changes: list[dict[str, str]],
    replayed: bool,
) -> None:
    try:
        parsed: Any = decode_json(body) if body.strip() else None
    except WireError:
        parsed = body.decode(errors="replace")
    sandbox.state.add_ledger(
        at=sandbox.now(),
        tenant_id=org.tenant_id,
        method=request.method.upper(),
        path=request.url.path,
        query=request.url.query or "",
        idempotency_key=key,
        request=parsed,
        status=status,
        changes=changes,
        replayed=replayed,
    )
