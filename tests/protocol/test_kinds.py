"""The registry of record kinds: every mutation a phone may push has exactly one kind."""

from __future__ import annotations

import typing

from server.kinds import KINDS
from sync_protocol.messages import AnyMutation


def test_every_mutation_type_has_one_kind_and_every_kind_a_mutation_type() -> None:
    pushed = set(typing.get_args(AnyMutation))
    assert {kind.mutation_type for kind in KINDS} == pushed
    for cls in pushed:
        kind = KINDS.by_tag(cls.__struct_config__.tag)
        assert kind is not None
        assert kind.mutation_type is cls


def test_each_xero_operation_belongs_to_one_kind_and_goes_once_per_run() -> None:
    operations = KINDS.operations()
    assert len({operation.name for operation in operations}) == len(operations)
    names = [operation.name for operation in operations]
    # Dependency order: a customer before its invoice, an invoice before its payments.
    assert names.index("contact_create") < names.index("invoice_create") < names.index("payment_create")


def test_every_create_in_xero_can_be_found_again_after_a_lost_answer() -> None:
    # Without it a create whose answer was lost would be sent again: a second copy in Xero.
    assert all(operation.found_again is not None for operation in KINDS.operations() if operation.creates)
