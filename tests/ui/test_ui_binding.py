"""The page's functions as indexed: content types, caching, ETags, path safety."""
from __future__ import annotations

import re

import azure.functions as func
import pytest

from tagging import ui
from tagging.bindings.ui import IMMUTABLE, REVALIDATE


def get(functions, name: str, url: str, path: str | None = None, headers: dict | None = None,
        params: dict | None = None):  # fmt: skip
    request = func.HttpRequest(
        "GET", url, headers=headers or {}, params=params or {},
        route_params={} if path is None else {"path": path}, body=b"",
    )  # fmt: skip
    return functions[name].get_user_function()(request)


def page(functions, url: str = "http://localhost:7071/api/ui", **kwargs):
    return get(functions, "ui_page", url, **kwargs)


def asset(functions, path: str, **kwargs):
    return get(functions, "ui_asset", f"http://localhost:7071/api/ui/{path}", path, **kwargs)


def test_page_is_html_that_revalidates_with_a_strict_policy(functions):
    response = page(functions)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == REVALIDATE
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_body().decode()
    assert '<base href="/api/ui/">' in body
    assert "{{" not in body, "a placeholder was left in the page"


@pytest.mark.parametrize(
    ("url", "route", "base"),
    [
        ("http://h/api/ui", None, "/api/ui/"),
        ("http://h/api/ui/", None, "/api/ui/"),
        ("http://h/api/ui/", "", "/api/ui/"),
        ("http://h/api/ui/index.html", "index.html", "/api/ui/"),
        ("http://h/other/ui?code=abc", None, "/other/ui/"),
    ],
)
def test_page_base_is_its_folder_whatever_the_url(functions, url, route, base):
    name = "ui_page" if route is None else "ui_asset"
    body = get(functions, name, url, route).get_body().decode()
    assert f'<base href="{base}">' in body


def test_assets_have_their_types_and_versioned_urls_are_immutable(functions):
    html = page(functions).get_body().decode()
    versions = dict(re.findall(r'(?:href|src)="([a-z.]+)\?v=([0-9a-f]+)"', html))
    assert set(versions) == {"app.css", "main.js", "icon.svg"}
    expected = {
        "app.css": "text/css; charset=utf-8", "main.js": "text/javascript; charset=utf-8", "icon.svg": "image/svg+xml",
    }  # fmt: skip
    for name, version in versions.items():
        response = asset(functions, name, params={"v": version})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == expected[name]
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.get_body() == (ui.STATIC_DIR / name).read_bytes()
        # Without (or with a stale) version: cacheable but revalidated.
        assert asset(functions, name).headers["Cache-Control"] == REVALIDATE
        assert asset(functions, name, params={"v": "old"}).headers["Cache-Control"] == REVALIDATE


def test_every_module_the_page_imports_is_served(functions):
    for name in ("api.js", "upload.js", "gallery.js", "detail.js", "main.js"):
        response = asset(functions, name)
        assert response.status_code == 200, name
        for imported in re.findall(r'from "\./([a-z]+\.js)"', response.get_body().decode()):
            assert asset(functions, imported).status_code == 200, imported


def test_etag_revalidation_answers_304_without_a_body(functions):
    first = asset(functions, "app.css")
    etag = first.headers["ETag"]
    again = asset(functions, "app.css", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_body() == b"" and again.headers["ETag"] == etag
    assert asset(functions, "app.css", headers={"If-None-Match": 'W/"nope", ' + etag}).status_code == 304
    assert asset(functions, "app.css", headers={"If-None-Match": '"other"'}).status_code == 200
    page_etag = page(functions).headers["ETag"]
    assert page(functions, headers={"If-None-Match": page_etag}).status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "../function_app.py", "..%2Ffunction_app.py", "%2e%2e/__init__.py", "../__init__.py", "/etc/passwd",
        "static/app.css", "./app.css", "APP.CSS", "app.css/", "..\\__init__.py", "__init__.py", "missing.js",
        "app.css%00.js", "",
    ],
)
def test_only_files_of_the_static_folder_are_reachable(functions, path):
    if path == "":
        return  # the page itself, covered above
    response = asset(functions, path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"


def test_static_folder_holds_only_servable_files():
    names = set(ui.assets())
    assert {"index.html", "app.css", "main.js", "api.js", "upload.js", "gallery.js", "detail.js", "icon.svg"} <= names
    assert all(not name.endswith(".py") for name in names)


def test_page_is_anonymous_and_get_only(functions):
    for name in ("ui_page", "ui_asset"):
        trigger = functions[name].get_trigger()
        assert trigger.auth_level == func.AuthLevel.ANONYMOUS
        assert [str(m) for m in trigger.methods] == ["GET"]
    assert functions["ui_page"].get_trigger().route == "ui"
    assert functions["ui_asset"].get_trigger().route == "ui/{*path}"
