//! Every diagnostic code with its title and long explanation (`gridc explain G0007`).
//! docs/diagnostics.md is checked against this table by a test.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub u16);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "G{:04}", self.0)
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl Code {
    pub fn parse(text: &str) -> Option<Code> {
        let digits = text.trim().trim_start_matches(['G', 'g']);
        let n: u16 = digits.parse().ok()?;
        CODES.iter().find(|c| c.code.0 == n).map(|c| c.code)
    }
    pub fn info(self) -> &'static CodeInfo {
        CODES
            .iter()
            .find(|c| c.code == self)
            .expect("every Code constant has a CODES entry (tested)")
    }
}

pub struct CodeInfo {
    pub code: Code,
    pub title: &'static str,
    pub explanation: &'static str,
}

macro_rules! codes {
    ($( $name:ident = $n:literal, $title:literal, $expl:literal; )*) => {
        $( pub const $name: Code = Code($n); )*
        pub static CODES: &[CodeInfo] = &[
            $( CodeInfo { code: Code($n), title: $title, explanation: $expl }, )*
        ];
    };
}

codes! {
    SYNTAX = 1, "syntax error",
"The text does not follow the grammar of the `.grid` language at the marked place.
The message says what the parser expected there, punctuation included: a missing `,`
between two observations or a missing `;` between two schedule slots is reported at the
entry that follows, with \"is a `,` missing?\". Every top-level item (`profile`,
`tariff`, `template`, `network`, `agents`, `reward`, `experiment`, `import`) is parsed on
its own, so an error in one item does not hide errors in the next.

    battery store { capacity 10 kWh power }   // `power` needs a value
";
    UNKNOWN_UNIT = 2, "unknown unit",
"A number is followed by a word that is not a unit gridc knows. Units are case-sensitive:
`kWh`, not `kwh`. Known units: W kW MW GW, Wh kWh MWh GWh, Wp kWp MWp, $ ct, kg g,
s min h d, steps, %. Compose them with `/` and `*`: `$/kWh`, `kW/kWp`, `kg/kWh`.
Money has one unit whatever the currency, `$` (or `ct`): `0.05 €/kWh` and `0.05 EUR/kWh`
are reported as an unknown currency. Spelled-out units (`24 hours`, `15 minutes`) are
named with gridc's spelling (`24 h`, `15 min`).

    capacity 10 kwh     // write `10 kWh`
    export 0.05 €/kWh   // write `0.05 $/kWh`
";
    VERSION = 3, "missing or unsupported version header",
"Every `.grid` file starts with the language version it was written for, `gridc 0.1`.
The header lets future versions of gridc read old files correctly.

    gridc 0.1
";
    TOO_DEEP = 4, "nesting too deep",
"Parentheses, brackets or braces are nested deeper than gridc accepts (64 levels). This
limit keeps the parser's stack bounded on machine-generated input; real scenarios never
need it. Flatten the expression or name intermediate profiles.
";
    NOT_UTF8 = 5, "file is not UTF-8 text",
"gridc reads `.grid` files and CSV profiles as UTF-8. The marked byte is not valid UTF-8;
re-save the file with UTF-8 encoding.
";
    UNDEFINED = 6, "undefined name",
"The name is not defined in this file, nor in an imported module. Names from `import \"std\"`
are written with their prefix (`std.load.h25`). The help line suggests a close name when
there is one, or lists what the module offers under the prefix (`std.pv.` offers
`greensboro`, `miami`, `sand_point`).

    profile house = std.load.h52   // did you mean `std.load.h25`?
";
    DUPLICATE = 7, "duplicate definition",
"Two definitions in the same scope have the same name: profiles, tariffs and templates
share one namespace per file; buses, feeders and household arrays share the network's
namespace; parameters, assets, properties, settings and observations must be unique in
their block. Both places are shown; rename or delete one.

    profile pv = csv(\"a.csv\", column: \"kw\", unit: kW)
    profile pv = csv(\"b.csv\", column: \"kw\", unit: kW)   // duplicate `pv`
";
    WRONG_KIND = 8, "wrong kind of name",
"The name exists but refers to a different kind of thing than this place needs, for
example a tariff where a template is expected, or a bus where a feeder is expected.

    tou h[4] on street     // `tou` is a tariff, not a template
";
    UNIT_MISMATCH = 9, "unit mismatch",
"Every quantity carries a physical dimension, and gridc checks them everywhere: a battery
capacity is energy (kWh), a power limit is power (kW), a price is money per energy ($/kWh).
Products and quotients combine dimensions (kW * h = kWh, $/kWh * kWh = $,
kWp * kW/kWp = kW); sums need equal dimensions. The message says what was expected and what
was found, and the help suggests a fix.

    capacity 10 kW      // expected energy (kWh), found power (kW): did you mean `10 kWh`?
";
    OUT_OF_RANGE = 10, "value out of range",
"The value has the right unit but is physically or logically impossible: an efficiency
must lie in (0, 1]; state-of-charge bounds in [0, 1] with min <= max and the start inside;
feeder limits must be positive; capacities, powers, penalties and rates non-negative (a 0 kWh
battery is a household without storage); counts are positive whole numbers; the reward mix
lies in [0, 1].
";
    BAD_DATE = 11, "invalid date or clock time",
"Dates are written `YYYY-MM-DD` and must exist in the calendar (2023-02-29 does not). Clock
times are `HH:MM` with HH in 0..24 and MM in 0..60; `24:00` is allowed as the end of a
day. A date range `a..b` needs a <= b.
";
    DAYS_OVERLAP = 12, "train and test days overlap",
"An experiment evaluates on held-out days: no day may be both a training and a test day,
no training episode may run into a test day (a 7-day episode starting on the last training
day covers the 6 days after it; validation episodes of model selection are training days
too), and every day must lie inside the year the profiles cover. The message names the
first shared day.

    episode 7 d
    train days 2023-01-01..2023-10-31   // episodes starting after 10-25 reach 11-01
    test days 2023-11-01..2023-12-31
";
    SCHEDULE = 13, "schedule does not cover the day",
"A time-of-use schedule assigns one price to every moment of the day: its slots must not
overlap and together must cover 00:00..24:00 without gaps.

    import schedule { 00:00..16:00 => 0.15 $/kWh; 16:00..24:00 => 0.30 $/kWh }
";
    UNKNOWN_ARGUMENT = 14, "unknown argument",
"An argument names a parameter that the template (or function, or option list) does not
declare. The help lists the declared parameters.
";
    MISSING_ARGUMENT = 15, "missing argument",
"A template parameter without a default value must be given an argument at every
instance, and functions need all their arguments.
";
    FEEDER_ASSIGNMENT = 16, "household not on exactly one feeder",
"Each household (or household array) is connected at exactly one feeder: `on street`. A
list of several feeders, or a bus where a feeder is expected, is rejected.
";
    UNREACHABLE = 17, "island in the network",
"Every bus and feeder must be connected to the root bus (the bus no feeder leads to) so
power can flow to the grid. The network graph has parts that are not connected to it, or
more than one root.
";
    CYCLE = 18, "cycle in a radial network",
"Distribution feeders in gridc are radial: exactly one path leads from every point to the
root bus. The marked feeders close a loop. Remove one of them or change its `to` bus.
";
    NETWORK = 19, "network structure",
"A scenario has exactly one `network` with at least one bus, one feeder and one
household; a feeder starts at a bus (`from`) and may end at another bus (`to`).
";
    IO = 20, "cannot read file",
"A file named by an `import` or a `csv(...)` profile cannot be read. Relative paths are
resolved against the directory of the file that names them.
";
    CSV_COLUMN = 21, "column not in CSV file",
"The `column:` option names a column that is not in the CSV header. The help lists the
columns the file has.
";
    CSV_VALUE = 22, "bad value in CSV file",
"A cell of the profile column is empty, not a number, NaN or infinite. The message gives
the file and line. Fill or remove the row.
";
    PROFILE_LENGTH = 23, "profile length does not fit its resolution",
"A profile must cover a whole number of days: rows * resolution must be a multiple of 24 h
(8760 hourly rows = 365 days; 96 rows at 15 min = 1 day). The declared `resolution:` must
divide a day. With `wrap: true` a profile shorter than the simulated period repeats.
";
    NEGATIVE_PV = 24, "negative PV or load",
"Solar generation and loads are non-negative powers; a negative value in a PV or load
profile (at the given file and line) is almost always a sign or column error. Model export
or generation with the proper asset instead.
";
    PROFILE_TOO_SHORT = 25, "profile ends before the simulated days",
"An experiment uses days that lie beyond the end of a profile that does not wrap. Extend
the data, set `wrap: true` on the profile, or choose earlier days.
";
    IMPORT = 26, "import error",
"An `import` names a module that does not exist, imports itself (directly or through
others), or defines things only a main scenario may define (`network`, `agents`,
`reward`, `experiment`). Modules provide profiles, tariffs and templates.
";
    UNKNOWN_PROPERTY = 27, "unknown property",
"The block does not have a property or option of this name. The help lists the valid ones.

    battery store { capcity 10 kWh }   // did you mean `capacity`?
";
    MISSING_PROPERTY = 28, "missing property",
"A required property is missing: a battery needs `capacity` and `power`; a feeder needs a
`limit`; a tariff needs an `import` price; an experiment needs `train days` and
`test days`.
";
    AGENTS = 29, "invalid agent declaration",
"The `agents` block names what agents control and observe. A control is a battery
property of the template (`store.power`) with bounds `in -1..1` (a fraction of rated
power); an observation is one of the features listed in docs/language.md (time.hour,
price.import.next(6h), self.<asset>, <feeder>.flow.last, ...).
";
    COMMUNICATION = 30, "invalid communication channel",
"`communicate` takes `none`, `broadcast(k)` or `neighbours(k)` with 1 <= k <= 64 message
values per agent and step.
";
    REWARD = 31, "invalid reward",
"The reward block binds `mix` (a number in [0, 1]), `individual` and `social` (money
amounts per step, e.g. `-bill(self)` and `-cost(town) / count(household)`). Only the
functions bill(self), cost(<network>), peak(<network>) and count(<template>) exist there.
";
    EXPERIMENT = 32, "invalid experiment setting",
"An experiment names algorithms (mappo, ippo, maddpg), baselines (no_battery, greedy,
tou_rule), an optimum (lp, none), a positive number of seeds, a budget in steps, a step
that divides the episode, an episode that is a whole number of hours and at most 7 days.
";
    SWEEP = 33, "invalid sweep",
"A sweep axis names a path that can vary (`households`, `reward.mix`, `communicate`,
`seeds`, `budget`, `<template>.<param>`, `<feeder>.limit`) and a non-empty list of values
that each check as that path's value would.
";
    OVERRIDE = 34, "invalid --set override",
"`--set path=value` replaces a value of the scenario before checking, with the same checks
as the file (units included). Paths are the sweep paths plus `experiment.<setting>` and
`<template>.<param>` (the parameter default).

    gridc check community16.grid --set reward.mix=0.25 --set street.limit=30kW
";
    UNSUPPORTED = 35, "unsupported expression",
"The expression is well-typed but gridc cannot represent it: a profile may be scaled by a
number and added to profiles of the same unit, but two profiles cannot be multiplied or
divided, and a profile cannot be divided by a quantity that is itself a profile.
";
    SAMPLING = 36, "invalid sampled parameter",
"Array instances can draw per-instance values: `uniform(a, b)` with a <= b, `normal(mean,
sd)` with sd >= 0, `choice(x, y, ...)` with at least one value, all in the parameter's unit.
The `seed:` argument makes the draws reproducible. A drawn value must also pass the checks
of the place it is used (e.g. a negative consumption from a wide normal).
";
    MISSING_ITEM = 37, "missing item",
"A scenario needs a `network`, an `agents` block, a `reward` and at least one
`experiment` to be checked as a whole; modules imported by it may contain only
definitions.
";
    ARITY = 38, "wrong number of arguments",
"The function takes a different number of arguments. `uniform(a, b)`, `normal(mean, sd)`,
`choice(x, ...)`, `bill(self)`, `cost(network)`, `count(template)`.
";
    UNUSED = 39, "unused definition",
"A profile, tariff or template of the main file is never used. This is a warning: the
scenario still checks.
";
    NUMBER = 40, "number cannot be represented",
"The number is too large (or has too many digits) to be represented as a 64-bit float, or
a count is not a whole number.
";
    SIMULATION = 41, "cannot simulate this scenario",
"The scenario is well-formed, but the simulator cannot run it as asked: a template has
more than one battery (the simulator models one per household), no household has a battery
to control, or `--days` names days outside the experiment's year or the profiles' data.

    battery store { capacity 10 kWh; power 5 kW }
    battery spare { capacity 5 kWh; power 2 kW }    // one battery per household
";
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn codes_are_unique_and_dense() {
        for (i, c) in CODES.iter().enumerate() {
            assert_eq!(
                c.code.0 as usize,
                i + 1,
                "codes are numbered 1, 2, ... in order"
            );
            assert!(!c.explanation.trim().is_empty());
        }
        assert_eq!(Code::parse("G0007"), Some(DUPLICATE));
        assert_eq!(Code::parse("g7"), Some(DUPLICATE));
        assert_eq!(Code::parse("G9999"), None);
    }
}
