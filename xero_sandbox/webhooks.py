"""Xero-style webhooks: signed event batches and the intent-to-receive check.

Xero signs the raw body: ``x-xero-signature = base64(HMAC-SHA256(webhook key, body))``. Its
intent-to-receive check sends an event-less payload once with a wrong signature (the receiver must answer
401) and once correctly signed (must answer 200); the subscription is only enabled if both are right.

Deliveries are batched as Xero's are: several events in one payload, numbered by the subscription's
event sequence (``firstEventSequence``..``lastEventSequence``, contiguous from one delivery to the next),
with a random ``entropy``. The intent-to-receive payloads carry no events and sequence 0, exactly as
Xero's documentation shows them ("Configuring your server").

A delivery that gets no 200 within Xero's 5 s (an error status, a refused or timed-out connection, a slow
answer) is sent again, the same body, after each of ``retry_seconds`` in turn (a growing backoff, as
Xero retries "with decreasing frequency"), until one gets its 200.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .wire import encode_json

CATEGORY_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices"}
# Xero expects the receiver's 200 within 5 seconds; a later answer counts as none.
ANSWER_WITHIN_SECONDS = 5.0
_ENTROPY_LETTERS = string.ascii_uppercase


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(tenant_id: str, category: str, resource_id: str, event_type: str, at: datetime) -> dict[str, Any]:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/{CATEGORY_PATHS[category]}/{resource_id}",
        "resourceId": resource_id,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
        "eventCategory": category,
        "eventType": event_type,
        "eventDateUtc": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
    }


@dataclass
class Delivery:
    at: datetime
    body: dict[str, Any]
    signature_valid: bool
    status: int | None
    error: str | None = None
    attempt: int = 1  # 2, 3, ...: a retry of the same body


@dataclass
class WebhookSender:
    url: str | None
    key: str | None
    sequence: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    retry_seconds: tuple[float, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.url and self.key)

    def payload(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One delivery's body; numbers ``events`` on from the last delivery (no events: sequence 0)."""
        if events:
            first = self.sequence + 1
            self.sequence += len(events)
            last = self.sequence
        else:
            first = last = 0
        return {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": last,
            "entropy": "".join(secrets.choice(_ENTROPY_LETTERS) for _ in range(20)),
        }

    async def post(
        self, body: dict[str, Any], at: datetime, valid_signature: bool = True, attempt: int = 1
    ) -> Delivery:
        if not self.url or not self.key:
            raise ValueError("no webhook url/key configured")
        raw = encode_json(body)
        key = self.key if valid_signature else secrets.token_urlsafe(24)
        headers = {"Content-Type": "application/json", "x-xero-signature": sign(key, raw)}
        try:
            async with httpx.AsyncClient(timeout=ANSWER_WITHIN_SECONDS) as client:
                response = await client.post(self.url, content=raw, headers=headers)
            delivery = Delivery(
                at=at,
                body=body,
                signature_valid=valid_signature,
                status=response.status_code,
                attempt=attempt,
            )
        except httpx.HTTPError as exc:
            delivery = Delivery(
                at=at,
                body=body,
                signature_valid=valid_signature,
                status=None,
                error=str(exc) or type(exc).__name__,
                attempt=attempt,
            )
        self.deliveries.append(delivery)
        return delivery

    async def send(self, events: list[dict[str, Any]], at: datetime) -> Delivery:
        return await self.post(self.payload(events), at)

    async def redeliver(self, first: Delivery, now: Callable[[], datetime]) -> Delivery:
        """Sends ``first``'s body again with backoff until it gets a 200 (or the retries run out)."""
        delivery = first
        for attempt, delay in enumerate(self.retry_seconds, start=2):
            if delivery.status == 200:
                break
            await asyncio.sleep(delay)
            delivery = await self.post(first.body, now(), attempt=attempt)
        return delivery

    async def intent_to_receive(self, at: datetime) -> dict[str, Any]:
        bad = await self.post(self.payload([]), at, valid_signature=False)
        good = await self.post(self.payload([]), at, valid_signature=True)
        return {
            "invalid_signature_status": bad.status,
            "valid_signature_status": good.status,
            "passed": bad.status == 401 and good.status == 200,
        }
