"""A live server and headless Debian Chromium (Playwright, no browser download).

Every request to a non-loopback address is blocked and recorded, and any failed
request or page error fails the test: the pages must work with no internet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mapping.config import PROJECT_ROOT
from tests.conftest import serving

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


#: Text that means a missing value or a code reached a person.
MISSING_WORDS = re.compile(r"\b(nan|NaN|None|NaT|null|undefined|<NA>)\b")
#: A snake_case token (``gp_practice``, ``wards_2023``): a code, never a word a person reads.
RAW_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
#: A file's name (``lsoa_2021.geojson``) is shown as it is, so a person can find the file.
FILE_NAME = re.compile(r"[\w.-]+\.(?:csv|json|geojson|gpkg|xlsx?|ods|toml|osm|pbf|zip|shp|txt)\b")
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The two sizes every page is looked at: a council laptop and a phone.
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
#: axe impacts that fail a test.
FAILING_IMPACTS = ("serious", "critical")


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app) as url:
        yield url


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
        context = browser.new_context(viewport=VIEWPORTS["desktop"])
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



def visible_text(page) -> str:  # type: ignore[no-untyped-def]
    """Give what a person reads on the page: the body's rendered text, popups included."""
    return str(page.locator("body").inner_text())


def text_problems(text: str, *, allow: tuple[str, ...] = ()) -> list[str]:
    """Give the missing-value words and raw codes in ``text`` (``allow``: codes the page may
    show on purpose, such as a command a person is told to type)."""
    found = [f"missing value shown: {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]!r}…"
             for m in MISSING_WORDS.finditer(text)]
    found += [f"raw code shown: {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]!r}…"
              for m in RAW_CODE.finditer(FILE_NAME.sub("", text)) if m.group(0) not in allow]
    return found


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Run axe-core (installed from npm, injected from ``node_modules``) on the page and give
    its serious and critical findings, each with the elements it names."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run 'npm ci' (axe-core is in package.json)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))")
    return [f"axe {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}"
            for v in result if v["impact"] in FAILING_IMPACTS]


def look_at(page, name: str, *, allow: tuple[str, ...] = ()) -> str:  # type: ignore[no-untyped-def]
    """Look at the page as a person would, at both sizes: screenshots to ``build/screenshots/``
    (``NAME-desktop.png``, ``NAME-phone.png``), no missing-value word or raw code on screen,
    and no serious or critical axe finding. Gives the visible text (at desktop size).

    Fails the test with every problem found, so one run lists them all.
    """
    problems: list[str] = []
    text = ""
    original = page.viewport_size
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
        if size == "desktop":
            text = visible_text(page)
            problems += text_problems(text, allow=allow)
            problems += axe_violations(page)
    if original:
        page.set_viewport_size(original)
    assert not problems, f"{name} ({page.url}):\n" + "\n".join(problems)
    return text


OFFICER_PASSWORD = "a long enough password"


def sign_in_as_officer(page, live_server: str, store, username: str = "officer1") -> None:  # type: ignore[no-untyped-def]
    """Make an officer in ``store`` and sign in as them through the form, as a person would."""
    from mapping.register.users import create_user

    with store.transaction() as session:
        create_user(session, username, OFFICER_PASSWORD, role="officer")
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def look_at_each(page, live_server: str, pages: dict[str, str], prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Open each of ``pages`` (name → path) and :func:`look_at` it; give every failure."""
    failures = []
    for name, path in pages.items():
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        try:
            look_at(page, f"{prefix}-{name}")
        except AssertionError as e:
            failures.append(str(e))
    return failures
