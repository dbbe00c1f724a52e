"""Real headless Chromium driven by Playwright, for page tests.

Debian's ``chromium`` package through ``executable_path`` (``.ci/run`` installs it): Playwright's
own browser download is never used. The launch options come from pytest-playwright's
``browser_type_launch_args`` fixture, so ``--headed`` and ``--slowmo`` work as usual. The tests run
on the event loop of the API and worker they drive, hence Playwright's async API.

:class:`Watched` records what a page did that a test must check: console errors, uncaught page
errors, dialogs (an ``alert`` means injected script ran) and the URL of every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, Request, async_playwright

from tests.integration.chromium import chromium_binary

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@asynccontextmanager
async def chromium(launch_args: dict[str, Any]) -> AsyncIterator[Browser]:
    executable = chromium_binary()  # skips (or fails on CI) without Debian's chromium
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            **{"headless": True, **launch_args},
            executable_path=executable,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-quic"],
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watched:
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.console_errors.append(f"{msg.type}: {msg.text}")

    async def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)


async def open_page(browser: Browser, width: int, height: int = 900) -> Watched:
    """A page in its own context (its own sessionStorage: one partner per context)."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    watched = Watched(page)
    page.on("console", watched.on_console)
    page.on("pageerror", lambda exc: watched.page_errors.append(str(exc)))
    page.on("dialog", watched.on_dialog)
    page.on("request", watched.on_request)
    return watched


async def screenshot(page: Page, name: str, width: int) -> Path:
    """A full-page PNG at ``width`` px, kept under test-artifacts/ (ignored by git)."""
    await page.set_viewport_size({"width": width, "height": 900})
    await page.wait_for_timeout(200)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{width}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def assert_clean(
    w: Watched,
    base: str,
    keys: list[str],
    *,
    deliberate: tuple[str, ...],
    payloads: str = "img, body script",
    also_own: tuple[str, ...] = (),
) -> None:
    """What every inbox page test checks at its end.

    No injected script ran and no payload became an element (``payloads``: a CSS selector); no
    console error but the ``deliberate`` ones (substrings such as ``"status of 422"``); no request
    off ``base`` (``data:`` and the prefixes ``also_own`` aside); no key in a URL or a cookie;
    every control labelled; readable at 360 px (nothing wider than the screen).
    """
    page = w.page
    await page.set_viewport_size({"width": 360, "height": 900})
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert not w.dialogs, f"injected script ran: {w.dialogs}"
    assert not w.page_errors, w.page_errors
    assert await page.locator(payloads).count() == 0
    unexpected = [m for m in w.console_errors if not any(d in m for d in deliberate)]
    assert not unexpected, unexpected
    own = (base + "/", "data:", *also_own)
    off_origin = [u for u in w.requests if not u.startswith(own)]
    assert not off_origin, off_origin
    for key in keys:
        assert not any(key in u for u in w.requests), "an API key went into a URL"
    assert await page.context.cookies() == []
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
             .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                             && !el.textContent.trim())
             .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []


async def section_screenshots(page: Page, name: str, sections: list[str]) -> None:
    """PNGs of single sections (``#id``) at 360 and 1280 px: ``{name}-{id}-{width}.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (360, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.wait_for_timeout(200)
        for section in sections:
            path = ARTIFACTS / f"{name}-{section}-{width}.png"
            await page.locator(f"#{section}").screenshot(path=str(path))
