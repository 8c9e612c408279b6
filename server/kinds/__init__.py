"""The record kinds phones push, one module each, and their registry.

    kind = KINDS.of(mutation)        # by the mutation's type (its ``op``)
    kind = KINDS.by_tag("upsert_invoice")

The push batch (``server.core.push``, which receives ``KINDS`` from ``create_app``), the
forwarder and the WatermelonDB adapter look a kind up here instead of branching on the
mutation's type. A new kind is one module implementing ``base.Kind`` plus its line in
``KINDS`` below (the order there is the order its Xero writes go in a forwarding run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from server.kinds import (
    customer,
    invoice,
    invoice_email,
    invoice_void,
    payment,
    payment_deletion,
    product,
)
from server.kinds.base import Kind, Operation
from sync_protocol.entities import Customer, Entity, Invoice, Payment, Product
from sync_protocol.messages import AnyMutation
from sync_protocol.watermelon import RawRecord


class Registry:
    def __init__(self, *kinds: Kind[Any]) -> None:
        self._kinds = kinds
        self._by_tag = {kind.tag: kind for kind in kinds}
        if len(self._by_tag) != len(kinds):
            raise ValueError("two kinds share a mutation op")

    def of(self, mutation: AnyMutation) -> Kind[Any]:
        return self._by_tag[type(mutation).__struct_config__.tag]  # type: ignore[index]

    def by_tag(self, tag: str) -> Kind[Any] | None:
        return self._by_tag.get(tag)

    def __iter__(self) -> Iterator[Kind[Any]]:
        return iter(self._kinds)

    def operations(self) -> tuple[Operation, ...]:
        """Every kind's Xero writes in dependency order: a run's items never depend on each
        other, but keeping this order means a customer and its invoice claimed by one run after
        a crash still reach Xero in the right order."""
        return tuple(operation for kind in self._kinds for operation in kind.operations)


# Dependency order: contacts, items, invoices, voids, payments, payment deletions, then emails (an
# invoice goes to the customer once its own changes and payments are in Xero).
KINDS = Registry(
    customer.KIND,
    product.KIND,
    invoice.KIND,
    invoice_void.KIND,
    payment.KIND,
    payment_deletion.KIND,
    invoice_email.KIND,
)

# The WatermelonDB row of each record a kind's mutations make (``server/watermelon/rows.py`` shows the
# tables apps only read itself). A kind whose records apps hold adds its row here.
ROWS: Mapping[type[Entity], Callable[[Any], RawRecord]] = {
    Customer: customer.row,
    Product: product.row,
    Invoice: invoice.row,
    Payment: payment.row,
}
