"""Records as drafts: what a phone sends to change a record it holds, built from the record itself.

Phones edit from the record they pulled; the server builds the same drafts to compare an edit with its
base. One place for both, so the two cannot drift apart.
"""

from __future__ import annotations

import msgspec

from sync_protocol.entities import Address, Customer, Invoice
from sync_protocol.messages import AddressDraft, CustomerBase, CustomerDraft, InvoiceDraft, InvoiceLineDraft
from sync_protocol.money import money_text


def customer_draft(customer: Customer) -> CustomerDraft:
    """The customer as an ``upsert_customer`` draft: sending it unchanged changes nothing."""
    address = customer.address
    return CustomerDraft(
        id=customer.id,
        name=customer.name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        account_number=customer.account_number,
        tax_number=customer.tax_number,
        address=AddressDraft(**msgspec.structs.asdict(address)) if address else None,
    )


def customer_base(customer: Customer) -> CustomerBase:
    """The customer as the ``base`` of an edit of it."""
    address = customer.address
    return CustomerBase(
        id=customer.id,
        name=customer.name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        account_number=customer.account_number,
        tax_number=customer.tax_number,
        address=Address(**msgspec.structs.asdict(address)) if address else None,
    )


def invoice_draft(invoice: Invoice) -> InvoiceDraft:
    """The invoice as an ``upsert_invoice`` draft (and the ``base`` of an edit of it)."""
    return InvoiceDraft(
        id=invoice.id,
        customer_id=invoice.customer_id,
        reference=invoice.reference,
        date=invoice.date,
        due_date=invoice.due_date,
        line_amount_type=invoice.line_amount_type,
        lines=[
            InvoiceLineDraft(
                description=line.description,
                product_id=line.product_id,
                quantity=format(line.quantity, "f"),
                unit_amount=format(line.unit_amount, "f"),
                discount_rate=format(line.discount_rate, "f") if line.discount_rate is not None else None,
                account_code=line.account_code,
                tax_type=line.tax_type,
                line_amount=money_text(line.line_amount),
                tax_amount=money_text(line.tax_amount),
                tracking=list(line.tracking),
            )
            for line in invoice.lines
        ],
        sub_total=money_text(invoice.sub_total),
        total_tax=money_text(invoice.total_tax),
        total=money_text(invoice.total),
        branding_theme_id=invoice.branding_theme_id,
    )
