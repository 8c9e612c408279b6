"""The control API under /_sandbox: seed organisations, act as a Xero user, read the ledger, set faults.

Only mounted when ``config.control_api_enabled`` (demo and tests). Bodies and answers are JSON.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Literal

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath, FromQuery

from . import contacts, invoices, items, payments, tracking
from .faults import FaultSpec
from .money import TaxRounding
from .reference import tax_rate_wire
from .sandbox import Sandbox
from .scopes import DEFAULT_SCOPE
from .wire import encode_json, msdate


class NewOrganisation(msgspec.Struct, kw_only=True):
    name: str = "Demo Company (NZ)"
    region: Literal["NZ", "AU", "UK"] = "NZ"
    seed: int = 1
    contacts: int = 10
    items: int = 10


class NewClient(msgspec.Struct, kw_only=True):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = msgspec.field(default_factory=list)
    broad_scopes: bool = False  # an app created before March 2026 (may ask for accounting.transactions)


class TokenRequest(msgspec.Struct, kw_only=True):
    client_id: str
    tenant_ids: list[str] | None = None
    scope: str = DEFAULT_SCOPE


class Advance(msgspec.Struct, kw_only=True):
    seconds: float


class SeedContacts(msgspec.Struct, kw_only=True):
    count: int
    seed: int = 1


class UserPayment(msgspec.Struct, kw_only=True):
    amount: str
    account_code: str = "090"
    date: str | None = None


class WebhookEvent(msgspec.Struct, kw_only=True):
    tenant_id: str
    category: Literal["CONTACT", "INVOICE"]
    resource_id: str
    event_type: Literal["CREATE", "UPDATE"] = "UPDATE"


class TaxRules(msgspec.Struct, kw_only=True):
    rounding: TaxRounding | None = None
    # False: a line's given TaxAmount is dropped and the tax computed, as a client that never sent it.
    keep_given_tax: bool | None = None


class NewTrackingCategory(msgspec.Struct, kw_only=True):
    Name: str
    Options: list[str] = msgspec.field(default_factory=list)


class Named(msgspec.Struct, kw_only=True):
    Name: str


class StatusChange(msgspec.Struct, kw_only=True):
    Status: str


class Revoke(msgspec.Struct, kw_only=True):
    client_id: str | None = None


def _sandbox(request: Request[Any, Any, Any]) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(encode_json(body), status_code=status, media_type="application/json")


async def _body(request: Request[Any, Any, Any], kind: type[Any]) -> Any:
    raw = await request.body()
    return msgspec.json.decode(raw or b"{}", type=kind)


@get("/", sync_to_thread=False)
def index() -> Response[bytes]:
    return _json({"endpoints": [f"{method} /_sandbox{path}" for method, path in ENDPOINTS]})


@post("/organisations")
async def create_organisation(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: NewOrganisation = await _body(request, NewOrganisation)
    started = time.perf_counter()
    org = _sandbox(request).create_organisation(spec.name, spec.region, spec.seed, spec.contacts, spec.items)
    return _json(
        {
            "tenantId": org.tenant_id,
            "name": org.name,
            "region": org.region,
            "contacts": len(org.contacts),
            "items": len(org.items),
            "seconds": round(time.perf_counter() - started, 3),
        },
        201,
    )


@get("/organisations", sync_to_thread=False)
def list_organisations(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _json(
        [
            {
                "tenantId": org.tenant_id,
                "name": org.name,
                "region": org.region,
                "contacts": len(org.contacts),
                "items": len(org.items),
                "invoices": len(org.invoices),
                "payments": len(org.payments),
            }
            for org in _sandbox(request).state.organisations.values()
        ]
    )


@post("/organisations/{tenant_id:str}/contacts/seed")
async def seed_contacts(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    spec: SeedContacts = await _body(request, SeedContacts)
    ids = _sandbox(request).add_contacts(tenant_id, spec.count, spec.seed)
    return _json({"created": len(ids)}, 201)


@post("/organisations/{tenant_id:str}/contacts/{contact_id:str}")
async def edit_contact(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], contact_id: FromPath[str]
) -> Response[bytes]:
    fields = msgspec.json.decode(await request.body() or b"{}", type=dict[str, Any])
    return _json(contacts.wire(_sandbox(request).user_edit_contact(tenant_id, contact_id, fields)))


@post("/organisations/{tenant_id:str}/contacts/{contact_id:str}/archive", sync_to_thread=False)
def archive_contact(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], contact_id: FromPath[str]
) -> Response[bytes]:
    return _json(contacts.wire(_sandbox(request).user_archive_contact(tenant_id, contact_id)))


@delete("/organisations/{tenant_id:str}/items/{item_id:str}", sync_to_thread=False, status_code=200)
def delete_item(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], item_id: FromPath[str]
) -> Response[bytes]:
    return _json(items.wire(_sandbox(request).user_delete_item(tenant_id, item_id), 4))


@post("/organisations/{tenant_id:str}/tax-rates/{tax_type:str}")
async def change_tax_rate(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], tax_type: FromPath[str]
) -> Response[bytes]:
    fields = msgspec.json.decode(await request.body() or b"{}", type=dict[str, Any])
    return _json(tax_rate_wire(_sandbox(request).user_change_tax_rate(tenant_id, tax_type, fields)))


@post("/organisations/{tenant_id:str}/payment-terms")
async def set_payment_terms(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    """The organisation's default PaymentTerms (``{"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}}``);
    a contact's own are set with the contact edit above (its ``PaymentTerms`` field)."""
    terms = msgspec.json.decode(await request.body() or b"{}", type=dict[str, Any])
    info = _sandbox(request).user_set_payment_terms(tenant_id, terms)
    return _json({"PaymentTerms": info["PaymentTerms"]})


@post("/organisations/{tenant_id:str}/tracking-categories")
async def add_tracking_category(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    """A tracking category with options (``{"Name": "Region", "Options": ["North", "South"]}``); at
    most two may be ACTIVE, as Xero allows."""
    spec: NewTrackingCategory = await _body(request, NewTrackingCategory)
    category = _sandbox(request).user_add_tracking_category(tenant_id, spec.Name, list(spec.Options))
    return _json(tracking.category_wire(category, True), 201)


@post("/organisations/{tenant_id:str}/tracking-categories/{category_id:str}")
async def set_tracking_category_status(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], category_id: FromPath[str]
) -> Response[bytes]:
    """Archive (``{"Status": "ARCHIVED"}``) or restore a tracking category."""
    spec: StatusChange = await _body(request, StatusChange)
    category = _sandbox(request).user_set_tracking_category_status(tenant_id, category_id, spec.Status)
    return _json(tracking.category_wire(category, True))


@post("/organisations/{tenant_id:str}/tracking-categories/{category_id:str}/options")
async def add_tracking_option(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], category_id: FromPath[str]
) -> Response[bytes]:
    spec: Named = await _body(request, Named)
    return _json(_sandbox(request).user_add_tracking_option(tenant_id, category_id, spec.Name), 201)


@post("/organisations/{tenant_id:str}/tracking-categories/{category_id:str}/options/{option_id:str}")
async def set_tracking_option_status(
    request: Request[Any, Any, Any],
    tenant_id: FromPath[str],
    category_id: FromPath[str],
    option_id: FromPath[str],
) -> Response[bytes]:
    """Archive (``{"Status": "ARCHIVED"}``) or restore a tracking option."""
    spec: StatusChange = await _body(request, StatusChange)
    sandbox = _sandbox(request)
    return _json(sandbox.user_set_tracking_option_status(tenant_id, category_id, option_id, spec.Status))


@post("/organisations/{tenant_id:str}/branding-themes")
async def add_branding_theme(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    spec: Named = await _body(request, Named)
    return _json(tracking.theme_wire(_sandbox(request).user_add_branding_theme(tenant_id, spec.Name)), 201)


@delete(
    "/organisations/{tenant_id:str}/branding-themes/{theme_id:str}", sync_to_thread=False, status_code=200
)
def delete_branding_theme(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], theme_id: FromPath[str]
) -> Response[bytes]:
    """Delete a theme (not the default one); Xero's list no longer has it."""
    return _json(tracking.theme_wire(_sandbox(request).user_delete_branding_theme(tenant_id, theme_id)))


@post("/organisations/{tenant_id:str}/tax-rules")
async def set_tax_rules(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    """How ties of a line's computed tax round (``half_up``, ``half_even``), and whether a line's own
    TaxAmount is kept (Xero does); fields left out stay as they are."""
    spec: TaxRules = await _body(request, TaxRules)
    org = _sandbox(request).set_tax_rules(tenant_id, spec.rounding, spec.keep_given_tax)
    return _json({"rounding": org.tax_rounding, "keep_given_tax": org.keep_given_tax})


@post("/organisations/{tenant_id:str}/invoices/{invoice_id:str}/payments")
async def record_payment(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], invoice_id: FromPath[str]
) -> Response[bytes]:
    spec: UserPayment = await _body(request, UserPayment)
    sandbox = _sandbox(request)
    payment = sandbox.user_record_payment(tenant_id, invoice_id, spec.amount, spec.account_code, spec.date)
    return _json(payments.wire(sandbox.organisation(tenant_id), payment), 201)


@post("/organisations/{tenant_id:str}/invoices/{invoice_id:str}")
async def edit_invoice(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], invoice_id: FromPath[str]
) -> Response[bytes]:
    fields = msgspec.json.decode(await request.body() or b"{}", type=dict[str, Any])
    sandbox = _sandbox(request)
    invoice = sandbox.user_edit_invoice(tenant_id, invoice_id, fields)
    return _json(invoices.wire(sandbox.organisation(tenant_id), invoice, 2))


@post("/organisations/{tenant_id:str}/invoices/{invoice_id:str}/void", sync_to_thread=False)
def void_invoice(
    request: Request[Any, Any, Any],
    tenant_id: FromPath[str],
    invoice_id: FromPath[str],
    remove_payments: FromQuery[bool] = False,
) -> Response[bytes]:
    """``?remove_payments=true``: its payments are removed first (Xero voids no invoice with payments)."""
    sandbox = _sandbox(request)
    invoice = sandbox.user_void_invoice(tenant_id, invoice_id, remove_payments)
    return _json(invoices.wire(sandbox.organisation(tenant_id), invoice, 2))


@post("/organisations/{tenant_id:str}/payments/{payment_id:str}/delete", sync_to_thread=False)
def delete_payment(
    request: Request[Any, Any, Any], tenant_id: FromPath[str], payment_id: FromPath[str]
) -> Response[bytes]:
    """A Xero user removes a payment: Xero keeps it as ``DELETED`` (``GET /Payments`` lists it)."""
    sandbox = _sandbox(request)
    payment = sandbox.user_delete_payment(tenant_id, payment_id)
    return _json(payments.wire(sandbox.organisation(tenant_id), payment))


class EmailLimit(msgspec.Struct, kw_only=True):
    per_day: int


@post("/organisations/{tenant_id:str}/email-limit")
async def set_email_limit(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    """How many invoice emails the organisation's API clients may send in a (sandbox) day."""
    spec: EmailLimit = await _body(request, EmailLimit)
    sandbox = _sandbox(request)
    with sandbox.locked():
        org = sandbox.organisation(tenant_id)
        org.emails_per_day = spec.per_day
    return _json({"per_day": org.emails_per_day})


@get("/organisations/{tenant_id:str}/emails", sync_to_thread=False)
def sent_emails(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    """The invoice emails Xero would have sent: invoice, number, address, when."""
    sandbox = _sandbox(request)
    with sandbox.locked():
        sent = [{**email, "At": email["At"].isoformat()} for email in sandbox.organisation(tenant_id).emails]
    return _json(sent)


@post("/organisations/{tenant_id:str}/revoke")
async def revoke(request: Request[Any, Any, Any], tenant_id: FromPath[str]) -> Response[bytes]:
    spec: Revoke = await _body(request, Revoke)
    return _json({"disconnected": _sandbox(request).revoke_connection(tenant_id, spec.client_id)})


@post("/clients")
async def register_client(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: NewClient = await _body(request, NewClient)
    _sandbox(request).register_client(
        spec.client_id, spec.client_secret, tuple(spec.redirect_uris), spec.broad_scopes
    )
    return _json({"client_id": spec.client_id}, 201)


@post("/tokens")
async def tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: TokenRequest = await _body(request, TokenRequest)
    sandbox = _sandbox(request)
    pair = sandbox.grant_tokens(spec.client_id, spec.tenant_ids, spec.scope)
    return _json(sandbox.identity.token_response(pair))


@get("/clock", sync_to_thread=False)
def clock(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    return _json(
        {
            "now": sandbox.now().isoformat(),
            "nowMsDate": msdate(sandbox.now()),
            "timeScale": sandbox.clock.time_scale,
        }
    )


@post("/clock/advance")
async def advance(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: Advance = await _body(request, Advance)
    sandbox = _sandbox(request)
    sandbox.advance(spec.seconds)
    return _json({"now": sandbox.now().isoformat()})


@get("/ledger", sync_to_thread=False)
def ledger(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    tenant = (request.query_params.get("tenant_id") or "").lower()
    after = int(request.query_params.get("after") or 0)
    entries = [
        asdict(entry)
        for entry in sandbox.state.ledger
        if entry.seq > after and (not tenant or entry.tenant_id == tenant)
    ]
    for entry in entries:
        entry["at"] = entry["at"].isoformat()
    return _json(entries)


@get("/calls", sync_to_thread=False)
def calls(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _json(dict(_sandbox(request).state.calls))


@get("/call-log", sync_to_thread=False)
def call_log(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every admitted Accounting API call (optionally of one ``tenant_id``) with its start and end in
    sandbox seconds (``ended`` null while in flight), and the 429s given by problem."""
    limiter = _sandbox(request).limiter
    tenant = (request.query_params.get("tenant_id") or "").lower()
    calls = [asdict(c) for c in limiter.call_log if not tenant or c.tenant_id == tenant]
    return _json({"calls": calls, "rejected": dict(limiter.rejected)})


@delete("/calls", sync_to_thread=False, status_code=204)
def reset_calls(request: Request[Any, Any, Any]) -> None:
    _sandbox(request).state.calls.clear()


@post("/faults")
async def add_fault(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: FaultSpec = await _body(request, FaultSpec)
    return _json(_sandbox(request).add_fault(spec).wire(), 201)


@get("/faults", sync_to_thread=False)
def list_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _json([fault.wire() for fault in _sandbox(request).faults.active.values()])


@delete("/faults", sync_to_thread=False, status_code=204)
def clear_faults(request: Request[Any, Any, Any]) -> None:
    _sandbox(request).faults.clear()


@post("/webhooks/intent-to-receive")
async def intent_to_receive(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    return _json(await sandbox.webhooks.intent_to_receive(sandbox.now()))


@post("/webhooks/events")
async def webhook_event(request: Request[Any, Any, Any]) -> Response[bytes]:
    spec: WebhookEvent = await _body(request, WebhookEvent)
    sandbox = _sandbox(request)
    sandbox.notify(spec.tenant_id.lower(), spec.category, spec.resource_id.lower(), spec.event_type)
    return _json(await sandbox.flush_webhooks())


@post("/webhooks/flush")
async def flush_webhooks(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _json(await _sandbox(request).flush_webhooks())


@get("/webhooks/deliveries", sync_to_thread=False)
def deliveries(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _json(
        [
            {
                "at": d.at.isoformat(),
                "status": d.status,
                "signatureValid": d.signature_valid,
                "error": d.error,
                "attempt": d.attempt,
                "body": d.body,
            }
            for d in _sandbox(request).webhooks.deliveries
        ]
    )


@post("/reset", sync_to_thread=False, status_code=204)
def reset(request: Request[Any, Any, Any]) -> None:
    _sandbox(request).reset()


HANDLERS = [
    index,
    create_organisation,
    list_organisations,
    seed_contacts,
    edit_contact,
    archive_contact,
    delete_item,
    change_tax_rate,
    set_payment_terms,
    set_tax_rules,
    add_tracking_category,
    set_tracking_category_status,
    add_tracking_option,
    set_tracking_option_status,
    add_branding_theme,
    delete_branding_theme,
    record_payment,
    delete_payment,
    edit_invoice,
    void_invoice,
    set_email_limit,
    sent_emails,
    revoke,
    register_client,
    tokens,
    clock,
    advance,
    ledger,
    calls,
    call_log,
    reset_calls,
    add_fault,
    list_faults,
    clear_faults,
    intent_to_receive,
    webhook_event,
    flush_webhooks,
    deliveries,
    reset,
]
ENDPOINTS = [
    (method, path)
    for handler in HANDLERS
    for path in sorted(handler.paths)
    for method in sorted(handler.http_methods)
]


def control_router() -> Router:
    return Router(path="/_sandbox", route_handlers=HANDLERS)
