"""Route templates as the Functions host (ASP.NET Core routing) reads them.

Supported: literal segments (case-insensitive), ``{name}``, several parameters in one
segment (``{name}.{ext}``), constraints ``{id:int}`` / ``{id:int:min(1)}`` (int, long,
bool, alpha, guid, datetime, decimal, double, float, min, max, range, length,
minlength, maxlength, regex(...), required), optional ``{name?}`` and defaults
``{name=x}`` in trailing segments, catch-all ``{*rest}``; ``{{``/``}}`` are literal
braces. When several routes match, the most specific wins (literal > constrained
parameter > parameter > catch-all), then the first registered.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

Constraint = Callable[[str], bool]
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class RouteError(ValueError):
    """A route template the host would refuse."""


@dataclass(frozen=True)
class Parameter:
    name: str
    constraints: tuple[tuple[str, Constraint], ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        return all(check(value) for _, check in self.constraints)


@dataclass(frozen=True)
class Segment:
    parts: tuple[str | Parameter, ...]
    pattern: re.Pattern[str]

    @property
    def parameter(self) -> Parameter | None:
        """The parameter when it is the whole segment."""
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Parameter) else None

    @property
    def precedence(self) -> int:
        """ASP.NET's inbound precedence digit: lower is more specific."""
        if all(isinstance(p, str) for p in self.parts):
            return 1
        if len(self.parts) > 1:
            return 2
        param = self.parameter
        assert param is not None
        if param.catch_all:
            return 5
        return 3 if param.constraints else 4


class RouteTemplate:
    """One parsed template; :meth:`match` takes decoded path segments."""

    def __init__(self, template: str) -> None:
        self.text = template.strip().strip("/")
        self.segments = [_parse_segment(raw, self.text) for raw in self.text.split("/")] if self.text else []
        names = [p.name.lower() for s in self.segments for p in s.parts if isinstance(p, Parameter)]
        if len(names) != len(set(names)):
            raise RouteError(f"route {template!r} uses a parameter name twice")
        for index, segment in enumerate(self.segments):
            param = segment.parameter
            if param and param.catch_all and index != len(self.segments) - 1:
                raise RouteError(f"route {template!r}: a catch-all parameter must be the last segment")
            for part in segment.parts:
                if isinstance(part, Parameter) and part.optional and segment.parameter is None:
                    raise RouteError(f"route {template!r}: an optional parameter must be a whole segment")
        self._required = len(self.segments)
        while self._required and _omittable(self.segments[self._required - 1]):
            self._required -= 1
        for segment in self.segments[: self._required]:
            param = segment.parameter
            if param and param.optional:
                raise RouteError(f"route {template!r}: only trailing parameters can be optional")

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(s.precedence for s in self.segments)

    def match(self, path: list[str]) -> dict[str, str] | None:
        """Route values when ``path`` (decoded segments) matches, else None."""
        segments = self.segments
        values: dict[str, str] = {}
        last = segments[-1].parameter if segments else None
        if last is not None and last.catch_all:
            fixed = segments[:-1]
            if len(path) < len(fixed) or not self._match_fixed(fixed, path, values):
                return None
            rest = "/".join(path[len(fixed):])
            if rest:
                if not last.accepts(rest):
                    return None
                values[last.name] = rest
            elif last.default is not None:
                values[last.name] = last.default
            return values
        if not self._required <= len(path) <= len(segments):
            return None
        if not self._match_fixed(segments[: len(path)], path, values):
            return None
        for segment in segments[len(path):]:
            param = segment.parameter
            if param is not None and param.default is not None:
                values[param.name] = param.default
        return values

    @staticmethod
    def _match_fixed(segments: list[Segment], path: list[str], values: dict[str, str]) -> bool:
        for segment, text in zip(segments, path):
            found = segment.pattern.fullmatch(text)
            if not found:
                return False
            params = [p for p in segment.parts if isinstance(p, Parameter)]
            for index, param in enumerate(params):
                value = found.group(f"p{index}")
                if not param.accepts(value):
                    return False
                values[param.name] = value
        return True


@dataclass
class Route:
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    target: Any
    order: int = 0


class Router:
    """Picks the function for a request path and method."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: (r.template.precedence, r.order))

    def resolve(self, method: str, raw_path: str) -> tuple[Any, dict[str, str]] | None:
        """(target, route values) for ``raw_path`` (still percent-encoded, query
        allowed). Only a route whose methods include ``method`` matches, as in the
        host: a known path with another method is a plain 404."""
        segments = split_path(raw_path)
        if segments is None:
            return None
        for route in self.routes:
            if route.methods is not None and method.upper() not in route.methods:
                continue
            values = route.template.match(segments)
            if values is not None:
                return route.target, values
        return None


def split_path(raw_path: str) -> list[str] | None:
    """Decoded segments of a URL path; one trailing slash is ignored; an empty
    segment inside the path matches nothing (None)."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0].lstrip("/")
    if path.endswith("/"):
        path = path[:-1]
    if not path:
        return []
    parts = path.split("/")
    if any(part == "" for part in parts):
        return None
    return [unquote(part) for part in parts]


def join_template(prefix: str, route: str) -> str:
    prefix, route = prefix.strip("/"), route.strip().strip("/")
    return f"{prefix}/{route}" if prefix and route else prefix or route


def _omittable(segment: Segment) -> bool:
    param = segment.parameter
    return param is not None and (param.optional or param.default is not None or param.catch_all)


def _parse_segment(raw: str, template: str) -> Segment:
    if raw == "":
        raise RouteError(f"route {template!r} has an empty segment")
    parts: list[str | Parameter] = []
    literal = ""
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "{" and raw.startswith("{{", i):
            literal += "{"
            i += 2
        elif char == "}" and raw.startswith("}}", i):
            literal += "}"
            i += 2
        elif char == "{":
            body, i = _read_parameter(raw, i + 1, template)
            if literal:
                parts.append(literal)
                literal = ""
            if parts and isinstance(parts[-1], Parameter):
                raise RouteError(f"route {template!r}: two parameters need a literal between them")
            parts.append(_parse_parameter(body, template))
        elif char == "}":
            raise RouteError(f"route {template!r} has an unmatched '}}'")
        else:
            literal += char
            i += 1
    if literal:
        parts.append(literal)
    if len(parts) > 1 and any(isinstance(p, Parameter) and p.catch_all for p in parts):
        raise RouteError(f"route {template!r}: a catch-all parameter must be a whole segment")
    pattern = ""
    index = 0
    for part in parts:
        if isinstance(part, str):
            pattern += re.escape(part)
        else:  # greedy: ASP.NET matches complex segments from the right
            pattern += f"(?P<p{index}>.+)"
            index += 1
    return Segment(tuple(parts), re.compile(pattern, re.IGNORECASE | re.DOTALL))


def _read_parameter(raw: str, start: int, template: str) -> tuple[str, int]:
    """The text of a ``{...}`` parameter starting after its ``{``; ``}}`` and ``{{``
    inside stand for literal braces (as in ASP.NET regex constraints)."""
    body = ""
    i = start
    while i < len(raw):
        if raw.startswith("}}", i) or raw.startswith("{{", i):
            body += raw[i]
            i += 2
        elif raw[i] == "}":
            return body, i + 1
        elif raw[i] == "{":
            raise RouteError(f"route {template!r}: '{{' inside a parameter must be written '{{{{'")
        else:
            body += raw[i]
            i += 1
    raise RouteError(f"route {template!r} has an unclosed '{{'")


_NAME = re.compile(r"^(\*{1,2})?([^:?=*{}]+)")
_CONSTRAINT_END = re.compile(r"^(?::[A-Za-z].*|\?(?:=.*)?|=.*)?$", re.DOTALL)


def _parse_parameter(body: str, template: str) -> Parameter:
    match = _NAME.match(body)
    if not match:
        raise RouteError(f"route {template!r}: parameter {{{body}}} has no name")
    catch_all, name = bool(match.group(1)), match.group(2).strip()
    rest = body[match.end():]
    constraints: list[tuple[str, Constraint]] = []
    while rest.startswith(":"):
        found = re.match(r"^:([A-Za-z]+)", rest)
        if not found:
            raise RouteError(f"route {template!r}: bad constraint in {{{body}}}")
        kind = found.group(1)
        rest = rest[found.end():]
        argument = None
        if rest.startswith("("):
            end = next(
                (i for i, c in enumerate(rest) if c == ")" and _CONSTRAINT_END.match(rest[i + 1:])), None
            )
            if end is None:
                raise RouteError(f"route {template!r}: unclosed '(' in {{{body}}}")
            argument, rest = rest[1:end], rest[end + 1:]
        constraints.append((kind, _constraint(kind, argument, template)))
    optional = False
    default = None
    if rest.startswith("?"):
        optional, rest = True, rest[1:]
    if rest.startswith("="):
        default, rest = rest[1:], ""
    if rest:
        raise RouteError(f"route {template!r}: cannot read parameter {{{body}}}")
    if optional and default is not None:
        raise RouteError(f"route {template!r}: {{{body}}} cannot be optional and have a default")
    return Parameter(name, tuple(constraints), optional, default, catch_all)


def _integer(value: str, bounds: tuple[int, int]) -> int | None:
    if not re.fullmatch(r"[+-]?\d+", value.strip()):
        return None
    number = int(value)
    return number if bounds[0] <= number <= bounds[1] else None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value.strip("{}()"))
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _numbers(argument: str | None, count: tuple[int, ...], kind: str, template: str) -> list[int]:
    try:
        values = [int(part) for part in (argument or "").split(",")]
    except ValueError:
        values = []
    if len(values) not in count:
        wanted = " or ".join(map(str, count))
        raise RouteError(f"route {template!r}: constraint {kind}({argument}) needs {wanted} integer(s)")
    return values


def _constraint(kind: str, argument: str | None, template: str) -> Constraint:
    key = kind.lower()
    simple: dict[str, Constraint] = {
        "int": lambda v: _integer(v, INT32) is not None,
        "long": lambda v: _integer(v, INT64) is not None,
        "bool": lambda v: v.lower() in ("true", "false"),
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
        "guid": _is_guid,
        "datetime": _is_datetime,
        "decimal": _is_float,
        "double": _is_float,
        "float": _is_float,
        "required": lambda v: v != "",
    }
    if key in simple:
        if argument is not None:
            raise RouteError(f"route {template!r}: constraint {kind} takes no argument")
        return simple[key]
    if key == "regex":
        try:
            expression = re.compile(argument or "", re.IGNORECASE)
        except re.error as error:
            raise RouteError(f"route {template!r}: bad regex({argument}): {error}") from None
        return lambda v: expression.search(v) is not None
    if key in ("min", "max"):
        (limit,) = _numbers(argument, (1,), kind, template)
        if key == "min":
            return lambda v: (n := _integer(v, INT64)) is not None and n >= limit
        return lambda v: (n := _integer(v, INT64)) is not None and n <= limit
    if key == "range":
        low, high = _numbers(argument, (2,), kind, template)
        return lambda v: (n := _integer(v, INT64)) is not None and low <= n <= high
    if key == "length":
        bounds = _numbers(argument, (1, 2), kind, template)
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        return lambda v: low <= len(v) <= high
    if key == "minlength":
        (low,) = _numbers(argument, (1,), kind, template)
        return lambda v: len(v) >= low
    if key == "maxlength":
        (high,) = _numbers(argument, (1,), kind, template)
        return lambda v: len(v) <= high
    raise RouteError(f"route {template!r}: the constraint reference '{kind}' could not be resolved")
