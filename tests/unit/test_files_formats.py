"""The shared writers and formatters: a file is whole or untouched, a figure reads the same everywhere."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from arb.files import atomic_writer, write_atomic
from arb.formats import iso_ns, json_float, jsonable, money, num, pct


def test_an_atomic_write_replaces_the_file_whole_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "report.json"
    write_atomic(path, "first")
    assert path.read_text() == "first"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(RuntimeError), atomic_writer(path) as f:
        f.write(b"half of the second")
        raise RuntimeError("the writer failed midway")
    assert path.read_text() == "first"  # untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]  # no temporary file left
    write_atomic(path, b"second", sync=False)
    assert path.read_bytes() == b"second"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclasses.dataclass
class _Row:
    path: Path
    values: np.ndarray


class _Secret:
    def redacted(self) -> str:
        return "${API_KEY}"


def test_jsonable_gives_what_json_writes_with_no_nan_and_no_secret() -> None:
    data = {
        1: np.int64(3),
        "f": np.float32(0.5),
        "nan": math.nan,
        "inf": np.float64("inf"),
        "flag": np.bool_(True),
        "row": _Row(Path("/a/b"), np.array([1.0, np.nan])),
        "secret": _Secret(),
        "items": (1, {2}),
    }
    out = jsonable(data)
    assert out == {
        "1": 3,
        "f": 0.5,
        "nan": None,
        "inf": None,
        "flag": True,
        "row": {"path": "/a/b", "values": [1.0, None]},
        "secret": "${API_KEY}",
        "items": [1, [2]],
    }
    json.dumps(out, allow_nan=False)  # writes


@pytest.mark.parametrize(
    ("value", "args", "text"),
    [
        (1234.5, {}, "1,234.500"),
        (None, {}, "n/a"),
        (math.nan, {}, "n/a"),
        (0.0000042, {}, "4.2e-06"),
        (0.0, {}, "0.000"),
        (2.5, {"digits": 1, "sign": True}, "+2.5"),
        (1234.5, {"digits": 2, "sign": True, "grouping": False}, "+1234.50"),  # an alert's money
        (0.006, {"digits": 2}, "0.01"),  # rounds to a figure: shown as it rounds
        (0.006, {"digits": 2, "small": 0.01}, "0.006"),  # below one cent: two significant digits
        (0.0000042, {"small": 0}, "0.000"),  # never two significant digits (a page's plain figure)
        (-0.00001, {"digits": 4}, "-1e-05"),
    ],
)
def test_num(value: float | None, args: dict[str, object], text: str) -> None:
    assert num(value, **args) == text  # type: ignore[arg-type]


def test_money_names_its_currency_only_beside_a_figure() -> None:
    assert money(1234.567, "USDT") == "1,234.57 USDT"
    assert money(-0.004, "USDT", sign=True) == "-0.004 USDT"
    assert money(None, "USDT") == "n/a"
    assert money(3.0) == "3.00"


def test_pct_writes_a_fraction_as_the_table_and_the_account_line_do() -> None:
    assert pct(12 / 13) == "92.31%"
    assert pct(0.000037) == "0.0037%"  # not "0.00%"
    assert pct(0.0) == "0.00%"
    assert pct(None) == pct(math.nan) == "n/a"
    assert pct(0.000037, 4, small=0) == "0.0037%"
    assert pct(1e-9, 4, small=0) == "0.0000%"


def test_json_float_and_a_default_for_what_json_cannot_write() -> None:
    assert json_float(np.float32(0.5)) == 0.5 and json_float(3) == 3.0 and isinstance(json_float(3), float)
    assert json_float(math.inf) is None and json_float(np.float64("nan")) is None

    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    thing = Opaque()
    assert jsonable({"a": [thing]}) == {"a": [thing]}  # returned as it is
    assert jsonable({"a": [thing], "b": math.nan}, default=str) == {"a": ["opaque"], "b": None}


def test_iso_ns_writes_times_to_the_nanosecond() -> None:
    ts = np.array([1_723_075_201_250_000_000, 1_723_075_201_250_000_001], np.int64)
    assert iso_ns(ts) == ["2024-08-08T00:00:01.250000000Z", "2024-08-08T00:00:01.250000001Z"]
