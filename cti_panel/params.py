"""Numbers from URLs, query strings and forms, parsed at the boundary.

ASCII digits only (`str.isdigit()` accepts '²'), bounded so they fit the
database's INTEGER columns: anything else is a 400 (a bad parameter) or a 404
(a path that names nothing), never a 500.
"""

from __future__ import annotations

import re

from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

MAX_DIGITS = 9  # below 2**31: every id and number column is an INTEGER
_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")


class BadNumber(BadRequest):
    def __init__(self, name: str) -> None:
        super().__init__(description=name)
        self.param = name


def parse_id(value: object, name: str = "number", *, required: bool = False) -> int | None:
    """'42' -> 42; '' or None -> None (or 400 when required); '²', '-1', 30 digits -> 400."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise BadNumber(name)
        return None
    if not _ASCII_DIGITS.fullmatch(text):
        raise BadNumber(name)
    number = int(text)
    if number < 1:
        raise BadNumber(name)
    return number


def page_number(value: object) -> int:
    """A page parameter: anything unreadable is simply page 1 (a link, not an attack)."""
    text = str(value or "").strip()
    if _ASCII_DIGITS.fullmatch(text):
        return max(1, int(text))
    return 1


class BoundedIntConverter(BaseConverter):
    """Replaces werkzeug's `int`: ASCII digits, at most 9 of them (longer paths are 404)."""

    regex = r"[0-9]{1,9}"
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
