"""Problems in an operator's file, and typed reading of marked YAML values.

Every check of the config files reports the file, the real 1-based line and
the field at fault (`ConfigProblem`); a file's problems are collected (up to
`PROBLEMS_MAX`) and raised together as one `ConfigError`, so a file can be
fixed in one go.

The readers here take a `Value` (a value read from the file, with its line
and field path) and give the typed value (ids, integers, degrees, time
zones, dates, times of day, weekday lists...), or None after reporting what
is wrong with it. Types are strict: ``12`` is not a string, ``true`` is not
an integer, and null is never accepted in place of a value. Field paths
index lists from 0: ``nodes[3].timezone``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml

from dompromise.config.marked import MarkedList, MarkedMapping, node_line
from dompromise.errors import DompromiseError
from dompromise.limits import ID_LENGTH_MAX
from dompromise.model.transport import MINUTES_PER_DAY, WEEKDAY_NAMES, WEEKDAY_SPELLINGS, LocalTime

# Enough to fix a file in a few passes without flooding a terminal.
PROBLEMS_MAX = 100

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
_COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")

T = TypeVar("T")
# Apart from T: a lambda's result type is inferred after the other arguments,
# so one type variable would be fixed by a default like () or {}.
_Default = TypeVar("_Default")


# --------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a file, where an operator can find it."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class ConfigError(DompromiseError):
    """Every problem found in one file; `str()` gives one per line."""

    def __init__(self, problems: list[ConfigProblem], truncated: bool = False) -> None:
        self.problems = list(problems)
        # True when the file had more than PROBLEMS_MAX problems.
        self.truncated = truncated
        # The constructor's own arguments, so the error pickles across processes.
        super().__init__(self.problems, truncated)

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems]
        if self.truncated:
            lines.append("... and more")
        return "\n".join(lines)


class _TooManyProblems(Exception):
    """Raised by `Problems.add` to stop reading a hopeless file early; caught by `Problems.read_all`."""


class Problems:
    """Collects problems for one file, stopping after PROBLEMS_MAX."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[ConfigProblem] = []
        self.truncated = False

    def add(self, line: int, field: str, message: str) -> None:
        if len(self.items) >= PROBLEMS_MAX:
            self.truncated = True
            raise _TooManyProblems()
        self.items.append(ConfigProblem(self.path, line, field, message))

    def count(self) -> int:
        return len(self.items)

    def read_all(self, read: Callable[[], T]) -> T | None:
        """read(), which reports here; None when it stopped early, past PROBLEMS_MAX problems."""
        try:
            return read()
        except _TooManyProblems:
            return None

    def raise_if_any(self) -> None:
        if self.items:
            # In file order, which is how an operator works through them.
            in_line_order = sorted(self.items, key=lambda problem: problem.line)
            raise ConfigError(in_line_order, self.truncated)


def single_problem(path: str, line: int, field: str, message: str) -> ConfigError:
    """The error of a file with one problem that stops all reading (a syntax error, bad bytes)."""
    return ConfigError([ConfigProblem(path, line, field, message)])


def read_utf8(path: Path, path_text: str) -> str:
    """The file's text; a byte that is not UTF-8 is a ConfigError on its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise single_problem(path_text, line, "(file)", f"not UTF-8 text: {error.reason}") from None


def checked(value: T | None) -> T:
    """A value read with no problem reported: readers give None only after reporting one."""
    assert value is not None, "a reader gave None without reporting a problem"
    return value


# --------------------------------------------------------------------------
# Located values


@dataclass(frozen=True)
class Value:
    """A value read from the file, with where it came from."""

    value: object
    line: int
    field: str
    # Source text when the value was an unquoted scalar, to suggest quoting.
    plain_text: str | None = None


def _value_from_node(value: object, node: yaml.Node, field: str) -> Value:
    plain_text = None
    # Plain (unquoted) style is None from the Python parser, "" from the C one.
    if isinstance(node, yaml.ScalarNode) and not node.style:
        plain_text = node.value
    return Value(value, node_line(node), field, plain_text)


def join(field: str, key: object) -> str:
    """The field path of `key` inside `field` ("" at the top of the file)."""
    return f"{field}.{key}" if field else str(key)


def member(mapping: MarkedMapping, key: object, field: str) -> Value | None:
    """The value under `key`, or None when the key is absent."""
    if key not in mapping:
        return None
    return _value_from_node(mapping[key], mapping.value_nodes[key], join(field, key))


def items(entries: MarkedList, field: str) -> list[Value]:
    """The items of a list, each with its line and `field[index]` path."""
    return [
        _value_from_node(item, node, f"{field}[{index}]")
        for index, (item, node) in enumerate(zip(entries, entries.item_nodes))
    ]


def optional(
    entry: MarkedMapping, key: str, field: str, default: _Default, read: Callable[[Value], T | None]
) -> T | _Default | None:
    """`read` the value under `key`, or `default` when the key is absent."""
    item = member(entry, key, field)
    if item is None:
        return default
    return read(item)


def required(entry: MarkedMapping, key: str, field: str, read: Callable[[Value], T | None]) -> T | None:
    """`read` the value under a required key (its absence is reported by check_keys)."""
    item = member(entry, key, field)
    return None if item is None else read(item)


def declared_ids(mapping: MarkedMapping, key: str, id_key: str) -> set[str]:
    """Every string written as `id_key` in the entries of the list under `key`, valid entry or not.

    References are checked against these: one bad entry should be one
    problem, not one more per entry that names it.
    """
    entries = mapping.get(key)
    if not isinstance(entries, list):
        return set()
    return {entry_id for entry in entries if isinstance(entry, dict) and isinstance(entry_id := entry.get(id_key), str)}


# --------------------------------------------------------------------------
# Checks


def describe_type(value: object) -> str:
    """How a value's type reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def check_keys(
    mapping: MarkedMapping,
    field: str,
    allowed: tuple[str, ...],
    required_keys: tuple[str, ...],
    problems: Problems,
) -> None:
    """Report duplicate, unknown and missing keys of one mapping."""
    for key, line, first_line in mapping.duplicate_keys:
        problems.add(line, join(field, key), f"duplicate key (first on line {first_line})")
    for key in mapping:
        if key not in allowed:
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(str(key), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            else:
                message += f" (expected one of: {', '.join(allowed)})"
            problems.add(mapping.key_lines[key], join(field, key), message)
    for key in required_keys:
        if key not in mapping:
            problems.add(mapping.line, join(field, key), "missing required key")


def check_unique_ids(ids: list[tuple[str, Value]], kind: str, problems: Problems) -> None:
    """Report each id used twice, on the duplicate's line, naming the first one's line."""
    first_lines: dict[str, int] = {}
    for entry_id, id_item in ids:
        if entry_id in first_lines:
            problems.add(
                id_item.line,
                id_item.field,
                f"duplicate {kind} id {entry_id!r} (first defined on line {first_lines[entry_id]})",
            )
        else:
            first_lines[entry_id] = id_item.line


# --------------------------------------------------------------------------
# Typed readers: the value, or None after reporting a problem


def as_mapping(item: Value, problems: Problems) -> MarkedMapping | None:
    if isinstance(item.value, MarkedMapping):
        return item.value
    problems.add(item.line, item.field, f"expected a mapping, got {describe_type(item.value)}")
    return None


def as_list(item: Value, problems: Problems) -> MarkedList | None:
    if isinstance(item.value, MarkedList):
        return item.value
    problems.add(item.line, item.field, f"expected a list, got {describe_type(item.value)}")
    return None


def as_str(item: Value, problems: Problems) -> str | None:
    if isinstance(item.value, str):
        return item.value
    message = f"expected a string, got {describe_type(item.value)}"
    if item.plain_text is not None and item.value is not None:
        message += f"; write it in quotes: {json.dumps(item.plain_text)}"
    problems.add(item.line, item.field, message)
    return None


def as_id(item: Value, problems: Problems) -> str | None:
    """An identifier: printable ASCII, no spaces, bounded length."""
    text = as_str(item, problems)
    if text is None:
        return None
    if len(text) > ID_LENGTH_MAX:
        problems.add(item.line, item.field, f"longer than {ID_LENGTH_MAX} characters")
        return None
    if not _ID_PATTERN.fullmatch(text):
        problems.add(
            item.line,
            item.field,
            f"{text!r} is not a valid id (letters, digits and . _ : / -, starting with a letter or digit)",
        )
        return None
    return text


def as_int(item: Value, low: int, high: int, problems: Problems) -> int | None:
    # bool is an int subclass; `true` where a count is meant is a mistake.
    if not isinstance(item.value, int) or isinstance(item.value, bool):
        problems.add(item.line, item.field, f"expected an integer, got {describe_type(item.value)}")
        return None
    if not low <= item.value <= high:
        problems.add(item.line, item.field, f"{item.value} is outside [{low}, {high}]")
        return None
    return item.value


def as_bool(item: Value, problems: Problems) -> bool | None:
    if isinstance(item.value, bool):
        return item.value
    problems.add(item.line, item.field, f"expected true or false, got {describe_type(item.value)}")
    return None


def as_degrees(item: Value, limit_degrees: float, problems: Problems) -> float | None:
    value = item.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        problems.add(item.line, item.field, f"expected a number, got {describe_type(value)}")
        return None
    if not math.isfinite(value) or not -limit_degrees <= value <= limit_degrees:
        problems.add(item.line, item.field, f"{value} is outside [{-limit_degrees:g}, {limit_degrees:g}]")
        return None
    return float(value)


def as_choice(item: Value, choices: Mapping[str, T], problems: Problems) -> T | None:
    """One of the config spellings in `choices`, mapped to its enum value."""
    text = as_str(item, problems)
    if text is None:
        return None
    if text not in choices:
        problems.add(
            item.line,
            item.field,
            f"unknown value {text!r} (expected one of: {', '.join(choices)})",
        )
        return None
    return choices[text]


def as_timezone(item: Value, problems: Problems) -> str | None:
    text = as_str(item, problems)
    if text is None:
        return None
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        problems.add(item.line, item.field, f"{text!r} is not a known IANA time zone")
        return None
    return text


def as_country(item: Value, problems: Problems) -> str | None:
    text = as_str(item, problems)
    if text is None:
        return None
    if not _COUNTRY_PATTERN.fullmatch(text):
        problems.add(item.line, item.field, f"{text!r} is not an ISO 3166 alpha-2 code like FR")
        return None
    return text


def as_date(item: Value, problems: Problems) -> dt.date | None:
    """A date: unquoted YAML 2026-05-01, or the string "2026-05-01" (JSON)."""
    value = item.value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:  # fromisoformat would also take 20260501
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
        problems.add(item.line, item.field, f"{value!r} is not a date YYYY-MM-DD")
        return None
    problems.add(item.line, item.field, f"expected a date YYYY-MM-DD, got {describe_type(value)}")
    return None


def as_time(item: Value, problems: Problems, end_of_day: bool = False) -> LocalTime | None:
    """A local time of day "HH:MM"; 24:00 only where `end_of_day` (a closing time)."""
    text = as_str(item, problems)
    if text is None:
        return None
    try:
        time = LocalTime.parse(text)
    except ValueError:
        time = None
    if time is None or (time.minute_of_day == MINUTES_PER_DAY and not end_of_day):
        allowed = "00:00 to 24:00" if end_of_day else "00:00 to 23:59"
        problems.add(item.line, item.field, f"{text!r} is not a time of day HH:MM ({allowed})")
        return None
    return time


def as_weekdays(item: Value, problems: Problems) -> tuple[int, ...] | None:
    """A non-empty list of mon..sun, no repeats, returned in week order."""
    entries = as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, "must list at least one weekday")
        return None
    before = problems.count()
    days: dict[int, int] = {}
    for day_item in items(entries, item.field):
        day = as_choice(day_item, WEEKDAY_NAMES, problems)
        if day is None:
            continue
        if day in days:
            problems.add(
                day_item.line,
                day_item.field,
                f"duplicate weekday {WEEKDAY_SPELLINGS[day]!r} (first on line {days[day]})",
            )
            continue
        days[day] = day_item.line
    if problems.count() > before:
        return None
    return tuple(sorted(days))


def read_strings(
    item: Value, kind: str, read_one: Callable[[Value, Problems], str | None], problems: Problems
) -> tuple[str, ...] | None:
    """A list of strings, each checked by `read_one`, no repeats."""
    entries = as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    first_lines: dict[str, int] = {}
    for text_item in items(entries, item.field):
        text = read_one(text_item, problems)
        if text is None:
            continue
        if text in first_lines:
            problems.add(
                text_item.line, text_item.field, f"duplicate {kind} {text!r} (first on line {first_lines[text]})"
            )
            continue
        first_lines[text] = text_item.line
    if problems.count() > before:
        return None
    return tuple(first_lines)
