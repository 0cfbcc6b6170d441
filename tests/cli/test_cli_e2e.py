"""The CLI as a subprocess against the real app (runner + Azurite) over HTTP."""
from __future__ import annotations

import io
import json
import secrets
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.app_server import ARTIFACTS

pytestmark = pytest.mark.e2e

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
CHELSEA, COFFEE = PHOTOS / "chelsea.png", PHOTOS / "coffee.png"


def user() -> str:
    return "cli-" + secrets.token_hex(4)


def tags_of(entry: dict) -> set[str]:
    return {t["name"] for t in entry["tags"]}


def test_upload_a_folder_recursively_wait_and_print_json(cli, tmp_path):
    trip = tmp_path / "trip"
    (trip / "day 2").mkdir(parents=True)
    (trip / "chelsea.png").write_bytes(CHELSEA.read_bytes())
    (trip / "day 2" / "café.png").write_bytes(COFFEE.read_bytes())
    (trip / "notes.txt").write_text("skipped: not an image name, inside a folder")
    me = user()
    result = cli("upload", str(trip), "--wait", "--json", "--metadata", '{"album": "trip"}', user=me)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    files = {Path(f["file"]).name: f for f in report["files"]}
    assert set(files) == {"chelsea.png", "café.png"}
    assert all(f["status"] == "tagged" for f in files.values())
    assert "cat" in tags_of(files["chelsea.png"]) and "coffee" in tags_of(files["café.png"])
    assert files["café.png"]["filename"] == "café.png"
    summary = report["summary"]
    assert summary["tagged"] == 2 and summary["rejected"] == summary["error"] == 0
    # The metadata went with the batch.
    shown = json.loads(cli("show", files["chelsea.png"]["id"], "--json", user=me).stdout)
    batch = json.loads(cli("list", "--json", user=me).stdout)
    assert shown["batch_id"] in {i["batch_id"] for i in batch["images"]}


def test_rejected_files_are_reported_with_their_reason_and_exit_1(cli, tmp_path):
    notes, empty = tmp_path / "notes.jpg", tmp_path / "empty.png"
    notes.write_text("not an image at all")
    empty.write_bytes(b"")
    result = cli("upload", str(CHELSEA), str(notes), str(empty), user=user())
    assert result.code == 1, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "queued" in lines
    rejected = [line for line in result.stdout.splitlines() if line.startswith("rejected")]
    assert len(rejected) == 2
    assert any("notes.jpg" in line and "(unsupported_format)" in line for line in rejected)
    assert any("empty.png" in line and "(empty_file)" in line for line in rejected)
    assert "1 of 3 uploaded; 2 rejected" in result.stderr


def test_list_search_show_and_delete(cli):
    me = user()
    uploaded = json.loads(cli("upload", str(CHELSEA), str(COFFEE), "--wait", "--json", user=me).stdout)
    ids = {Path(f["file"]).name: f["id"] for f in uploaded["files"]}

    listing = cli("list", user=me)
    assert listing.code == 0
    assert listing.stdout.splitlines()[0].split() == ["ID", "STATUS", "UPLOADED", "FILENAME", "TAGS"]
    assert ids["chelsea.png"] in listing.stdout and ids["coffee.png"] in listing.stdout
    assert len(json.loads(cli("list", "--limit", "1", "--json", user=me).stdout)["images"]) == 1

    found = json.loads(cli("search", "CAT", "--json", user=me).stdout)["images"]
    assert [i["id"] for i in found] == [ids["chelsea.png"]]
    assert json.loads(cli("list", "--tag", "coffee", "--json", user=me).stdout)["images"][0]["id"] == ids["coffee.png"]
    assert "no images" in cli("search", "zebra", user=me).stdout

    shown = cli("show", ids["chelsea.png"], user=me)
    assert shown.code == 0
    assert "filename:     chelsea.png" in shown.stdout
    assert any(line.split()[:1] == ["cat"] and "classifier" in line for line in shown.stdout.splitlines())
    assert "width                451" in shown.stdout
    assert "original:     http://127.0.0.1:" in shown.stdout

    deleted = cli("delete", ids["coffee.png"], user=me)
    assert (deleted.code, deleted.stdout.strip()) == (0, f"deleted {ids['coffee.png']}")
    again = cli("show", ids["coffee.png"], user=me)
    assert again.code == 1 and "not_found" in again.stderr
    assert cli("delete", ids["coffee.png"], user=me).code == 1
    assert cli("search", "!!!", user=me).code == 1  # the app refuses the tag (400)


def test_identity_is_required_by_this_app_so_no_user_is_exit_2(cli):
    result = cli("list", user=None)
    assert result.code == 2
    assert "unauthenticated" in result.stderr and "HTTP 401" in result.stderr


def test_users_see_only_their_own_images(cli):
    ann, bob = user(), user()
    image_id = json.loads(cli("upload", str(CHELSEA), "--json", user=ann).stdout)["files"][0]["id"]
    assert json.loads(cli("list", "--json", user=bob).stdout)["images"] == []
    assert cli("show", image_id, user=bob).code == 1


def test_progress_bars_show_each_file(cli):
    result = cli("upload", str(CHELSEA), str(COFFEE), "--progress", "--concurrency", "2", user=user())
    assert result.code == 0, result.stderr
    for name in ("chelsea.png", "coffee.png"):
        assert any(name in line and "100%" in line for line in result.stderr.replace("\r", "\n").splitlines()), name
    assert "uploaded: 100%" in result.stderr.replace("\r", "\n")
    # Result lines stay on stdout, apart from the bars.
    assert sum(line.startswith("queued") for line in result.stdout.splitlines()) == 2


def twenty_photos(folder: Path) -> list[Path]:
    """20 distinct photos: the fixtures re-encoded at several sizes and qualities."""
    sources = sorted(PHOTOS.glob("*.jpg")) + sorted(PHOTOS.glob("*.png"))
    folder.mkdir()
    made = []
    for index in range(20):
        source = sources[index % len(sources)]
        with Image.open(source) as image:
            image = image.convert("RGB")
            scale = 1.0 - 0.12 * (index // len(sources))
            image = image.resize((int(image.width * scale), int(image.height * scale)))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80 + index % 15)
        path = folder / f"photo-{index:02d}-{source.stem}.jpg"
        path.write_bytes(out.getvalue())
        made.append(path)
    return made


def test_twenty_photos_upload_and_tagging_time(cli, tmp_path):
    photos = twenty_photos(tmp_path / "twenty")
    started = time.monotonic()
    result = cli("upload", str(tmp_path / "twenty"), "--wait", "--json", "--concurrency", "4", user=user())
    wall = time.monotonic() - started
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["tagged"] == 20 == len(photos)
    timing = {
        "photos": 20,
        "bytes": sum(p.stat().st_size for p in photos),
        "concurrency": 4,
        "upload_seconds": report["summary"]["upload_seconds"],
        "upload_and_tagging_seconds": report["summary"]["seconds"],
        "process_wall_seconds": round(wall, 2),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "cli-20-photos.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(f"\n20-photo CLI upload: {json.dumps(timing)}")
    assert timing["upload_seconds"] < 60
