"""Route templates and request routing (no server)."""
from __future__ import annotations

import uuid

import pytest

from local_functions_host.routing import Route, RouteError, Router, RouteTemplate, join_template, split_path


def match(template: str, path: str) -> dict[str, str] | None:
    segments = split_path(path)
    return None if segments is None else RouteTemplate(template).match(segments)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("api/images", "/api/images", {}),
        ("api/images", "/API/Images/", {}),
        ("api/images/{id}", "/api/images/a%20b", {"id": "a b"}),
        ("api/images/{id}", "/api/images", None),
        ("api/n/{n:int}", "/api/n/-12", {"n": "-12"}),
        ("api/n/{n:int}", "/api/n/99999999999", None),
        ("api/n/{n:long}", "/api/n/99999999999", {"n": "99999999999"}),
        ("api/n/{n:int:min(3)}", "/api/n/2", None),
        ("api/n/{n:range(1,5)}", "/api/n/5", {"n": "5"}),
        ("api/a/{s:alpha}", "/api/a/abcXYZ", {"s": "abcXYZ"}),
        ("api/a/{s:alpha}", "/api/a/abc1", None),
        ("api/b/{b:bool}", "/api/b/TRUE", {"b": "TRUE"}),
        ("api/l/{s:length(2,3)}", "/api/l/abcd", None),
        ("api/r/{c:regex(^[a-z]{{2}}\\d$)}", "/api/r/ab1", {"c": "ab1"}),
        ("api/r/{c:regex(^[a-z]{{2}}\\d$)}", "/api/r/abc1", None),
        ("api/o/{a}/{b?}", "/api/o/1", {"a": "1"}),
        ("api/o/{a}/{b?}", "/api/o/1/2", {"a": "1", "b": "2"}),
        ("api/d/{a=7}", "/api/d", {"a": "7"}),
        ("api/f/{name}.{ext}", "/api/f/a.tar.gz", {"name": "a.tar", "ext": "gz"}),
        ("api/all/{*rest}", "/api/all/x/y", {"rest": "x/y"}),
        ("api/all/{*rest}", "/api/all", {}),
        ("api/x", "/api//x", None),
    ],
)
def test_templates_match_like_aspnet_routing(template, path, expected):
    assert match(template, path) == expected


def test_guid_constraint():
    value = str(uuid.uuid4())
    assert match("api/g/{id:guid}", f"/api/g/{value}") == {"id": value}
    assert match("api/g/{id:guid}", "/api/g/1234") is None


@pytest.mark.parametrize(
    "template",
    ["a/{x?}/b", "a/{*x}/b", "a/{x:unknown}", "a/{x", "a/x}", "a/{x}{y}", "a/{x}/{X}", "a/{x:min(a)}", "a/{x?=1}"],
)
def test_invalid_templates_are_refused(template):
    with pytest.raises(RouteError):
        RouteTemplate(template)


def test_the_most_specific_route_wins_and_methods_filter():
    router = Router(
        [
            Route(RouteTemplate("api/things/{name}"), frozenset({"GET"}), "named", 0),
            Route(RouteTemplate("api/things/{id:int}"), frozenset({"GET"}), "numbered", 1),
            Route(RouteTemplate("api/things/new"), frozenset({"GET"}), "new", 2),
            Route(RouteTemplate("api/{*any}"), None, "fallback", 3),
        ]
    )
    assert router.resolve("GET", "/api/things/new?x=1") == ("new", {})
    assert router.resolve("GET", "/api/things/12") == ("numbered", {"id": "12"})
    assert router.resolve("GET", "/api/things/abc") == ("named", {"name": "abc"})
    assert router.resolve("POST", "/api/things/abc") == ("fallback", {"any": "things/abc"})
    assert Router([Route(RouteTemplate("api/x"), frozenset({"GET"}), "x")]).resolve("PUT", "/api/x") is None


def test_route_prefix_joins():
    assert join_template("api", "/images/") == "api/images"
    assert join_template("", "images") == "images"
    assert join_template("v1/api", "") == "v1/api"
