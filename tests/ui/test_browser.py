"""The web page in headless Chromium against the real app served by the runner:
upload real photos, watch tags arrive, search, details, delete, phone width."""
from __future__ import annotations

import http.client
import io
import json
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.cli.flaky_server import FORWARD, FORWARD_THEN_DROP, FlakyServer
from tests.ui.conftest import THUMBNAILS_LOADED, shot, wait_ready, wait_true

pytestmark = pytest.mark.e2e

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
CHELSEA, COFFEE = PHOTOS / "chelsea.png", PHOTOS / "coffee.png"
TAGGING_TIMEOUT = 90_000  # ms: the first classification loads the model
SAS_THUMBNAIL = re.compile(r"^http://127\.0\.0\.1:\d+/devstoreaccount1/.+sig=")
PERCENT = re.compile(r"^\d{1,3}%$")


def card(page, filename: str):
    return page.locator(".card", has=page.locator(".card-name", has_text=filename))


def upload(page, files: list[Path], metadata: str | None = None) -> None:
    page.set_input_files("#file-input", [str(f) for f in files])
    expect(page.locator("#queue .queue-item")).to_have_count(len(files))
    if metadata is not None:
        page.fill("#metadata", metadata)
    page.click("#upload-button")


def wait_tagged(page, filename: str):
    located = card(page, filename)
    expect(located).to_have_attribute("data-status", "tagged", timeout=TAGGING_TIMEOUT)
    return located


def test_upload_watch_tags_search_detail_and_delete(page_for, ui_app, user, tmp_path):
    page = page_for()
    expect(page.locator("#gallery-status")).to_have_text("No images yet: upload some.")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")

    upload(page, [CHELSEA, COFFEE, notes], metadata='{"album": "browser test"}')

    # Per-file progress and outcome; the rejected file shows the app's reason.
    rejected = page.locator("#queue .queue-item", has_text="notes.txt")
    expect(rejected).to_have_class(re.compile(r"\brejected\b"))
    expect(rejected.locator(".state")).to_contain_text("Rejected:")
    expect(rejected.locator(".state")).to_contain_text("unsupported_format")
    expect(page.locator("#upload-status")).to_have_text(
        "Upload finished: 2 of 3 uploaded, 1 rejected. Tags appear in the gallery as they are ready."
    )
    for item in page.locator("#queue progress").all():
        expect(item).to_have_attribute("value", "100")

    # Cards appear at once and fill in as tagging completes, with no reload.
    cat, coffee = wait_tagged(page, "chelsea.png"), wait_tagged(page, "coffee.png")
    expect(cat.locator(".chips li", has_text="cat")).to_have_count(1)
    expect(coffee.locator(".chips li", has_text="coffee")).to_have_count(1)
    expect(cat.locator("img.card-thumb")).to_have_attribute("src", SAS_THUMBNAIL)
    expect(page.locator("#queue .queue-item", has_text="chelsea.png").locator(".state")).to_contain_text("cat")
    assert page.errors.navigations == 1, "the page reloaded"
    # Thumbnails really load (SAS URLs on Azurite).
    wait_true(page, THUMBNAILS_LOADED)
    # Tag counts from /api/tags.
    expect(page.locator("#tag-list button[data-tag='cat'] .count")).to_have_text("1")
    expect(page.locator("#tag-list button[data-tag='coffee'] .count")).to_have_text("1")
    expect(page.locator("#tag-list button[data-tag='landscape']")).to_have_count(0)  # orientation is a fact
    shot(page, "gallery-desktop")

    # Filter by clicking a tag, then by typing one, then show all.
    page.click("#tag-list button[data-tag='cat']")
    expect(page.locator("#gallery .card")).to_have_count(1)
    expect(page.locator("#gallery .card-name")).to_have_text("chelsea.png")
    expect(page.locator("#tag-list button[data-tag='cat']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#gallery-status")).to_have_text("1 image tagged “cat”.")
    page.fill("#tag-search", "Coffee")
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery .card-name")).to_have_text(["coffee.png"])
    expect(page.locator("#tag-list button[data-tag='coffee']")).to_have_attribute("aria-pressed", "true")
    page.click("#clear-filter")
    expect(page.locator("#gallery .card")).to_have_count(2)

    # Detail view: tags with confidence and source, facts, metadata, the original.
    cat.locator(".card-open").click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-title")).to_be_focused()
    expect(page.locator("#detail-title")).to_have_text("chelsea.png")
    cat_row = page.locator("#detail-tags tr", has_text="cat")
    expect(cat_row.locator("td").nth(2)).to_have_text("classifier")
    expect(cat_row.locator("td").nth(1)).to_have_text(PERCENT)
    facts = page.locator("#detail-facts")
    expect(facts).to_contain_text("Width (px)")
    expect(facts.locator("dt:text-is('Width (px)') + dd")).to_have_text("451")
    expect(page.locator("#detail-metadata")).to_contain_text('"album": "browser test"')
    original = page.locator("#detail-original").get_attribute("href")
    fetched = requests.get(original, timeout=10)
    assert fetched.status_code == 200 and fetched.content == CHELSEA.read_bytes()
    shot(page, "detail-desktop", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(cat.locator(".card-open")).to_be_focused()

    # Delete through the dialog (two steps), focus lands on a neighbour.
    coffee.locator(".card-open").click()
    page.click("#delete-button")
    expect(page.locator("#delete-yes")).to_be_focused()
    coffee_id = coffee.get_attribute("data-id")
    page.click("#delete-yes")
    expect(dialog).to_be_hidden()
    expect(page.locator("#gallery .card")).to_have_count(1)
    expect(page.locator("#gallery-status")).to_contain_text("1 image")
    expect(page.locator("#tag-list button[data-tag='coffee']")).to_have_count(0)
    expect(page.locator("#gallery .card-open")).to_be_focused()
    gone = requests.get(ui_app.url(f"/api/images/{coffee_id}"), headers={"X-MS-CLIENT-PRINCIPAL-ID": user}, timeout=10)
    assert gone.status_code == 404


def test_metadata_is_validated_before_anything_is_sent(page_for):
    page = page_for()
    posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.set_input_files("#file-input", [str(CHELSEA)])
    invalid = (('{"album": ', "not valid JSON"), ("[1, 2]", "must be a JSON object"), ('"text"', "JSON object"))
    for bad, message in invalid:
        page.fill("#metadata", bad)
        expect(page.locator("#metadata-error")).to_contain_text(message)
        expect(page.locator("#metadata")).to_have_attribute("aria-invalid", "true")
        page.click("#upload-button")
        expect(page.locator("#metadata")).to_be_focused()
    page.fill("#metadata", '{"a": "' + "x" * 9000 + '"}')
    expect(page.locator("#metadata-error")).to_contain_text("at most 8192 bytes")
    assert posts == []
    page.fill("#metadata", '{"ok": true}')
    expect(page.locator("#metadata-error")).to_be_hidden()
    expect(page.locator("#metadata")).to_have_attribute("aria-invalid", "false")
    page.click("#upload-button")
    expect(page.locator("#upload-status")).to_contain_text("1 of 1 uploaded")
    assert len(posts) == 1


def test_files_dropped_on_the_drop_zone_are_queued_and_uploaded(page_for):
    page = page_for()
    png = list(CHELSEA.read_bytes())
    transfer = page.evaluate_handle(
        """bytes => {
             const transfer = new DataTransfer();
             transfer.items.add(new File([new Uint8Array(bytes)], "dropped-cat.png", {type: "image/png"}));
             return transfer;
           }""",
        png,
    )
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#drop-zone")).to_have_class(re.compile(r"\bdragging\b"))
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#drop-zone")).not_to_have_class(re.compile(r"\bdragging\b"))
    expect(page.locator("#queue .queue-item .name")).to_have_text(["dropped-cat.png"])
    expect(page.locator("#upload-status")).to_contain_text("1 file added")
    page.click("#upload-button")
    expect(wait_tagged(page, "dropped-cat.png").locator(".chips li", has_text="cat")).to_have_count(1)


def test_keyboard_only_use_of_the_gallery_and_dialog(page_for):
    page = page_for()
    # The first Tab reaches the skip link; it leads to the gallery, then the search box.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#gallery-heading")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#tag-search")).to_be_focused()
    upload(page, [COFFEE])
    wait_tagged(page, "coffee.png")
    page.locator("#tag-search").focus()
    page.keyboard.type("coffee")
    page.keyboard.press("Enter")
    expect(page.locator("#gallery-status")).to_have_text("1 image tagged “coffee”.")
    # Open a card with the keyboard; focus moves into the dialog and never reaches
    # the page behind it (a modal dialog: past its last control, focus goes to the
    # browser's own UI, seen here as <body>, then back into the dialog).
    page.locator("#gallery .card-open").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_be_focused()
    visited = []
    for _ in range(12):
        page.keyboard.press("Tab")
        visited.append(page.evaluate(
            """(() => {
                 const active = document.activeElement;
                 if (active === document.body) return 'body';
                 if (document.getElementById('detail').contains(active)) return active.id || 'inside';
                 return 'OUTSIDE ' + active.outerHTML.slice(0, 80);
               })()"""
        ))  # fmt: skip
    assert not [v for v in visited if v.startswith("OUTSIDE")], visited
    assert {"detail-close", "delete-button"} <= set(visited), visited
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    expect(page.locator("#gallery .card-open")).to_be_focused()
    # Every control has an accessible name.
    unnamed = page.evaluate(
        """[...document.querySelectorAll('button, input:not([type=hidden]), textarea, a[href]')]
            .filter(el => !el.closest('[hidden]') && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    assert unnamed == []


def test_an_image_that_cannot_be_tagged_shows_why(page_for, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(_jpeg(CHELSEA)[:3000])  # a valid start, then nothing: accepted, then fails
    page = page_for()
    upload(page, [cut])
    failed = card(page, "cut.jpg")
    expect(failed).to_have_attribute("data-status", "failed", timeout=TAGGING_TIMEOUT)
    expect(failed.locator(".card-state")).to_contain_text("Failed:")
    expect(page.locator("#queue .queue-item .state")).to_contain_text("Tagging failed:")
    expect(page.locator("#gallery-status")).to_contain_text("cut.jpg could not be tagged")


def test_more_images_than_a_page_load_on_request(page_for, ui_app, user):
    files = [("file", (f"tiny-{n:02d}.png", _png((n * 9, 80, 160)), "image/png")) for n in range(26)]
    response = requests.post(
        ui_app.url("/api/images"), files=files, headers={"X-MS-CLIENT-PRINCIPAL-ID": user}, timeout=60
    )
    assert response.status_code == 202 and len(response.json()["images"]) == 26
    page = page_for()
    expect(page.locator("#gallery .card")).to_have_count(24)
    expect(page.locator("#gallery-status")).to_have_text("24 images (more available).")
    page.click("#load-more")
    expect(page.locator("#gallery .card")).to_have_count(26)
    expect(page.locator("#load-more")).to_be_hidden()
    expect(page.locator("#gallery .card").nth(24).locator(".card-open")).to_be_focused()


def _png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "PNG")
    return out.getvalue()


def _jpeg(path: Path) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_function_key_from_settings_is_stored_and_sent(page_for):
    page = page_for()
    page.click("#settings-open")
    expect(page.locator("#settings")).to_be_visible()
    expect(page.locator("#function-key")).to_be_focused()
    page.fill("#function-key", "test-key-123")
    with page.expect_request(lambda r: "/api/images" in r.url and r.method == "GET") as seen:
        page.click("#settings-form button[value='save']")
    assert seen.value.headers.get("x-functions-key") == "test-key-123"
    expect(page.locator("#settings-open")).to_be_focused()
    assert page.evaluate("localStorage.getItem('tagging.functionKey')") == "test-key-123"
    # Uploads (XMLHttpRequest) carry it too.
    page.set_input_files("#file-input", [str(CHELSEA)])
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.click("#upload-button")
    assert posted.value.headers.get("x-functions-key") == "test-key-123"
    page.click("#settings-open")
    expect(page.locator("#function-key")).to_have_value("test-key-123")
    page.click("#forget-key")
    page.click("#settings-form button[value='save']")
    assert page.evaluate("localStorage.getItem('tagging.functionKey')") is None


SIDE_BY_SIDE = (
    "(cards => cards.length === 2 && Math.abs(cards[0].getBoundingClientRect().top"
    " - cards[1].getBoundingClientRect().top) < 1)([...document.querySelectorAll('#gallery .card')])"
)


def test_phone_width_layout(page_for):
    page = page_for({"width": 375, "height": 812})
    upload(page, [CHELSEA, COFFEE])
    wait_tagged(page, "chelsea.png")
    wait_tagged(page, "coffee.png")
    wait_true(page, THUMBNAILS_LOADED)
    # Nothing is wider than the screen; controls are big enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    overflowing = page.evaluate(
        """[...document.querySelectorAll('body *')].filter(el => {
             const r = el.getBoundingClientRect();
             return r.width > 0 && (r.right > 375.5 || r.left < -0.5) && !el.closest('.visually-hidden, .skip-link');
           }).map(el => el.tagName + '#' + el.id + '.' + el.className)"""
    )
    assert overflowing == []
    small = page.evaluate(
        """[...document.querySelectorAll('button:not(.card-open), input[type=search], textarea')]
             .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 36)
             .map(el => el.id || el.textContent)"""
    )
    assert small == []
    # Two columns of cards fit side by side (once the gallery has settled: a card is
    # re-rendered when its status arrives, which can leave the two rows apart briefly).
    wait_true(page, SIDE_BY_SIDE)
    boxes = [c.bounding_box() for c in page.locator("#gallery .card").all()]
    assert len(boxes) == 2 and abs(boxes[0]["y"] - boxes[1]["y"]) < 1 and boxes[0]["width"] >= 120
    shot(page, "gallery-phone")
    card(page, "chelsea.png").locator(".card-open").click()
    expect(page.locator("#detail-title")).to_be_focused()
    box = page.locator("#detail").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.evaluate("(d => d.scrollWidth <= d.clientWidth)(document.getElementById('detail'))")
    shot(page, "detail-phone", full_page=False)


def test_page_and_assets_over_real_http(ui_app):
    response = requests.get(ui_app.url("/api/ui"), timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Security-Policy" in response.headers
    script = requests.get(ui_app.url("/api/ui/main.js"), timeout=10)
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    again = requests.get(ui_app.url("/api/ui/main.js"), headers={"If-None-Match": script.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    # Raw paths a browser would normalise: sent as-is, none escapes the folder.
    for raw in ("/api/ui/../function_app.py", "/api/ui/..%2F..%2Ffunction_app.py", "/api/ui/%2e%2e/__init__.py",
                "/api/ui/..%5C__init__.py", "/api/ui//etc/passwd"):  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", ui_app.port, timeout=10)
        connection.request("GET", raw)
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        assert answer.status == 404, (raw, answer.status, body[:200])
        assert b"import" not in body and b"azure" not in body
    # The page needs no key, the API behind it does (deployed); here it answers JSON.
    assert json.loads(requests.get(ui_app.url("/api/tags"), timeout=10).text) == {"tags": []}


def test_an_original_that_cannot_be_read_gets_no_link(page_for, ui_app, user):
    """The API answers ``url: null`` when an original can no longer be read (aged out by
    TAGGING_RETENTION_DAYS, tested in tests/services; or a SAS-only connection). That
    answer is made here by editing the real detail response in the browser, since the
    runner's images are all new: the page must then show no link to "null"."""
    response = requests.post(
        ui_app.url("/api/images"),
        files=[("file", ("gone.png", _png((200, 40, 40)), "image/png"))],
        headers={"X-MS-CLIENT-PRINCIPAL-ID": user},
        timeout=30,
    )
    assert response.status_code == 202
    page = page_for()
    edited: list[str] = []

    def without_url(route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["url"] = None
        edited.append(body["id"])
        route.fulfill(response=answer, json=body)

    page.route(re.compile(r".*/api/images/[^/?]+$"), without_url)
    wait_tagged(page, "gone.png").locator(".card-open").click()
    expect(page.locator("#detail-title")).to_have_text("gone.png")
    assert edited, "the detail request was not seen"
    expect(page.locator("#detail-original")).to_be_hidden()
    assert page.locator("#detail-original").get_attribute("href") is None
    expect(page.locator("#detail-image")).to_have_attribute("src", SAS_THUMBNAIL)


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.mark.parametrize("keep_alive", [False, True], ids=["page-retries", "chromium-resends"])
def test_a_retried_upload_is_stored_once(page_for, ui_app, user, keep_alive):
    """Each file's upload carries its own Idempotency-Key. The page is served through a
    proxy (FlakyServer) that passes the first upload on to the app, which stores the
    image, and then drops the connection, so the answer is lost. On a fresh connection
    the XHR fails and the page retries; on a reused keep-alive connection Chromium
    itself resends the POST. Either way the same key goes again and the app answers
    with the first answer: one image per file, not a copy. (A proxy, because Chromium
    does not hand a form's file body to Playwright's route.fetch.)"""
    dropped: list[str] = []

    def choose(method: str, path: str) -> str:
        if method == "POST" and path.startswith("/api/images") and not dropped:
            dropped.append(path)
            return FORWARD_THEN_DROP
        return FORWARD

    with FlakyServer([], upstream=ui_app.base, choose=choose, keep_alive=keep_alive) as proxy:
        page = page_for()
        page.goto(proxy.url + "/api/ui")
        wait_ready(page)
        upload(page, [CHELSEA, COFFEE])
        expect(page.locator("#upload-status")).to_have_text(
            "Upload finished: 2 of 2 uploaded. Tags appear in the gallery as they are ready."
        )
        expect(page.locator(".card")).to_have_count(2)
        posts = [r for r in proxy.requests if r.method == "POST"]
    assert dropped, "no upload answer was dropped"
    keys = [r.headers.get("Idempotency-Key") for r in posts]
    assert len(keys) == 3 and all(key and UUID.match(key) for key in keys), keys
    assert keys.count(keys[0]) == 2 and len(set(keys)) == 2, "a retry must resend its file's key; files differ"
    stored = requests.get(ui_app.url("/api/images"), headers={"X-MS-CLIENT-PRINCIPAL-ID": user}, timeout=30)
    assert sorted(image["filename"] for image in stored.json()["images"]) == ["chelsea.png", "coffee.png"]
    expect(page.locator("#queue .queue-item")).to_have_count(2)
    for item in page.locator("#queue .queue-item").all():
        expect(item).to_have_attribute("data-state", "uploaded")
