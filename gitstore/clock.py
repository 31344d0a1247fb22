"""The metadata clock: RFC 3339 stamps, the hybrid logical clock, and which stamps to refuse.

``last_modified`` and each ``clocks`` entry are ``max(now, previous + 1µs)``, so an edit sorts after
what it read; a stamp far ahead of this machine's time is refused rather than followed.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


def format_time(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime writes such a year unpadded: keep what it has always written
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:26] + "Z"  # the same text, 5x faster


def parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


_moments: dict[str, dt.datetime | None] = {}  # stamp -> parse_time of it (None: not a time)


def _moment(text: str) -> dt.datetime | None:
    """:func:`parse_time`, or None where it raises; remembered, because every write checks the
    same stamps several times (a record's clocks share a few: a field's, the record's)."""
    try:
        return _moments[text]
    except KeyError:
        pass
    try:
        moment: dt.datetime | None = parse_time(text)
    except (ValueError, OverflowError):
        moment = None
    if len(_moments) >= 4096:
        _moments.clear()
    _moments[text] = moment
    return moment


#: How far ahead of this machine's clock a stored time may be. Further ahead is a clock that runs
#: fast or a hand-set time: under last-writer-wins it would beat every real edit until the world
#: caught up, so validation refuses it and the clock below never follows it.
MAX_AHEAD = dt.timedelta(minutes=5)


def next_clock(previous: object = None) -> str:
    """Hybrid logical clock: ``max(now, previous + 1µs)``, so an edit sorts after what it read.

    A ``previous`` more than :data:`MAX_AHEAD` ahead of now is not followed (the new stamp is
    now): one record stamped 2099 must not make every later edit 2099 too. Only such a bogus
    time then sorts after the edit that read it, and validation refuses to commit it anyway."""
    now = dt.datetime.now(dt.UTC)
    if isinstance(previous, str):
        with contextlib.suppress(ValueError, OverflowError):
            before = parse_time(previous)
            if before - now <= MAX_AHEAD:
                now = max(now, before + dt.timedelta(microseconds=1))
    return format_time(now)


def brought_back(clocks: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    """``clocks`` with each time more than :data:`MAX_AHEAD` ahead of now replaced by ``stamp``
    (a hand-set or fast clock would otherwise win every merge)."""
    now = dt.datetime.now(dt.UTC)
    return {k: stamp if too_far_ahead(v, now) else v for k, v in clocks.items()}


def too_far_ahead(stamp: object, now: dt.datetime | None = None) -> bool:
    """Whether ``stamp`` (RFC 3339 text) is more than :data:`MAX_AHEAD` ahead of ``now``."""
    if not isinstance(stamp, str):
        return False
    moment = _moment(stamp)
    if moment is None:
        return False
    return moment - (now or dt.datetime.now(dt.UTC)) > MAX_AHEAD


def clock_problems(
    data: Mapping[str, Any], now: dt.datetime | None = None
) -> list[tuple[str, str]]:
    """``(key, message)`` for each time in a record too far ahead of this machine's clock
    (``last_modified``, and each ``clocks`` entry): for validation and ``gitstore doctor``."""
    now = now or dt.datetime.now(dt.UTC)
    found = []
    times = [("last_modified", "last_modified", data.get("last_modified"))]
    clocks = data.get("clocks")
    if isinstance(clocks, dict):
        times += [("clocks", f"clocks.{k}", v) for k, v in clocks.items()]
    for key, name, stamp in times:
        if too_far_ahead(stamp, now):
            found.append(
                (
                    key,
                    f"{name} is {stamp}, more than {MAX_AHEAD.seconds // 60} minutes ahead of "
                    f"this machine's clock ({format_time(now)}): it would win every merge; fix "
                    "the clock that wrote it, then set it to now (any gitstore edit of the "
                    "record does)",
                )
            )
    return found


_usable: set[str] = set()  # times time_problem found nothing wrong with


def times_ok(values: Iterable[object]) -> bool:
    """Whether :func:`time_problem` finds nothing wrong with any of ``values`` (a record's clocks:
    most were checked at its last write already, and are remembered)."""
    usable = _usable
    for value in values:
        if value.__class__ is str and value in usable:
            continue
        if time_problem(value) is not None:
            return False
        if isinstance(value, str):
            if len(usable) >= 4096:
                usable.clear()
            usable.add(value)
    return True


#: The last moment a record may carry: a later one could not be followed by a next edit.
LAST_MOMENT = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def time_problem(value: object) -> str | None:
    """Why ``value`` is not a usable ``last_modified`` (an RFC 3339 string), or None."""
    if not isinstance(value, str):
        return f"{value!r} is not an RFC 3339 time"
    moment = _moment(value)
    if moment is None:
        return f"{value!r} is not an RFC 3339 time"
    if moment >= LAST_MOMENT:
        return f"{value!r} is too far in the future"
    return None
