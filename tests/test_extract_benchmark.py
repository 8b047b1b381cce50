"""Body extraction quality on real pages, and sentence boundaries on PTC (skipped without the data)."""

import gzip
import json
import sys
from pathlib import Path

from conftest import DATA, ROOT, need

sys.path.insert(0, str(ROOT / "bench"))
from extraction import summary  # noqa: E402

from unspin.ingest.html import extract_article  # noqa: E402
from unspin.segment.sentences import sentence_spans  # noqa: E402


def test_extraction_f1_on_real_pages_beats_the_target():
    root = need(DATA / "extraction")
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    preds, gold = {}, {}
    for key in sorted(truth):
        html = gzip.open(root / "html" / f"{key}.html.gz").read().decode("utf-8", "replace")
        preds[key] = extract_article(html, url=truth[key].get("url")).text
        gold[key] = truth[key]["articleBody"]
    p, r, f1 = summary(preds, gold, 1)
    assert f1 >= 0.95, (p, r, f1)
    assert summary(preds, gold, 4)[2] >= 0.95


def test_sentence_boundaries_on_ptc_lines():
    folder = need(DATA / "ptc" / "train-articles")
    tp = fp = fn = 0
    for f in sorted(Path(folder).glob("article*.txt"))[:80]:
        text = f.read_text(encoding="utf-8")
        gold, pos = set(), 0
        for line in text.split("\n"):
            if line.strip():
                gold.add(pos + len(line) - len(line.lstrip()))
            pos += len(line) + 1
        pred = {s for s, _ in sentence_spans(text)}
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    assert tp / (tp + fn) >= 0.99
    assert tp / (tp + fp) >= 0.9
