"""Input checks shared by the indicator kernels: float64 arrays, periods, leading NaNs."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def as_series(values: ArrayLike, name: str) -> Array:
    """``values`` as a contiguous 1-d float64 array (a copy only when needed)."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {array.shape}")
    return array


def as_aligned(**series: ArrayLike) -> list[Array]:
    """Several named series of equal length, as float64 arrays."""
    arrays = [as_series(values, name) for name, values in series.items()]
    lengths = {name: len(a) for name, a in zip(series, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"input series differ in length: {lengths}")
    return arrays


def check_period(value: int, name: str, minimum: int = 2) -> int:
    """A window length as an int, at least ``minimum`` (TA-Lib's lower bounds)."""
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def first_valid(*arrays: Array) -> int:
    """Index of the first row where every array is non-NaN (TA-Lib skips leading NaNs)."""
    valid = np.ones(len(arrays[0]), dtype=bool)
    for array in arrays:
        valid &= ~np.isnan(array)
    hits = np.flatnonzero(valid)
    return int(hits[0]) if len(hits) else len(valid)


def nan_like(array: Array) -> Array:
    return np.full(len(array), np.nan)
