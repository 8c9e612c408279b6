"""Xero's wire records → ledgersync's wire entities (``sync_protocol.entities``): the only bridge.

Each ``*_of`` returns the entity and whether phones should have it (``live``): archived contacts,
deleted or archived tax rates and accounts phones do not use become tombstones in the feed while
the mirror keeps their last state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from server.core.accounts import phones_get
from server.core.fate import InvoiceFacts
from server.core.mirror_store import Mapped
from server.xero import wire
from sync_protocol import entities
from sync_protocol.terms import TERM_TYPES, PaymentTerm

# Account types phones and admins use: where payments go, what sales are booked to.
_LINE_AMOUNT_TYPES: dict[str, entities.LineAmountType] = {
    "Tax Exclusive": "Exclusive",
    "Tax Inclusive": "Inclusive",
    "No Tax": "NoTax",
}


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(0, UTC) + (moment - datetime.fromtimestamp(0, UTC))


def tax_rate_of(rate: wire.TaxRate, entity_id: str) -> Mapped:
    status = rate.status if rate.status in ("ACTIVE", "DELETED", "ARCHIVED", "PENDING") else "ACTIVE"
    effective = rate.effective_rate if rate.effective_rate is not None else rate.display_tax_rate
    entity = entities.TaxRate(
        id=entity_id,
        xero_id=rate.tax_type,
        updated_at=utc(rate.updated_date_utc),
        tax_type=rate.tax_type,
        name=rate.name,
        rate=effective if effective is not None else Decimal(0),
        status=status,  # type: ignore[arg-type]
        can_apply_to_revenue=rate.can_apply_to_revenue,
    )
    return Mapped(rate.tax_type, entity, status in ("ACTIVE", "PENDING"), utc(rate.updated_date_utc))


def _phone(contact: wire.Contact) -> str:
    for kind in ("DEFAULT", "MOBILE"):
        for phone in contact.phones:
            if phone.phone_type == kind and phone.phone_number:
                return " ".join(
                    part
                    for part in (phone.phone_country_code, phone.phone_area_code, phone.phone_number)
                    if part
                )
    return ""


def _address(contact: wire.Contact) -> entities.Address | None:
    # Invoices go to the postal (POBOX) address in Xero; the street address is the fallback.
    for kind in ("POBOX", "STREET"):
        for address in contact.addresses:
            if address.address_type == kind and any(
                (address.address_line1, address.city, address.postal_code, address.country)
            ):
                return entities.Address(
                    line1=address.address_line1,
                    line2=address.address_line2,
                    city=address.city,
                    region=address.region,
                    postal_code=address.postal_code,
                    country=address.country,
                )
    return None


def sales_terms_of(terms: wire.PaymentTerms | None) -> PaymentTerm | None:
    """The sales side of Xero's ``PaymentTerms``, when it names a day and a known type."""
    sales = terms.sales if terms is not None else None
    if sales is None or sales.day is None or sales.type not in TERM_TYPES:
        return None
    return PaymentTerm(day=sales.day, type=sales.type)


def customer_of(contact: wire.Contact, entity_id: str) -> Mapped:
    active = contact.contact_status == "ACTIVE"
    entity = entities.Customer(
        id=entity_id,
        xero_id=contact.contact_id,
        updated_at=utc(contact.updated_date_utc),
        name=contact.name,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email_address,
        phone=_phone(contact),
        account_number=contact.account_number,
        tax_number=contact.tax_number,
        address=_address(contact),
        status="ACTIVE" if active else "ARCHIVED",  # GDPRREQUEST is archived for phones
        sales_terms=sales_terms_of(contact.payment_terms),
    )
    return Mapped(contact.contact_id.lower(), entity, active, utc(contact.updated_date_utc))


def product_of(item: wire.Item, entity_id: str) -> Mapped:
    sales = item.sales_details or wire.ItemDetails()
    entity = entities.Product(
        id=entity_id,
        xero_id=item.item_id,
        updated_at=utc(item.updated_date_utc),
        code=item.code,
        name=item.name,
        description=item.description,
        unit_price=sales.unit_price,
        account_code=sales.account_code,
        tax_type=sales.tax_type,
        is_sold=item.is_sold,
        is_purchased=item.is_purchased,
    )
    return Mapped(item.item_id.lower(), entity, True, utc(item.updated_date_utc))


def account_of(account: wire.Account, entity_id: str) -> Mapped:
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE" if account.status == "ACTIVE" else "ARCHIVED"
    entity = entities.Account(
        id=entity_id,
        xero_id=account.account_id,
        updated_at=utc(account.updated_date_utc),
        code=account.code,
        name=account.name,
        type=account.type,
        account_class=account.class_,
        status=status,
        tax_type=account.tax_type,
        enable_payments=account.enable_payments_to_account,
    )
    # The mirror keeps every account; phones get those payments and sales can use.
    return Mapped(account.account_id.lower(), entity, phones_get(entity), utc(account.updated_date_utc))


def tracking_category_of(category: wire.TrackingCategory, entity_id: str) -> Mapped:
    # Archived categories stay with phones (``status``), so a line naming one of their options is
    # refused as archived rather than unknown; a deleted one is gone.
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE" if category.status == "ACTIVE" else "ARCHIVED"
    entity = entities.TrackingCategory(
        id=entity_id, xero_id=category.tracking_category_id, name=category.name, status=status
    )
    return Mapped(category.tracking_category_id.lower(), entity, category.status != "DELETED", None)


def tracking_option_of(option: wire.TrackingOption, entity_id: str, category_id: str, live: bool) -> Mapped:
    """An option of the category whose ledgersync id is ``category_id`` (``live``: that category is)."""
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE" if option.status == "ACTIVE" else "ARCHIVED"
    entity = entities.TrackingOption(
        id=entity_id,
        xero_id=option.tracking_option_id,
        tracking_category_id=category_id,
        name=option.name,
        status=status,
    )
    return Mapped(option.tracking_option_id.lower(), entity, live and option.status != "DELETED", None)


def branding_theme_of(theme: wire.BrandingTheme, entity_id: str) -> Mapped:
    entity = entities.BrandingTheme(
        id=entity_id, xero_id=theme.branding_theme_id, name=theme.name, sort_order=theme.sort_order
    )
    return Mapped(theme.branding_theme_id.lower(), entity, True, None)


def organisation_of(organisation: wire.Organisation, entity_id: str) -> Mapped:
    entity = entities.OrganisationSettings(
        id=entity_id,
        xero_id=organisation.organisation_id,
        name=organisation.name,
        base_currency=organisation.base_currency or "NZD",
        country_code=organisation.country_code,
        default_line_amount_type=_LINE_AMOUNT_TYPES.get(organisation.default_sales_tax or "", "Exclusive"),
        sales_terms=sales_terms_of(organisation.payment_terms),
    )
    return Mapped(organisation.organisation_id.lower(), entity, True, None)


_INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")


def invoice_facts_of(invoice: wire.Invoice) -> InvoiceFacts:
    """What ledgersync keeps of a forwarded invoice as Xero has it."""
    status = invoice.status if invoice.status in _INVOICE_STATUSES else "AUTHORISED"
    return InvoiceFacts(
        status=status,  # type: ignore[arg-type]
        amount_paid=invoice.amount_paid,
        amount_due=invoice.amount_due,
        total=invoice.total,
        invoice_number=invoice.invoice_number,
    )


def payment_of(payment: wire.Payment, entity_id: str, invoice_id: str) -> Mapped:
    """A Xero payment on a forwarded invoice (``invoice_id``: the phone's invoice record). A payment
    deleted in Xero (or reversed before its invoice was voided) stays a record, ``DELETED``: phones
    keep its history, and a WatermelonDB app gets it as a deleted row."""
    updated = utc(payment.updated_date_utc)
    paid_on = utc(payment.date)
    entity = entities.Payment(
        id=entity_id,
        xero_id=payment.payment_id,
        updated_at=updated,
        invoice_id=invoice_id,
        account_code=payment.account.code if payment.account else "",
        date=paid_on.date() if paid_on else (updated or datetime.now(UTC)).date(),
        amount=payment.amount,
        reference=payment.reference,
        status="DELETED" if payment.status == "DELETED" else "AUTHORISED",
    )
    return Mapped(payment.payment_id.lower(), entity, True, updated)
