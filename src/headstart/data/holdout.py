"""The rows a run trains on and the rows it reports on: DATA's own split (a split column, or
train/ + val/ folders), a separate held-out set, a stratified hold-out, or a time split."""

from __future__ import annotations

from headstart.data.dataset import Dataset
from headstart.errors import HeadstartError

SPLITS = ("random", "time")


def has_split_layout(data: Dataset) -> bool:
    """DATA has its own training and held-out rows (a split column, or train/ + val/ folders)."""
    names = data.splits()
    return "train" in names and ("val" in names or "test" in names)


def choose_splits(
    data: Dataset, eval_data: Dataset | None, test_size: float, seed: int, split: str = "random"
) -> tuple[Dataset, Dataset, str]:
    """Training rows and the held-out rows to report on, and a sentence saying which
    (``split="time"``: the earliest rows train, the latest ``test_size`` are held out)."""
    if split not in SPLITS:
        raise HeadstartError(f"--split must be one of {', '.join(SPLITS)}, got '{split}'")
    if split == "time":
        if eval_data is not None or has_split_layout(data):
            raise HeadstartError("--split time splits DATA itself: leave out --eval and the data's own split")
        train, test = data.time_split(test_size)
        by = f"'{data.columns['time']}' (each series' first step)" if data.time is not None else "row order"
        return train, test, f"reported on the latest {len(test)} rows by {by}; trained on the earliest {len(train)}"
    if eval_data is not None:
        train = data.where_split("train") if "train" in data.splits() else data
        return train, eval_data, f"reported on {eval_data.source} ({len(eval_data)} rows)"
    names = data.splits()
    if has_split_layout(data):
        held = "val" if "val" in names else "test"
        return (
            data.where_split("train"),
            data.where_split(held),
            f"reported on the '{held}' split ({int((data.split == held).sum())} rows)",
        )
    train, test = data.train_test_split(test_size, seed)
    kind = "stratified " if data.task == "classification" else "random "
    return train, test, f"reported on a {kind}{test_size:.0%} hold-out (seed {seed})"
