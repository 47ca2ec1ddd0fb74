//! The checker reads imports and CSV files only through the `FileReader` it is given, so
//! a scenario held in memory checks exactly like the same files on disk.

use gridc::check::{check_file, Options};
use gridc::files::{Disk, InMemory};
use std::path::Path;

fn scenario_json(c: &gridc::check::Checked) -> String {
    serde_json::to_string(c.scenario.as_ref().expect("valid scenario")).unwrap()
}

#[test]
fn in_memory_files_check_like_the_disk() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let memory = InMemory::new()
        .with(
            "mem/valid/imported_module.grid",
            read("valid/imported_module.grid"),
        )
        .with(
            "mem/data/common_module.grid",
            read("data/common_module.grid"),
        )
        .with(
            "mem/valid/csv_wrap_and_sweeps.grid",
            read("valid/csv_wrap_and_sweeps.grid"),
        )
        .with("mem/data/load_day.csv", read("data/load_day.csv"));
    for name in ["imported_module.grid", "csv_wrap_and_sweeps.grid"] {
        let from_memory = check_file(
            &memory,
            &Path::new("mem/valid").join(name),
            &Options::default(),
        );
        let from_disk = check_file(&Disk, &root.join("valid").join(name), &Options::default());
        assert!(
            !from_memory.has_errors(),
            "{name}: {:?}",
            from_memory.diagnostics
        );
        assert_eq!(
            scenario_json(&from_memory),
            scenario_json(&from_disk),
            "{name}"
        );
    }
}

#[test]
fn a_file_missing_from_the_reader_is_a_diagnostic() {
    let memory = InMemory::new().with(
        "mem/valid/imported_module.grid",
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valid/imported_module.grid"),
        )
        .unwrap(),
    );
    let c = check_file(
        &memory,
        Path::new("mem/valid/imported_module.grid"),
        &Options::default(),
    );
    assert!(c.scenario.is_none());
    let messages: Vec<_> = c.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cannot import `../data/common_module.grid`: no such file")),
        "{messages:?}"
    );
}
