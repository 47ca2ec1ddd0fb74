//! The standard library (`stdlib/std.grid` and its data files), embedded in
//! the binary so that `gridc` works from any directory.
//!
//! The CSV files are produced by `stdlib/convert.py`; see `stdlib/data/README.md`
//! for their provenance.

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        /// (path relative to `stdlib/`, contents), in a fixed order.
        const FILES: &[(&str, &str)] = &[
            $(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/", $path)))),*
        ];
        const PATHS: &[&str] = &[$($path),*];
    };
}

embed!(
    "std.grid",
    "data/pv_greensboro_nc.csv",
    "data/pv_miami_fl.csv",
    "data/pv_sand_point_ak.csv",
    "data/load_h25.csv",
    "data/load_g25.csv",
    "data/load_l25.csv",
);

/// The embedded standard library: `std.grid` and its data files, by path relative to stdlib/.
///
/// Paths use `/` and may start with `./` (e.g. `"data/load_h25.csv"` or
/// `"./data/load_h25.csv"`); anything else not listed in [`stdlib_paths`] gives `None`.
pub fn stdlib_file(path: &str) -> Option<&'static str> {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    FILES
        .iter()
        .find(|(name, _)| *name == p)
        .map(|(_, text)| *text)
}

/// All embedded paths (for listing/tests).
pub fn stdlib_paths() -> &'static [&'static str] {
    PATHS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_path_resolves() {
        assert_eq!(stdlib_paths().len(), 7);
        for p in stdlib_paths() {
            assert!(stdlib_file(p).is_some(), "{p}");
            assert_eq!(stdlib_file(&format!("./{p}")), stdlib_file(p), "{p}");
        }
        assert!(stdlib_file("std.grid").is_some());
    }

    #[test]
    fn unknown_paths_are_none() {
        for p in [
            "",
            ".",
            "data",
            "data/",
            "README.md",
            "data/README.md",
            "data/make_data.py",
            "/data/load_h25.csv",
            "stdlib/data/load_h25.csv",
            "data/LOAD_H25.csv",
            "data\\load_h25.csv",
            "../stdlib/std.grid",
        ] {
            assert_eq!(stdlib_file(p), None, "{p}");
        }
    }

    #[test]
    fn data_files_have_expected_shape() {
        for p in stdlib_paths().iter().filter(|p| p.ends_with(".csv")) {
            let text = stdlib_file(p).unwrap();
            let header = text.lines().next().unwrap();
            let expected = if p.starts_with("data/pv_") {
                "hour,ac_kw_per_kwp"
            } else {
                "hour,kw"
            };
            assert_eq!(header, expected, "{p}");
            assert_eq!(text.lines().count(), 8761, "{p}");
            assert!(text.ends_with('\n') && !text.contains('\r'), "{p}");
        }
    }
}
