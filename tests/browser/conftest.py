"""A live server and headless Debian Chromium (Playwright, no browser download).

Every request to a non-loopback address is blocked and recorded, and any failed
request or page error fails the test: the pages must work with no internet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from mapping.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class Problems(list[str]):
    """What went wrong in the browser: blocked, failed or erroring requests and page errors."""


@pytest.fixture
def browser_page() -> Iterator[tuple[object, Problems]]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'bash scripts/setup.sh test' (apt chromium)")
    problems = Problems()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic"],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()

        def guard(route, request):  # type: ignore[no-untyped-def]
            host = urlparse(request.url).hostname or ""
            if request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                route.continue_()
            else:
                problems.append(f"blocked non-loopback request: {request.url}")
                route.abort()

        page.route("**/*", guard)
        # ERR_ABORTED is the browser dropping a request because the page moved on; blocked
        # requests are recorded by the guard above.
        page.on("requestfailed", lambda r: "ERR_ABORTED" not in str(r.failure)
                and problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
                and problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("pageerror", lambda e: problems.append(f"page error on {page.url}: {e}"))
        yield page, problems
        context.close()
        browser.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
