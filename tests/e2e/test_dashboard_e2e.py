"""The dashboard (§12) in a real headless Chromium (Debian's, driven by Playwright) against the service process.

Screenshots at 1280×800 and 390×844 are written under ``.artifacts/screenshots`` (or ``$COMPUTEADVISOR_ARTIFACTS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests._required import required_tool
from tests.e2e._harness import RunningServer, ServerLauncher

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
APPEARS_WITHIN_MS = 2000  # §12: a job enqueued and claimed through the API shows within 2 s, without a reload
WAIT_MS = 15_000  # everything else: a bound for a slow machine, not a figure being tested
ARTIFACTS = Path(os.environ.get("COMPUTEADVISOR_ARTIFACTS", Path(__file__).resolve().parents[2] / ".artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = required_tool("chromium", "Debian package chromium; make test installs it where apt-get can")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page and everything it reported to the console: errors here are failures."""

    def __init__(self, browser: Browser, width: int, height: int) -> None:
        self.page: Page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def open(self, server: RunningServer) -> Page:
        self.page.goto(f"{server.base_url}/")  # the front page redirects to /ui/
        self.page.wait_for_selector("#live.live-live", timeout=WAIT_MS)
        return self.page


def post(api: httpx.Client, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(route, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def seed(server: RunningServer) -> None:
    """A provider, finished and running and queued jobs: something in every panel."""
    with server.client() as api:
        post(api, "/api/providers", {"id": "runpod-a100", "kind": "runpod", "meta": {"cost_per_minute": 0.035}})
        for n in range(5):
            post(api, "/api/schedule/enqueue", {"id": f"render-{n}", "payload": {"width": 1024, "height": 1024}})
        for n in range(3):
            lease = post(api, "/api/schedule/claim", {"device_id": "cpu"})["lease"]
            if n < 2:
                post(api, "/api/schedule/complete", {"job_id": f"render-{n}", "lease_token": lease["token"],
                                                     "duration_sec": 4 + n})  # fmt: skip
        post(api, "/api/schedule/enqueue", {"id": "tonight", "delay_seconds": 36000})  # counted apart (§15.1)


def test_page_loads_clean_fits_both_viewports_and_is_keyboard_reachable(
    browser: Browser, launcher: ServerLauncher, state_root: Path
) -> None:
    server = launcher.start(state_root)
    seed(server)
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for width, height, name in ((1280, 800, "desktop-1280x800"), (390, 844, "phone-390x844")):
        watched = Watched(browser, width, height)
        page = watched.open(server)
        assert page.url.endswith("/ui/")
        page.wait_for_selector('#finished tr[data-job="render-0"]', timeout=WAIT_MS)
        page.wait_for_selector('#running tr[data-job="render-2"]', timeout=WAIT_MS)
        page.wait_for_selector('#gantt rect.bar.running[data-job="render-2"]', timeout=WAIT_MS)
        page.wait_for_selector('#providers tr[data-provider="runpod-a100"]', timeout=WAIT_MS)
        page.wait_for_selector('#devices [data-device="cpu"]', timeout=WAIT_MS)
        assert page.inner_text("#feature") == "compute off"
        tiles = page.locator("#counts .count").all_inner_texts()
        assert [" ".join(t.split()) for t in tiles] == [
            "2 queued local", "0 queued remote", "1 scheduled", "1 running", "2 finished"
        ]  # fmt: skip
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, f"horizontal scrolling at {width}px: {scroll} > {client}"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        focused = set()
        for _ in range(40):  # every control is reached with Tab alone
            page.keyboard.press("Tab")
            focused.add(page.evaluate("document.activeElement.id || document.activeElement.name || ''"))
        assert {"token", "window", "width", "objective"} <= focused
        assert watched.errors == []
        watched.page.close()
    # A keyboard user's focus survives the live updates: the rows are rebuilt when an event arrives.
    watched = Watched(browser, 1280, 800)
    page = watched.open(server)
    cancel = page.locator('[aria-label="Cancel render-2"]')
    cancel.focus()
    with server.client() as api:
        post(api, "/api/schedule/enqueue", {"id": "while-focused"})
    page.wait_for_selector('#queued tr[data-job="while-focused"]', timeout=WAIT_MS)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Cancel render-2"


def test_a_job_shows_live_and_survives_a_server_restart(
    browser: Browser, launcher: ServerLauncher, state_root: Path
) -> None:
    server = launcher.start(state_root)
    watched = Watched(browser, 1280, 800)
    page = watched.open(server)
    with server.client() as api:
        post(api, "/api/schedule/enqueue", {"id": "live-1"})
        post(api, "/api/schedule/claim", {"device_id": "cpu"})
    # On the board and in the running list without a reload.
    page.wait_for_selector('#gantt rect.bar.running[data-job="live-1"]', timeout=APPEARS_WITHIN_MS)
    page.wait_for_selector('#running tr[data-job="live-1"]', timeout=APPEARS_WITHIN_MS)
    assert watched.errors == []

    server.kill_hard()
    page.wait_for_selector("#live:not(.live-live)", timeout=WAIT_MS)
    server = launcher.start(state_root, port=server.port)  # where the page's EventSource reconnects
    with server.client() as api:  # while the page is still reconnecting: these must reach it by replay
        post(api, "/api/schedule/enqueue", {"id": "after-1"})
        post(api, "/api/schedule/enqueue", {"id": "after-2"})
    page.wait_for_selector("#live.live-live", timeout=WAIT_MS)
    with server.client() as api:
        post(api, "/api/schedule/cancel", {"job_id": "after-1"})
    page.wait_for_selector('#activity li[data-id="5"]', timeout=WAIT_MS)
    ids = [int(i) for i in page.eval_on_selector_all("#activity li", "items => items.map(i => i.dataset.id)")]
    assert sorted(ids) == [1, 2, 3, 4, 5]  # every job event once: none lost across the restart, none repeated
    page.wait_for_selector('#queued tr[data-job="after-2"]', timeout=WAIT_MS)
    page.wait_for_selector('#finished tr[data-job="after-1"]', timeout=WAIT_MS)


def test_the_planner_form_shows_a_ranked_table(browser: Browser, launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root)
    with server.client() as api:
        post(api, "/api/providers", {"id": "runpod-a100", "kind": "runpod", "meta": {"cost_per_minute": 0.035}})
    watched = Watched(browser, 1280, 800)
    page = watched.open(server)
    page.fill("#plan-form [name=width]", "2048")
    page.fill("#plan-form [name=height]", "1152")
    page.select_option("#plan-form [name=objective]", "cheapest")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#plan:not([hidden]) tbody tr", timeout=WAIT_MS)
    ranks = page.eval_on_selector_all("#plan tbody tr td:first-child", "cells => cells.map(c => c.textContent)")
    assert ranks == [str(n) for n in range(1, len(ranks) + 1)] and len(ranks) >= 2  # cpu and the provider
    best = page.locator("#plan tbody tr.recommended")
    assert best.count() == 1 and best.get_attribute("data-device") == "cpu"
    assert page.inner_text("#plan-reason").startswith("cpu finishes in")
    remote = page.locator('#plan tbody tr[data-device="remote:runpod-a100"]')
    assert "compute feature disabled" in remote.inner_text()  # the flag is off: a blocker, shown
    # The server's 400 is shown where the answer goes (past the form's own checks, which would stop -5 first).
    page.evaluate("document.querySelector('#plan-form').noValidate = true")
    page.fill("#plan-form [name=width]", "-5")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#plan-reason.error", timeout=WAIT_MS)
    assert "job.width" in page.inner_text("#plan-reason")
