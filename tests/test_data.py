"""headstart.data: loaders, splits, Dataset, and the errors bad input must give."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_image_folder, make_texts, write_image

from headstart.data import (
    Dataset,
    from_arrays,
    from_dataframe,
    load,
    load_image_folder,
    load_table,
    stratified_sample,
    stratified_split,
)
from headstart.errors import HeadstartError


# ------------------------------------------------------------- image folders
def test_image_folder_with_class_subfolders(image_folder):
    data = load(image_folder)
    assert data.modality == "image"
    assert len(data) == 8
    assert data.classes == ["blue", "red"]
    assert data.class_counts() == {"blue": 4, "red": 4}
    assert data.split is None
    assert data.columns["layout"] == "class-folders"
    # Inputs are readable paths; ids are paths relative to the root.
    assert all(Path(p).is_file() for p in data.inputs)
    assert sorted(data.ids.tolist())[0] == str(Path("blue") / "img0.png")
    for path, label in zip(data.inputs, data.labels, strict=True):
        assert Path(path).parent.name == label


def test_image_folder_with_train_val_layout(split_image_folder):
    data = load(split_image_folder)
    assert data.columns["layout"] == "split-folders"
    assert data.splits() == ["train", "val"]
    assert Counter(data.split.tolist()) == {"train": 10, "val": 6}
    train, val = data.where_split("train"), data.where_split("val")
    assert all(f"{Path('train')}" in p for p in train.inputs)
    assert all(f"{Path('val')}" in p for p in val.inputs)
    assert val.class_counts() == {"blue": 3, "red": 3}


def test_image_folder_skips_empty_class_folder_with_warning(tmp_path, capsys):
    root = make_image_folder(tmp_path / "imgs", per_class=2)
    (root / "green").mkdir()
    data = load_image_folder(root)
    assert data.classes == ["blue", "red"]
    assert "green" in capsys.readouterr().err


def test_image_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(HeadstartError, match="no images found"):
        load(tmp_path / "empty")


def test_column_options_on_an_image_folder_are_an_error(image_folder):
    with pytest.raises(HeadstartError, match="--text-col"):
        load(image_folder, text_col="text")


def test_where_split_without_splits_is_an_error(image_folder):
    with pytest.raises(HeadstartError, match="no split"):
        load(image_folder).where_split("val")


# ------------------------------------------------------------------- tables
def test_csv_with_text_and_label(text_csv):
    data = load(text_csv)
    df = pd.read_csv(text_csv)
    assert data.modality == "text"
    assert data.inputs == df["text"].tolist()
    assert data.labels.tolist() == df["label"].tolist()
    assert data.columns == {"label": "label", "text": "text"}
    assert data.ids.tolist() == list(range(1, len(df) + 1))  # data rows count from 1
    assert data.source == str(text_csv)


def test_csv_quotes_follow_csv_rules(tmp_path):
    path = tmp_path / "q.csv"
    pd.DataFrame({"text": ['she said "hi", then left', "plain"], "label": ["a", "b"]}).to_csv(path, index=False)
    assert load(path).inputs == ['she said "hi", then left', "plain"]


def test_only_empty_cells_are_missing(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("text,label\nNA,a\nnull,b\nNone,a\nnan,b\n")
    data = load(path)
    assert data.inputs == ["NA", "null", "None", "nan"]


def test_tsv_quotes_are_literal(tmp_path):
    path = tmp_path / "glue.tsv"
    path.write_text('sentence\tlabel\nhe said "hi" there\t1\n"the whole line"\t0\nit\'s "odd\t1\n')
    data = load(path)
    assert data.inputs == ['he said "hi" there', '"the whole line"', "it's \"odd"]
    assert data.labels.tolist() == [1, 0, 1]
    assert data.labels.dtype.kind == "i"


def test_parquet_numeric_features(tmp_path):
    path = tmp_path / "t.parquet"
    df = pd.DataFrame({"f1": [0.5, 1.5, 2.5, 3.5], "f2": [1, 2, 3, 4], "target": [0, 1, 0, 1]})
    df.to_parquet(path)
    data = load(path)
    assert data.modality == "tabular"
    assert data.columns["label"] == "target"
    assert data.columns["features"] == ["f1", "f2"]
    assert data.inputs.dtype == np.float32
    np.testing.assert_array_equal(data.inputs, df[["f1", "f2"]].to_numpy(np.float32))
    assert data.labels.tolist() == [0, 1, 0, 1]


def test_jsonl_with_text_column(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"review": "good film", "id": 7, "label": "pos"}, {"review": "bad film", "id": 8, "label": "neg"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data = load(path, text_col="review")
    assert data.modality == "text"
    assert data.inputs == ["good film", "bad film"]
    assert data.labels.tolist() == ["pos", "neg"]


def test_image_path_column_is_relative_to_the_table(tmp_path):
    for i, colour in enumerate([(200, 0, 0), (0, 0, 200)]):
        write_image(tmp_path / "pics" / f"p{i}.png", colour, seed=i)
    table = tmp_path / "index.csv"
    pd.DataFrame({"file": ["pics/p0.png", "pics/p1.png"], "label": ["r", "b"]}).to_csv(table, index=False)
    data = load(table)  # the image column is guessed from the file extensions
    assert data.modality == "image"
    assert data.columns["image"] == "file"
    assert data.inputs == [str(tmp_path / "pics" / "p0.png"), str(tmp_path / "pics" / "p1.png")]


def test_image_path_column_missing_file_names_the_row(tmp_path):
    write_image(tmp_path / "a.png", (1, 2, 3))
    table = tmp_path / "index.csv"
    pd.DataFrame({"img": ["a.png", "gone.png"], "label": ["x", "y"]}).to_csv(table, index=False)
    with pytest.raises(HeadstartError, match=r"row 2 .*gone\.png"):
        load(table, image_col="img")


def test_explicit_feature_columns(tmp_path):
    path = tmp_path / "n.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0], "y": ["u", "v"]}).to_csv(path, index=False)
    data = load(path, feature_cols=["c", "a"])
    np.testing.assert_array_equal(data.inputs, [[5.0, 1.0], [6.0, 2.0]])
    assert data.columns["features"] == ["c", "a"]


def test_non_numeric_feature_column_is_an_error(tmp_path):
    path = tmp_path / "n.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "label": [0, 1]}).to_csv(path, index=False)
    with pytest.raises(HeadstartError, match="'b'.*not numeric"):
        load(path, feature_cols=["a", "b"])


def test_label_group_domain_and_split_columns(tmp_path):
    path = tmp_path / "t.csv"
    df = pd.DataFrame(
        {
            "text": ["one film", "two film", "three film", "four film"],
            "cls": ["a", "b", "a", "b"],
            "who": ["g1", "g2", "g1", "g2"],
            "where": ["web", "web", "shop", "shop"],
            "split": ["train", "Validation", "train", "test"],
        }
    )
    df.to_csv(path, index=False)
    data = load(path, label_col="cls", group_col="who", domain_col="where")
    assert data.labels.tolist() == ["a", "b", "a", "b"]
    assert data.group.tolist() == ["g1", "g2", "g1", "g2"]
    assert data.domain.tolist() == ["web", "web", "shop", "shop"]
    # The split column is found by name and its values normalised.
    assert data.split.tolist() == ["train", "val", "train", "test"]
    assert data.inputs == df["text"].tolist()


def test_auto_guess_label_and_longest_text_column(tmp_path):
    path = tmp_path / "t.csv"
    df = pd.DataFrame(
        {
            "code": ["a1", "b2", "c3"],
            "body": ["a long body of text", "another long body", "and one more body"],
            "Category": ["x", "y", "x"],
            "stars": [1, 2, 3],
        }
    )
    df.to_csv(path, index=False)
    data = load(path)
    assert data.columns["label"] == "Category"  # guessed case-insensitively
    assert data.columns["text"] == "body"  # the longest string column
    assert data.modality == "text"


def test_auto_guess_numeric_columns(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x1": [1.0, 2.0, 3.0], "x2": [4, 5, 6], "class": ["a", "b", "a"]}).to_csv(path, index=False)
    data = load(path)
    assert data.modality == "tabular"
    assert data.columns == {"label": "class", "features": ["x1", "x2"]}
    assert data.inputs.shape == (3, 2)


def test_no_label_column_is_an_error_unless_unlabelled_allowed(tmp_path):
    df = pd.DataFrame({"text": ["a b", "c d"], "other": ["x", "y"]})
    with pytest.raises(HeadstartError, match="no label column.*--label-col"):
        from_dataframe(df)
    data = from_dataframe(df, text_col="text", require_labels=False)
    assert data.labels is None and not data.has_labels


def test_float_labels_that_are_integers_become_int(tmp_path):
    df = pd.DataFrame({"text": ["a", "b"], "label": [1.0, 0.0]})
    data = from_dataframe(df)
    assert data.labels.dtype.kind == "i"


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(HeadstartError, match=r"unsupported file type '\.xlsx'"):
        load(path)


def test_empty_table_is_an_error(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("text,label\n")
    with pytest.raises(HeadstartError, match="no rows"):
        load(path)


# --------------------------------------------------------------- from_arrays
def test_from_arrays_texts():
    data = from_arrays(["good film", "bad film"], ["pos", "neg"], group=["a", "b"])
    assert data.modality == "text"
    assert data.labels.tolist() == ["pos", "neg"]
    assert data.group.tolist() == ["a", "b"]


def test_from_arrays_numeric_matrix():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    data = from_arrays(X, [0, 1, 0, 1])
    assert data.modality == "tabular"
    assert data.inputs.dtype == np.float32
    np.testing.assert_array_equal(data.inputs, X)


def test_from_arrays_dataframe_is_tabular():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert from_arrays(df).modality == "tabular"


def test_from_arrays_image_stack():
    images = np.random.default_rng(0).integers(0, 255, size=(5, 8, 8, 3), dtype=np.uint8)
    data = from_arrays(images, [0, 1, 0, 1, 0])
    assert data.modality == "image"
    assert len(data.inputs) == 5
    np.testing.assert_array_equal(data.inputs[2], images[2])


def test_from_arrays_image_paths(image_folder):
    paths = sorted(str(p) for p in image_folder.rglob("*.png"))
    assert from_arrays(paths).modality == "image"


def test_from_arrays_list_of_numeric_rows_is_tabular():
    assert from_arrays([[0.0, 1.0], [1.0, 0.0]], [0, 1]).modality == "tabular"


def test_from_arrays_nan_is_an_error():
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(HeadstartError, match="NaN.*row 3"):
        from_arrays(X)


def test_from_arrays_tabular_must_be_2d():
    with pytest.raises(HeadstartError, match="2-D"):
        from_arrays(np.ones(3), modality="tabular")


def test_dataset_rejects_mismatched_lengths():
    with pytest.raises(HeadstartError, match="labels has 3 rows but inputs have 2"):
        from_arrays(["a", "b"], ["x", "y", "z"])


def test_dataset_rejects_unknown_modality():
    with pytest.raises(HeadstartError, match="unknown modality 'video'"):
        Dataset(inputs=["a"], labels=None, modality="video")


# ------------------------------------------------------------------ splits
def _labels(counts: dict[str, int]) -> np.ndarray:
    return np.asarray([c for c, n in counts.items() for _ in range(n)])


def test_stratified_split_keeps_proportions_and_is_disjoint_and_complete():
    labels = _labels({"a": 50, "b": 30, "c": 20})
    train, test = stratified_split(labels, 0.2, seed=0)
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert Counter(labels[test].tolist()) == {"a": 10, "b": 6, "c": 4}
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted


def test_stratified_split_is_deterministic_per_seed():
    labels = _labels({"a": 40, "b": 40})
    a = stratified_split(labels, 0.25, seed=3)
    b = stratified_split(labels, 0.25, seed=3)
    c = stratified_split(labels, 0.25, seed=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_stratified_split_singleton_classes_stay_in_train():
    labels = _labels({"a": 10, "b": 1, "c": 2})
    train, test = stratified_split(labels, 0.5, seed=0)
    assert 10 in train  # the only "b"
    assert Counter(labels[test].tolist()) == {"a": 5, "c": 1}  # never all of a class


def test_stratified_split_rejects_bad_fraction():
    with pytest.raises(ValueError):
        stratified_split(np.zeros(4), 1.0)


def test_stratified_sample_keeps_proportions_and_every_class():
    labels = _labels({"a": 60, "b": 30, "c": 9, "d": 1})
    idx = stratified_sample(labels, 20, seed=0)
    assert len(idx) == 20 == len(set(idx.tolist()))
    counts = Counter(labels[idx].tolist())
    # 12 / 6 / 1.8 / 0.2 rows: "d" keeps its one row because n allows every class one.
    assert counts == {"a": 12, "b": 6, "c": 1, "d": 1}
    np.testing.assert_array_equal(idx, stratified_sample(labels, 20, seed=0))
    assert not np.array_equal(idx, stratified_sample(labels, 20, seed=1))


def test_stratified_sample_all_rows_when_n_is_large():
    labels = _labels({"a": 3, "b": 2})
    np.testing.assert_array_equal(stratified_sample(labels, 10), np.arange(5))
    with pytest.raises(ValueError):
        stratified_sample(labels, 0)


# ----------------------------------------------------------------- Dataset
def test_subset_takes_every_per_row_field():
    data = from_arrays(["a", "b", "c", "d"], ["x", "y", "x", "y"], group=["1", "2", "3", "4"], domain=list("pqrs"))
    sub = data.subset([3, 1])
    assert sub.inputs == ["d", "b"]
    assert sub.labels.tolist() == ["y", "y"]
    assert sub.group.tolist() == ["4", "2"]
    assert sub.domain.tolist() == ["s", "q"]
    assert sub.ids.tolist() == [3, 1]
    assert len(data) == 4  # the original is untouched


def test_sample_and_train_test_split_are_stratified():
    texts, labels = make_texts(40)
    data = from_arrays(texts, labels)
    small = data.sample(10, seed=0)
    assert small.class_counts() == {"neg": 5, "pos": 5}
    assert set(small.inputs) <= set(texts)
    train, test = data.train_test_split(0.25, seed=0)
    assert len(train) == 30 and len(test) == 10
    assert set(train.ids.tolist()).isdisjoint(test.ids.tolist())


def test_fingerprint_follows_inputs_not_labels():
    texts = ["good film", "bad film", "fine film"]
    base = from_arrays(texts, ["a", "b", "a"]).fingerprint()
    assert from_arrays(texts, ["b", "b", "a"]).fingerprint() == base
    assert from_arrays(texts).fingerprint() == base
    assert from_arrays(["good film", "bad film", "fine films"]).fingerprint() != base
    assert from_arrays(texts[::-1]).fingerprint() != base
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    fx = from_arrays(X, [0, 1, 0]).fingerprint()
    assert from_arrays(X, [1, 1, 1]).fingerprint() == fx
    X2 = X.copy()
    X2[1, 1] += 1
    assert from_arrays(X2).fingerprint() != fx


def test_fingerprint_of_image_files_changes_when_a_file_changes(image_folder):
    data = load(image_folder)
    before = data.fingerprint()
    assert load(image_folder).fingerprint() == before
    write_image(Path(data.inputs[0]), (0, 255, 0), seed=9, size=30)
    assert load(image_folder).fingerprint() != before


# ------------------------------------------------------------- bad input
def test_missing_file():
    with pytest.raises(HeadstartError, match="no such file or folder: .*nowhere.csv"):
        load("/definitely/nowhere.csv")


def test_missing_table_file_via_read_table(tmp_path):
    with pytest.raises(HeadstartError, match="no such file"):
        load_table(tmp_path / "gone.tsv")


@pytest.mark.parametrize(
    ("option", "wrong", "right"),
    [("label_col", "lable", "label"), ("text_col", "txet", "text"), ("group_col", "grup", "group")],
)
def test_unknown_column_suggests_the_closest(tmp_path, option, wrong, right):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"], "group": ["g", "h"]}).to_csv(path, index=False)
    with pytest.raises(HeadstartError) as info:
        load(path, **{option: wrong})
    message = str(info.value)
    assert f"'{wrong}'" in message and str(path) in message
    assert f"did you mean '{right}'" in message


def test_one_class_is_an_error_naming_column_and_class(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "target": ["only", "only", "only"]}).to_csv(path, index=False)
    data = load(path)
    with pytest.raises(HeadstartError, match=r"label column 'target' .* only 1 class \('only'\)"):
        data.require_labels()


def test_unlabelled_require_labels_is_an_error():
    with pytest.raises(HeadstartError, match="no labels"):
        from_arrays(["a", "b"]).require_labels()


@pytest.fixture
def gappy_texts(tmp_path) -> Path:
    path = tmp_path / "gaps.csv"
    path.write_text('text,label\ngood film,pos\n"   ",neg\nbad film,neg\n,pos\nfine film,pos\n')
    return path


def test_empty_texts_are_skipped_with_a_warning(gappy_texts, capsys):
    data = load(gappy_texts)
    assert data.inputs == ["good film", "bad film", "fine film"]
    assert data.ids.tolist() == [1, 3, 5]  # original row numbers survive
    err = " ".join(capsys.readouterr().err.split())  # the console may wrap long lines
    assert "warning:" in err
    assert "2 rows" in err and "rows 2, 4" in err and "skipped" in err


def test_empty_text_warning_is_one_line(gappy_texts, capsys):
    load(gappy_texts)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1


def test_empty_texts_under_strict_are_an_error(gappy_texts):
    with pytest.raises(HeadstartError, match=r"2 rows .* empty text in column 'text' \(rows 2, 4\)"):
        load(gappy_texts, strict=True)


def test_only_empty_texts_is_an_error(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text('text,label\n" ",a\n"",b\n')
    with pytest.raises(HeadstartError, match="no usable rows"):
        load(path)


def test_unreadable_image_is_skipped_with_a_warning_or_refused_under_strict(tmp_path, capsys):
    make_image_folder(tmp_path / "imgs", per_class=2)
    (tmp_path / "imgs" / "red" / "broken.jpg").write_bytes(b"this is not a jpeg" * 20)
    with pytest.raises(HeadstartError, match=r"cannot read image .*broken\.jpg.*--strict"):
        load(tmp_path / "imgs", strict=True)
    data = load(tmp_path / "imgs")
    assert len(data) == 4 and not any("broken" in p for p in data.inputs)
    assert "1 unreadable image(s)" in capsys.readouterr().err


def test_nan_in_numeric_features_names_row_and_column(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("a,b,label\n1,2,x\n3,,y\n5,6,x\n")
    with pytest.raises(HeadstartError, match=r"1 rows .*NaN.*row 2, column 'b'"):
        load(path)


def test_missing_label_values_name_the_rows(tmp_path):
    path = tmp_path / "m.jsonl"
    rows = [{"text": "a", "label": "x"}, {"text": "b", "label": None}, {"text": "c", "label": "y"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(HeadstartError, match=r"1 rows .*label column 'label' \(rows 2\)"):
        load(path)


def test_missing_label_values_are_allowed_when_labels_are_not_required():
    df = pd.DataFrame({"text": ["a", "b"], "label": ["x", None]})
    data = from_dataframe(df, text_col="text", require_labels=False)
    assert len(data) == 2


def test_unreadable_table_is_an_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(HeadstartError, match=r"cannot read table .*bad\.parquet"):
        load(path)
