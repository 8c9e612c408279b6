"""docs/admin-console.md shows every page the accessibility check opens at both widths, from the
screenshots that check writes (LEDGERSYNC_DOCS_SCREENSHOTS=1), and no screenshot lies unreferenced."""

from __future__ import annotations

import re
from pathlib import Path

from tests.admin_console.browser import WIDTHS
from tests.admin_console.test_browser_accessibility import CONSOLE_PAGES, DOCS_SCREENSHOTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "admin-console.md"


def test_the_console_doc_shows_every_checked_page_at_both_widths_and_every_screenshot() -> None:
    referenced = set(re.findall(r"\(screenshots/([^)]+\.png)\)", DOC.read_text()))
    saved = {path.name for path in DOCS_SCREENSHOTS.glob("*.png")}
    expected = {f"{name}-{width}.png" for name in CONSOLE_PAGES for width in WIDTHS}
    assert saved == expected, (sorted(saved - expected), sorted(expected - saved))
    assert referenced == saved, (sorted(referenced - saved), sorted(saved - referenced))
