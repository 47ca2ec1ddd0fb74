//! Architecture invariants read from the source: the top-level modules form the layers of
//! ARCHITECTURE.md, and no module imports from a module above it; `clap` only in cli and
//! main; the file system only in cli, experiment and `files` (check reads through a
//! `FileReader`). Test modules are exempt (they may use anything).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of every top-level module; an import must point to a strictly lower layer.
const LAYERS: &[(&str, u32)] = &[
    ("source", 0),
    ("calendar", 0),
    ("files", 0),
    ("stats", 0),
    ("plot", 0),
    ("stdlib_files", 0),
    ("model", 0),
    ("diag", 1),
    ("syntax", 2),
    ("check", 3),
    ("ir", 4),
    ("sim", 5),
    ("baselines", 6),
    ("train", 7),
    ("experiment", 8),
    ("cli", 9),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its inline `#[cfg(test)] mod … { }`
/// (by convention the last item of a file).
fn non_test_code(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod ").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Files declared as `#[cfg(test)] mod name;` (test-only files).
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("#[cfg(test)]") {
            rest = &rest[i + "#[cfg(test)]".len()..];
            let decl = rest.trim_start();
            if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.split_once(';')) {
                let name = name.0.trim();
                if !name.contains(' ') && !name.contains('{') {
                    let base = f.file_stem().unwrap();
                    let dir = if base == "mod" || base == "lib" {
                        f.parent().unwrap().to_path_buf()
                    } else {
                        f.with_extension("")
                    };
                    out.insert(dir.join(format!("{name}.rs")));
                }
            }
        }
    }
    out
}

/// Top-level modules named by `crate::x` and `crate::{x, y::z}` paths.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.insert(first_ident(&item));
        } else {
            out.insert(first_ident(rest));
        }
    }
    out.remove("");
    out
}

fn first_ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

struct Source {
    path: PathBuf,
    module: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let tests = test_only_files(&files);
    files
        .iter()
        .filter(|f| !tests.contains(*f))
        .filter_map(|f| {
            let rel = f.strip_prefix(&src).unwrap();
            let first = rel.components().next()?.as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                return None;
            }
            let mut code = non_test_code(&std::fs::read_to_string(f).unwrap());
            // In a top-level file (`src/x.rs`, `src/x/mod.rs`), `super::y` is `crate::y`.
            if rel.components().count() == 1 || rel.ends_with(format!("{module}/mod.rs")) {
                code = code.replace("super::", "crate::");
            }
            Some(Source {
                path: rel.to_path_buf(),
                module,
                code,
            })
        })
        .collect()
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut violations = Vec::new();
    let mut modules = BTreeSet::new();
    for s in sources() {
        modules.insert(s.module.clone());
        let Some(&own) = layer.get(s.module.as_str()) else {
            violations.push(format!(
                "{}: module `{}` has no layer in LAYERS",
                s.path.display(),
                s.module
            ));
            continue;
        };
        for target in crate_references(&s.code) {
            if target == s.module {
                continue;
            }
            match layer.get(target.as_str()) {
                Some(&l) if l < own => {}
                Some(&l) => violations.push(format!(
                    "{}: `{}` (layer {own}) imports `{target}` (layer {l})",
                    s.path.display(),
                    s.module
                )),
                None => violations.push(format!("{}: unknown module `{target}`", s.path.display())),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
    // Every layer named here exists (a renamed module must update the table).
    for (name, _) in LAYERS {
        assert!(
            modules.contains(*name),
            "LAYERS names `{name}`, which is not a module"
        );
    }
}

#[test]
fn clap_and_the_file_system_stay_in_the_outer_layers() {
    let mut violations = Vec::new();
    for s in sources() {
        if s.code.contains("clap::") && s.module != "cli" {
            violations.push(format!("{}: clap outside cli", s.path.display()));
        }
        let io = [
            "std::fs",
            "fs::read",
            "fs::write",
            "File::open",
            "File::create",
        ];
        let allowed = ["cli", "experiment", "files"];
        if io.iter().any(|w| s.code.contains(w)) && !allowed.contains(&s.module.as_str()) {
            violations.push(format!(
                "{}: file IO outside cli, experiment and files",
                s.path.display()
            ));
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_scanner_sees_grouped_and_plain_paths() {
    let refs = crate_references(
        "use crate::{sim::env::Env, model::{A, B}};\nlet x = crate::stats::mean(&v);",
    );
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec!["model".to_string(), "sim".to_string(), "stats".to_string()]
    );
    assert_eq!(
        non_test_code("a // crate::cli\n#[cfg(test)]\nmod tests { crate::cli }"),
        "a "
    );
}
