"""``headstart report`` and ``--report``: one self-contained HTML page and a Markdown summary per run folder.

The run folders come from the real commands on the tiny models (fit as a linear
probe and fine-tuned, compare, rank, shift), plus a synthetic 100-class run.
Every report is opened in headless Chromium (tests/browser.py): not blank, every
image decoded, no network request, no console error. Without Chromium the
browser test fails (``make test`` installs it) unless HEADSTART_SKIP_BROWSER=1.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line, cli, make_image_folder, make_texts

from headstart.errors import HeadstartError
from headstart.io import write_json
from headstart.metrics import classification_metrics
from headstart.report import Section, build_report, list_sections, register, render_report
from headstart.report.sections.confusion import top_confusions
from headstart.report.sections.metrics import bootstrap_ci

# What each run's report must show: section anchors in the HTML, headings in the Markdown.
EXPECTED = {
    "probe": ["configuration", "data", "choices-made-for-you", "held-out-metrics", "confusion-matrix", "per-class"],
    "finetuned": ["configuration", "choices-made-for-you", "held-out-metrics", "training-curves"],
    "compare": ["scratch-vs-transfer"],
    "rank": ["transferability-ranking"],
    "shift": ["domain-shift"],
    # a student distilled from "finetuned", then exported with --report: both sections in one run folder
    "distill": ["configuration", "distillation", "held-out-metrics", "export-size-latency-parity"],
    "many": ["configuration", "data", "held-out-metrics", "confusion-matrix", "per-class-results"],
    # attentive-probe runs, then `predict --explain` and the report again: the attention panel
    "attention": ["configuration", "attention", "held-out-metrics"],
    "attention-image": ["configuration", "attention"],
    # headstart auto: the verdict first, then the ranking, the comparison and the export table
    "auto": [
        "verdict",
        "transferability-ranking",
        "held-out-metrics",
        "scratch-vs-transfer",
        "export-size-latency-parity",
    ],
}


def write_many_classes_run(folder: Path, n_classes: int = 100, seed: int = 0) -> Path:
    """A fit run folder as the classifier writes it, for 100 imbalanced classes (no model needed to report)."""
    rng = np.random.default_rng(seed)
    classes = [f"species_{i:03d}" for i in range(n_classes)]
    support = rng.integers(3, 40, size=n_classes)
    y_true = np.repeat(classes, support)
    # 30% mistakes: most go to the next class (look-alike species), the rest anywhere.
    index = {c: i for i, c in enumerate(classes)}
    y_pred = y_true.copy()
    for row in np.flatnonzero(rng.random(len(y_true)) < 0.3):
        near = classes[(index[y_true[row]] + 1) % n_classes]
        y_pred[row] = near if rng.random() < 0.7 else classes[rng.integers(n_classes)]
    metrics = classification_metrics(y_true, y_pred, classes)
    metrics["majority_baseline"] = float(support.max() / support.sum())
    metrics["evaluated_on"] = "reported on a stratified 20% hold-out (seed 0)"
    counts = {c: int(4 * s) for c, s in zip(classes, support, strict=True)}
    config = {
        "format": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "task": "classification",
        "params": {"backbone": "efficientnet-lite0", "strategy": "linear-probe", "C": None, "seed": 0},
        "backbone": {"spec": "efficientnet-lite0", "source": "embedded", "feature_dim": 1280, "parameters": 3371000},
        "modality": "image",
        "columns": {"label": "label", "image": "path", "group": "site"},
        "n_features": 1280,
        "n_train": sum(counts.values()),
        "chosen": {"C": 0.316, "val_scores": {"0.1": 0.61, "0.316": 0.64, "1.0": 0.63}},
        "training": {"history": [], "best_epoch": None},
        "timings": {"fit_features_seconds": 12.5, "head_seconds": 3.1},
        "data": {
            "source": "data/birds",
            "train_rows": sum(counts.values()),
            "eval_rows": int(support.sum()),
            "class_counts": counts,
            "groups": {"site A": 2100, "site B": 1200},
            "evaluated_on": metrics["evaluated_on"],
        },
        "versions": {"python": "3.11.7", "headstart": "0.1.0"},
    }
    write_json(folder / "config.json", config)
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "labels.json", classes)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, hf_text_spec) -> dict[str, Path]:
    """One run folder per command, each written with --report (the 100-class one by build_report)."""
    root = tmp_path_factory.mktemp("report-runs")
    texts, labels = make_texts(40, seed=1)
    data = root / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc")).to_csv(root / "source.csv", index=False)
    pd.DataFrame(rng.normal(1.5, size=(60, 3)), columns=list("abc")).to_csv(root / "target.csv", index=False)
    spec = hf_text_spec
    # check=false: the attention is kept whatever it scores on the tiny data (the panel is what is tested)
    attentive = ["-s", "attentive-probe", "--option", "epochs=2", "--option", "check=false"]
    commands = {
        "probe": ["fit", data, "-b", spec, "-s", "linear-probe"],
        "finetuned": ["fit", data, "-b", spec, "-s", "full", "--epochs", "2"],
        "compare": ["compare", data, "-b", spec, "--budgets", "0.5,1", "--seeds", "2"],
        "rank": ["rank", data, "-c", f"{spec},random:{spec}", "--scores", "logme,knn"],
        "shift": ["shift", root / "source.csv", root / "target.csv", "--permutations", "100"],
        "distill": ["distill", root / "finetuned", data, "--student", "layers:1", "--epochs", "1"],
        "attention": ["fit", data, "-b", spec, *attentive],
        "attention-image": ["fit", make_image_folder(root / "images", per_class=4), "-b", "timm:test_efficientnet"]
        + ["--scratch", *attentive],
    }
    import torch

    from headstart.cli import run

    out = {}
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as conftest's one_torch_thread, which a module fixture runs before
    try:
        for name, args in commands.items():
            folder = root / name
            assert run([str(a) for a in [*args, "-o", folder, "--report"]]) == 0, name
            out[name] = folder
        grouped = root / "grouped.csv"  # auto with a group column: the audit step runs too
        frame = pd.DataFrame({"text": texts, "label": labels, "group": ["a", "b"] * (len(texts) // 2)})
        frame.to_csv(grouped, index=False)
        auto = ["auto", grouped, "-o", root / "auto", "-c", f"{spec},{spec}@block1", "--compare-seeds", "2"]
        auto += ["--group-col", "group"]
        assert run([str(a) for a in auto]) == 0  # it writes its report itself
        out["auto"] = root / "auto"
        export = ["export", out["distill"], "--quantize", "int8", "--eval", data, "--repeats", "2", "--report"]
        assert run([str(a) for a in export]) == 0
        for name, inputs in (("attention", data), ("attention-image", root / "images")):
            assert run(["predict", str(out[name]), str(inputs), "-o", str(root / f"{name}.csv"), "--explain"]) == 0
            build_report(out[name])
    finally:
        torch.set_num_threads(before)
    out["many"] = write_many_classes_run(root / "many")
    build_report(out["many"])
    return out


def test_every_command_writes_a_self_contained_report(runs):
    for name, folder in runs.items():
        html = (folder / "report.html").read_text(encoding="utf-8")
        md = (folder / "report.md").read_text(encoding="utf-8")
        for anchor in EXPECTED[name]:
            assert f'id="{anchor}' in html, (name, anchor)
        assert html.count('<img src="data:image/png;base64,') >= 1, name
        # Nothing to fetch: every src/href is inline data or an anchor in the page.
        assert not re.findall(r'(?:src|href)="(?!data:image/png;base64,|#)', html), name
        assert "<script" not in html and "default-src 'none'" in html
        assert md.startswith(f"# headstart report: {folder.name}") and "## " in md, name
        assert not list(folder.glob(".*.tmp"))  # written atomically


def test_reports_say_what_the_run_found(runs):
    probe = (runs["probe"] / "report.md").read_text()
    assert "| accuracy |" in probe and "majority-class baseline" in probe and "95% CI" in probe
    assert "chosen by cross-validation" in probe  # C was left to the probe
    tuned = (runs["finetuned"] / "report.html").read_text()
    assert "fit, fine-tuned (full)" in tuned and "LP-FT" in tuned
    auto = (runs["auto"] / "report.html").read_text()  # the recipe's choices and its probe check, said
    assert "the default recipe" in auto and "<b>recipe</b>" in auto and "<b>probe check</b>" in auto
    history = json.loads((runs["finetuned"] / "history.json").read_text())
    assert f"{len(history)} epochs" in (runs["finetuned"] / "report.md").read_text()
    compare = json.loads((runs["compare"] / "compare.json").read_text())
    assert f"**verdict: {compare['verdict']}**" in (runs["compare"] / "report.md").read_text()
    ranking = json.loads((runs["rank"] / "rank.json").read_text())["ranking"]
    assert f"best by logme: `{ranking[0]['candidate']}`" in (runs["rank"] / "report.md").read_text()
    shift = json.loads((runs["shift"] / "shift.json").read_text())
    assert shift["reading"] in (runs["shift"] / "report.md").read_text()


def test_the_attention_panel_highlights_tokens_and_maps_images(runs):
    text = (runs["attention"] / "report.html").read_text(encoding="utf-8")
    saved = json.loads((runs["attention"] / "attention.json").read_text())
    first = saved["rows"][0]
    assert len(first["tokens"]) == len(first["weights"]) and abs(sum(first["weights"]) - 1) < 1e-3
    assert text.count('class="tok"') >= sum(len(r["tokens"]) for r in saved["rows"][:20])
    image = (runs["attention-image"] / "report.html").read_text(encoding="utf-8")
    maps = json.loads((runs["attention-image"] / "attention.json").read_text())["rows"]
    h, w = maps[0]["grid"]
    assert h * w == len(maps[0]["weights"]) and 'class="heatwrap"' in image and 'class="heat"' in image
    assert "most attended" in (runs["attention-image"] / "report.md").read_text()


def test_hundred_classes_stay_readable_and_small(runs):
    html_path = runs["many"] / "report.html"
    html = html_path.read_text()
    assert html_path.stat().st_size < 5 * 1024 * 1024
    assert "too many for a readable matrix" in html and "confusion matrix heatmap" not in html
    assert 'class="scroll"' in html and "lowest F1 first" in html
    assert "rows per group" in html and "site A" in html
    body = html.split('id="per-class-results"')[1]
    assert body.count("<tr>") == 101  # header + every class
    md = (runs["many"] / "report.md").read_text()
    assert "Lowest F1:" in md and len(md) < 5000


def test_report_command_prints_the_summary_and_takes_other_paths(runs, tmp_path, capsys):
    code, out, err = cli(capsys, "report", runs["probe"], "-o", tmp_path / "r.html", "--md", tmp_path / "r.md")
    assert code == 0, err
    assert "## Held-out metrics" in out and str(tmp_path / "r.html") in out
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert "Full report: `" + str(tmp_path / "r.html") in (tmp_path / "r.md").read_text()


def test_report_errors_are_one_line(runs, tmp_path, capsys, text_csv):
    assert_one_error_line(cli(capsys, "report", tmp_path / "nope"), "no such run folder")
    (tmp_path / "empty").mkdir()
    assert_one_error_line(cli(capsys, "report", tmp_path / "empty"), "holds no run results", "headstart fit")
    broken = tmp_path / "broken"
    shutil.copytree(runs["probe"], broken)
    (broken / "metrics.json").write_text("{not json")
    assert_one_error_line(cli(capsys, "report", broken), "cannot read", "metrics.json")
    args = ("rank", text_csv, "-c", "minilm", "--report")
    assert_one_error_line(cli(capsys, *args), "--report needs --out")
    assert_one_error_line(cli(capsys, "shift", text_csv, text_csv, "--report"), "--report needs --out")


def test_every_section_is_absent_from_an_empty_folder_and_new_ones_plug_in(tmp_path):
    from headstart.report.section import SECTIONS, builders

    names = list_sections()
    for expected in ("config", "data", "choices", "metrics", "confusion", "per_class", "training", "compare"):
        assert expected in names
    assert all(build(tmp_path) is None for _, build in builders())
    with pytest.raises(HeadstartError, match="holds no run results"):
        render_report(tmp_path)

    @register("test_extra", order=999)
    def build(run_dir: Path) -> Section | None:
        return (
            Section("Few-shot", "<p>5-way 1-shot: 0.61</p>", "5-way 1-shot 0.61") if (run_dir / "x").exists() else None
        )

    try:
        (tmp_path / "x").write_text("")
        html, md = render_report(tmp_path)
        assert 'id="few-shot"' in html and "5-way 1-shot: 0.61" in html and "## Few-shot" in md
    finally:
        SECTIONS.unregister("test_extra")


def test_bootstrap_ci_brackets_the_estimates():
    perfect = np.diag([10, 20, 5])
    assert bootstrap_ci(perfect) == {k: (1.0, 1.0) for k in ("accuracy", "balanced_accuracy", "macro_f1")}
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.7, y, rng.integers(0, 4, 300))
    m = classification_metrics(y, pred)
    ci = bootstrap_ci(np.asarray(m["confusion_matrix"]))
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        lo, hi = ci[key]
        assert lo < m[key] < hi and hi - lo < 0.15, key
    cm = np.array([[5, 3, 0], [1, 7, 2], [0, 0, 4]])
    assert top_confusions(cm, ["a", "b", "c"]) == [("a", "b", 3, 0.375), ("b", "c", 2, 0.2), ("b", "a", 1, 0.1)]


def test_reports_open_in_headless_chromium(runs, tmp_path):
    """Each report in a real browser: drawn, every image decoded, no request, no console error."""
    from browser import Browser, find_chromium
    from PIL import Image

    if find_chromium() is None:
        if os.environ.get("HEADSTART_SKIP_BROWSER") == "1":
            pytest.skip("HEADSTART_SKIP_BROWSER=1 and no chromium")
        pytest.fail(
            "chromium not found: `make test` installs it (apt-get install -y chromium, as root); "
            "or set HEADSTART_CHROMIUM=/path/to/chrome, or HEADSTART_SKIP_BROWSER=1 to skip this test"
        )
    keep = os.environ.get("HEADSTART_SCREENSHOTS")  # a folder to keep the screenshots in, for a look
    with Browser() as browser:
        for name, folder in runs.items():
            page = browser.open(folder / "report.html")
            assert page.network_requests == [], (name, page.network_requests)
            assert page.errors == [], (name, page.errors)
            assert page.images and all(i["complete"] and i["naturalWidth"] > 0 for i in page.images), (
                name,
                page.images,
            )
            shot = Image.open(io.BytesIO(page.screenshot)).convert("L")
            pixels = np.asarray(shot, dtype=float)
            assert shot.width == 1280 and shot.height > 500, (name, shot.size)
            assert pixels.std() > 20 and (pixels < 128).mean() > 0.01, (name, pixels.std())  # not blank
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                (Path(keep) / f"{name}.png").write_bytes(page.screenshot)


def test_pr_auc_joins_the_headline_when_the_run_has_it(runs, tmp_path):
    run = shutil.copytree(runs["probe"], tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    write_json(run / "metrics.json", {**metrics, "pr_auc": 0.71, "positive_class": "pos"})
    html, md = render_report(run)
    assert "PR-AUC of pos" in html and "| PR-AUC (pos) | 0.710 |" in md
