"""A real headless Chromium (the system's `chromium`) on a phone viewport against the real
app served over HTTP, with the suite's PostgreSQL and Temporal behind it.

One browser for the session; a fresh context (cookies, storage) per test. A console error or
an uncaught page error fails the test. Screenshots go to `.artefacts/screenshots/<test>/`."""

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from domain import demo_data
from tests.conftest import close_read_pool
from workers.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".artefacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    """The system's Chromium; `make test` installs it when missing. Never skipped: a suite
    without its browser fails."""
    found = os.environ.get("PLANTOPS_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "chromium is not installed: `make test` installs it (apt-get install chromium); "
            "or set PLANTOPS_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def live_server(settings, sessions, temporal_client, worker) -> AsyncIterator[str]:
    """The app over real HTTP on a free port, in the test's event loop."""
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await close_read_pool(app)


class Phone:
    """A page on a phone-sized screen, with the steps the scenarios repeat."""

    def __init__(self, page, base: str, folder: Path) -> None:
        self.page, self.base, self.folder = page, base, folder
        self.errors: list[str] = []
        self.shots = 0
        self.documents: set[str] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("response", self._response)

    def _response(self, response) -> None:
        # A refused form answers its page with a 4xx on purpose; a script, a stylesheet,
        # an image or a poll that fails is an error of the page.
        if response.request.resource_type == "document":
            self.documents.add(response.url)
        elif response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url")
        if message.text.startswith("Failed to load resource") and url in self.documents:
            return  # the page's own status, asserted by the test
        self.errors.append(f"console: {message.text} ({url})")

    async def goto(self, path: str):
        return await self.page.goto(self.base + path)

    async def shot(self, name: str) -> Path:
        self.shots += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.shots:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def sign_in(self, username: str) -> None:
        """Signs out whoever is signed in, then signs in at the login page."""
        await self.page.context.clear_cookies()
        await self.goto("/login")
        await self.login_here(username)

    async def login_here(self, username: str) -> None:
        await self.page.fill("#username", username)
        await self.page.fill("#password", demo_data.DEMO_PASSWORD)
        async with self.page.expect_navigation():
            await self.page.click("form[action='/login'] button[type=submit]")

    async def submit(self, selector: str) -> None:
        """Clicks a submit button and waits for the page it leads to."""
        async with self.page.expect_navigation():
            await self.page.click(selector)

    async def press(self, label: str) -> None:
        """Presses the page's button with this text and waits for the page it leads to."""
        button = self.page.locator("main button", has_text=label).first
        async with self.page.expect_navigation():
            await button.click()

    async def touch_targets_fit_a_finger(self) -> None:
        """Buttons, fields and menus at least 44 px high (checkboxes sit in 44 px labels)."""
        small = await self.page.evaluate(
            """() => [...document.querySelectorAll(
                  'button, a.button, select, textarea, summary, label.check,'
                  + ' input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
                .filter(e => e.offsetParent !== null)
                .filter(e => e.getBoundingClientRect().height < 43.5)
                .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert not small, small

    async def no_sideways_scroll(self) -> None:
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"


@pytest.fixture
async def phone(browser, live_server, request) -> AsyncIterator[Phone]:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    folder = SHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    p = Phone(page, live_server, folder)
    try:
        yield p
    finally:
        try:  # the last screen, to see where a failed scenario stopped
            await page.screenshot(path=str(folder / "last.png"), full_page=True)
        except Exception:
            pass
        await context.close()
    assert not p.errors, "\n".join(p.errors)
