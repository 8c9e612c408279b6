"""Amounts on the wire: decimal strings of bounded precision, never JSON numbers.

The types are ``str`` constrained by a pattern, so a strict msgspec decode refuses a JSON number
(``12.5``) and a string with too many places (``"1.005"``) and names the field; ``to_decimal``
turns a validated string into an exact ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

Money = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$",
        description='An amount of money: a decimal string with at most 2 places, e.g. `"115.00"`.',
        examples=["115.00"],
    ),
]
UnitAmount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]{1,13}(\.[0-9]{1,4})?$",
        description='A unit price: a decimal string with at most 4 places, e.g. `"12.3456"`.',
        examples=["49.9500"],
    ),
]
Quantity = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,9}(\.[0-9]{1,4})?$",
        description="A quantity: a non-negative decimal string with at most 4 places.",
        examples=["2"],
    ),
]
Percent = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$",
        description='A percentage 0 to 100 with at most 2 places, e.g. a discount `"10"`.',
        examples=["10"],
    ),
]


def to_decimal(text: str) -> Decimal:
    return Decimal(text)


def money_text(amount: Decimal) -> str:
    """The canonical wire form of an amount: exactly 2 places."""
    return str(amount.quantize(Decimal("0.01")))
