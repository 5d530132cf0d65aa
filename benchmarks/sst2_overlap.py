"""How much of each SST-2 test split the training texts of ``distill_sst2_select.py`` already contain.

SST-2's ``train.tsv`` holds the phrases of the treebank's parse trees as well as
its sentences: one sentence and many of its sub-phrases are separate rows. A
split cut from ``train.tsv`` by row (the development and unseen splits) then
shares text with the rows left for training: a row of the transfer set may be
half of an unseen sentence, which the distilled student has seen with the
teacher's soft label. ``dev.tsv`` comes from other sentences.

For each test split this prints the share of its rows that contain a text of
the transfer set (or of the labelled sample) of at least K words, as whole
words, and how much of the row the longest such text covers.

    .venv/bin/python benchmarks/sst2_overlap.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED  # noqa: E402
from distill_sst2_select import splits  # noqa: E402


def covered(rows: list[str], pool: list[str], min_words: int) -> tuple[int, float]:
    """Rows containing a ``pool`` text of >= ``min_words`` words; mean share of the row the longest one covers."""
    known = {tuple(p.split()) for p in pool if len(p.split()) >= min_words}
    hits, shares = 0, []
    for row in rows:
        words = row.split()
        longest = 0
        for i in range(len(words)):
            for j in range(i + max(min_words, longest + 1), len(words) + 1):
                if tuple(words[i:j]) in known:
                    longest = j - i
        if longest:
            hits += 1
            shares.append(longest / len(words))
    return hits, statistics.mean(shares) if shares else 0.0


def main() -> None:
    if not (SHARED / "text" / "sst2").is_dir():
        sys.exit(f"skipped: {SHARED / 'text' / 'sst2'} is absent (../shared/data holds the benchmark data sets)")
    data = splits(3000, 30000, 5000, False)  # distill_sst2_select.py's defaults
    pools = {"transfer set": data["transfer"].inputs, "labelled sample": data["train"].inputs}
    print("| test split | rows | training texts | >= 3 words: rows (share of the row) | >= 5 words: rows (share) |")
    print("|---|---:|---|---:|---:|")
    for name in ("select", "unseen", "dev"):
        rows = [str(t) for t in data[name].inputs]
        for pool_name, pool in pools.items():
            cells = []
            for k in (3, 5):
                hits, share = covered(rows, [str(p) for p in pool], k)
                cells.append(f"{hits / len(rows):.1%} ({share:.2f})")
            label = {"select": "development split", "unseen": "unseen split", "dev": "dev.tsv"}[name]
            print(f"| {label} | {len(rows)} | {pool_name} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
