"""The HSDS-UK 3.0 ``Page`` envelope: ``total_items``, ``total_pages``, ``page_number``,
``size``, ``first_page``, ``last_page``, ``empty`` and ``contents``.

Pages count from 1. ``size`` is the number of items on this page (as in the standard's
own examples), ``empty`` says this page has none. A page past the last one is an empty
page, not an error; ``page`` or ``per_page`` below 1 is refused (a 400 naming the
parameter), and ``per_page`` above :data:`MAX_PER_PAGE` is capped at it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000


def page_bounds(page: int, per_page: int) -> tuple[int, int]:
    """Give the (start, stop) positions of page ``page`` (from 1) of ``per_page`` items."""
    start = (page - 1) * per_page
    return start, start + per_page


def total_pages(total_items: int, per_page: int) -> int:
    """Give how many pages ``total_items`` fill; an empty result still has its one page."""
    return max(1, math.ceil(total_items / per_page))


def page_envelope(contents: Sequence[Any], *, total_items: int, page: int, per_page: int
                  ) -> dict[str, Any]:
    """Give the standard's ``Page`` object around one page's ``contents``."""
    pages = total_pages(total_items, per_page)
    return {"total_items": total_items, "total_pages": pages, "page_number": page,
            "size": len(contents), "first_page": page == 1, "last_page": page >= pages,
            "empty": len(contents) == 0, "contents": list(contents)}
