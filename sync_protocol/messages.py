"""The request and response bodies of the mobile API (``/mobile/v1``).

Pull (``GET /mobile/v1/changes``) answers a :class:`PullResponse`; push
(``POST /mobile/v1/mutations``) takes a :class:`PushRequest` and answers a :class:`PushResponse`
with one :class:`MutationResult` per mutation, in order. Decode request bodies strictly
(``msgspec.json.decode(body, type=PushRequest)``): amounts are strings, so a JSON number fails.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from sync_protocol.entities import Address, LineAmountType, UploadState
from sync_protocol.money import Money, Percent, Quantity, UnitAmount

MAX_MUTATIONS_PER_PUSH = 500

ClientId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="A client-generated UUID (lowercase, hyphenated) naming a record a phone made.",
    ),
]
RecordId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="The id of a record (`id` of an entity).")
]
MutationId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="Client-generated, unique per mutation; resending it is harmless.",
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
ShortText = Annotated[str, msgspec.Meta(max_length=255)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]

# Xero's own limits, so that nothing Xero would refuse for its length or form gets past the door. From
# Xero's Accounting OpenAPI (xero_accounting.yaml: Contact.Name/FirstName/LastName/EmailAddress 255,
# AccountNumber/TaxNumber 50; Address.AddressLine1-4 500, City/Region 255, PostalCode/Country 50;
# Phone.PhoneNumber 50; Invoice.InvoiceNumber 255) and Xero's API docs (Reference 255, a line's
# Description 4000, Payment.Reference 255).
EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
NAME_PATTERN = r"\S"
NameText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        pattern=NAME_PATTERN,
        description="A name as Xero takes it: 1-255 characters, not only whitespace.",
    ),
]
XeroText50 = Annotated[str, msgspec.Meta(max_length=50)]
AddressLine = Annotated[str, msgspec.Meta(max_length=500)]
# The form Xero accepts ("Email address must be valid."): something@domain.tld, no spaces; or empty.
EmailText = Annotated[
    str,
    msgspec.Meta(
        max_length=255,
        pattern=EMAIL_PATTERN,
        description="Empty, or an email address Xero accepts (name@domain.tld, no spaces), at most 255.",
    ),
]


# What a failed pattern means, in words (validation messages name the field and say this).
PATTERN_MEANING: dict[str, str] = {
    NAME_PATTERN: "must not be empty or only whitespace",
    EMAIL_PATTERN: "must be an email address Xero accepts (name@domain.tld, no spaces)",
}


def readable(message: str) -> str:
    """msgspec's validation message, with a pattern said in words ("Expected `str` matching regex …")."""
    for pattern, meaning in PATTERN_MEANING.items():
        if message == f"Expected `str` matching regex {pattern!r}":
            return meaning
    return message


# --- pairing -------------------------------------------------------------------------------


class PairRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    device_name: ShortText = ""


class PairResponse(msgspec.Struct, kw_only=True):
    device_id: str
    token: str
    organisation_id: str
    staff_name: str
    protocol_version: int


# --- pull ----------------------------------------------------------------------------------


class ChangeOut(msgspec.Struct, kw_only=True):
    """One record's latest state. ``record`` is the entity (tagged by ``entity``), or ``null``
    for a tombstone: the record is gone, delete it locally."""

    version: int
    entity: str
    id: str
    # Left undecoded (the raw JSON): decode it by ``entity``, and skip entities this client does
    # not know (newer servers may add some). ``null`` is a tombstone.
    record: msgspec.Raw

    @property
    def deleted(self) -> bool:
        return bytes(self.record) == b"null"


class PullResponse(msgspec.Struct, kw_only=True):
    """``cursor``: pass it as ``?cursor=`` next time. ``has_more``: pull again right away."""

    changes: list[ChangeOut]
    cursor: int
    has_more: bool


# --- pokes ---------------------------------------------------------------------------------


class PokeResponse(msgspec.Struct, kw_only=True):
    """The long poll's answer (``GET /mobile/v1/pokes?wait=``): the feed's ``version`` now, and
    whether it ``moved`` past the ``after`` sent. A poke carries no records: pull to get them."""

    version: int
    moved: bool


# --- push ----------------------------------------------------------------------------------


class AddressDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An address as Xero takes it (``Address`` in Xero's spec; the same fields as a pulled address)."""

    line1: AddressLine = ""
    line2: AddressLine = ""
    city: ShortText = ""
    region: ShortText = ""
    postal_code: XeroText50 = ""
    country: XeroText50 = ""


class CustomerDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A customer as the phone wants it. ``id``: a new client UUID, or the id of a customer the
    phone has (from the mirror or uploaded before) to edit it."""

    id: RecordId
    name: NameText
    first_name: ShortText = ""
    last_name: ShortText = ""
    email: EmailText = ""
    phone: XeroText50 = ""
    account_number: XeroText50 = ""
    tax_number: XeroText50 = ""
    address: AddressDraft | None = None


class InvoiceLineDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: Text = ""
    product_id: RecordId | None = None
    quantity: Quantity
    unit_amount: UnitAmount
    discount_rate: Percent | None = None
    account_code: Code | None = None
    tax_type: Code | None = None
    # What the phone computed; the server recomputes with Xero's rounding and rejects a mismatch.
    line_amount: Money
    tax_amount: Money
    # Tracking options (``TrackingOption.id``): at most two, of different categories, not archived.
    tracking: Annotated[list[RecordId], msgspec.Meta(max_length=2)] = []


class InvoiceDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: RecordId
    customer_id: RecordId
    reference: ShortText = ""
    date: dt.date
    due_date: dt.date | None = None
    line_amount_type: LineAmountType = "Exclusive"
    lines: Annotated[list[InvoiceLineDraft], msgspec.Meta(min_length=1, max_length=200)]
    sub_total: Money
    total_tax: Money
    total: Money
    # A branding theme (``BrandingTheme.id``); None: Xero's default theme.
    branding_theme_id: RecordId | None = None


class PaymentDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``account_code``: the bank account the money went into; omit it for the organisation's
    bank account for payments (chosen by its admin)."""

    id: ClientId
    invoice_id: RecordId
    account_code: Code | None = None
    date: dt.date
    amount: Money
    reference: ShortText = ""


# Xero's limits for an item (xero_accounting.yaml: Item.Code 30, Item.Name 50, Description 4000).
ItemCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=30,
        pattern=NAME_PATTERN,
        description="An item code as Xero takes it: 1-30 characters, unique among the organisation's items.",
    ),
]
ItemName = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NAME_PATTERN)]


class ProductDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A product (a Xero item) as the phone wants it. ``id``: a new client UUID, or the id of a
    product the phone has (from the mirror or uploaded before) to edit it; invoices in the same
    or a later push name it in a line's ``product_id``. ``unit_price``, ``account_code`` and
    ``tax_type`` are its sales details (up to 4 decimal places)."""

    id: RecordId
    code: ItemCode
    name: ItemName
    description: Text = ""
    unit_price: UnitAmount | None = None
    account_code: Code | None = None
    tax_type: Code | None = None
    is_sold: bool = True
    is_purchased: bool = True  # Xero's defaults


class Mutation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="op"):
    mutation_id: MutationId


CustomerField = Literal[
    "name", "first_name", "last_name", "email", "phone", "account_number", "tax_number", "address"
]
CUSTOMER_FIELDS: tuple[CustomerField, ...] = (
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "account_number",
    "tax_number",
    "address",
)


class CustomerBase(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A customer as the phone had it before the user's edit (its pulled record's fields). Only
    compared, never sent to Xero: no length limits, so any record the server sent fits."""

    id: RecordId
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    account_number: str = ""
    tax_number: str = ""
    address: Address | None = None


class UpsertCustomer(Mutation, tag="upsert_customer"):
    """Creates a customer, or edits one the phone has.

    An edit is a change, not a snapshot: the server merges it with what Xero has field by field
    (docs/protocol.md, "Edits and conflicts"). ``base``: the customer as the phone had it when the
    user edited it (its record from the last pull); the fields where ``customer``
    differs from it are the phone's changes. ``changed``: the fields the user changed, when the
    phone tracks them (narrows the diff). Without either, the server diffs ``customer`` against
    the record it holds - exact when the phone had pulled the latest version.
    """

    customer: CustomerDraft
    base: CustomerBase | None = None
    changed: list[CustomerField] | None = None


InvoiceField = Literal["customer_id", "reference", "date", "due_date", "lines", "branding_theme_id"]
INVOICE_FIELDS: tuple[InvoiceField, ...] = (
    "customer_id",
    "reference",
    "date",
    "due_date",
    "lines",
    "branding_theme_id",
)


class UpsertInvoice(Mutation, tag="upsert_invoice"):
    """Creates an invoice, or edits one. An edit of an invoice in Xero is merged with Xero's at
    the level of its top-level fields (``INVOICE_FIELDS``; ``lines`` is the lines, their amount
    type and totals, as one field): ``base`` and ``changed`` as for ``UpsertCustomer``."""

    invoice: InvoiceDraft
    base: InvoiceDraft | None = None
    changed: list[InvoiceField] | None = None


class UpsertProduct(Mutation, tag="upsert_product"):
    """Creates a product, or edits one the phone has (the whole draft: Xero's item takes it as
    sent when the organisation sends product edits to Xero)."""

    product: ProductDraft


class CreatePayment(Mutation, tag="create_payment"):
    payment: PaymentDraft


class VoidInvoice(Mutation, tag="void_invoice"):
    """Voids an invoice (Xero: VOIDED if authorised, DELETED if it never left draft)."""

    invoice_id: RecordId


class DeletePayment(Mutation, tag="delete_payment"):
    payment_id: RecordId


class EmailInvoice(Mutation, tag="email_invoice"):
    """Asks that Xero email the invoice to its customer (the contact's email address in Xero), once.

    Sent after the invoice is in Xero and approved; its fate is the invoice's ``sync`` under this
    mutation id (``in_xero``: sent, and the invoice's ``emailed`` is true; ``failed``: Xero's reason,
    e.g. the customer has no email address). Refused with ``invoice_emails_not_allowed`` when the
    organisation's ``email_invoices`` is off."""

    invoice_id: RecordId


AnyMutation = (
    UpsertCustomer
    | UpsertProduct
    | UpsertInvoice
    | CreatePayment
    | VoidInvoice
    | DeletePayment
    | EmailInvoice
)


class PushRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mutations: Annotated[list[AnyMutation], msgspec.Meta(min_length=1, max_length=MAX_MUTATIONS_PER_PUSH)]


class MutationResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``applied``: accepted and queued for Xero (its fate arrives on later pulls). ``rejected``:
    nothing changed; ``code`` (see the error table), ``message`` and ``field`` (a path into the
    mutation, e.g. ``invoice.lines[0].line_amount``) say why. A replayed mutation id gets the
    original result with ``replayed: true``."""

    mutation_id: str
    status: Literal["applied", "rejected"]
    entity: str = ""
    record_id: str = ""
    code: str | None = None
    message: str = ""
    field: str | None = None
    details: dict[str, Any] = {}
    replayed: bool = False


class PushResponse(msgspec.Struct, kw_only=True):
    results: list[MutationResult]


# Besides a record's ``sync.state``: ``rejected`` (refused at the door, never stored) and
# ``superseded`` (a failed upload the phone replaced with a corrected one of the same record).
UploadStatusState = UploadState | Literal["rejected", "superseded"]


class UploadStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where one uploaded mutation stands (``GET /mobile/v1/uploads/{mutation_id}``).

    ``status`` is the push's answer (``applied`` or ``rejected``); ``state`` where the upload is
    now. ``xero_id`` once Xero has the record; ``invoice_number``: Xero's number of an invoice.
    ``message``: Xero's message (``failed``), the last error (``retrying``), the reason
    (``held``, ``rejected``); ``field``: the mutation field it concerns, when known; ``code``: the
    rejection's code."""

    mutation_id: str
    status: Literal["applied", "rejected"]
    entity: str
    record_id: str
    state: UploadStatusState
    xero_id: str | None = None
    invoice_number: str = ""
    message: str = ""
    field: str | None = None
    code: str | None = None
    updated_at: datetime | None = None
