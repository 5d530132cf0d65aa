"""Data in: one :class:`Dataset` type, loaders for folders, tables, arrays, digit sets,
time series (``.ts``, long tables) and audio (WAV), splits."""

from headstart.data.dataset import MODALITIES, Dataset
from headstart.data.digits import load_digits_mat, load_idx_folder
from headstart.data.labels import MISSING, as_dataset, encode_labels, group_labels, label_key
from headstart.data.loaders import (
    from_arrays,
    from_dataframe,
    load,
    load_image_folder,
    load_table,
    read_table,
)
from headstart.data.sequences import (
    at_rate,
    bundled_ucr,
    from_long_table,
    from_series,
    load_ts,
    load_wav_folder,
    read_wav,
)
from headstart.data.splits import stratified_sample, stratified_split

__all__ = [
    "MISSING",
    "MODALITIES",
    "Dataset",
    "as_dataset",
    "at_rate",
    "bundled_ucr",
    "from_long_table",
    "from_series",
    "load_ts",
    "load_wav_folder",
    "read_wav",
    "encode_labels",
    "from_arrays",
    "from_dataframe",
    "group_labels",
    "label_key",
    "load",
    "load_digits_mat",
    "load_idx_folder",
    "load_image_folder",
    "load_table",
    "read_table",
    "stratified_sample",
    "stratified_split",
]
