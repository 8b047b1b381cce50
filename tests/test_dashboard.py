"""Corpus dashboard: outlets, charts' data, copies, an outlet page, corpus articles on the article page."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from unspin.document import Span
from unspin.pipeline import Pipeline
from unspin.store import Store
from unspin.web import create_app

BODY = (
    "The harbour authority said on Monday that the grain terminal would reopen after repairs. "
    "Officials blamed the outage on a decade of neglect by the previous administration. "
    "Traders warned that prices would rise if the terminal stayed closed for another week."
)


def make_doc(pipeline, title, outlet, published, body=BODY, spans=()):
    doc = pipeline.analyze_text(f"{title}\n\n{body}", outlet=outlet, published=published)
    doc.spans = [Span(doc.text.index(s), doc.text.index(s) + len(s), t, 0.9) for s, t in spans]
    doc.scores = {"article": {"share": 0.2}}
    return doc


def test_dashboard_outlet_page_and_corpus_article(tmp_path):
    db = f"sqlite:///{tmp_path / 'unspin.db'}"
    store = Store(db)
    p = Pipeline(stages=["language", "segment"])
    store.add_documents([
        make_doc(p, "Terminal to reopen", "agency.example", "2023-01-10",
                 spans=[("a decade of neglect", "Loaded_Language")]),
        make_doc(p, "Grain terminal reopening, says authority", "blog.example", "2023-01-12",
                 spans=[("prices would rise", "Appeal_to_fear-prejudice")]),
        make_doc(p, "<script>window.__pwned=1</script> Council news", "agency.example", "2023-02-01",
                 body="The council met on Tuesday to discuss the budget for the next year in detail."),
    ])  # fmt: skip
    with TestClient(create_app(db)) as client:
        page = client.get("/corpus", headers={"accept": "text/html"})
        assert page.status_code == 200
        html = page.text
        assert "agency.example" in html and "blog.example" in html
        assert "<script>window.__pwned" not in html  # titles are escaped
        data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
        assert data["timeline"]["months"] == ["2023-01", "2023-02"]
        assert {t["technique"] for t in data["mix"]} == {"Loaded_Language", "Appeal_to_fear-prejudice"}
        assert 'id="copies"' in html and "similarity" in html  # the blog copy of the agency article
        assert "script-src 'self'" in page.headers["content-security-policy"]

        outlet = client.get("/corpus/outlet/agency.example", headers={"accept": "text/html"})
        assert outlet.status_code == 200 and "Terminal to reopen" in outlet.text
        link = re.search(r'href="(/a/corpus-\d+)">Terminal to reopen', outlet.text).group(1)
        article = client.get(link, headers={"accept": "text/html"})
        assert article.status_code == 200 and "decade of neglect" in article.text
        assert client.get("/corpus/outlet/nobody.example", headers={"accept": "text/html"}).status_code == 404


def test_empty_corpus_dashboard(tmp_path):
    with TestClient(create_app(f"sqlite:///{tmp_path / 'x.db'}")) as client:
        page = client.get("/corpus", headers={"accept": "text/html"})
        assert page.status_code == 200 and "Nothing stored yet" in page.text


def test_dashboard_narratives_over_time_and_cast_by_outlet(tmp_path):
    from framedocs import BLAME, CRITICS, framed_corpus

    db = f"sqlite:///{tmp_path / 'framed.db'}"
    Store(db).add_documents(framed_corpus())
    with TestClient(create_app(db)) as client:
        page = client.get("/corpus", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert 'id="narratives-by-month"' in page.text and 'id="cast-by-outlet"' in page.text
        data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', page.text, re.S).group(1))
    narratives = data["narratives"]
    assert narratives["months"] == ["2024-01", "2024-02"]
    series = {s["name"]: (s["kind"], s["counts"]) for s in narratives["series"]}
    assert series == {
        BLAME: ("narrative", [2, 0]),
        CRITICS: ("narrative", [1, 1]),
        "Other": ("other", [1, 0]),
        "not analysed for framing": ("not_analysed", [0, 2]),  # apart, never as "Other"
    }
    assert [s["name"] for s in narratives["series"]][-2:] == ["Other", "not analysed for framing"]
    cast = data["cast"]
    pairs = list(zip(cast["outlets"], cast["entities"], strict=True))
    assert pairs == [
        ("north.example", "Ministry of Ports"), ("north.example", "Harbour Board"),
        ("north.example", "dock workers"), ("south.example", "Ministry of Ports"), ("south.example", "a reporter"),
    ]  # fmt: skip
    by_role = {s["role"]: dict(zip(pairs, s["counts"], strict=True)) for s in cast["series"]}
    assert set(by_role) == {"Protagonist", "Antagonist", "Innocent", "no role"}
    assert by_role["Antagonist"][("north.example", "Ministry of Ports")] == 2
    assert by_role["Protagonist"][("south.example", "Ministry of Ports")] == 1
    assert by_role["Antagonist"][("north.example", "Harbour Board")] == 1
    assert by_role["Protagonist"][("north.example", "Harbour Board")] == 1
    assert by_role["no role"][("south.example", "a reporter")] == 1


def test_dashboard_without_framing_says_so(tmp_path):
    db = f"sqlite:///{tmp_path / 'plain.db'}"
    p = Pipeline(stages=["language", "segment"])
    Store(db).add_documents([make_doc(p, "Terminal to reopen", "agency.example", "2023-01-10")])
    with TestClient(create_app(db)) as client:
        html = client.get("/corpus", headers={"accept": "text/html"}).text
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    assert data["narratives"]["series"] == [
        {"name": "not analysed for framing", "counts": [1], "colour": "#ffffff", "kind": "not_analysed"}
    ]
    assert data["cast"] == {"outlets": [], "entities": [], "series": []}


def test_framing_charts_draw_in_a_browser(tmp_path):
    """The two framing charts are drawn by the page's script (Debian's headless Chromium; skipped without it)."""
    import shutil
    import socket
    import threading
    import time
    from pathlib import Path

    import pytest

    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path("/usr/bin/chromedriver").exists() or not Path(chromium).exists():
        pytest.skip("chromium and chromedriver are not installed")
    import uvicorn
    from framedocs import framed_corpus
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    db = f"sqlite:///{tmp_path / 'framed.db'}"
    Store(db).add_documents(framed_corpus())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1360,1600"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        driver.get(f"http://127.0.0.1:{port}/corpus")
        count = "return document.querySelectorAll('#{} .bars path').length"
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(count.format("cast-by-outlet")) > 0)
        # bars: 4 narrative series x 2 months; 4 roles x 5 outlet-entity rows (zero-length bars included)
        assert driver.execute_script(count.format("narratives-by-month")) == 8
        assert driver.execute_script(count.format("cast-by-outlet")) == 20
        legend = driver.execute_script("return document.querySelector('#narratives-by-month .legend').textContent")
        assert "not analysed for framing" in legend and "Other" in legend
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)
