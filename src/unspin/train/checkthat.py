"""The CLEF CheckThat! check-worthiness data the claims model is trained on."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

_LABEL_AND_NEXT_ID = re.compile(r"^(Yes|No)(\d+)$")


@dataclass(frozen=True)
class LabelledSentence:
    sentence_id: str
    text: str
    label: int  # 1 = check-worthy ("Yes"), 0 = not ("No")


def read_checkthat_tsv(path: str | os.PathLike[str]) -> list[LabelledSentence]:
    """Read a CheckThat! check-worthiness TSV (`Sentence_id<TAB>Text<TAB>class_label`, CSV quoting).

    The 2024 English train file has one row whose line break is missing, so two rows share a line
    (`...<TAB>No29286<TAB>You can't bring back jobs.<TAB>No`); such rows are split back apart.
    Any other malformed row raises `ValueError` naming the file and the row.
    """
    path = Path(path)
    out: list[LabelledSentence] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["Sentence_id", "Text", "class_label"]:
            raise ValueError(f"{path}: expected the header Sentence_id, Text, class_label; got {header!r}")
        for row in reader:
            if not row:
                continue
            fields = list(row)
            while fields:
                if len(fields) < 3:
                    raise ValueError(f"{path}: malformed row {row!r}")
                sid, text, label = fields[0], fields[1], fields[2].strip()
                rest = fields[3:]
                joined = _LABEL_AND_NEXT_ID.match(label)
                if joined and rest:
                    label = joined.group(1)
                    rest = [joined.group(2), *rest]
                if label not in ("Yes", "No"):
                    raise ValueError(f"{path}: row {sid!r} has the label {label!r}, expected Yes or No")
                out.append(LabelledSentence(sid, text, 1 if label == "Yes" else 0))
                fields = rest
    return out


def grouped_holdout(
    rows: list[LabelledSentence], blocks: int, held: list[int]
) -> tuple[list[LabelledSentence], list[LabelledSentence]]:
    """(fit, held out): the sentences sorted by id and cut into `blocks` contiguous blocks of equal size;
    the blocks numbered in `held` are held out. Neighbouring ids come from the same debate, so a held-out
    block is whole stretches of debates the model never saw, as new material is."""
    if not rows:
        return [], []
    if not held or any(not 0 <= b < blocks for b in held):
        raise ValueError(f"held-out blocks {held} must be among 0..{blocks - 1}")
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i].sentence_id), i))
    block = {i: rank * blocks // len(rows) for rank, i in enumerate(order)}
    keep = set(held)
    fit = [rows[i] for i in order if block[i] not in keep]
    out = [rows[i] for i in order if block[i] in keep]
    return fit, out
