"""Records the server sends down: what the mirror of Xero holds, in the shape phones store.

Evolution rule: fields are only ever added, each with a default; a field's type never changes.
Every record has ``id`` (ledgersync's id, stable for the record's life) and, when it exists in
Xero, ``xero_id``.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from sync_protocol.terms import PaymentTerm

LineAmountType = Literal["Exclusive", "Inclusive", "NoTax"]


class Entity(msgspec.Struct, kw_only=True, tag_field="entity"):
    id: str
    xero_id: str | None = None
    updated_at: datetime | None = None


UploadState = Literal["accepted", "waiting", "forwarding", "in_xero", "retrying", "failed", "held"]


class RecordSync(msgspec.Struct, kw_only=True):
    """Where a record a phone uploaded stands on its way to Xero.

    ``accepted``: validated and queued; ``waiting``: queued behind a record it depends on that
    is not in Xero yet (``message`` says so when that record failed); ``forwarding``: being sent;
    ``in_xero``: Xero has it (``xero_id`` on the record); ``retrying``: Xero could not be reached
    or was busy, it goes again by itself (``message``: the last error); ``failed``: Xero refused it
    (``message`` is Xero's, ``field`` the mutation field it concerns when known) - upload a
    corrected version of the record, or ask an admin to retry; ``held``: kept on the server by the
    organisation's settings (payments not forwarded, customer edits kept local).
    """

    state: UploadState
    mutation_id: str
    message: str = ""
    field: str = ""


class TaxRate(Entity, tag="tax_rate"):
    """A Xero tax rate. Phones reference it by ``tax_type`` (Xero's TaxType code)."""

    tax_type: str
    name: str
    rate: Decimal  # effective rate in percent, e.g. "15.0000"
    status: Literal["ACTIVE", "DELETED", "ARCHIVED", "PENDING"] = "ACTIVE"
    can_apply_to_revenue: bool = True


class Address(msgspec.Struct, kw_only=True):
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


class Customer(Entity, tag="customer"):
    """A Xero contact (customer)."""

    name: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    account_number: str = ""
    tax_number: str = ""
    address: Address | None = None
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"
    # Set when the customer was created or edited on a phone: its upload's fate.
    sync: RecordSync | None = None
    # The contact's sales payment terms in Xero (``PaymentTerms.Sales``): an invoice without a due
    # date gets one from them (``sync_protocol.terms``), else from the organisation's.
    sales_terms: PaymentTerm | None = None


class Product(Entity, tag="product"):
    """A Xero item (product or service) that can be sold."""

    code: str
    name: str
    description: str = ""
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_type: str | None = None
    is_sold: bool = True
    is_purchased: bool = True  # Xero's default
    # Set when the product was created or edited on a phone: its upload's fate.
    sync: RecordSync | None = None


class Account(Entity, tag="account"):
    """A Xero account phones or admins may need (bank and revenue accounts)."""

    code: str
    name: str
    type: str  # Xero's account Type: BANK, REVENUE, SALES, ...
    account_class: str = ""  # Xero's Class: ASSET, REVENUE, ...
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"
    tax_type: str | None = None
    enable_payments: bool = False


class TrackingCategory(Entity, tag="tracking_category"):
    """A Xero tracking category (a location, department, job...); Xero allows two ACTIVE ones.
    ``ARCHIVED``: kept in Xero, no longer usable on invoices (its options neither)."""

    name: str
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"


class TrackingOption(Entity, tag="tracking_option"):
    """An option of a tracking category (``tracking_category_id``: the category's ``id``). An
    invoice line names up to two options, of different categories, in its ``tracking``; an
    ``ARCHIVED`` option (or one of an archived category) is refused."""

    tracking_category_id: str
    name: str
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"


class BrandingTheme(Entity, tag="branding_theme"):
    """A Xero branding theme (how an invoice looks when sent). ``sort_order`` 0 is Xero's default:
    an invoice that names no theme gets it."""

    name: str
    sort_order: int = 0


class OrganisationSettings(Entity, tag="organisation"):
    """What a phone needs to know about the business (one record per organisation).

    Besides Xero's settings, the admin's forwarding choices, so an app can grey out what it may
    not do: ``forward_payments`` (payments go to Xero, else they are held on the server),
    ``invoice_status`` (how invoices are created in Xero), ``forward_invoice_edits`` (an edit of an
    invoice in Xero is accepted; else ``invoice_edits_not_forwarded``), ``update_customers`` and
    ``update_products`` (edits of records Xero has are sent to Xero; else held on the server),
    ``bank_account_code`` (the bank account a payment without ``account_code`` goes to; ``null``:
    none chosen, so a payment must name one, else ``no_bank_account``) and
    ``revenue_account_code`` (the account of lines that name neither an account nor a product with one).
    """

    name: str
    base_currency: str = "NZD"
    country_code: str = ""
    default_line_amount_type: LineAmountType = "Exclusive"
    default_sales_tax_type: str | None = None
    forward_payments: bool = True
    invoice_status: Literal["DRAFT", "AUTHORISED"] = "AUTHORISED"
    forward_invoice_edits: bool = True
    update_customers: bool = True
    update_products: bool = True
    # The app may ask Xero to email an invoice to its customer (``email_invoice``); else refused
    # at upload with ``invoice_emails_not_allowed``.
    email_invoices: bool = False
    bank_account_code: str | None = None
    revenue_account_code: str | None = None
    # The organisation's sales payment terms in Xero: the due date of an invoice whose customer has none.
    sales_terms: PaymentTerm | None = None


class InvoiceLine(msgspec.Struct, kw_only=True):
    description: str = ""
    product_id: str | None = None
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None = None  # percent
    account_code: str | None = None
    tax_type: str | None = None
    line_amount: Decimal
    tax_amount: Decimal
    # The tracking options of the line (``TrackingOption.id``), at most two, of different categories.
    tracking: list[str] = []


class Invoice(Entity, kw_only=True, tag="invoice"):
    """A sales invoice (Xero ACCREC). Phones create them; Xero-side facts (paid, voided,
    amount due, number) come back on later pulls."""

    customer_id: str
    invoice_number: str = ""
    reference: str = ""
    date: dt.date
    due_date: dt.date | None = None
    currency: str = ""
    line_amount_type: LineAmountType = "Exclusive"
    lines: list[InvoiceLine] = []
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    amount_paid: Decimal = Decimal("0.00")
    amount_due: Decimal
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"] = "AUTHORISED"
    sync: RecordSync | None = None
    # The branding theme the phone chose (``BrandingTheme.id``); None: Xero's default theme.
    branding_theme_id: str | None = None
    # Xero's online invoice (``GET /Invoices/{id}/OnlineInvoice``) once the invoice is approved in
    # Xero: where the customer views and pays it (show it as a QR code, share it). "": none yet.
    online_invoice_url: str = ""
    # Xero emailed the invoice to the customer at a phone's request (``email_invoice``).
    emailed: bool = False


class Payment(Entity, kw_only=True, tag="payment"):
    """A payment against an invoice, into a bank account (``account_code``).

    ``status``: ``AUTHORISED`` (in Xero, or on its way), ``DELETED``, or ``FAILED``: a payment
    the phone made that Xero refused or that never reached it (``sync`` says why); it does not
    count in Xero. An admin's retry that gets it into Xero makes it ``AUTHORISED`` again."""

    invoice_id: str
    account_code: str
    date: dt.date
    amount: Decimal
    reference: str = ""
    status: Literal["AUTHORISED", "DELETED", "FAILED"] = "AUTHORISED"
    sync: RecordSync | None = None


# The feed's entity names, by struct; ``Change.entity`` uses these.
ENTITY_NAME: dict[type[Entity], str] = {
    TaxRate: "tax_rate",
    Customer: "customer",
    Product: "product",
    Account: "account",
    TrackingCategory: "tracking_category",
    TrackingOption: "tracking_option",
    BrandingTheme: "branding_theme",
    OrganisationSettings: "organisation",
    Invoice: "invoice",
    Payment: "payment",
}

AnyEntity = (
    TaxRate
    | Customer
    | Product
    | Account
    | TrackingCategory
    | TrackingOption
    | BrandingTheme
    | OrganisationSettings
    | Invoice
    | Payment
)

_decoders: dict[str, msgspec.json.Decoder[Entity]] = {
    name: msgspec.json.Decoder(cls) for cls, name in ENTITY_NAME.items()
}

_encoder = msgspec.json.Encoder(decimal_format="string")


def encode_entity(entity: Entity) -> bytes:
    """The exact bytes the feed stores and a pull sends for ``entity``."""
    return _encoder.encode(entity)


def decode_entity(entity: str, payload: bytes) -> Entity | None:
    """The record a pull sent, or ``None`` for an entity this client version does not know
    (newer servers may add entities; old clients skip them)."""
    decoder = _decoders.get(entity)
    return decoder.decode(payload) if decoder else None
