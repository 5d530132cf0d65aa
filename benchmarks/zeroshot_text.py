"""Zero-shot text classification with minilm label text: SMS spam and TweetEval
emotion (test split), accuracy and macro-F1 beside the majority-class baseline.

Two label sets each: the bare label names with the default prompt templates
averaged, and short user descriptions (what `headstart zeroshot --descriptions`
takes).

    nice -n 15 .venv/bin/python benchmarks/zeroshot_text.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, need_shared  # noqa: E402

SMS_DESCRIPTIONS = {
    "spam": "an advertisement: win a prize, free offer, call or text this number now to claim",
    "ham": "a personal message from a friend or family member",
}
EMOTION_DESCRIPTIONS = {
    "anger": "anger, rage, fury, annoyed",
    "joy": "joy, happiness, fun, delight",
    "optimism": "optimism, hope, looking forward, positive future",
    "sadness": "sadness, grief, sorrow, depressed",
}


def figures(name: str, texts: list[str], truth: list[str], labels: list[str], desc: dict[str, str] | None) -> None:
    from headstart.metrics import classification_metrics
    from headstart.zeroshot import LabelTextZeroShot

    zs = LabelTextZeroShot("minilm").fit(labels, desc)
    pred = [str(p) for p in zs.predict(texts)]
    m = classification_metrics(truth, pred, labels)
    top = Counter(truth).most_common(1)[0][0]
    base = classification_metrics(truth, [top] * len(truth), labels)
    how = "descriptions" if desc else "label names"
    verdict = "beats" if m["macro_f1"] > base["macro_f1"] else "does NOT beat"
    print(
        f"{name} ({how}, {len(texts)} rows): accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}; "
        f"majority '{top}': accuracy {base['accuracy']:.4f}, macro-F1 {base['macro_f1']:.4f} -> {verdict} it"
    )


def main() -> None:
    import headstart as hs

    print(machine())
    sms = hs.load(need_shared("text", "sms_spam", "sms_spam.tsv"))
    texts, truth = list(sms.inputs), [str(v) for v in sms.labels]
    labels = sorted(set(truth))
    figures("SMS spam", texts, truth, labels, None)
    figures("SMS spam", texts, truth, labels, SMS_DESCRIPTIONS)

    folder = need_shared("text", "tweeteval_emotion")
    names = [line.split("\t")[-1].strip() for line in (folder / "mapping.txt").read_text().splitlines() if line.strip()]
    texts = (folder / "test_text.txt").read_text(encoding="utf-8").splitlines()
    truth = [names[int(v)] for v in (folder / "test_labels.txt").read_text().split()]
    figures("TweetEval emotion test", texts, truth, names, None)
    figures("TweetEval emotion test", texts, truth, names, EMOTION_DESCRIPTIONS)


if __name__ == "__main__":
    main()
