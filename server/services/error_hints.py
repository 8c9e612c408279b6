"""Plain-language hints for Xero's common validation messages: what went wrong and what to do.

Xero's messages are kept as they are (they are what Xero's support will ask for); a hint is said next
to them. Patterns match the wording of Xero's Accounting API (and the sandbox, which copies it).
"""

from __future__ import annotations

import re

_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"account code .* is not a valid code|account code must be specified", re.I),
        "The revenue account chosen for sales, or the one on a product, is not a valid, active account in "
        "Xero. Choose another account in Settings (or fix the product's sales account in Xero), then retry.",
    ),
    (
        re.compile(r"taxtype code .* does not exist|cannot be used for this type of transaction", re.I),
        "A tax rate used here is unknown to Xero or not allowed on sales. Check the product's or line's "
        "tax rate, Sync tax rates so phones have Xero's current list, then retry.",
    ),
    (
        re.compile(r"email address must be valid", re.I),
        "The customer's email address is not a valid address. Correct it on the phone (or in Xero) and "
        "retry.",
    ),
    (
        re.compile(r"is already assigned to another contact|already exists", re.I),
        "Xero already has a record with this name, and names must be unique there. Rename one of the two "
        "(or use the existing customer on the phone), then retry.",
    ),
    (
        re.compile(
            r"payment amount exceeds the amount outstanding|exceeds the amount (due|outstanding)", re.I
        ),
        "The payment is more than the invoice still owes, perhaps because the invoice was partly paid in "
        "Xero already. Check the invoice's amount due and enter the payment again for at most that.",
    ),
)


def hint_for(message: str) -> str | None:
    """The plain-language hint for a Xero message, or None when it is not a common one."""
    for pattern, hint in _HINTS:
        if pattern.search(message):
            return hint
    return None
