"""The real analysers end to end: real photos uploaded from the page to the real app
served by the runner (no test doubles), tagged from the queue, then found by the words
read in them, with the faces drawn in the detail view and the safety score kept."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.ui.conftest import DETAIL_IMAGE_LOADED, shot, wait_true
from tests.ui.test_browser import upload, wait_tagged

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parents[1] / "fixtures"
PORTRAIT = FIXTURES / "photos" / "grace_hopper.jpg"  # one face
PAGE = FIXTURES / "quality" / "scanned_page.jpg"  # a printed page (scikit-image's docs)
CAT = FIXTURES / "photos" / "chelsea.png"  # neither


def _detail(app, user: str, image_id: str) -> dict:
    answer = requests.get(app.url(f"/api/images/{image_id}"), headers={"X-MS-CLIENT-PRINCIPAL-ID": user}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_faces_text_and_safety_from_the_real_analysers(page_for, ui_app, user):
    page = page_for()
    upload(page, [PORTRAIT, PAGE, CAT])
    ids = {name: wait_tagged(page, name).get_attribute("data-id") for name in (PORTRAIT.name, PAGE.name, CAT.name)}
    portrait, scanned, cat = (_detail(ui_app, user, ids[n]) for n in (PORTRAIT.name, PAGE.name, CAT.name))

    assert portrait["facts"]["face_count"] == 1 and len(portrait["facts"]["faces"]) == 1
    assert {"person"} <= {t["name"] for t in portrait["tags"] if t["source"] == "faces"}
    assert {"text", "document"} <= {t["name"] for t in scanned["tags"] if t["source"] == "text"}
    assert "segmentation" in scanned["facts"]["text"]["words"]
    assert cat["facts"]["face_count"] == 0 and "text" not in cat["facts"]
    for image in (portrait, scanned, cat):
        assert 0 <= image["facts"]["nsfw_score"] < 0.5 and "nsfw" not in {t["name"] for t in image["tags"]}
        assert image["analysis_version"] == "1"

    # Found by a word read on the page, from the page's search box.
    page.select_option("#search-mode", "text")
    page.fill("#tag-search", "Segmentation")
    page.press("#tag-search", "Enter")
    expect(page.locator("#gallery .card-name")).to_have_text([PAGE.name])
    page.click("#clear-filter")

    # The portrait's face is drawn over the photo, inside the photo's box.
    wait_tagged(page, PORTRAIT.name).locator(".card-open").click()
    wait_true(page, DETAIL_IMAGE_LOADED)
    expect(page.locator("#detail-faces .face-box")).to_have_count(1)
    photo, face = page.locator("#detail-image").bounding_box(), page.locator("#detail-faces .face-box").bounding_box()
    assert photo["x"] <= face["x"] and face["x"] + face["width"] <= photo["x"] + photo["width"] + 1
    assert photo["y"] <= face["y"] and face["y"] + face["height"] <= photo["y"] + photo["height"] + 1
    shot(page, "real-analysers-face", full_page=False)
    page.keyboard.press("Escape")

    # The page's read text is listed line by line in its detail view.
    wait_tagged(page, PAGE.name).locator(".card-open").click()
    expect(page.locator("#detail-text-block")).to_be_visible()
    expect(page.locator("#detail-text li").first).to_be_visible()
    assert "segmentation" in page.locator("#detail-text").inner_text().lower()
