"""The web app in a real browser: Debian's headless Chromium driven by Selenium, the server on loopback.

Skipped when chromium or chromedriver is not installed (`apt-get install chromium chromium-driver`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from framingdocs import FRAMED, with_framing
from webdocs import ARTICLE, HOSTILE, serving, with_known_spans, with_marked_spans

from unspin.web import taxonomy

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The screenshot goes to a temporary folder; UNSPIN_DOCS_SCREENSHOT=1 writes the README's copy in docs/.
SCREENSHOT = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshot-article.png"
    if os.environ.get("UNSPIN_DOCS_SCREENSHOT") == "1"
    else Path(tempfile.gettempdir()) / "unspin-screenshot-article.png"
)

webdriver = pytest.importorskip("selenium.webdriver")
if not CHROMEDRIVER.exists() or not Path(CHROMIUM).exists():
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    import uvicorn

    from unspin.web import create_app

    port = _free_port()
    app = create_app("sqlite://", analyzer=with_known_spans)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="unspin-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1360,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout: float = 20):
    return WebDriverWait(driver, timeout).until(condition)


def _post(server: str, text: str) -> str:
    request = urllib.request.Request(
        f"{server}/api/analyze", data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["id"]


def _open(driver, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def _piece(driver, phrase: str):
    """The highlighted piece whose text starts with `phrase`."""
    for el in driver.find_elements(By.CSS_SELECTOR, "#article-text .piece"):
        if el.text.startswith(phrase):
            return el
    raise AssertionError(f"no piece starts with {phrase!r}")


def _lit(el) -> bool:
    return "hl" in (el.get_attribute("class") or "").split()


def _span_item(driver, technique: str, phrase: str):
    for li in driver.find_elements(By.CSS_SELECTOR, f'#span-list li[data-technique="{technique}"]'):
        if phrase in li.get_attribute("textContent"):
            return li
    raise AssertionError(f"no {technique} span with {phrase!r}")


def _set_slider(driver, value: float) -> None:
    slider = driver.find_element(By.ID, "min-score")
    slider.click()
    slider.send_keys(Keys.HOME)
    for _ in range(round(value / 0.05)):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert abs(float(slider.get_attribute("value")) - value) < 1e-6


def test_paste_an_article_and_see_highlights(server: str, browser) -> None:
    _open(browser, server + "/")
    browser.find_element(By.ID, "text").send_keys(ARTICLE)
    browser.find_element(By.ID, "analyze-button").click()
    _wait(browser, lambda d: "/a/" in d.current_url)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#article-text .piece.hl"))
    assert browser.find_element(By.ID, "article-title").text.startswith("Traitors in the capital")
    name_calling = _piece(browser, "corrupt elites")
    assert _lit(name_calling)
    from unspin.web.taxonomy import describe

    colour = describe("Name_Calling,Labeling")["colour"]  # "#rrggbb"
    rgb = ", ".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    assert rgb in name_calling.value_of_css_property("box-shadow")
    assert not browser.find_element(By.ID, "no-techniques").is_displayed()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mix-chart .main-svg"))  # Plotly drew the chart
    name_calling.click()
    details = browser.find_element(By.ID, "details").text
    assert describe("Name_Calling,Labeling")["name"] in details and "92% confident" in details
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # nothing blocked by the CSP, nothing fetched from outside


def test_confidence_slider_hides_low_confidence_spans(server: str, browser) -> None:
    _open(browser, f"{server}/a/{_post(server, ARTICLE)}")
    doubt = _piece(browser, "Can we really trust")
    weak = _span_item(browser, "Loaded_Language", "betrayed")  # score 0.35
    # every span the model reports shows at first: calibrated confidences seldom reach 0.5
    assert _lit(doubt) and weak.is_displayed() and _lit(_piece(browser, "The "))
    assert browser.find_element(By.ID, "min-score-value").text == "0.00"
    _set_slider(browser, 0.5)
    assert _lit(doubt) and not weak.is_displayed()
    _set_slider(browser, 0.6)
    assert not _lit(doubt)  # 0.58
    assert _lit(_piece(browser, "Our "))  # Flag-Waving, 0.83
    assert browser.find_element(By.ID, "min-score-value").text == "0.60"
    assert "min_score=0.60" in browser.find_element(By.ID, "export-report").get_attribute("href")


def test_the_page_shows_the_precise_spans_until_the_reader_asks_for_every_span(browser) -> None:
    from unspin.web import create_app

    with serving(create_app("sqlite://", analyzer=with_marked_spans)) as url:
        _open(browser, f"{url}/a/{_post(url, ARTICLE)}")
        weak = _span_item(browser, "Loaded_Language", "betrayed")  # 0.35: off the precise operating point
        strong = _span_item(browser, "Name_Calling,Labeling", "corrupt elites")  # 0.92
        switch = browser.find_element(By.ID, "all-spans")
        assert not switch.is_selected() and strong.is_displayed() and not weak.is_displayed()
        assert not _lit(_piece(browser, "The "))  # only the weak span covers it
        report = browser.find_element(By.ID, "export-report").get_attribute("href")
        assert "all_spans" not in report
        switch.click()
        assert weak.is_displayed() and _lit(_piece(browser, "The "))
        assert "all_spans=true" in browser.find_element(By.ID, "export-report").get_attribute("href")
        _set_slider(browser, 0.5)  # the confidence slider still narrows every span
        assert not weak.is_displayed() and strong.is_displayed()


def test_page_coverage_is_the_apis_share_as_spans_are_hidden(server: str, browser) -> None:
    from unspin.scoring import coverage
    from unspin.web.highlight import percent

    analysis_id = _post(server, ARTICLE)
    with urllib.request.urlopen(f"{server}/api/analyses/{analysis_id}", timeout=30) as response:
        body = json.load(response)
    _open(browser, f"{server}/a/{analysis_id}")

    def shown() -> str:
        return browser.find_element(By.ID, "coverage").text

    spans = [(s["start"], s["end"], s["score"]) for s in body["spans"]]
    assert shown() == f"{percent(coverage(body['text'], [(a, b) for a, b, _ in spans]))}%"
    for minimum in (0.6, 0.85):
        _set_slider(browser, minimum)
        assert shown() == f"{percent(coverage(body['text'], [(a, b) for a, b, p in spans if p >= minimum]))}%"


def test_technique_filter_hides_a_technique(server: str, browser) -> None:
    _open(browser, f"{server}/a/{_post(server, ARTICLE)}")
    never_bow = _piece(browser, " nation will never bow")
    assert _lit(never_bow)
    box = browser.find_element(By.CSS_SELECTOR, '#technique-filters input[value="Flag-Waving"]')
    box.click()
    assert not box.is_selected()
    assert not _lit(never_bow)
    assert _lit(_piece(browser, "glorious"))  # Loaded Language stays
    assert not _span_item(browser, "Flag-Waving", "never bow").is_displayed()
    count = browser.find_element(By.CSS_SELECTOR, '#technique-filters .count[data-label="Flag-Waving"]')
    assert count.text == "0"
    for other in browser.find_elements(By.CSS_SELECTOR, "#technique-filters input"):
        if other.is_selected():
            other.click()
    assert browser.find_element(By.ID, "no-techniques").is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, "#article-text .piece.hl")


def test_hostile_document_runs_no_script(server: str, browser) -> None:
    _open(browser, f"{server}/a/{_post(server, HOSTILE)}")
    text = browser.find_element(By.ID, "article-text")
    assert "<script>window.__pwned = 1;</script>" in text.text
    assert '<img src=x onerror="window.__pwned = 2">' in text.text
    assert "</textarea><b>bold?</b>" in text.text
    assert not text.find_elements(By.CSS_SELECTOR, "script, img, a, b, textarea")
    _piece(browser, "Before <script>").click()
    assert "<script>window.__pwned" in browser.find_element(By.ID, "details").text
    time.sleep(0.3)
    assert browser.execute_script("return window.__pwned === undefined")
    # The same text back in the form after an error stays text too.
    _open(browser, server + "/")
    area = browser.find_element(By.ID, "text")
    browser.execute_script("arguments[0].value = arguments[1]", area, HOSTILE)
    browser.find_element(By.ID, "file").send_keys(str(Path(__file__).resolve().parent / "fixtures" / "empty.pdf"))
    browser.find_element(By.ID, "analyze-button").click()
    # The error page (its #form-error shown, with a reason) replaces the form page: read both elements
    # in one script once it has loaded, so an element of the page being replaced is never used.
    state = (
        "var e = document.getElementById('form-error'), t = document.getElementById('text');"
        "return document.readyState === 'complete' && e && !e.hidden && e.textContent.trim() && t ? t.value : null;"
    )
    _wait(browser, lambda d: d.execute_script(state) is not None)
    assert browser.execute_script(state) == HOSTILE
    assert browser.execute_script("return window.__pwned === undefined")


def test_form_refuses_a_file_over_the_limit_before_upload(server: str, browser, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (1_200_000))  # 6 MB, over the default 5 MB
    _open(browser, server + "/")
    browser.find_element(By.ID, "file").send_keys(str(big))
    error = browser.find_element(By.ID, "form-error")
    _wait(browser, lambda d: error.is_displayed())
    assert "big.txt is 5.7 MB; the limit is 5.0 MB." == error.text
    browser.find_element(By.ID, "analyze-button").click()
    time.sleep(0.3)
    assert browser.current_url.rstrip("/") == server


def test_page_without_techniques_says_so(server: str, browser) -> None:
    analysis_id = _post(server, "Plain words\n\nThe council met on Monday and approved the budget.")
    _open(browser, f"{server}/a/{analysis_id}")
    assert browser.find_element(By.ID, "no-techniques").text == "No techniques found."
    assert "0%" in browser.find_element(By.ID, "coverage").text


def test_narrow_screen_stacks_the_panel_under_the_text(server: str, browser) -> None:
    _open(browser, f"{server}/a/{_post(server, ARTICLE)}")
    browser.set_window_size(400, 900)
    try:
        text = browser.find_element(By.ID, "article-text")
        panel = browser.find_element(By.CSS_SELECTOR, "aside.panel")
        _wait(browser, lambda d: panel.location["y"] > text.location["y"] + text.size["height"] - 5)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400 + 1  # no sideways scrolling
    finally:
        browser.set_window_size(1360, 1000)


def test_explanations_from_the_taxonomy_and_a_screenshot(server: str, browser) -> None:
    """A click shows the taxonomy's explanation of the technique; the page is saved for the README."""
    try:
        browser.set_window_size(1360, 1250)
        _open(browser, f"{server}/a/{_post(server, ARTICLE)}")
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mix-chart .main-svg"))
        _piece(browser, "corrupt elites").click()
        details = browser.find_element(By.ID, "details").text
        assert taxonomy.describe("Name_Calling,Labeling")["definition"] in details
        assert "Why it persuades:" in details
        time.sleep(0.3)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        browser.set_window_size(1360, 1000)


# --- the cast and narratives panels ------------------------------------------------------------------


def _framed_or_hostile(content: str, kind: str, source: str):
    """The hand-made cast of framingdocs.FRAMED; for a text with a script in it, an entity named by that script."""
    doc = with_framing(content, kind, source)
    if "__pwned" in doc.text:
        tag = '<img src=x onerror="window.__pwned = 2">'
        at = doc.text.index(tag)
        doc.entities = [
            {
                "name": tag,
                "main_role": "Antagonist",
                "roles": [{"role": '<img src=x onerror="window.__pwned = 5">', "score": 0.5}],
                "score": 0.9,
                "mentions": [{"start": at, "end": at + len(tag)}],
            }
        ]
        doc.narratives = [
            {"narrative": "<script>window.__pwned = 6;</script>", "subnarrative": None, "score": 0.4, "evidence": []}
        ]
    return doc


@pytest.fixture(scope="module")
def framed_server() -> Iterator[str]:
    from unspin.web import create_app

    with serving(create_app("sqlite://", analyzer=_framed_or_hostile)) as url:
        yield url


def _lit_texts(driver, cls: str) -> list[str]:
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#article-text .' + arguments[0]),"
        " function (el) { return el.textContent; });",
        cls,
    )


def _button(driver, panel: str, name: str):
    for button in driver.find_elements(By.CSS_SELECTOR, f"#{panel} button[data-mark]"):
        if button.get_attribute("data-name") == name:
            return button
    raise AssertionError(f"no button for {name!r} in #{panel}")


def _api(server: str, analysis_id: str) -> dict:
    with urllib.request.urlopen(f"{server}/api/analyses/{analysis_id}", timeout=30) as response:
        return json.load(response)


def test_choosing_an_entity_highlights_its_mentions_and_again_clears(framed_server: str, browser) -> None:
    analysis_id = _post(framed_server, FRAMED)
    body = _api(framed_server, analysis_id)
    mentions = {e["name"]: [body["text"][m["start"] : m["end"]] for m in e["mentions"]] for e in body["entities"]}
    try:
        browser.set_window_size(1360, 420)  # shorter than the article: the page must scroll to a mention
        _open(browser, f"{framed_server}/a/{analysis_id}")
        assert _lit_texts(browser, "ent-on") == []
        chip = _button(browser, "cast-panel", "Fishermen in Port Avel")
        assert "INNOCENT" in chip.text.upper() and "Victim 74%" in chip.get_attribute("title")
        chip.click()
        assert chip.get_attribute("aria-pressed") == "true"
        assert _lit_texts(browser, "ent-on") == mentions["Fishermen in Port Avel"]
        first = browser.find_element(By.CSS_SELECTOR, "#article-text .ent-on")
        rect = browser.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", first)
        assert 0 <= rect[0] and rect[1] <= browser.execute_script("return window.innerHeight")  # scrolled to it
        assert "179, 38, 30" not in first.value_of_css_property("outline-color")  # not the antagonist's colour
        assert (
            browser.find_element(By.ID, "cast-status").text
            == "1 mention of \u201cFishermen in Port Avel\u201d highlighted."
        )
        # another entity replaces it, in its role's colour
        northland = _button(browser, "cast-panel", "Northland")
        northland.click()
        assert chip.get_attribute("aria-pressed") == "false" and northland.get_attribute("aria-pressed") == "true"
        assert _lit_texts(browser, "ent-on") == mentions["Northland"]
        lit = browser.find_element(By.CSS_SELECTOR, "#article-text .ent-on")
        assert "179, 38, 30" in lit.value_of_css_property("outline-color")
        northland.click()  # again: cleared
        assert _lit_texts(browser, "ent-on") == [] and northland.get_attribute("aria-pressed") == "false"
        assert browser.find_element(By.ID, "cast-status").text == ""
    finally:
        browser.set_window_size(1360, 1000)


def test_cast_and_narratives_work_from_the_keyboard(framed_server: str, browser) -> None:
    analysis_id = _post(framed_server, FRAMED)
    body = _api(framed_server, analysis_id)
    _open(browser, f"{framed_server}/a/{analysis_id}")
    quill = _button(browser, "cast-panel", "Mara Quill")
    assert quill.tag_name == "button"  # focusable and announced as a toggle (aria-pressed)
    quill.send_keys(Keys.ENTER)
    assert _lit_texts(browser, "ent-on") == ["Mara Quill", "Quill"]
    assert browser.switch_to.active_element == quill
    quill.send_keys(Keys.SPACE)
    assert _lit_texts(browser, "ent-on") == []
    quill.send_keys(Keys.ENTER)
    quill.send_keys(Keys.ESCAPE)
    assert _lit_texts(browser, "ent-on") == [] and quill.get_attribute("aria-pressed") == "false"
    narrative = next(n for n in body["narratives"] if n["subnarrative"] is None and n["evidence"])
    button = _button(browser, "narratives-panel", narrative["narrative"])
    button.send_keys(Keys.ENTER)
    assert "".join(_lit_texts(browser, "nar-on")) == "".join(
        body["text"][e["start"] : e["end"]] for e in narrative["evidence"]
    )
    button.send_keys(Keys.ENTER)
    assert _lit_texts(browser, "nar-on") == []


def test_framing_highlights_coexist_with_the_technique_slider(framed_server: str, browser) -> None:
    from unspin.scoring import coverage
    from unspin.web.highlight import percent

    analysis_id = _post(framed_server, FRAMED)
    body = _api(framed_server, analysis_id)
    spans = [(s["start"], s["end"], s["score"]) for s in body["spans"]]
    browser.get_log("browser")  # drop what earlier pages logged (an error page's 4xx, say)
    _open(browser, f"{framed_server}/a/{analysis_id}")

    def shown() -> str:
        return browser.find_element(By.ID, "coverage").text

    before = shown()
    assert before == f"{percent(coverage(body['text'], [(a, b) for a, b, _ in spans]))}%"
    _button(browser, "cast-panel", "Westmark").click()
    sabotage = next(n for n in body["narratives"] if n["subnarrative"] is None and n["evidence"])
    _button(browser, "narratives-panel", sabotage["narrative"]).click()
    both = browser.find_elements(By.CSS_SELECTOR, "#article-text .piece.hl.ent-on.nar-on")
    assert [el.text for el in both] == ["Westmark"]  # a mention in an evidence sentence under a technique span
    assert shown() == before and len(browser.find_elements(By.CSS_SELECTOR, "#span-list li")) == len(spans)
    assert "inset" in both[0].value_of_css_property("box-shadow")  # the technique underline is still drawn
    _set_slider(browser, 0.65)  # hides the span over "Northland's ministry accused Westmark"
    assert shown() == f"{percent(coverage(body['text'], [(a, b) for a, b, p in spans if p >= 0.65]))}%"
    assert not _lit(both[0]) and "ent-on" in both[0].get_attribute("class")  # the framing layer stays
    assert len(_lit_texts(browser, "ent-on")) == len(
        next(e for e in body["entities"] if e["name"] == "Westmark")["mentions"]
    )
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_hostile_entity_names_run_no_script(framed_server: str, browser) -> None:
    _open(browser, f"{framed_server}/a/{_post(framed_server, HOSTILE)}")
    chip = browser.find_element(By.CSS_SELECTOR, "#cast-panel button[data-mark]")
    assert chip.find_element(By.CSS_SELECTOR, ".chip-name").text == '<img src=x onerror="window.__pwned = 2">'
    assert not browser.find_elements(
        By.CSS_SELECTOR, "#cast-panel img, #narratives-panel script, #narratives-panel img"
    )
    chip.click()
    assert _lit_texts(browser, "ent-on") == ['<img src=x onerror="window.__pwned = 2">']
    browser.find_element(By.CSS_SELECTOR, "#narratives-panel button[data-mark]").click()
    assert "<script>window.__pwned = 6;</script>" in browser.find_element(By.ID, "narratives-panel").text
    time.sleep(0.3)
    assert browser.execute_script("return window.__pwned === undefined")
