#!/usr/bin/env python3
"""Derive gridc's embedded standard-library data from the upstream input data.

Reads the six 8760-row CSVs made by ``make_data.py`` (default source directory
``../shared/data`` relative to the repository root, i.e. the parent of this
``stdlib/`` folder) and writes into ``stdlib/data/``:

* ``pv_greensboro_nc.csv``, ``pv_miami_fl.csv``, ``pv_sand_point_ak.csv``
  with columns ``hour,ac_kw_per_kwp``;
* ``load_h25.csv``, ``load_g25.csv``, ``load_l25.csv`` with columns ``hour,kw``;
* ``README.md``: a short header on how these files were derived, followed by the
  full upstream ``README.md``;
* ``make_data.py``: the upstream provenance script, copied unchanged.

Values are copied as text, byte for byte; only the other columns are dropped.
Line endings are ``\\n``. Before writing, every file is validated: 8760 rows,
hours 0..8759 in order, no empty or non-finite cells, PV values in [0, 1], and
each load profile sums to 1000 kWh (+- 1e-6, summed exactly with ``decimal``).

Usage (Python 3 standard library only):

    python3 stdlib/convert.py                # (re)write stdlib/data/
    python3 stdlib/convert.py --src DIR      # read the upstream CSVs from DIR
    python3 stdlib/convert.py --check        # exit 1 if stdlib/data/ differs

Exit status: 0 success, 1 ``--check`` found a difference or validation failed,
2 usage error or missing source file.
"""
import argparse
import csv
import io
import math
import os
import sys
from decimal import Decimal, InvalidOperation

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
DEFAULT_SRC = os.path.join(REPO_ROOT, "..", "shared", "data")
OUT_DIR = os.path.join(HERE, "data")

ROWS = 8760
LOAD_TOTAL_KWH = Decimal(1000)
LOAD_TOLERANCE = Decimal("1e-6")

# (file name, value column kept, kind)
TABLES = [
    ("pv_greensboro_nc.csv", "ac_kw_per_kwp", "pv"),
    ("pv_miami_fl.csv", "ac_kw_per_kwp", "pv"),
    ("pv_sand_point_ak.csv", "ac_kw_per_kwp", "pv"),
    ("load_h25.csv", "kw", "load"),
    ("load_g25.csv", "kw", "load"),
    ("load_l25.csv", "kw", "load"),
]

README_HEADER = """\
# gridc standard-library data

The six CSV files in this folder are derived from the upstream input data in
`../shared/data` (relative to the repository root) by `stdlib/convert.py`:

| file | columns kept | upstream file (columns dropped) |
|---|---|---|
| `pv_greensboro_nc.csv` | `hour,ac_kw_per_kwp` | same name (`temp_air_c`, `ghi_w_m2`) |
| `pv_miami_fl.csv` | `hour,ac_kw_per_kwp` | same name (`temp_air_c`, `ghi_w_m2`) |
| `pv_sand_point_ak.csv` | `hour,ac_kw_per_kwp` | same name (`temp_air_c`, `ghi_w_m2`) |
| `load_h25.csv` | `hour,kw` | same name (none) |
| `load_g25.csv` | `hour,kw` | same name (none) |
| `load_l25.csv` | `hour,kw` | same name (none) |

The values are copied as text, byte for byte; nothing is recomputed or re-rounded.
Line endings are `\\n`. `convert.py` checks that every file has 8760 rows with
hours 0..8759 in order, no empty, NaN or infinite cells, PV values in [0, 1],
and load values summing to 1000 kWh (within 1e-6). `python3 stdlib/convert.py --check`
confirms that the files here are exactly what the script would write.

`make_data.py` next to this file is the upstream script that produced the original
CSVs, copied unchanged. Its paths and commands refer to the upstream folder.
Everything below the line is the upstream `README.md`, copied unchanged.

---

"""


class ValidationError(Exception):
    pass


def read_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValidationError(f"{path}: not valid UTF-8: {e}") from None


def convert_table(src_path, column, kind):
    """Return (output text, stats dict) for one upstream CSV."""
    text = read_text(src_path)
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # Drop blank trailing lines only.
    while rows and rows[-1] == []:
        rows.pop()
    if not rows:
        raise ValidationError(f"{src_path}: empty file")
    header = [h.strip() for h in rows[0]]
    for needed in ("hour", column):
        if needed not in header:
            raise ValidationError(f"{src_path}: no column {needed!r} in header {header}")
    hi, vi = header.index("hour"), header.index(column)
    body = rows[1:]
    if len(body) != ROWS:
        raise ValidationError(f"{src_path}: {len(body)} data rows, expected {ROWS}")

    out = [f"hour,{column}"]
    total = Decimal(0)
    vmin = vmax = None
    nonzero = 0
    for i, row in enumerate(body):
        line = i + 2
        if len(row) != len(header):
            raise ValidationError(
                f"{src_path}:{line}: {len(row)} fields, header has {len(header)}")
        hour, value = row[hi], row[vi]
        if hour != str(i):
            raise ValidationError(f"{src_path}:{line}: hour {hour!r}, expected {i}")
        if value == "" or value != value.strip():
            raise ValidationError(f"{src_path}:{line}: empty or padded cell {value!r}")
        if any(c in value for c in ",\"\r\n"):
            raise ValidationError(f"{src_path}:{line}: cell needs quoting: {value!r}")
        try:
            x = float(value)
            d = Decimal(value)
        except (ValueError, InvalidOperation):
            raise ValidationError(f"{src_path}:{line}: not a number: {value!r}") from None
        if not math.isfinite(x) or not d.is_finite():
            raise ValidationError(f"{src_path}:{line}: not finite: {value!r}")
        if kind == "pv" and not (0.0 <= x <= 1.0):
            raise ValidationError(f"{src_path}:{line}: PV value {value} outside [0, 1]")
        if kind == "load" and x < 0.0:
            raise ValidationError(f"{src_path}:{line}: negative load {value}")
        total += d
        vmin = x if vmin is None else min(vmin, x)
        vmax = x if vmax is None else max(vmax, x)
        nonzero += x != 0.0
        out.append(f"{hour},{value}")
    if kind == "load" and abs(total - LOAD_TOTAL_KWH) > LOAD_TOLERANCE:
        raise ValidationError(
            f"{src_path}: load sums to {total} kWh, expected {LOAD_TOTAL_KWH} +- {LOAD_TOLERANCE}")
    stats = {"rows": len(body), "sum": total, "min": vmin, "max": vmax, "nonzero": nonzero}
    return "\n".join(out) + "\n", stats


def build_outputs(src):
    """Map output file name -> bytes, plus per-table stats."""
    outputs, stats = {}, {}
    for name, column, kind in TABLES:
        text, st = convert_table(os.path.join(src, name), column, kind)
        outputs[name] = text.encode("utf-8")
        stats[name] = st
    readme = read_text(os.path.join(src, "README.md"))
    outputs["README.md"] = (README_HEADER + readme).encode("utf-8")
    with open(os.path.join(src, "make_data.py"), "rb") as f:
        outputs["make_data.py"] = f.read()
    return outputs, stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default=DEFAULT_SRC,
                    help="directory with the upstream CSVs (default: ../shared/data "
                         "relative to the repository root)")
    ap.add_argument("--out", default=OUT_DIR, help=argparse.SUPPRESS)
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 unless stdlib/data/ already matches")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args(argv)

    src = os.path.normpath(args.src)
    if not os.path.isdir(src):
        print(f"convert.py: source directory not found: {src}", file=sys.stderr)
        return 2
    try:
        outputs, stats = build_outputs(src)
    except FileNotFoundError as e:
        print(f"convert.py: missing source file: {e.filename}", file=sys.stderr)
        return 2
    except ValidationError as e:
        print(f"convert.py: validation failed: {e}", file=sys.stderr)
        return 1

    if args.check:
        bad = []
        for name, data in outputs.items():
            path = os.path.join(args.out, name)
            try:
                with open(path, "rb") as f:
                    current = f.read()
            except FileNotFoundError:
                bad.append(f"{name}: missing")
                continue
            if current != data:
                bad.append(f"{name}: differs from what convert.py would write")
        if bad:
            for b in bad:
                print(f"convert.py --check: {b}", file=sys.stderr)
            print("run `python3 stdlib/convert.py` to regenerate", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"ok: {len(outputs)} files in {os.path.relpath(args.out)} are up to date")
        return 0

    os.makedirs(args.out, exist_ok=True)
    for name, data in outputs.items():
        path = os.path.join(args.out, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    if not args.quiet:
        for name, _, kind in TABLES:
            st = stats[name]
            print(f"{name}: {st['rows']} rows, sum {st['sum']}, min {st['min']}, "
                  f"max {st['max']}, nonzero {st['nonzero']}")
        print(f"wrote {len(outputs)} files to {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
