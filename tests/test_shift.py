"""Domain shift (MMD test, proxy A-distance, CORAL), the digit loaders, and `headstart shift`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, assert_one_error_line, cli

from headstart.data import load
from headstart.errors import HeadstartError
from headstart.select.coral import coral_distance
from headstart.select.mmd import mmd_test
from headstart.select.proxy_a import proxy_a_distance
from headstart.select.shift import domain_shift, read_shift


def gaussians(n: int = 150, d: int = 6, shift: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(shift, size=(n, d))


# ------------------------------------------------------------------- MMD
def test_mmd_matches_the_unbiased_estimate_computed_by_hand():
    x, y = gaussians(30, 3, 0.5)
    y = y[:20]
    r = mmd_test(x, y, permutations=20)
    z = np.concatenate([x, y])
    d2 = ((z[:, None] - z[None]) ** 2).sum(-1)
    sigma2 = np.median(d2[np.triu_indices(len(z), 1)])
    k = np.exp(-d2 / (2 * sigma2))
    m, n = 30, 20
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    want = (kxx.sum() - m) / (m * (m - 1)) + (kyy.sum() - n) / (n * (n - 1)) - 2 * kxy.mean()
    assert r.mmd2 == pytest.approx(want, rel=1e-9)
    assert r.bandwidth == pytest.approx(np.sqrt(sigma2))
    assert (r.n_source_used, r.n_target_used, r.subsampled) == (30, 20, False)


def test_mmd_same_distribution_is_rarely_significant():
    ps = [mmd_test(*gaussians(80, 5, 0.0, seed=s), permutations=100, seed=s).p_value for s in range(20)]
    # p is uniform under the null: P(fewer than 15 of 20 above 0.05) is about 3e-4.
    assert sum(p > 0.05 for p in ps) >= 15, ps


def test_mmd_shifted_distribution_is_significant_and_reproducible():
    x, y = gaussians(150, 6, 0.5)
    r = mmd_test(x, y, permutations=200, seed=3)
    assert r.p_value < 0.01 and r.p_value == pytest.approx(1 / 201)
    assert r.mmd2 > 0
    assert mmd_test(x, y, permutations=200, seed=3) == r


def test_mmd_subsamples_large_inputs_and_says_so():
    x, y = gaussians(700, 4, 0.0)
    r = mmd_test(x, y[:500], permutations=10, max_rows=300)
    assert (r.n_source, r.n_target, r.n_source_used, r.n_target_used) == (700, 500, 300, 300)
    assert r.subsampled


def test_mmd_of_identical_rows_is_zero_with_p_one():
    x = np.ones((10, 3))
    r = mmd_test(x, x.copy(), permutations=10)
    assert r.mmd2 == 0.0 and r.p_value == 1.0


# ------------------------------------------------------- proxy A-distance
def test_pad_is_near_zero_for_one_distribution_and_near_two_for_separated():
    same = proxy_a_distance(*gaussians(200, 5, 0.0))
    far = proxy_a_distance(*gaussians(200, 5, 3.0))
    assert abs(same.pad) < 0.4, same
    assert far.pad > 1.9 and far.error < 0.03, far
    assert same.n_per_domain == 200 and same.folds == 5


def test_pad_balances_the_domains():
    x, y = gaussians(200, 3, 1.0)
    r = proxy_a_distance(x, y[:60], max_rows=1000)
    assert r.n_per_domain == 60 and r.subsampled


# ------------------------------------------------------------------ CORAL
def test_coral_is_zero_for_identical_covariances_and_matches_the_formula():
    x, y = gaussians(100, 4, 0.0)
    assert coral_distance(x, x + 3.0) == pytest.approx(0.0, abs=1e-12)
    diff = np.cov(x, rowvar=False) - np.cov(2 * y, rowvar=False)
    assert coral_distance(x, 2 * y) == pytest.approx((diff**2).sum() / (4 * 4**2))


@pytest.mark.parametrize(
    ("x", "y", "fragment"),
    [
        (np.zeros((5, 3)), np.zeros((5, 4)), "3-d but target features 4-d"),
        (np.zeros((1, 3)), np.zeros((5, 3)), "source features have 1 rows"),
        (np.zeros(5), np.zeros((5, 3)), "must be 2-D"),
        (np.r_[np.zeros((4, 2)), [[np.nan, 0]]], np.zeros((5, 2)), "NaN or infinite values (first at row 5)"),
    ],
)
def test_bad_feature_arrays_get_one_clear_error(x, y, fragment):
    for fn in (mmd_test, proxy_a_distance, coral_distance):
        with pytest.raises(HeadstartError) as e:
            fn(x, y)
        assert fragment in str(e.value)


# ------------------------------------------------------------ the report
def test_domain_shift_report_reads_shifted_and_not_shifted():
    shifted = domain_shift(*gaussians(150, 6, 2.0), permutations=100)
    assert shifted.shifted and shifted.reading.startswith("shifted: MMD p=0.0099 < 0.01")
    assert "separable" in shifted.reading
    same = domain_shift(*gaussians(150, 6, 0.0, seed=1), permutations=100)
    assert not same.shifted and same.reading.startswith("no detectable shift")
    d = same.to_dict()
    json.dumps(d)
    assert d["n_source"] == 150 and d["feature_dim"] == 6 and d["permutations"] == 100
    for key in ("mmd2", "mmd_p_value", "pad", "pad_error", "coral", "reading"):
        assert key in d


def test_too_few_permutations_for_alpha_is_an_error():
    with pytest.raises(
        HeadstartError, match="99 permutations cannot give a p-value below alpha=0.01: use at least 100"
    ):
        domain_shift(*gaussians(20, 2), permutations=99)
    domain_shift(*gaussians(20, 2), permutations=19, alpha=0.1)


def test_read_shift_wording():
    assert read_shift(0.001, 1.6, 0.01) == "shifted: MMD p=0.001 < 0.01, the domains are separable (PAD 1.60)"
    assert "partly separable" in read_shift(0.001, 0.5, 0.01)
    assert "barely" in read_shift(0.001, 0.1, 0.01)
    assert read_shift(0.3, 0.05, 0.01) == "no detectable shift: MMD p=0.3 >= 0.01 (PAD 0.05)"


# ------------------------------------------------------------- digit files
def write_idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def make_mnist(folder: Path, n: int = 20, seed: int = 0, prefix: str = "t10k", gz: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):  # a bright vertical stroke at a random column
        c = int(rng.integers(6, 22))
        images[i, 4:24, c : c + 3] = 255
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", np.arange(n) % 10)
    return folder


def make_usps(path: Path, n: int = 20, seed: int = 0, variable: str = "usps_all") -> Path:
    import scipy.io

    rng = np.random.default_rng(seed)
    images = np.zeros((n, 16, 16), dtype=np.uint8)
    for i in range(n):  # a bright horizontal stroke at a random row
        r = int(rng.integers(2, 13))
        images[i, r : r + 2, 1:15] = 200
    matrix = np.concatenate([images.reshape(n, 256), (np.arange(n) % 10 + 1)[:, None]], axis=1).astype(np.uint8)
    scipy.io.savemat(path, {variable: matrix})
    return path


def test_idx_folder_loads_as_28x28_digits_with_splits(tmp_path):
    folder = make_mnist(tmp_path / "mnist", n=12)
    make_mnist(folder, n=8, prefix="train", gz=False, seed=1)
    data = load(folder)
    assert data.modality == "image" and len(data) == 20
    assert data.inputs.shape == (20, 28, 28) and data.inputs.dtype == np.uint8
    assert data.labels.tolist() == list(range(10)) + [0, 1] + list(range(8))
    assert data.splits() == ["test", "train"] and int((data.split == "test").sum()) == 12
    assert data.inputs[0, 10].max() == 255


def test_usps_mat_loads_row_major_16x16_with_labels_from_zero(tmp_path):
    import scipy.io

    matrix = np.zeros((10, 257), dtype=np.uint8)
    matrix[:, 256] = np.arange(1, 11)
    matrix[0, 1] = 255  # row 0, column 1 when row-major (row 1, column 0 if read transposed)
    path = tmp_path / "usps.mat"
    scipy.io.savemat(path, {"usps_all": matrix})
    data = load(path)
    assert data.inputs.shape == (10, 16, 16) and data.inputs.dtype == np.uint8
    assert data.inputs[0, 0, 1] == 255 and data.inputs[0, 1, 0] == 0
    assert data.labels.tolist() == list(range(10))
    assert data.columns["variable"] == "usps_all" and data.columns["labels_one_based"]


def test_bad_digit_files_get_one_clear_error(tmp_path):
    import scipy.io

    scipy.io.savemat(tmp_path / "odd.mat", {"X": np.zeros((5, 20)), "y": np.ones((5, 1))})
    with pytest.raises(
        HeadstartError, match=r"odd\.mat: expected one numeric matrix of N x \(S\*S \+ 1\).*'X' \(5, 20\)"
    ):
        load(tmp_path / "odd.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(HeadstartError, match=r"junk\.mat"):
        load(tmp_path / "junk.mat")
    bad = tmp_path / "bad"
    write_idx(bad / "t10k-images-idx3-ubyte", np.zeros((3, 4, 4)))
    write_idx(bad / "t10k-labels-idx1-ubyte", np.zeros(2))
    with pytest.raises(HeadstartError, match="holds 3 images but .* holds 2 labels"):
        load(bad)
    (bad / "t10k-labels-idx1-ubyte").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(HeadstartError, match="not an IDX file"):
        load(bad)
    (bad / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(HeadstartError, match="no labels file"):
        load(bad)
    with pytest.raises(HeadstartError, match=r"is a \.mat file; --label-col apply to tables only"):
        load(make_usps(tmp_path / "u.mat"), label_col="y")


@pytest.mark.real
def test_real_mnist_and_usps_files_load():
    folder = SHARED / "digits"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    mnist = load(folder / "mnist_test")
    usps = load(folder / "usps" / "usps_all.mat")
    assert mnist.inputs.shape == (10000, 28, 28) and mnist.classes == list(range(10))
    assert mnist.class_counts()[1] == 1135
    assert usps.inputs.shape == (9298, 16, 16) and usps.classes == list(range(10))
    assert usps.class_counts()[0] == 1553
    # Row-major is the right reading: the mean "1" is a vertical bar (tall, narrow).
    ones = usps.inputs[usps.labels == 1].astype(float).mean(0)
    assert ones.sum(0).std() > ones.sum(1).std()


# ------------------------------------------------------------------ the CLI
def write_table(path: Path, x: np.ndarray) -> Path:
    pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])]).to_csv(path, index=False)
    return path


def test_cli_shift_on_tables_flags_a_shift_and_writes_shift_json(tmp_path, capsys):
    x, y = gaussians(120, 4, 1.5)
    src, tgt = write_table(tmp_path / "s.csv", x), write_table(tmp_path / "t.csv", y)
    code, out, err = cli(capsys, "shift", src, tgt, "--permutations", "100", "-o", tmp_path / "run")
    assert code == 0, err
    assert "shifted: MMD p=0.0099 < 0.01" in out and "separable" in out
    report = json.loads((tmp_path / "run" / "shift.json").read_text())
    assert report["shifted"] and report["backbone"] == "identity" and report["permutations"] == 100
    assert report["n_source"] == 120 and report["feature_dim"] == 4
    assert not list((tmp_path / "run").glob(".*.tmp"))  # the atomic write left no temp file

    same = write_table(tmp_path / "same.csv", gaussians(120, 4, 0.0, seed=5)[1])
    code, out, err = cli(capsys, "shift", src, same, "--permutations", "40", "--alpha", "0.05", "--seed", "1")
    assert code == 0, err
    assert "no detectable shift" in out


def test_cli_shift_on_digit_files_with_a_tiny_image_model(tmp_path, capsys, tiny_vit_dir):
    mnist = make_mnist(tmp_path / "mnist", n=20)
    usps = make_usps(tmp_path / "usps.mat", n=20)
    args = ("shift", mnist, usps, "-b", f"hf:{tiny_vit_dir}", "--permutations", "30", "--alpha", "0.05")
    args += ("--max-rows", "12")
    code, out, err = cli(capsys, *args, "-o", tmp_path / "run")
    assert code == 0, err
    report = json.loads((tmp_path / "run" / "shift.json").read_text())
    assert report["n_source"] == 20 and report["n_source_used"] == 12 and report["subsampled"]
    assert report["feature_dim"] == 32 and "MMD" in report["reading"]
    assert "random rows, seed 0" in out


def test_cli_shift_errors_are_one_line(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", gaussians(20, 3)[0])
    usps = make_usps(tmp_path / "usps.mat")
    assert_one_error_line(cli(capsys, "shift", table, usps), "is tabular data but target", "is image data")
    assert_one_error_line(cli(capsys, "shift", table, table, "-b", "nope"), "unknown backbone 'nope'")
    other = write_table(tmp_path / "o.csv", gaussians(20, 5)[0])
    assert_one_error_line(cli(capsys, "shift", table, other), "has 3 feature columns but target")
    import scipy.io

    scipy.io.savemat(tmp_path / "odd.mat", {"X": np.zeros((5, 20))})
    assert_one_error_line(cli(capsys, "shift", usps, tmp_path / "odd.mat"), "odd.mat: expected one numeric matrix")
    assert_one_error_line(cli(capsys, "shift", table, table, "--max-rows", "3"), "--max-rows must be 0")
    assert_one_error_line(
        cli(capsys, "shift", table, table, "--permutations", "50"), "50 permutations cannot give a p-value below"
    )
