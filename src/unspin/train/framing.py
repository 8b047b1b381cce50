"""Train the framing heads on SemEval-2025 Task 10 (EN, BG, HI, PT, RU) and write the model and its card.

    unspin train framing --config configs/framing.toml --data-dir ../shared/data/semeval2025-task10/train

Protocol (the numbers in the model card follow it):

1. Every article is encoded once by the multilingual encoder (`unspin.models.e5`), and every English
   article also by the technique tagger named in `[english]` (token states cached in `--work-dir`). Each
   encoder gets its own heads: the multilingual ones on all five languages, the English ones on English
   (`out/en/`), with the same protocol.
2. About a fifth of the articles of every language (sha256 of the id, see `[split]`) form the test
   split, frozen before any experiment. Everything that is chosen (regularisation, thresholds) is
   chosen by cross-validation inside the other articles, folds grouped by article; the role heads'
   temperatures (their calibration) are fitted on those folds' held-out logits.
3. The heads fitted on the non-test articles are scored once on the test split: these are the numbers
   reported, per language, beside the majority baselines.
4. The shipped heads are then fitted on all articles with the same choices (the card says so).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from unspin.eval.calibration import expected_calibration_error
from unspin.eval.framing import samples_f1_one, score_narratives, score_roles
from unspin.formats.semeval2025 import Mention, NarrativeLabels, read_documents, read_mentions, read_narrative_labels
from unspin.framing import entities as ent
from unspin.framing.features import article_vector, mention_vectors
from unspin.framing.heads import MODEL_DIR, FramingHeads, Head
from unspin.framing.model import best_roles, decode_narratives, decode_roles, spans_from_tokens, token_features

LANGS = ("EN", "BG", "HI", "PT", "RU")


@dataclasses.dataclass
class Article:
    aid: str
    lang: str
    text: str
    states: np.ndarray
    offsets: np.ndarray
    mentions: list[Mention]
    labels: NarrativeLabels | None


# ------------------------------------------------------------------------------------------------ data


class _E5States:
    """The multilingual encoder, as the training run reads it (states cached by graph and text); with
    `middle`, each token's states after layer `MIDDLE` and after the last layer, side by side."""

    def __init__(self, middle: bool = False) -> None:
        from unspin.models.e5 import GRAPH_SHA256

        self.middle, self._encoder = middle, None
        self.tag = GRAPH_SHA256 + (":middle" if middle else "")
        self.cache = "states-e5-middle" if middle else "states"

    def token_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        from unspin.models.e5 import E5Encoder

        self._encoder = self._encoder or E5Encoder.load()
        return self._encoder.token_states(text, middle=self.middle)


class _TaggerStates:
    """A technique tagger's last hidden states (the English route)."""

    def __init__(self, name: str) -> None:
        from unspin.techniques.tagger import TechniqueTagger

        self.tagger = TechniqueTagger.load(name)
        self.tag = self.tagger.config["files"]["model.onnx"]
        self.cache = f"states-{name}"

    def token_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.tagger.token_states(text)


def load_articles(data_dir: Path, work_dir: Path, langs: tuple[str, ...] = LANGS, encoder: Any = None) -> list[Article]:
    encoder = encoder or _E5States()
    cache = work_dir / encoder.cache
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Article] = []
    for lang in langs:
        docs = read_documents(data_dir / lang)
        mentions, problems = read_mentions(data_dir / lang / "subtask-1-annotations.txt", docs)
        for p in problems:
            print(f"skipped: {p}")
        labels = read_narrative_labels(data_dir / lang / "subtask-2-annotations.txt")
        by_doc: dict[str, list[Mention]] = {}
        for m in mentions:
            by_doc.setdefault(m.article_id, []).append(m)
        for aid in sorted(docs):
            if aid not in by_doc and aid not in labels:
                continue
            text = docs[aid]
            key = hashlib.sha256((encoder.tag + text).encode()).hexdigest()[:24]
            path = cache / f"{key}.npz"
            if path.is_file():
                with np.load(path) as z:
                    states, offsets = z["states"].astype(np.float32), z["offsets"].astype(np.int64)
            else:
                states, offsets = encoder.token_states(text)
                np.savez(path, states=states.astype(np.float16), offsets=offsets.astype(np.int32))
                states = states.astype(np.float16).astype(np.float32)
            out.append(Article(aid, lang, text, states, offsets, by_doc.get(aid, []), labels.get(aid)))
    return out


def is_test(aid: str, every: int) -> bool:
    return int(hashlib.sha256(aid.encode()).hexdigest(), 16) % every == 0


def role_rows(articles: list[Article]) -> tuple[np.ndarray, list[Mention], list[str]]:
    """Mention vectors (gold mentions grouped into entities as at inference), their mentions and articles."""
    xs: list[np.ndarray] = []
    ms: list[Mention] = []
    owner: list[str] = []
    for a in articles:
        if not a.mentions:
            continue
        found = [ent.Mention(m.start, m.end, a.text[m.start : m.end]) for m in a.mentions]
        index = {id(f): i for i, f in enumerate(found)}
        groups = ent.group_mentions(a.text, found, a.lang.lower())
        order = [index[id(f)] for g in groups for f in g.mentions]
        vecs = mention_vectors(a.states, a.offsets, [[(f.start, f.end) for f in g.mentions] for g in groups])
        for i, v in zip(order, vecs, strict=True):
            xs.append(v)
            ms.append(a.mentions[i])
            owner.append(a.aid)
    return np.array(xs), ms, owner


def article_rows(articles: list[Article]) -> tuple[np.ndarray, list[Article]]:
    kept = [a for a in articles if a.labels is not None]
    return np.array([article_vector(a.states) for a in kept]), kept


def token_rows(articles: list[Article], keep: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for a in articles:
        if not a.mentions or len(a.states) == 0:
            continue
        y = np.zeros(len(a.offsets), bool)
        for m in a.mentions:
            y |= (a.offsets[:, 0] < m.end) & (a.offsets[:, 1] > m.start)
        sel = y | (rng.random(len(y)) < keep)
        xs.append(token_features(a.states)[sel])
        ys.append(y[sel])
    return np.concatenate(xs), np.concatenate(ys)


# ------------------------------------------------------------------------------------------------ fitting


def fit_head(x: np.ndarray, y: np.ndarray, labels: list[str], kind: str, c: float, prior_shift: float = 0.0) -> Head:
    """Logistic regression on standardised features, the standardisation folded into the weights.
    `prior_shift` is added to the last label's bias (see below)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    if kind == "sigmoid":
        w = np.zeros((x.shape[1], len(labels)), np.float32)
        b = np.zeros(len(labels), np.float32)
        for j in range(len(labels)):
            col = y[:, j]
            if col.all() or not col.any():  # a label always or never seen: a constant
                b[j] = 8.0 if col.all() else -8.0
                continue
            lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(z, col)
            w[:, j], b[j] = lr.coef_[0], lr.intercept_[0]
    else:
        lr = LogisticRegression(C=c, max_iter=3000).fit(z, y)
        classes = list(lr.classes_)
        if sorted(classes) != sorted(labels):  # every label must be seen
            raise ValueError(f"labels {labels} not all present in training ({classes})")
        coef, inter = lr.coef_, lr.intercept_
        if len(labels) == 2:  # binary: sklearn keeps one row, for its second class
            coef, inter = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, inter[0]])
        order = [classes.index(label) for label in labels]
        w, b = coef[order].T.astype(np.float32), inter[order].astype(np.float32)
        # a label fitted on a subsample of the others (`prior_shift` = log of the share kept): its
        # odds against them were inflated by 1 / share; take that back
        b[-1] += prior_shift
    w = w / scale[:, None]
    b = b - mean @ w
    return Head(w.astype(np.float32), b.astype(np.float32), labels, kind)


def fit_roles(x: np.ndarray, ms: list[Mention], c: float) -> dict[str, Head]:
    from unspin.framing.taxonomy import FINE_ROLES, MAIN_ROLES

    main = np.array([m.main_role for m in ms])
    fine = np.array([m.fine_roles[0] for m in ms])
    seen = [f for f in FINE_ROLES if f in set(fine)]
    return {
        "main_role": fit_head(x, main, list(MAIN_ROLES), "softmax", c),
        "fine_role": fit_head(x, fine, seen, "softmax", c),
    }


def fit_narratives(x: np.ndarray, arts: list[Article], c: float) -> dict[str, Head]:
    from unspin.framing.taxonomy import NARRATIVES, SUBNARRATIVES

    labels = [a.labels for a in arts]
    other = np.array([lab.narratives == ("Other",) for lab in labels])  # type: ignore[union-attr]
    urw = np.array([any(n.startswith("URW") for n in lab.narratives) for lab in labels])  # type: ignore[union-attr]
    narr = [n for n in NARRATIVES if n != "Other"]
    subs = [s for s in SUBNARRATIVES if s != "Other"]
    yn = np.array([[n in lab.narratives for n in narr] for lab in labels])  # type: ignore[union-attr]
    ys = np.array([[s in lab.subnarratives for s in subs] for lab in labels])  # type: ignore[union-attr]
    framed = ~other
    return {
        "other": fit_head(x, other[:, None], ["Other"], "sigmoid", c),
        "domain": fit_head(x[framed], urw[framed][:, None], ["URW"], "sigmoid", c),
        "narrative": fit_head(x[framed], yn[framed], narr, "sigmoid", c),
        "subnarrative": fit_head(x[framed], ys[framed], subs, "sigmoid", c),
    }


def predict_narratives(heads: FramingHeads, x: np.ndarray, t: dict[str, float]) -> list[NarrativeLabels]:
    out = []
    for row in x:
        chosen = decode_narratives(heads, row, t)
        narr = tuple(dict.fromkeys(c.narrative for c in chosen))
        subs = tuple(dict.fromkeys(c.subnarrative or "Other" for c in chosen))
        out.append(NarrativeLabels(narr, subs))
    return out


def predict_roles(heads: FramingHeads, x: np.ndarray, ms: list[Mention]) -> list[Mention]:
    return [
        dataclasses.replace(m, main_role=main, fine_roles=(fine,))
        for m, (main, fine) in zip(ms, best_roles(heads, *decode_roles(heads, x)), strict=True)
    ]


def mention_scores(heads: FramingHeads, arts: list[Article], threshold: float) -> dict[str, float]:
    """Mention finding on articles with gold mentions: a gold mention is found when a predicted one
    overlaps it; a predicted one is right when it overlaps a gold one."""
    found = gold = right = pred = 0
    for a in arts:
        if not a.mentions or len(a.states) == 0:
            continue
        prob = heads["mention"].scores(token_features(a.states))[:, 1]
        spans = spans_from_tokens(a.text, a.offsets, prob, threshold)
        gold += len(a.mentions)
        pred += len(spans)
        found += sum(any(s.start < m.end and m.start < s.end for s in spans) for m in a.mentions)
        right += sum(any(s.start < m.end and m.start < s.end for m in a.mentions) for s in spans)
    p, r = right / max(1, pred), found / max(1, gold)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "gold": gold, "predicted": pred}


# ------------------------------------------------------------------------------------------------ choosing


def _folds(ids: list[str], k: int, seed: int) -> list[np.ndarray]:
    """k folds of row indices, whole articles per fold."""
    uniq = sorted(set(ids))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    fold_of = {a: i % k for i, a in enumerate(uniq)}
    f = np.array([fold_of[a] for a in ids])
    return [np.nonzero(f == i)[0] for i in range(k)]


def cv_roles(
    x: np.ndarray, ms: list[Mention], owner: list[str], cfg: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Roles scored over held-out folds, and the role heads' temperatures fitted on those folds' logits."""
    pred: list[Mention | None] = [None] * len(ms)
    logits: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"main_role": [], "fine_role": []}
    gold = {"main_role": [m.main_role for m in ms], "fine_role": [m.fine_roles[0] for m in ms]}
    for va in _folds(owner, cfg["split"]["folds"], cfg["split"]["seed"]):
        tr = np.setdiff1d(np.arange(len(ms)), va)
        heads = FramingHeads(fit_roles(x[tr], [ms[i] for i in tr], cfg["roles"]["C"]), {})
        for i, m in zip(va, predict_roles(heads, x[va], [ms[i] for i in va]), strict=True):
            pred[i] = m
        for name, rows in logits.items():
            head = heads[name]
            # a label the fold never saw has no column: its held-out mentions cannot inform the fit
            keep = np.array([gold[name][i] in head.labels for i in va], bool)
            y = np.array([head.labels.index(gold[name][i]) for i in va[keep]], np.int64)
            rows.append((x[va[keep]] @ head.weight + head.bias, y))
    temperatures = {name: fit_temperature(rows) for name, rows in logits.items()}
    return score_roles(ms, [p for p in pred if p is not None]).to_dict(), temperatures


def fit_temperature(rows: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The temperature T that makes softmax(logits / T) fit held-out labels best (negative log-likelihood),
    fitted per fold's logits (each fold's head has its own labels), with the top-label calibration error
    before and after. Dividing a softmax head's weights by T changes its probabilities, never its ranking."""
    from scipy.optimize import minimize_scalar
    from scipy.special import softmax

    def nll(log_t: float) -> float:
        t = float(np.exp(log_t))
        total = 0.0
        for z, y in rows:
            p = softmax(z / t, axis=1)
            total -= float(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).sum())
        return total

    log_t = float(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x)

    def ece(t: float) -> float:
        conf, right = [], []
        for z, y in rows:
            p = softmax(z / t, axis=1)
            conf += p.max(axis=1).tolist()
            right += (p.argmax(axis=1) == y).astype(float).tolist()
        return expected_calibration_error(conf, right)

    t = float(np.exp(log_t))
    return {"temperature": t, "held_out_ece_before": ece(1.0), "held_out_ece_after": ece(t)}


def with_temperature(head: Head, t: float) -> Head:
    """`head` with its logits divided by `t` (softmax heads: same ranking, calibrated probabilities)."""
    return Head((head.weight / t).astype(np.float32), (head.bias / t).astype(np.float32), head.labels, head.kind)


def cv_narratives(x: np.ndarray, arts: list[Article], cfg: dict[str, Any]) -> tuple[dict[str, float], float]:
    """Thresholds with the best mean of coarse and fine samples-F1 over held-out folds."""
    nc = cfg["narratives"]
    fold_heads = []
    for va in _folds([a.aid for a in arts], cfg["split"]["folds"], cfg["split"]["seed"]):
        tr = np.setdiff1d(np.arange(len(arts)), va)
        fold_heads.append((va, FramingHeads(fit_narratives(x[tr], [arts[i] for i in tr], nc["C"]), {})))
    best: tuple[float, dict[str, float]] | None = None
    for o in nc["other"]:
        for n in nc["narrative"]:
            for s in nc["subnarrative"]:
                t = {"other": o, "narrative": n, "subnarrative": s}
                total = 0.0
                for va, heads in fold_heads:
                    for i, p in zip(va, predict_narratives(heads, x[va], t), strict=True):
                        g = arts[i].labels
                        total += samples_f1_one(g.narratives, p.narratives) + samples_f1_one(
                            g.subnarratives, p.subnarratives
                        )  # type: ignore[union-attr]
                score = total / (2 * len(arts))
                if best is None or score > best[0]:
                    best = (score, t)
    assert best is not None
    return best[1], best[0]


def fit_mentions(arts: list[Article], cfg: dict[str, Any]) -> Head:
    keep = cfg["mentions"]["negatives"]
    x, y = token_rows(arts, keep, np.random.default_rng(cfg["split"]["seed"]))
    labels = np.where(y, "M", "O")
    return fit_head(x, labels, ["O", "M"], "softmax", cfg["mentions"]["C"], prior_shift=float(np.log(keep)))


def cv_mentions(arts: list[Article], cfg: dict[str, Any]) -> tuple[float, dict[str, float]]:
    with_mentions = [a for a in arts if a.mentions]
    per_t: dict[float, list[dict[str, float]]] = {t: [] for t in cfg["mentions"]["threshold"]}
    for va in _folds([a.aid for a in with_mentions], cfg["split"]["folds"], cfg["split"]["seed"]):
        held = [with_mentions[i] for i in va]
        rest = [a for i, a in enumerate(with_mentions) if i not in set(va.tolist())]
        heads = FramingHeads({"mention": fit_mentions(rest, cfg)}, {})
        for t in per_t:
            per_t[t].append(mention_scores(heads, held, t))

    def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
        gold, pred = sum(r["gold"] for r in rows), sum(r["predicted"] for r in rows)
        p = sum(r["precision"] * r["predicted"] for r in rows) / max(1, pred)
        r = sum(r["recall"] * r["gold"] for r in rows) / max(1, gold)
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}

    best = max(per_t, key=lambda t: pooled(per_t[t])["f1"])
    return best, pooled(per_t[best])


# ------------------------------------------------------------------------------------------------ the run


def fit_all(
    arts: list[Article], cfg: dict[str, Any], thresholds: dict[str, float], temperatures: dict[str, float]
) -> FramingHeads:
    """Every head on `arts`; the role heads' logits divided by their cross-validated temperatures."""
    xr, ms, _ = role_rows(arts)
    xa, labelled = article_rows(arts)
    roles = {
        name: with_temperature(h, temperatures.get(name, 1.0))
        for name, h in fit_roles(xr, ms, cfg["roles"]["C"]).items()
    }
    heads = {**roles, **fit_narratives(xa, labelled, cfg["narratives"]["C"])}
    heads["mention"] = fit_mentions(arts, cfg)
    return FramingHeads(heads, {"thresholds": thresholds})


def baselines(train: list[Article], test: list[Article]) -> dict[str, Any]:
    """Majority answers learnt on the training articles, scored on the test ones."""
    main = Counter(m.main_role for a in train for m in a.mentions).most_common(1)[0][0]
    fine = Counter(m.fine_roles[0] for a in train for m in a.mentions if m.main_role == main).most_common(1)[0][0]
    gold = [m for a in test for m in a.mentions]
    roles = score_roles(gold, [dataclasses.replace(m, main_role=main, fine_roles=(fine,)) for m in gold]).to_dict()
    labelled = {a.aid: a.labels for a in test if a.labels is not None}
    other = {aid: NarrativeLabels(("Other",), ("Other",)) for aid in labelled}
    return {
        "roles": {"answer": f"{main} / {fine}", **roles},
        "narratives": {"answer": "Other", **score_narratives(labelled, other).to_dict()},
    }  # type: ignore[arg-type]


def evaluate(heads: FramingHeads, test: list[Article]) -> dict[str, Any]:
    xr, ms, _ = role_rows(test)
    pred = predict_roles(heads, xr, ms)
    main_p, _ = decode_roles(heads, xr)
    right = [p.main_role == m.main_role for p, m in zip(pred, ms, strict=True)]
    xa, labelled = article_rows(test)
    narr = predict_narratives(heads, xa, heads.config["thresholds"])
    gold = {a.aid: a.labels for a in labelled}
    return {
        "roles": score_roles(ms, pred).to_dict(),
        "roles_ece": expected_calibration_error(main_p.max(axis=1).tolist(), [float(r) for r in right]),
        "narratives": score_narratives(gold, dict(zip([a.aid for a in labelled], narr, strict=True))).to_dict(),  # type: ignore[arg-type]
        "mentions": mention_scores(heads, test, heads.config["thresholds"]["mention"]),
    }


def fit_route(arts: list[Article], cfg: dict[str, Any], langs: tuple[str, ...]) -> FramingHeads:
    """Choose by cross-validation inside the non-test articles, score the test split once, then fit the
    shipped heads on all articles with those choices (their config records every number)."""
    t0 = time.time()
    every = cfg["split"]["test_every"]
    test = [a for a in arts if is_test(a.aid, every)]
    train = [a for a in arts if not is_test(a.aid, every)]
    print(f"{len(arts)} articles: {len(train)} to fit and choose on, {len(test)} held out")
    xr, ms, owner = role_rows(train)
    cv_roles_scores, calibration = cv_roles(xr, ms, owner, cfg)
    print(f"roles, cross-validated: {json.dumps(cv_roles_scores)[:200]}")
    print(f"role heads' temperatures, cross-validated: {json.dumps(calibration)}")
    temperatures = {name: c["temperature"] for name, c in calibration.items()}
    xa, labelled = article_rows(train)
    t_narr, cv_narr = cv_narratives(xa, labelled, cfg)
    print(f"narratives, cross-validated: thresholds {t_narr}, mean samples-F1 {cv_narr:.3f}")
    t_mention, cv_ment = cv_mentions(train, cfg)
    print(f"mentions, cross-validated: threshold {t_mention}, {cv_ment}")
    thresholds = {**t_narr, "mention": t_mention, "role_min": cfg["roles"]["role_min"]}
    held_out = fit_all(train, cfg, thresholds, temperatures)
    test_scores = evaluate(held_out, test)
    print(f"test: {json.dumps(test_scores)[:400]}")
    final = fit_all(arts, cfg, thresholds, temperatures)
    final.config.update(
        {
            "train_config": cfg,
            "data": {
                "articles": {lang: sum(a.lang == lang for a in arts) for lang in langs},
                "test_articles": {lang: sum(a.lang == lang for a in test) for lang in langs},
                "mentions": sum(len(a.mentions) for a in arts),
                "test_mentions": sum(len(a.mentions) for a in test),
            },
            "cv": {"roles": cv_roles_scores, "narratives_mean_f1": cv_narr, "mentions": cv_ment},
            "calibration": {
                "method": "temperature (softmax role heads), fitted on cross-validated logits",
                **calibration,
            },
            "test": test_scores,
            "baselines": baselines(train, test),
            "shipped": "fitted on all articles (test split included) with the choices above",
        }
    )
    print(f"fitted ({time.time() - t0:.0f} s)")
    return final


def run(cfg: dict[str, Any], data_dir: Path, out: Path, work_dir: Path) -> dict[str, Any]:
    """The multilingual heads (every language, e5 states) in `out`, and, when the config has an
    `[english]` section, the English heads over the technique tagger's states in `out/en`."""
    from unspin.models.e5 import GRAPH_SHA256, MIDDLE, PIP_NAME, SOURCE_SHA256
    from unspin.train.framing_card import write_card

    t0 = time.time()
    middle = bool(cfg.get("encoder", {}).get("middle", False))
    final = fit_route(load_articles(data_dir, work_dir, encoder=_E5States(middle)), cfg, LANGS)
    final.config["encoder"] = {
        "name": "multilingual-e5-small",
        "package": PIP_NAME,
        "package_sha256": SOURCE_SHA256,
        "graph_sha256": GRAPH_SHA256,
        "states": f"layer {MIDDLE} and layer 12, side by side" if middle else "layer 12",
        "middle": middle,
    }
    english: FramingHeads | None = None
    if "english" in cfg:
        name = cfg["english"]["technique_model"]
        print(f"English route: heads over the hidden states of technique model {name!r}")
        tagger = _TaggerStates(name)
        english = fit_route(load_articles(data_dir, work_dir, ("EN",), tagger), cfg, ("EN",))
        english.config["encoder"] = {
            "name": f"technique tagger {name!r} (last hidden states)",
            "technique_model": name,
            "model_sha256": tagger.tag,
        }
        english.save(out / "en")
    final.save(out)
    write_card(out / "MODEL_CARD.md", final.config, english.config if english else None)
    print(f"wrote {out} ({time.time() - t0:.0f} s)")
    return final.config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=Path("configs/framing.toml"))
    ap.add_argument("--data-dir", type=Path, required=True, help="folder with EN/ BG/ HI/ PT/ RU/")
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--work-dir", type=Path, default=Path("runs/framing"))
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from config.json")
    args = ap.parse_args(argv)
    if args.card_only:
        from unspin.train.framing_card import write_card

        en = args.out / "en" / "config.json"
        write_card(
            args.out / "MODEL_CARD.md",
            json.loads((args.out / "config.json").read_text(encoding="utf-8")),
            json.loads(en.read_text(encoding="utf-8")) if en.is_file() else None,
        )
        return 0
    with args.config.open("rb") as fh:
        cfg = tomllib.load(fh)
    run(cfg, args.data_dir, args.out, args.work_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
