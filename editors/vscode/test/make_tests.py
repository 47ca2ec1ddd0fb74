"""Writes the grammar assertion files (test/*.test.grid) for vscode-tmgrammar-test.

Each case is a source line plus (substring, scope) pairs; the assertion line puts `^` under
the substring, so columns are computed rather than counted by hand. Examples are copied
from ../../examples with assertions after chosen lines. Run: python3 test/make_tests.py
"""
import pathlib

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent.parent


def assertion(line, sub, scope, nth=0):
    col = -1
    for _ in range(nth + 1):
        col = line.index(sub, col + 1)
    if col < 2:
        # `// <---` form for the first columns.
        return "// " + "<" + "-" * (col + len(sub) - 1) + " " + scope if col == 0 else None
    return "//" + " " * (col - 2) + "^" * len(sub) + " " + scope


def render(title, cases):
    out = [f'// SYNTAX TEST "source.grid" "{title}"']
    for line, checks in cases:
        out.append(line)
        for c in checks:
            sub, scope = c[0], c[1]
            nth = c[2] if len(c) > 2 else 0
            a = assertion(line, sub, scope, nth)
            if a:
                out.append(a)
    return "\n".join(out) + "\n"


tricky = [
    ("gridc 0.1", [("gridc", "keyword.control.grid"), ("0.1", "constant.numeric.grid")]),
    ("  battery store { capacity 10kWh; power 5 kW; efficiency 95%; soc 0.1..0.95 }", [
        ("battery", "keyword.other.grid"), ("store", "entity.name.variable.grid"),
        ("10", "constant.numeric.grid"), ("kWh", "keyword.other.unit.grid"),
        ("5", "constant.numeric.grid"), ("kW", "keyword.other.unit.grid", 1),
        ("95", "constant.numeric.grid"), ("%", "keyword.other.unit.grid"),
        ("0.1", "constant.numeric.grid"), ("..", "keyword.operator.range.grid"), ("0.95", "constant.numeric.grid")]),
    ("  export 0.05 $/kWh", [("export", "keyword.other.grid"), ("$/kWh", "keyword.other.unit.grid")]),
    ("profile sun = csv(\"a // b.csv\", column: \"kw\", unit: kW/kWp)  // trailing", [
        ("profile", "keyword.control.grid"), ("sun", "entity.name.type.grid"),
        ("\"a // b.csv\"", "string.quoted.double.grid"), ("kW/kWp", "keyword.other.unit.grid"),
        ("// trailing", "comment.line.double-slash.grid")]),
    ("  train days 2023-01-01..2023-10-31", [
        ("train", "keyword.other.grid"), ("2023-01-01", "constant.other.date.grid"),
        ("..", "keyword.operator.range.grid"), ("2023-10-31", "constant.other.date.grid")]),
    ("  import schedule { 00:00..16:00 => 0.15 $/kWh }", [
        ("00:00", "constant.other.time.grid"), ("16:00", "constant.other.time.grid"),
        ("=>", "keyword.operator.arrow.grid"), ("$/kWh", "keyword.other.unit.grid")]),
    ("  budget 200k steps", [("200", "constant.numeric.grid"), ("k", "constant.numeric.magnitude.grid"), ("steps", "keyword.other.unit.grid")]),
    ("  household h[16] on street (annual: uniform(3000 kWh, 6000 kWh), seed: 7)", [
        ("household", "entity.name.type.grid"), ("h", "entity.name.variable.grid", 2),
        ("on", "keyword.other.grid"), ("uniform", "support.function.grid")]),
    ("  social = -cost(town) / count(household) @", [
        ("cost", "support.function.grid"), ("count", "support.function.grid"), ("@", "invalid.illegal.grid")]),
    ("/* block", [("/* block", "comment.block.grid")]),
    ("   still comment */", [("still comment */", "comment.block.grid")]),
]

(HERE / "tricky.test.grid").write_text(render("tricky cases", tricky))

# Examples: the whole file, with assertions after lines that contain known tokens.
CHECKS = [
    ("gridc", "keyword.control.grid"), ("import", "keyword.control.grid"), ("tariff", "keyword.control.grid"),
    ("template", "keyword.control.grid"), ("network", "keyword.control.grid"), ("agents", "keyword.control.grid"),
    ("reward", "keyword.control.grid"), ("experiment", "keyword.control.grid"), ("kWh", "keyword.other.unit.grid"),
    ("2023-01-01", "constant.other.date.grid"), ("16:00", "constant.other.time.grid"), ("//", "comment.line.double-slash.grid"),
]
for ex in sorted((ROOT / "examples").glob("*.grid")):
    cases = []
    for line in ex.read_text().splitlines():
        checks = []
        for sub, scope in CHECKS:
            keyword = scope == "keyword.control.grid"
            if keyword and not line.strip().startswith(sub):
                continue
            if sub in line and not (sub != "//" and "//" in line and line.index(sub) > line.index("//")):
                if sub == "kWh" and ("$/kWh" in line or "kWh/" in line):
                    continue
                checks.append((sub, scope))
                break
        cases.append((line, checks))
    (HERE / f"{ex.stem}.test.grid").write_text(render(ex.name, cases))
print("written")
