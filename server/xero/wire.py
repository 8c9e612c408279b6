"""Xero's wire models (msgspec, Xero's PascalCase names), decoded with exact decimals and real dates.

Only the fields ledgersync uses are declared; unknown fields are ignored, so Xero adding fields
never breaks a pull. Money is ``Decimal`` (msgspec decodes JSON numbers into it exactly), dates are
``XeroDateTime`` (parsed from ``/Date(...)/`` by ``dates.parse``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from server.xero import dates

T = TypeVar("T")


class XeroDateTime(datetime):
    """A datetime that came from Xero's ``/Date(...)/`` (or ISO) form."""

    @classmethod
    def of(cls, moment: datetime) -> XeroDateTime:
        return cls(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second,
            moment.microsecond,
            tzinfo=moment.tzinfo,
        )


def _dec_hook(kind: type[Any], value: Any) -> Any:
    if kind is XeroDateTime and isinstance(value, str):
        try:
            return XeroDateTime.of(dates.parse(value))
        except dates.DateFormatError as exc:
            raise msgspec.ValidationError(str(exc)) from exc
    raise NotImplementedError(f"cannot decode {kind}")


def decode(body: bytes, kind: type[T]) -> T:
    return msgspec.json.decode(body, type=kind, dec_hook=_dec_hook)


def _enc_hook(value: Any) -> Any:
    if isinstance(value, datetime):
        return dates.format_msdate(value)
    raise NotImplementedError(f"cannot encode {type(value)}")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


class Wire(msgspec.Struct, rename="pascal", kw_only=True, omit_defaults=True):
    pass


# --- identity ------------------------------------------------------------------------------------
class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"
    refresh_token: str | None = None
    scope: str = ""
    id_token: str | None = None


class OAuthErrorBody(msgspec.Struct, kw_only=True):
    error: str
    error_description: str | None = None


class Connection(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    tenant_id: str
    tenant_type: str = "ORGANISATION"
    tenant_name: str | None = None
    auth_event_id: str | None = None


# --- errors --------------------------------------------------------------------------------------
class ValidationMessage(Wire):
    message: str


class ApiErrorBody(Wire):
    """Xero's error body (400 ValidationException and friends); ``elements`` echo the failing ones."""

    error_number: int | None = None
    type: str | None = None
    message: str | None = None
    elements: list[dict[str, Any]] = msgspec.field(default_factory=list)


class ProblemBody(Wire):
    """The API gateway's problem details (401/403)."""

    title: str | None = None
    detail: str | None = None
    status: int | None = None


class Pagination(msgspec.Struct, kw_only=True):
    page: int
    page_size: int = msgspec.field(name="pageSize")
    page_count: int = msgspec.field(name="pageCount")
    item_count: int = msgspec.field(name="itemCount")


# --- accounting records --------------------------------------------------------------------------
class TaxComponent(Wire):
    name: str = ""
    rate: Decimal = Decimal(0)
    is_compound: bool = False


class TaxRate(Wire):
    tax_type: str
    name: str
    status: str = "ACTIVE"
    effective_rate: Decimal | None = None
    display_tax_rate: Decimal | None = None
    can_apply_to_revenue: bool = True
    tax_components: list[TaxComponent] = msgspec.field(default_factory=list)
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")


class Phone(Wire):
    phone_type: str = ""
    phone_number: str = ""
    phone_area_code: str = ""
    phone_country_code: str = ""


class Address(Wire):
    address_type: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


class Bill(Wire):
    """One side of ``PaymentTerms``: a day (0-31) and what it counts from (``PaymentTermType``)."""

    day: int | None = None
    type: str | None = None


class PaymentTerms(Wire):
    bills: Bill | None = None
    sales: Bill | None = None


class Contact(Wire):
    contact_id: str = msgspec.field(default="", name="ContactID")  # absent on refused elements
    name: str = ""
    # Xero's field for an external system's id: ledgersync writes its record id here.
    contact_number: str = ""
    contact_status: str = "ACTIVE"
    first_name: str = ""
    last_name: str = ""
    email_address: str = ""
    account_number: str = ""
    tax_number: str = ""
    is_customer: bool = False
    is_supplier: bool = False
    addresses: list[Address] = msgspec.field(default_factory=list)
    phones: list[Phone] = msgspec.field(default_factory=list)
    payment_terms: PaymentTerms | None = None
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")
    # Per-element results of writes (summarizeErrors=false).
    status_attribute_string: str | None = None
    validation_errors: list[ValidationMessage] = msgspec.field(default_factory=list)


class ItemDetails(Wire):
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_type: str | None = None


class Item(Wire):
    item_id: str = msgspec.field(default="", name="ItemID")  # absent on refused elements
    code: str = ""
    name: str = ""
    description: str = ""
    is_sold: bool = True
    is_purchased: bool = True
    sales_details: ItemDetails | None = None
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")
    validation_errors: list[ValidationMessage] = msgspec.field(default_factory=list)


class Account(Wire):
    account_id: str = msgspec.field(name="AccountID")
    code: str = ""
    name: str = ""
    type: str = ""
    status: str = "ACTIVE"
    class_: str = msgspec.field(default="", name="Class")
    tax_type: str | None = None
    enable_payments_to_account: bool = False
    bank_account_number: str | None = None
    currency_code: str | None = None
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")


class Organisation(Wire):
    organisation_id: str = msgspec.field(name="OrganisationID")
    name: str = ""
    base_currency: str = ""
    country_code: str = ""
    default_sales_tax: str | None = None
    pays_tax: bool = True
    payment_terms: PaymentTerms | None = None


class TrackingOption(Wire):
    tracking_option_id: str = msgspec.field(name="TrackingOptionID")
    name: str = ""
    status: str = "ACTIVE"


class TrackingCategory(Wire):
    tracking_category_id: str = msgspec.field(name="TrackingCategoryID")
    name: str = ""
    status: str = "ACTIVE"
    options: list[TrackingOption] = msgspec.field(default_factory=list)


class BrandingTheme(Wire):
    branding_theme_id: str = msgspec.field(name="BrandingThemeID")
    name: str = ""
    sort_order: int = 0
    created_date_utc: XeroDateTime | None = msgspec.field(default=None, name="CreatedDateUTC")


class ContactRef(Wire):
    contact_id: str = msgspec.field(default="", name="ContactID")


class LineTracking(Wire):
    tracking_category_id: str = msgspec.field(default="", name="TrackingCategoryID")
    tracking_option_id: str = msgspec.field(default="", name="TrackingOptionID")


class LineItem(Wire):
    description: str = ""
    quantity: Decimal = Decimal(0)
    unit_amount: Decimal = Decimal(0)
    item_code: str | None = None
    account_code: str | None = None
    tax_type: str | None = None
    tax_amount: Decimal = Decimal(0)
    line_amount: Decimal = Decimal(0)
    discount_rate: Decimal | None = None
    tracking: list[LineTracking] = msgspec.field(default_factory=list)


class Invoice(Wire):
    invoice_id: str = msgspec.field(default="", name="InvoiceID")
    invoice_number: str = ""
    type: str = ""
    status: str = ""
    reference: str = ""
    url: str = ""
    contact: ContactRef | None = None
    date: XeroDateTime | None = None
    due_date: XeroDateTime | None = None
    sub_total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    amount_due: Decimal = Decimal(0)
    amount_paid: Decimal = Decimal(0)
    line_amount_types: str = ""
    currency_code: str = ""
    branding_theme_id: str = msgspec.field(default="", name="BrandingThemeID")
    # None where Xero leaves the lines out (unpaged lists); paged and single reads carry them.
    line_items: list[LineItem] | None = None
    # Xero marks an invoice it emailed (or a user marked) as sent: how a lost Email answer is judged.
    sent_to_contact: bool = False
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")
    status_attribute_string: str | None = None
    validation_errors: list[ValidationMessage] = msgspec.field(default_factory=list)


class OnlineInvoice(Wire):
    online_invoice_url: str = ""


class OnlineInvoices(Wire):
    online_invoices: list[OnlineInvoice] = msgspec.field(default_factory=list)


class InvoiceRef(Wire):
    invoice_id: str = msgspec.field(default="", name="InvoiceID")


class PaymentAccount(Wire):
    account_id: str = msgspec.field(default="", name="AccountID")
    code: str = ""


class Payment(Wire):
    payment_id: str = msgspec.field(default="", name="PaymentID")
    invoice: InvoiceRef | None = None
    account: PaymentAccount | None = None
    payment_type: str = ""
    amount: Decimal = Decimal(0)
    date: XeroDateTime | None = None
    reference: str = ""
    status: str = ""
    updated_date_utc: XeroDateTime | None = msgspec.field(default=None, name="UpdatedDateUTC")
    status_attribute_string: str | None = None
    validation_errors: list[ValidationMessage] = msgspec.field(default_factory=list)


# --- envelopes -----------------------------------------------------------------------------------
class TaxRates(Wire):
    tax_rates: list[TaxRate] = msgspec.field(default_factory=list)


class Contacts(Wire):
    contacts: list[Contact] = msgspec.field(default_factory=list)
    pagination: Pagination | None = msgspec.field(default=None, name="pagination")


class Items(Wire):
    items: list[Item] = msgspec.field(default_factory=list)


class Accounts(Wire):
    accounts: list[Account] = msgspec.field(default_factory=list)


class Organisations(Wire):
    organisations: list[Organisation] = msgspec.field(default_factory=list)


class TrackingCategories(Wire):
    tracking_categories: list[TrackingCategory] = msgspec.field(default_factory=list)


class BrandingThemes(Wire):
    branding_themes: list[BrandingTheme] = msgspec.field(default_factory=list)


class Invoices(Wire):
    invoices: list[Invoice] = msgspec.field(default_factory=list)
    pagination: Pagination | None = msgspec.field(default=None, name="pagination")


class Payments(Wire):
    payments: list[Payment] = msgspec.field(default_factory=list)
    pagination: Pagination | None = msgspec.field(default=None, name="pagination")
