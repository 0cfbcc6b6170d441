"""The page in headless Chromium against the real app served by the runner, whose
tagger also runs the text/face test doubles (tests/support/analysers.py: the words and
faces an image's EXIF carries): text search from the search box, face boxes over the
photo, the read text, and the Re-tag button following its job to the end."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.support.analysers import photo_with
from tests.ui.conftest import DETAIL_IMAGE_LOADED, shot, wait_true
from tests.ui.test_browser import upload, wait_tagged

pytestmark = pytest.mark.e2e

SIGN_FACES = "0.1,0.2,0.25,0.3,0.97;0.6,0.1,0.2,0.2,0.8"


@pytest.fixture
def photos(tmp_path):
    sign = tmp_path / "sign.jpg"
    sign.write_bytes(photo_with("EXIT only | Platform 9", SIGN_FACES, size=(600, 400)))
    menu = tmp_path / "menu.jpg"
    menu.write_bytes(photo_with("Lunch menu", size=(400, 400), colour=(200, 120, 60)))
    return sign, menu


def test_text_search_from_the_search_box(reading_page_for, photos):
    page = reading_page_for()
    upload(page, list(photos))
    wait_tagged(page, "sign.jpg"), wait_tagged(page, "menu.jpg")

    page.select_option("#search-mode", "text")
    page.fill("#tag-search", "Exit!")
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery .card-name")).to_have_text(["sign.jpg"])
    expect(page.locator("#gallery-status")).to_have_text("1 image with the text “exit”.")
    expect(page.locator("#clear-filter")).to_be_visible()
    page.fill("#tag-search", "lunch MENU")
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery .card-name")).to_have_text(["menu.jpg"])
    page.fill("#tag-search", "exit menu")  # every word must be read in one photo
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery .card")).to_have_count(0)
    expect(page.locator("#gallery-status")).to_have_text("No images with the text “exit menu”.")
    # A word is not a tag: the same word as a tag search finds nothing.
    page.select_option("#search-mode", "tag")
    page.fill("#tag-search", "exit")
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery-status")).to_have_text("No images tagged “exit”.")
    page.click("#clear-filter")
    expect(page.locator("#gallery .card")).to_have_count(2)


def test_detail_draws_face_boxes_over_the_photo_and_lists_the_read_text(reading_page_for, photos):
    page = reading_page_for()
    upload(page, list(photos))
    sign = wait_tagged(page, "sign.jpg")
    sign.locator(".card-open").click()
    expect(page.locator("#detail")).to_be_visible()
    wait_true(page, DETAIL_IMAGE_LOADED)
    boxes = page.locator("#detail-faces .face-box")
    expect(boxes).to_have_count(2)
    expect(page.locator("#detail-face-count")).to_have_text("2 faces found.")
    # Each box sits where its fractions of the shown picture say (to a pixel or two).
    image = page.locator("#detail-image").bounding_box()
    for index, (left, top, width, height) in enumerate([(0.1, 0.2, 0.25, 0.3), (0.6, 0.1, 0.2, 0.2)]):
        box = boxes.nth(index).bounding_box()
        assert abs(box["x"] - (image["x"] + left * image["width"])) <= 2, (index, box, image)
        assert abs(box["y"] - (image["y"] + top * image["height"])) <= 2, (index, box, image)
        assert abs(box["width"] - width * image["width"]) <= 3, (index, box, image)
        assert abs(box["height"] - height * image["height"]) <= 3, (index, box, image)
    expect(page.locator("#detail-text li")).to_have_text(["EXIT only", "Platform 9"])
    expect(page.locator("#detail-text-block")).to_be_visible()
    # Shown as boxes and lines, not as raw JSON among the facts.
    expect(page.locator("#detail-facts dt", has_text="Text")).to_have_count(0)
    expect(page.locator("#detail-facts dt:text-is('Faces') + dd")).to_have_text("2")
    shot(page, "detail-faces-text", full_page=False)
    page.keyboard.press("Escape")

    # A photo without faces or text shows neither.
    wait_tagged(page, "menu.jpg").locator(".card-open").click()
    expect(page.locator("#detail-title")).to_have_text("menu.jpg")
    expect(page.locator("#detail-faces .face-box")).to_have_count(0)
    expect(page.locator("#detail-face-count")).to_be_hidden()
    expect(page.locator("#detail-text li")).to_have_text(["Lunch menu"])


def test_the_re_tag_button_follows_its_job(reading_page_for, reading_app, user, photos):
    page = reading_page_for()
    upload(page, [photos[0]])
    sign = wait_tagged(page, "sign.jpg")
    image_id = sign.get_attribute("data-id")
    headers = {"X-MS-CLIENT-PRINCIPAL-ID": user}
    before = requests.get(reading_app.url(f"/api/images/{image_id}"), headers=headers, timeout=10).json()
    sign.locator(".card-open").click()
    expect(page.locator("#detail-status")).to_contain_text("analysis version 1")
    page.evaluate("""() => {
        window.retagTexts = [];
        const status = document.getElementById('retag-status');
        new MutationObserver(() => window.retagTexts.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
    }""")
    page.click("#retag-button")
    expect(page.locator("#retag-button")).to_be_disabled()
    expect(page.locator("#retag-status")).to_have_text("Re-tagged (analysis version 1).", timeout=60_000)
    expect(page.locator("#retag-button")).to_be_enabled()
    texts = page.evaluate("window.retagTexts")
    assert texts[:2] == ["Re-tag requested…", "Re-tagging…"], texts
    after = requests.get(reading_app.url(f"/api/images/{image_id}"), headers=headers, timeout=10).json()
    assert after["tagged_at"] > before["tagged_at"] and after["analysis_version"] == "1"
    assert after["facts"]["text"] == before["facts"]["text"] and after["url"]
    # The dialog shows the re-tagged image (its new tagging time) and still its faces.
    expect(page.locator("#detail-faces .face-box")).to_have_count(2)
    shot(page, "detail-retagged", full_page=False)
