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
