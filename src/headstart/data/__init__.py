"""Data in: one :class:`Dataset` type, loaders for folders, tables, arrays and digit sets, splits."""

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
from headstart.data.splits import stratified_sample, stratified_split

__all__ = [
    "MISSING",
    "MODALITIES",
    "Dataset",
    "as_dataset",
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
