r"""The text rules several modules share, as plain ``str`` functions instead of regular expressions.

The merge driver is a process per file, and importing ``re`` (which brings ``enum``,
``functools`` and ``collections``) is ~7 ms of its ~25 ms budget, so the rules on its path are
written out. Each function names the expression it replaces; ``tests/test_textrules.py`` holds
each one to that expression on generated text. In those expressions ``\d`` is any Unicode
decimal digit (``str.isdecimal``), as in ``re``; ``[0-9]`` is ASCII only.
"""

from __future__ import annotations

KEY_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
KEY_CHARS = KEY_FIRST + "0123456789.-"


def is_key(text: str) -> bool:
    """``[A-Za-z_][A-Za-z0-9_.-]*`` in full: a key gitstore writes plainly."""
    if text.isidentifier() and text.isascii():  # most keys, decided in C
        return True
    return bool(text) and text[0] in KEY_FIRST and not text.lstrip(KEY_CHARS)


def key_colon(text: str, start: int = 0) -> int:
    """Where ``[A-Za-z_][A-Za-z0-9_.-]*:`` matched at ``start`` has its colon, or -1. (A key's
    characters hold no colon, so the first one after ``start`` is the only candidate.)"""
    colon = text.find(":", start)
    return colon if colon > start and is_key(text[start:colon]) else -1


def at_end(text: str, at: int) -> bool:
    r"""Whether ``$`` (without MULTILINE) matches at ``at``: the end, or before a final ``\n``."""
    return at == len(text) or (at == len(text) - 1 and text[at] == "\n")


def is_stamp(text: str) -> bool:
    r"""``\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`` in full: the one form gitstore writes a time
    in (``2026-01-02T03:04:05.000006Z``), which sorts as the time does."""
    if text.isascii():  # the usual stamp: its shape, decided in C
        return text.translate(_ASCII_DIGITS) == _STAMP_SHAPE
    if (
        len(text) != 27
        or text[4] + text[7] + text[10] + text[13] + text[16] + text[19] + text[26] != "--T::.Z"
    ):
        return False
    digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    return (digits + text[20:26]).isdecimal()


_ASCII_DIGITS = str.maketrans("123456789", "000000000")
_STAMP_SHAPE = "0000-00-00T00:00:00.000000Z"


def is_date(text: str) -> bool:
    r"""``\d{4}-\d\d-\d\d`` in full."""
    if len(text) != 10 or text[4] + text[7] != "--":
        return False
    return (text[:4] + text[5:7] + text[8:]).isdecimal()


# The last day of each month, as text (February's leap day is checked on its own).
_LAST_DAY = {
    f"{m:02}": f"{d}" for m, d in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
}


def usable_stamp(text: str) -> bool:
    """Whether ``text`` is a stamp (:func:`is_stamp`) in ASCII digits naming a real moment from
    year 1 to 9998: one that ``datetime.fromisoformat`` reads, before the last moment a record
    may carry (9999). True proves it without importing datetime; False leaves it to datetime.
    (Fixed-width ASCII digits compare as text as their numbers do.)"""
    if not (text.isascii() and text.translate(_ASCII_DIGITS) == _STAMP_SHAPE):
        return False
    year, month, day = text[:4], text[5:7], text[8:10]
    if not ("0001" <= year <= "9998" and "01" <= day <= _LAST_DAY.get(month, "")):
        return False
    if month == "02" and day == "29":
        number = int(year)
        if number % 4 or (number % 100 == 0 and number % 400):
            return False
    return text[11:13] < "24" and text[14:16] < "60" and text[17:19] < "60"


_PLAIN_FIRST = KEY_FIRST + "/("
_PLAIN_CHARS = KEY_FIRST + "0123456789 ./()+@-"


def is_plain(text: str) -> bool:
    """``[A-Za-z_/(][A-Za-z0-9_ ./()+@-]*`` in full: text that is safe unquoted as a plain
    scalar or list item (when it is no word YAML resolves, such as ``yes``)."""
    return bool(text) and text[0] in _PLAIN_FIRST and not text.lstrip(_PLAIN_CHARS)


# What YAML cannot hold raw (outside its c-printable set, and CR): C0 controls but tab and LF,
# DEL, C1 controls, surrogates, the byte-order mark, U+FFFE and U+FFFF.
_CONTROLS = frozenset(map(chr, [*range(0x09), *range(0x0B, 0x20), 0x7F]))
_wide: frozenset[str] | None = None  # made on first use: most text is ASCII


def yaml_printable(text: str) -> bool:
    r"""``[\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*``
    in full: only characters a YAML file may hold raw."""
    global _wide
    if text.isascii():
        return _CONTROLS.isdisjoint(text)
    if _wide is None:
        more = [*range(0x80, 0xA0), *range(0xD800, 0xE000), 0xFEFF, 0xFFFE, 0xFFFF]
        _wide = _CONTROLS | frozenset(map(chr, more))
    return _wide.isdisjoint(text)
