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
from tests.test_service_support import FIXTURES, running_server, service_detector, write_test_clip

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
def server(tmp_path_factory):
    with running_server(ServiceSettings(detector=service_detector(), tmp_dir=tmp_path_factory.mktemp("spool"))) as url:
        yield url


def _page(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((server, "data:")) else None)
    page.goto(server + "/")
    return page, errors, outside


def test_upload_shows_watermark_verdict_card(browser, server, tmp_path):
    clip = write_test_clip(tmp_path / "generated clip.mp4", frames=24, size=(128, 160),
                           watermark_payload=bytes.fromhex("a1b2c3d4e5f6"))
    page, errors, outside = _page(browser, server)
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#card:not([hidden])", timeout=60_000)
    assert page.get_attribute("#verdict", "data-verdict") == "ai-generated-watermarked"
    assert page.inner_text("#verdict") == "AI-generated"
    assert "generated clip.mp4" in page.inner_text("#filename")
    badges = page.inner_text("#badges")
    assert "No Content Credentials" in badges and "Watermark detected" in badges
    assert "org.framemark.video.1" in page.inner_text("#wm-list") and "a1b2c3d4e5f6" in page.inner_text("#wm-list")
    # the per-frame plot has one point per frame
    points = page.get_attribute("#wm-plot polyline", "points")
    assert points is not None and len(points.split()) == 24
    assert page.locator("#thumbs img").count() >= 3
    assert page.evaluate("document.querySelector('#thumbs img').naturalWidth") > 0
    _screenshot(page, "verdict-watermarked.png")
    assert errors == [] and outside == []
    page.close()


@pytest.mark.skipif(not (FIXTURES / "video1.mp4").exists(), reason="C2PA fixtures not present")
def test_signed_fixture_shows_provenance_badge(browser, server):
    page, errors, outside = _page(browser, server)
    page.set_input_files("#file", str(FIXTURES / "video1.mp4"))
    page.wait_for_selector("#card:not([hidden])", timeout=90_000)
    # signed by the C2PA reference test CA, which this server does not trust
    assert page.inner_text("#badge-provenance") == "Credentials: unknown signer"
    assert page.get_attribute("#verdict", "data-verdict") == "signed-capture-or-edit"
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
