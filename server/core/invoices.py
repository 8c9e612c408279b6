"""Checking an uploaded invoice against the mirror, recomputing its amounts Xero's way, and its due date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from server.core.records import RecordView
from server.core.rejections import Rejected
from server.core.tracking import check_branding_theme, check_line_tracking
from sync_protocol.entities import Customer, Invoice, InvoiceLine, OrganisationSettings, Product
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import InvoiceDraft, InvoiceLineDraft
from sync_protocol.money import to_decimal
from sync_protocol.terms import due_date
from sync_protocol.totals import invoice_totals, line_amount, line_tax


def _check_amount(field: str, expected: Decimal, got_text: str) -> None:
    got = to_decimal(got_text)
    if got != expected:
        raise Rejected(
            ErrorCode.TOTALS_MISMATCH,
            f"{field} is {got_text} on the phone but {expected} with Xero's rounding",
            field=field,
            details={"expected": str(expected), "got": got_text},
        )


async def _line(
    view: RecordView, draft: InvoiceLineDraft, at: str, invoice: InvoiceDraft, default_tax: str | None
) -> InvoiceLine:
    product: Product | None = None
    if draft.product_id is not None:
        product = await view.get(Product, draft.product_id)
        if product is None:
            raise Rejected(ErrorCode.UNKNOWN_PRODUCT, f"no product {draft.product_id}", f"{at}.product_id")
    account_code = draft.account_code or (product.account_code if product else None)
    if draft.account_code is not None and await view.account(draft.account_code) is None:
        raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {draft.account_code}", f"{at}.account_code")
    tax_type = draft.tax_type or (product.tax_type if product else None) or default_tax
    rate = Decimal(0)
    if invoice.line_amount_type != "NoTax":
        if tax_type is None:
            raise Rejected(ErrorCode.INVALID_VALUE, "a taxed line needs a tax_type", f"{at}.tax_type")
        tax_rate = await view.tax_rate(tax_type)
        if tax_rate is None:
            raise Rejected(ErrorCode.UNKNOWN_TAX_TYPE, f"no tax rate {tax_type}", f"{at}.tax_type")
        rate = tax_rate.rate
    quantity, unit = to_decimal(draft.quantity), to_decimal(draft.unit_amount)
    discount = to_decimal(draft.discount_rate) if draft.discount_rate is not None else None
    if discount is not None and discount > 100:
        raise Rejected(ErrorCode.INVALID_VALUE, "a discount is at most 100%", f"{at}.discount_rate")
    await check_line_tracking(view, draft, at)
    amount = line_amount(quantity, unit, discount)
    _check_amount(f"{at}.line_amount", amount, draft.line_amount)
    tax = line_tax(amount, rate, invoice.line_amount_type)
    _check_amount(f"{at}.tax_amount", tax, draft.tax_amount)
    return InvoiceLine(
        description=draft.description,
        product_id=draft.product_id,
        quantity=quantity,
        unit_amount=unit,
        discount_rate=discount,
        account_code=account_code,
        tax_type=tax_type if invoice.line_amount_type != "NoTax" else draft.tax_type,
        line_amount=amount,
        tax_amount=tax,
        tracking=list(draft.tracking),
    )


# Xero refuses a line without a description unless it names an item: the forwarder sends this
# (or the product's name) for a line the phone left without one.
FALLBACK_DESCRIPTION = "Item"


def default_due_date(
    invoice_date: date, customer: Customer | None, organisation: OrganisationSettings | None
) -> date | None:
    """The due date Xero's UI gives an invoice without one: the customer's sales terms, else the
    organisation's (None: neither has terms)."""
    term = (customer.sales_terms if customer else None) or (
        organisation.sales_terms if organisation else None
    )
    return due_date(invoice_date, term) if term is not None else None


async def build_invoice(view: RecordView, draft: InvoiceDraft, previous: Invoice | None) -> Invoice:
    """The invoice record the draft describes, or ``Rejected`` naming the first bad field."""
    settings = await view.organisation()
    default_tax = settings.default_sales_tax_type if settings else None
    await check_branding_theme(view, draft)
    lines = [
        await _line(view, line, f"invoice.lines[{n}]", draft, default_tax)
        for n, line in enumerate(draft.lines)
    ]
    totals = invoice_totals(
        [li.line_amount for li in lines], [li.tax_amount for li in lines], draft.line_amount_type
    )
    _check_amount("invoice.sub_total", totals.sub_total, draft.sub_total)
    _check_amount("invoice.total_tax", totals.total_tax, draft.total_tax)
    _check_amount("invoice.total", totals.total, draft.total)
    paid = previous.amount_paid if previous else Decimal("0.00")
    if totals.total < paid:
        raise Rejected(
            ErrorCode.INVALID_VALUE,
            f"the total {totals.total} is below what was paid already ({paid})",
            "invoice.total",
            {"amount_paid": str(paid)},
        )
    return Invoice(
        id=draft.id,
        xero_id=previous.xero_id if previous else None,
        invoice_number=previous.invoice_number if previous else "",
        customer_id=draft.customer_id,
        reference=draft.reference,
        date=draft.date,
        due_date=draft.due_date
        or default_due_date(draft.date, await view.get(Customer, draft.customer_id), settings),
        currency=settings.base_currency if settings else "",
        line_amount_type=draft.line_amount_type,
        lines=lines,
        sub_total=totals.sub_total,
        total_tax=totals.total_tax,
        total=totals.total,
        amount_paid=paid,
        amount_due=totals.total - paid,
        status="PAID" if totals.total == paid and paid else "AUTHORISED",
        branding_theme_id=draft.branding_theme_id,
    )
