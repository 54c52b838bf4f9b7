"""Tabular density-estimation data for the Real NVP sanity check (seed 001, "Sanity check: reduction to EBM
case"): RedWine, WhiteWine, Parkinsons, HepMass and MiniBoone for the ``full`` profile (downloaded once into
``data/`` with pooch), and scikit-learn's wine data for ``ci`` (ships with the package, no download).

Every split is standardised with the mean and standard deviation of its training part. Splits are fixed: a
permutation drawn from ``SPLIT_SEED``, independent of the run's seed, so every seed sees the same test set.

Preprocessing for the ``full`` datasets, as in the literature these numbers come from (density estimation with
deep kernel exponential families, Wenliang et al. 2019; MAF, Papamakarios et al. 2017); check it against those
papers before comparing numbers to the third digit:
- RedWine, WhiteWine: the 11 physico-chemical columns (quality dropped); discrete-valued columns are
  dequantised by uniform noise of the width of the smallest gap between distinct values.
- Parkinsons (telemonitoring): the 16 voice measures (subject, age, sex, time and the two UPDRS scores dropped),
  dequantised the same way.
- HepMass, MiniBoone: MAF's preprocessing (HepMass: positive class, mass column and the features with heavily
  repeated values dropped; MiniBoone: the cleaned array shipped with MAF's data), from MAF's archive.

Checksums: the SHA-256 of each archive is not recorded in this repository yet. The loaders therefore trust
the first download, record its SHA-256 in ``data/<file>.sha256`` and verify every later use against it; the
message says so on first use. Replace ``None`` in ``SOURCES`` with the recorded hash to pin it.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentebm import paths

SPLIT_SEED = 20210503
CI_DATASETS = ("sklearn_wine",)
FULL_DATASETS = ("redwine", "whitewine", "parkinsons", "hepmass", "miniboone")
DATASETS = CI_DATASETS + FULL_DATASETS
"""every name :func:`load` knows (a notebook's catalogue spec offers them as the choices of its knob)"""

UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases"
SOURCES: dict[str, tuple[str, str | None]] = {
    "winequality-red.csv": (f"{UCI}/wine-quality/winequality-red.csv", None),
    "winequality-white.csv": (f"{UCI}/wine-quality/winequality-white.csv", None),
    "parkinsons_updrs.data": (f"{UCI}/parkinsons/telemonitoring/parkinsons_updrs.data", None),
    "maf_data.tar.gz": ("https://zenodo.org/record/1161203/files/data.tar.gz", None),
}


@dataclass(frozen=True)
class TabularSplits:
    """Standardised ``train: (n, d)``, ``val: (m, d)``, ``test: (k, d)`` float tensors and the dataset name."""

    name: str
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    @property
    def dim(self) -> int:
        return self.train.shape[1]


def split_and_standardise(name: str, x: np.ndarray, fractions: tuple[float, float] = (0.2, 0.2),
                          dtype: torch.dtype | None = None) -> TabularSplits:
    """Fixed permutation, then (val, test) fractions of the rows; standardise with the training statistics."""
    order = np.random.default_rng(SPLIT_SEED).permutation(x.shape[0])
    n_val, n_test = (int(round(f * x.shape[0])) for f in fractions)
    test, val, train = np.split(x[order], [n_test, n_test + n_val])
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    dtype = dtype or torch.get_default_dtype()
    as_tensor = lambda a: torch.as_tensor((a - mean) / std, dtype=dtype)  # noqa: E731
    return TabularSplits(name, as_tensor(train), as_tensor(val), as_tensor(test))


def sklearn_wine() -> np.ndarray:
    """scikit-learn's wine recognition data (UCI): 178 wines x 13 chemical measurements (classes dropped)."""
    from sklearn.datasets import load_wine

    return np.asarray(load_wine().data, dtype=np.float64)


def dequantise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add U(-g/2, g/2) noise to each column, g its smallest gap between distinct values: a density exists."""
    out = x.astype(np.float64).copy()
    for j in range(x.shape[1]):
        values = np.unique(x[:, j])
        if values.size > 1:
            gap = np.diff(values).min()
            out[:, j] += rng.uniform(-gap / 2, gap / 2, size=x.shape[0])
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(filename: str, folder: Path | None = None) -> Path:
    """Download ``SOURCES[filename]`` once into ``data/`` with pooch; verify its SHA-256 (pinned, or recorded on
    first use: trust on first use)."""
    import pooch

    url, known = SOURCES[filename]
    folder = folder or paths.data_dir()
    record = folder / f"{filename}.sha256"
    expected = known or (record.read_text().strip() if record.is_file() else None)
    path = Path(pooch.retrieve(url, known_hash=f"sha256:{expected}" if expected else None, fname=filename,
                               path=folder, progressbar=False))
    if expected is None:
        digest = _sha256(path)
        record.write_text(digest + "\n")
        print(f"{filename}: no pinned checksum; trusting this first download, SHA-256 {digest} recorded in {record}")
    return path


def _uci_wine(filename: str) -> np.ndarray:
    x = np.loadtxt(fetch(filename), delimiter=";", skiprows=1)[:, :11]
    return dequantise(x, np.random.default_rng(SPLIT_SEED))


def _parkinsons() -> np.ndarray:
    x = np.loadtxt(fetch("parkinsons_updrs.data"), delimiter=",", skiprows=1)
    return dequantise(x[:, 6:], np.random.default_rng(SPLIT_SEED))  # 16 voice measures


def _maf_member(member: str) -> Path:
    archive = fetch("maf_data.tar.gz")
    target = archive.parent / "maf" / member
    if not target.is_file():
        with tarfile.open(archive) as tar:
            tar.extract(member, archive.parent / "maf", filter="data")
    return target


def _hepmass() -> np.ndarray:
    import pandas as pd

    frames = [pd.read_csv(_maf_member(f"data/hepmass/1000_{part}.csv"), index_col=False)
              for part in ("train", "test")]
    data = pd.concat(frames, ignore_index=True)
    data = data[data[data.columns[0]] == 1].drop(columns=[data.columns[0], data.columns[-1]])
    repeated = [c for c in data.columns if data[c].value_counts().iloc[0] > 5]
    return data.drop(columns=repeated).to_numpy(np.float64)


def _miniboone() -> np.ndarray:
    return np.load(_maf_member("data/miniboone/data.npy")).astype(np.float64)


LOADERS = {"sklearn_wine": sklearn_wine, "redwine": lambda: _uci_wine("winequality-red.csv"),
           "whitewine": lambda: _uci_wine("winequality-white.csv"), "parkinsons": _parkinsons,
           "hepmass": _hepmass, "miniboone": _miniboone}


def load(name: str, dtype: torch.dtype | None = None) -> TabularSplits:
    """The standardised fixed splits of dataset ``name`` (20% validation, 20% test for every dataset; the
    published MAF splits of HepMass and MiniBoone are not kept). An unknown name is a ValueError naming it."""
    if name not in LOADERS:
        raise ValueError(f"unknown tabular dataset {name!r}; known: {list(DATASETS)}")
    return split_and_standardise(name, LOADERS[name](), dtype=dtype)
