//! Mutation fuzzing inside `cargo test` (seeded, bounded): mutated examples and
//! pathological inputs must never panic or overflow the stack; every diagnostic span
//! lies inside its file. A sample also runs through the binary for exit codes.

mod common;
use gridc::check::{check_bytes, Options};
use std::path::Path;

/// SplitMix64: tiny, seeded, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn tokens(text: &str) -> Vec<&str> {
    // Split keeping separators so joins reproduce the text.
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if !(c.is_alphanumeric() || c == '_' || c == '.') {
            if start < i {
                out.push(&text[start..i]);
            }
            out.push(&text[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn mutate(rng: &mut Rng, text: &str) -> Vec<u8> {
    let mut toks: Vec<String> = tokens(text).into_iter().map(String::from).collect();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    match rng.below(10) {
        0 => {
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(toks.len());
                toks.remove(i.min(toks.len().saturating_sub(1)));
            }
            toks.concat().into_bytes()
        }
        1 => {
            let i = rng.below(toks.len());
            let t = toks[i].clone();
            toks.insert(i, t);
            toks.concat().into_bytes()
        }
        2 => {
            let (i, j) = (rng.below(toks.len()), rng.below(toks.len()));
            toks.swap(i, j);
            toks.concat().into_bytes()
        }
        3 => {
            let i = rng.below(lines.len());
            lines.remove(i);
            lines.join("\n").into_bytes()
        }
        4 => {
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            let l = lines[i].clone();
            lines.insert(j, l);
            lines.join("\n").into_bytes()
        }
        5 => {
            let mut b = text.as_bytes().to_vec();
            b.truncate(rng.below(b.len() + 1));
            b
        }
        6 => {
            let mut b = text.as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            b
        }
        7 => {
            let i = rng.below(toks.len());
            toks.insert(i, "9".repeat(1 + rng.below(2000)));
            toks.concat().into_bytes()
        }
        8 => {
            let depth = 1 + rng.below(300);
            let open = ["(", "[", "{", "-"][rng.below(4)];
            let close = match open {
                "(" => ")",
                "[" => "]",
                "{" => "}",
                _ => "",
            };
            let i = rng.below(toks.len());
            toks.insert(i, format!("{}1{}", open.repeat(depth), close.repeat(depth)));
            toks.concat().into_bytes()
        }
        _ => {
            let i = rng.below(toks.len());
            let noise = [
                "\"",
                "/*",
                "}",
                "{",
                "..",
                "=>",
                "kWh",
                "%",
                "$",
                "\u{0}",
                "é",
                "h[",
                "]",
                "gridc 0.1",
                "network",
                "1e999",
            ];
            toks.insert(i, noise[rng.below(noise.len())].to_string());
            toks.concat().into_bytes()
        }
    }
}

fn seeds() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for dir in ["examples", "tests/valid"] {
        for p in common::files_in(dir) {
            if let Ok(t) = std::fs::read_to_string(&p) {
                v.push((p.display().to_string(), t));
            }
        }
    }
    v
}

#[test]
fn mutated_inputs_never_panic_and_spans_stay_inside() {
    let inputs = seeds();
    assert!(!inputs.is_empty());
    let mut rng = Rng(0x5EED_2026);
    let cases = 2400;
    for case in 0..cases {
        let (path, text) = &inputs[case % inputs.len()];
        let bytes = mutate(&mut rng, text);
        let dir = Path::new(path).parent().map(Path::to_path_buf);
        let result = std::panic::catch_unwind(|| {
            check_bytes(
                &gridc::files::Disk,
                "fuzz.grid",
                &bytes,
                dir.clone(),
                &Options::default(),
            )
        });
        let checked = result.unwrap_or_else(|_| {
            panic!(
                "case {case} panicked; input:\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
        for d in &checked.diagnostics {
            for l in &d.labels {
                let len = checked.sources.get(l.source).text.len();
                assert!(
                    l.span.start <= l.span.end && l.span.end <= len,
                    "case {case}: span {:?} outside 0..{len}",
                    l.span
                );
            }
            // Rendering must not panic either.
            let _ = gridc::diag::render::render(d, &checked.sources, false);
        }
    }
}

#[test]
fn pathological_inputs_are_diagnosed() {
    let big_number = format!("gridc 0.1\nprofile p = {} kW\n", "9".repeat(100_000));
    let deep = format!(
        "gridc 0.1\nprofile p = {}1{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let negs = format!("gridc 0.1\nprofile p = {}1 kW\n", "-".repeat(100_000));
    let many_items = "profile p = 1 kW\n".repeat(20_000);
    for text in [
        big_number,
        deep,
        negs,
        many_items,
        String::new(),
        "\u{feff}".into(),
        "gridc".into(),
    ] {
        let c = check_bytes(
            &gridc::files::Disk,
            "x.grid",
            text.as_bytes(),
            None,
            &Options::default(),
        );
        assert!(
            c.has_errors(),
            "expected a diagnostic for input starting {:?}",
            &text[..text.len().min(40)]
        );
    }
    let c = check_bytes(
        &gridc::files::Disk,
        "x.grid",
        b"gridc 0.1\n\xff\xfe profile",
        None,
        &Options::default(),
    );
    assert_eq!(c.diagnostics[0].code, gridc::diag::codes::NOT_UTF8);
}

#[test]
fn the_binary_exits_0_or_1_on_mutated_files() {
    let inputs = seeds();
    let mut rng = Rng(42);
    let dir = std::env::temp_dir().join(format!("gridc-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for case in 0..40 {
        let (_, text) = &inputs[case % inputs.len()];
        let file = dir.join(format!("case{case}.grid"));
        std::fs::write(&file, mutate(&mut rng, text)).expect("write case");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridc"))
            .arg("check")
            .arg(&file)
            .output()
            .expect("run gridc");
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "case {case}: exit {code:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
