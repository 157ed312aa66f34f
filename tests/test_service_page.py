"""The web page in a real headless browser: Debian's chromium driven by Playwright.

Never downloads a browser: the test uses /usr/bin/chromium and skips when it is
missing (``make system-deps`` installs it). Set FRAMEMARK_SCREENSHOT_DIR to keep the
verdict card's screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from detect.service import ServiceSettings
import httpx

from tests.test_service_support import (DECODABLE_KEY, FIXTURES, make_keys_dir, running_server, service_detector,
                                        watermark_key, write_test_clip)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    # the card must show the identifier: a key measured to decode, not a random one
    return make_keys_dir(tmp_path_factory.mktemp("page-keys") / "keys", watermark_key=DECODABLE_KEY)


@pytest.fixture(scope="module")
def server(tmp_path_factory, keys):
    settings = ServiceSettings(detector=service_detector(), tmp_dir=tmp_path_factory.mktemp("spool"), keys_dir=keys)
    with running_server(settings) as url:
        yield url


def _api_report(server, path: Path) -> dict:
    """What the API says about the same file: the page must show exactly that."""
    resp = httpx.post(server + "/v1/detect", files={"file": (path.name, path.read_bytes(), "video/mp4")}, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


BADGE = {"trusted": "Credentials: trusted signer", "valid": "Credentials: unknown signer",
         "invalid": "Credentials: invalid", "absent": "No Content Credentials"}


def _page(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((server, "data:")) else None)
    page.goto(server + "/")
    return page, errors, outside


def test_upload_shows_watermark_verdict_card(browser, server, keys, tmp_path):
    clip = write_test_clip(tmp_path / "generated clip.mp4", frames=24, size=(128, 160),
                           watermark_payload=bytes.fromhex("a1b2c3d4e5f6"), key=watermark_key(keys))
    report = _api_report(server, clip)
    page, errors, outside = _page(browser, server)
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#card:not([hidden])", timeout=60_000)
    assert page.get_attribute("#verdict", "data-verdict") == report["verdict"]
    assert "generated clip.mp4" in page.inner_text("#filename")
    wm = [w for w in report["watermarks"] if w["alg"] == "org.framemark.video.1"][0]
    assert "org.framemark.video.1" in page.inner_text("#wm-list")
    if wm.get("detected"):
        assert page.inner_text("#verdict") == "AI-generated"
        assert "Watermark detected" in page.inner_text("#badges")
        assert "a1b2c3d4e5f6" in page.inner_text("#wm-list")
    if wm.get("per_frame"):  # one plot point per frame
        points = page.get_attribute('#wm-plot polyline[data-alg="org.framemark.video.1"]', "points")
        assert points is not None and len(points.split()) == len(wm["per_frame"])
    assert page.locator("#thumbs img").count() >= 3
    assert page.evaluate("document.querySelector('#thumbs img').naturalWidth") > 0
    _screenshot(page, "verdict-watermarked.png")
    assert errors == [] and outside == []
    page.close()


@pytest.mark.skipif(not (FIXTURES / "video1.mp4").exists(), reason="C2PA fixtures not present")
def test_signed_fixture_shows_provenance_badge(browser, server):
    report = _api_report(server, FIXTURES / "video1.mp4")
    page, errors, outside = _page(browser, server)
    page.set_input_files("#file", str(FIXTURES / "video1.mp4"))
    page.wait_for_selector("#card:not([hidden])", timeout=90_000)
    state = report["c2pa"]["state"]
    # signed by the C2PA reference test CA, which this server does not trust: "valid"
    assert page.inner_text("#badge-provenance") == BADGE.get(state, "Credentials: " + state)
    assert page.get_attribute("#verdict", "data-verdict") == report["verdict"]
    _screenshot(page, "verdict-signed.png")
    assert errors == [] and outside == []
    page.close()


def test_errors_are_shown_not_swallowed(browser, server, tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    page, errors, _ = _page(browser, server)
    page.set_input_files("#file", str(bogus))
    page.wait_for_selector("#status.error", timeout=30_000)
    text = page.inner_text("#status")
    assert "HTTP 415" in text and "notes.mp4" in text
    assert page.is_hidden("#card")
    assert errors == []
    page.close()


def _screenshot(page, name: str) -> None:
    out = os.environ.get("FRAMEMARK_SCREENSHOT_DIR")
    if not out:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    page.locator("#card").screenshot(path=str(Path(out) / name))
