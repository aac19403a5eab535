"""How one return value is stored as an HDF5 dataset, and how it is read back.

:func:`hdf5_form` turns a value into a :class:`Form` (data, dtype, attributes) or
raises :class:`NotStorable` when HDF5 cannot hold it exactly; :func:`read_value`
undoes it. ACME's shapes come first: a scalar among scalars is a ``(1,)`` dataset,
strings are variable-length UTF-8. What HDF5 cannot say (that ``[18]`` was the
Python int ``18``, that these bytes were a ``str``) is kept in one small attribute,
``acme_like``; files without it, such as ACME's, read back as they are stored.
The values table of the docs lists every kind. No files are opened here; no dask.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

import h5py
import numpy as np

#: The attribute that says what HDF5 cannot: the Python kind of the stored value.
MARK = "acme_like"
#: The mask of a masked array (with ``fill_value``) travels as attributes, which the
#: object header holds only up to 64 KiB; larger masked arrays are pickled.
MAX_MASK_ELEMENTS = 16_384
_NUMERIC_KINDS = "biufc"
_PY_SCALARS = {bool: "bool", int: "int", float: "float", complex: "complex"}
#: Python ints that float64 holds exactly.
_EXACT_INT = 2**53


class NotStorable(Exception):
    """A value has no exact HDF5 form; the call's result goes to a pickle."""


@dataclass(frozen=True, slots=True)
class Form:
    """What ``create_dataset(name, data=data, dtype=dtype)`` plus ``attrs`` stores."""

    data: Any
    dtype: Any = None
    attrs: tuple[tuple[str, Any], ...] = ()


def is_acme_scalar(value: Any) -> bool:
    """A number or a string: ACME stores a return value of only these as ``(1,)`` datasets."""
    if isinstance(value, (np.ndarray, bytes, np.bytes_, np.void)):
        return False
    return isinstance(value, (numbers.Number, str, np.bool_))


def hdf5_form(value: Any, row: bool = False) -> Form:
    """The exact HDF5 form of ``value``; ``row`` stores a scalar as ACME's ``(1,)`` dataset."""
    if value is None:
        return Form(h5py.Empty("i1"))
    if isinstance(value, str):
        return _str_form(value, row)
    if isinstance(value, (bytes, np.bytes_)) and not isinstance(value, np.ndarray):
        return _bytes_form(bytes(value))
    kind = _PY_SCALARS.get(type(value))
    if kind is not None:
        array = np.asarray(value)
        if array.dtype.kind not in _NUMERIC_KINDS:  # an int beyond 64 bits
            raise NotStorable(f"the int {value} is beyond 64 bits")
        return Form(array.reshape(1) if row else array, None, ((MARK, kind),))
    if isinstance(value, np.generic):
        array = np.asarray(value)
        return Form(_array_data(array.reshape(1) if row else array), None, ((MARK, "numpy"),))
    if isinstance(value, np.ma.MaskedArray):
        return _masked_form(value)
    if isinstance(value, np.ndarray):
        mark = "matrix" if isinstance(value, np.matrix) else "array" if value.ndim == 0 else None
        data, dtype = _array_form(np.asarray(value))
        return Form(data, dtype, () if mark is None else ((MARK, mark),))
    if isinstance(value, (list, tuple)):
        return _sequence_form(value)
    raise NotStorable(type(value).__name__)


def _str_form(value: str, row: bool) -> Form:
    try:
        if "\x00" in value:
            raise UnicodeError
        value.encode("utf-8")
    except UnicodeError:  # NUL or a lone surrogate: variable-length UTF-8 cannot hold it
        raw = np.void(value.encode("utf-8", "surrogatepass"))
        return Form(np.array([raw]) if row else raw, None, ((MARK, "str"),))
    data = np.array([value], dtype=object) if row else value
    return Form(data, h5py.string_dtype(), ((MARK, "str"),))


def _bytes_form(value: bytes) -> Form:
    if value.endswith(b"\x00"):  # a fixed-length string drops trailing NULs; opaque bytes keep them
        return Form(np.void(value), None, ((MARK, "bytes"),))
    return Form(np.bytes_(value), None, ((MARK, "bytes"),))


def _array_data(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind in "mM":  # datetime64/timedelta64: h5py's tagged opaque type reads back as such
        return array.astype(h5py.opaque_dtype(array.dtype))
    return array


def _array_form(array: np.ndarray) -> tuple[Any, Any]:
    kind = array.dtype.kind
    if kind == "U":
        return array.astype(object), h5py.string_dtype()
    if kind in _NUMERIC_KINDS or kind in "SmM":
        return _array_data(array), None
    if kind == "V" and array.dtype.names is not None:
        return array, None  # structured: h5py maps it to a compound type, or raises TypeError
    raise NotStorable(f"values of dtype {array.dtype}")


def _masked_form(value: np.ma.MaskedArray) -> Form:
    if value.size > MAX_MASK_ELEMENTS:
        raise NotStorable("a masked array too large for its mask attribute")
    data, dtype = _array_form(np.asarray(value.data))
    if dtype is not None:
        raise NotStorable("a masked array of strings")
    fill = np.asarray(value.fill_value, dtype=value.dtype)
    return Form(data, None, ((MARK, "masked"), ("mask", np.ma.getmaskarray(value)), ("fill_value", fill)))


def _sequence_form(value: list | tuple) -> Form:
    """A list (or a tuple inside the returned tuple) of scalars, strings, or same-shaped arrays."""
    items = list(value)
    if items and all(type(item) is np.ndarray for item in items):
        first = items[0]
        if any(item.shape != first.shape or item.dtype != first.dtype for item in items):
            raise NotStorable("a list of arrays of different shapes or dtypes")
        data, dtype = _array_form(np.stack(items))
        return Form(data, dtype, ((MARK, "arrays"),))
    _check_leaves(items, nested_ok=isinstance(value, list))
    try:
        array = np.asarray(items)
    except ValueError:  # ragged nesting such as [[1, 2], [3]]
        raise NotStorable("a ragged list") from None
    if array.dtype.kind == "U":
        if not _all_leaves(items, str):
            raise NotStorable("a list mixing strings and other values")
        if not _all_leaves(items, _without_nul):  # numpy's fixed-width strings drop trailing NULs
            raise NotStorable("a list of strings holding NUL characters")
    elif array.dtype.kind == "S":
        raise NotStorable("a list of bytes")  # fixed-length bytes lose trailing NULs
    data, dtype = _array_form(array)
    return Form(data, dtype, ((MARK, "list" if isinstance(value, list) else "tuple"),))


def _check_leaves(items: list, nested_ok: bool) -> None:
    for item in items:
        if isinstance(item, list) and nested_ok:
            _check_leaves(item, nested_ok)
        elif isinstance(item, bool) or type(item) in (float, complex, str):
            continue
        elif type(item) is int:
            if abs(item) > _EXACT_INT:
                raise NotStorable("a list with an int float64 cannot hold exactly")
        else:
            raise NotStorable(f"a list holding {type(item).__name__}")


def _all_leaves(items: list, kind: type | Callable[[Any], bool]) -> bool:
    """Whether every leaf of the nested list is of type ``kind`` (or passes the test ``kind``)."""
    test = (lambda item: isinstance(item, kind)) if isinstance(kind, type) else kind
    return all(_all_leaves(i, kind) if isinstance(i, list) else test(i) for i in items)


def _without_nul(item: Any) -> bool:
    return "\x00" not in item


def read_value(dataset: h5py.Dataset) -> Any:
    """The value a dataset written from :func:`hdf5_form` holds; unmarked datasets as stored."""
    if dataset.shape is None:  # an HDF5 null dataspace: the call returned None
        return None
    mark = dataset.attrs.get(MARK)
    if isinstance(mark, bytes):
        mark = mark.decode()
    if mark is None:
        return _stored(dataset)
    if mark == "masked":
        return np.ma.MaskedArray(dataset[()], mask=dataset.attrs["mask"], fill_value=dataset.attrs["fill_value"])
    if mark == "array" and h5py.check_string_dtype(dataset.dtype) is None:
        return dataset[...]  # a 0-d array in the stored byte order, not a scalar
    data = _stored(dataset)
    if mark in ("list", "tuple", "arrays"):
        items = data.tolist() if mark != "arrays" else list(data)
        return tuple(items) if mark == "tuple" else items
    if mark == "matrix":
        return np.asmatrix(data)
    if mark == "array":
        return np.asarray(data)
    if isinstance(data, np.ndarray) and data.shape == (1,):
        data = data[0]  # ACME's (1,) form of a scalar
    if mark == "str":
        return data.tobytes().decode("utf-8", "surrogatepass") if isinstance(data, np.void) else str(data)
    if mark == "bytes":
        return data.tobytes() if isinstance(data, np.void) else bytes(data)
    if mark == "numpy":
        return data
    kind = {v: k for k, v in _PY_SCALARS.items()}.get(mark)
    return kind(data) if kind is not None else data


def _stored(dataset: h5py.Dataset) -> Any:
    if h5py.check_string_dtype(dataset.dtype) is not None and dataset.dtype.kind == "O":
        data = dataset.asstr()[()]
        return data if isinstance(data, str) else np.asarray(data, dtype=object)
    return dataset[()]
