"""An invoice's tracking options and branding theme, checked against the mirror at the door.

Xero allows a line one option of each of (at most two) tracking categories, and refuses options
(or categories) archived since: refused here with the field named, so the phone hears at once
rather than through a failed upload. What the mirror cannot know (archived in Xero after the
invoice was accepted) comes back later as Xero's message in the upload's fate.
"""

from __future__ import annotations

from server.core.records import RecordView
from server.core.rejections import Rejected
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import InvoiceDraft, InvoiceLineDraft


async def check_line_tracking(view: RecordView, line: InvoiceLineDraft, at: str) -> None:
    """``at``: the line's field path (``invoice.lines[0]``); its ``tracking`` is named in refusals."""
    field = f"{at}.tracking"
    categories: set[str] = set()
    for option_id in line.tracking:
        found = await view.tracking_option(option_id)
        if found is None:
            raise Rejected(ErrorCode.UNKNOWN_TRACKING_OPTION, f"no tracking option {option_id}", field)
        option, category = found
        if category is None:
            raise Rejected(
                ErrorCode.UNKNOWN_TRACKING_OPTION, f"the tracking option {option_id} has no category", field
            )
        if category.status != "ACTIVE":
            raise Rejected(
                ErrorCode.TRACKING_OPTION_ARCHIVED,
                f"the tracking category '{category.name}' of option '{option.name}' is archived in Xero",
                field,
            )
        if option.status != "ACTIVE":
            raise Rejected(
                ErrorCode.TRACKING_OPTION_ARCHIVED,
                f"the tracking option '{option.name}' of '{category.name}' is archived in Xero",
                field,
            )
        if category.id in categories:
            raise Rejected(
                ErrorCode.UNKNOWN_TRACKING_OPTION,
                f"a line takes one option of each tracking category: two of '{category.name}'",
                field,
            )
        categories.add(category.id)


async def check_branding_theme(view: RecordView, draft: InvoiceDraft) -> None:
    theme_id = draft.branding_theme_id
    if theme_id is not None and await view.branding_theme(theme_id) is None:
        raise Rejected(
            ErrorCode.UNKNOWN_BRANDING_THEME, f"no branding theme {theme_id}", "invoice.branding_theme_id"
        )
