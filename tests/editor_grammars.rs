//! The editor grammars cannot drift from grammar/grid.pest: every keyword (the literal of
//! each `kw_*` rule), every other word literal (`number`) and every unit atom (`unit_atom`)
//! must be highlighted by the TextMate grammar (editors/vscode) and the Vim syntax
//! (editors/vim). The scope-by-scope behaviour is tested by `.ci/editor-tests.sh`.

use std::collections::BTreeMap;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rules of a pest grammar: name -> body (the text between the outer braces).
fn pest_rules(text: &str) -> BTreeMap<String, String> {
    let mut rules = BTreeMap::new();
    for (start, line) in line_starts(text) {
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let is_ident = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest = rest.trim_start_matches([' ', '_', '@', '$', '!']);
        if !is_ident || !rest.starts_with('{') || line.starts_with(char::is_whitespace) {
            continue;
        }
        let open = start + line.find('{').unwrap();
        rules.insert(name.to_string(), body(text, open + 1));
    }
    rules
}

fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |l| {
        let start = at;
        at += l.len();
        (start, l.trim_end_matches('\n'))
    })
}

/// Text from `from` up to the brace closing the one just before it (skips strings, comments).
fn body(text: &str, from: usize) -> String {
    let b = text.as_bytes();
    let (mut depth, mut i) = (1, from);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return text[from..i].to_string();
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unclosed rule body at byte {from}")
}

/// The string literals of a rule body, unescaped.
fn literals(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => lit.extend(chars.next()),
                c => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

struct Vocabulary {
    keywords: Vec<String>,
    /// Word literals that are not keywords or units (`number`).
    words: Vec<String>,
    units: Vec<String>,
}

fn vocabulary(pest: &str) -> Vocabulary {
    let rules = pest_rules(pest);
    let keywords: Vec<String> = rules
        .iter()
        .filter(|(name, _)| name.starts_with("kw_"))
        .map(|(name, body)| {
            literals(body)
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{name} has no literal"))
        })
        .collect();
    let units = literals(rules.get("unit_atom").expect("a unit_atom rule"));
    let mut words: Vec<String> = rules
        .iter()
        .filter(|(name, _)| !name.starts_with("kw_") && *name != "unit_atom")
        .flat_map(|(_, body)| literals(body))
        .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .filter(|w| !keywords.contains(w) && !units.contains(w))
        .collect();
    words.sort();
    words.dedup();
    Vocabulary {
        keywords,
        words,
        units,
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(is_word)
            && !text[i + word.len()..].chars().next().is_some_and(is_word)
    })
}

/// `alt` is one alternative of a regex alternation in `text` (`(?:a|alt|b)`, `\%(a\|alt\)`,
/// `'alt\|b'`), written as `escaped`.
fn is_alternative(text: &str, escaped: &str) -> bool {
    text.match_indices(escaped).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + escaped.len()..].chars().next();
        matches!(before, Some('|' | '(' | ':' | '\'' | '"'))
            && matches!(after, Some('|' | ')' | '\\' | '\'' | '"'))
    })
}

fn escaped(atom: &str) -> String {
    atom.chars()
        .map(|c| match c {
            '$' | '^' | '.' | '*' | '+' | '?' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

/// The regexes of a TextMate grammar, each with the scope names of its rule.
fn tm_regexes(v: &serde_json::Value, out: &mut Vec<(String, Vec<String>)>) {
    match v {
        serde_json::Value::Object(map) => {
            let mut scopes = Vec::new();
            collect_names(v, &mut scopes);
            for key in ["match", "begin", "end"] {
                if let Some(serde_json::Value::String(re)) = map.get(key) {
                    out.push((re.clone(), scopes.clone()));
                }
            }
            for child in map.values() {
                tm_regexes(child, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|c| tm_regexes(c, out)),
        _ => {}
    }
}

/// Scope names of a rule: its `name` and those of its captures (not of nested patterns).
fn collect_names(rule: &serde_json::Value, out: &mut Vec<String>) {
    if let Some(n) = rule.get("name").and_then(|n| n.as_str()) {
        out.push(n.to_string());
    }
    for key in ["captures", "beginCaptures", "endCaptures"] {
        if let Some(caps) = rule.get(key).and_then(|c| c.as_object()) {
            for cap in caps.values() {
                collect_names(cap, out);
            }
        }
    }
}

/// What the editors lack: messages for every keyword, word and unit not highlighted.
fn missing(pest: &str, tm: &str, vim: &str) -> Vec<String> {
    let voc = vocabulary(pest);
    let json: serde_json::Value = serde_json::from_str(tm).expect("the TextMate grammar is JSON");
    let mut regexes = Vec::new();
    tm_regexes(&json, &mut regexes);
    let tm_scoped = |prefix: &str| -> String {
        regexes
            .iter()
            .filter(|(_, scopes)| scopes.iter().any(|s| s.starts_with(prefix)))
            .map(|(re, _)| re.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let tm_all: String = regexes
        .iter()
        .map(|(re, _)| re.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Vim: pattern lines (not comments or highlight links).
    let vim_lines: Vec<&str> = vim
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with('"') && !l.starts_with("hi "))
        .collect();
    let vim_with = |marks: &[&str]| -> String {
        vim_lines
            .iter()
            .filter(|l| marks.iter().any(|m| l.contains(m)))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let tm_keywords = tm_scoped("keyword.");
    let tm_units: Vec<&str> = regexes
        .iter()
        .filter(|(_, scopes)| scopes.iter().any(|s| s.starts_with("keyword.other.unit")))
        .map(|(re, _)| re.as_str())
        .collect();
    let vim_keywords = vim_with(&["s:kw_", "gridItem", "gridKeyword"]);
    let vim_units = vim_with(&["s:unit_atom ="]);
    let vim_all = vim_lines.join("\n");

    let mut out = Vec::new();
    for k in &voc.keywords {
        if !is_alternative(&tm_keywords, k) {
            out.push(format!(
                "keyword `{k}`: not in a keyword pattern of the TextMate grammar"
            ));
        }
        if !is_alternative(&vim_keywords, k) {
            out.push(format!(
                "keyword `{k}`: not in the keyword patterns of the Vim syntax"
            ));
        }
    }
    for w in &voc.words {
        if !contains_word(&tm_all, w) {
            out.push(format!("word `{w}`: not in the TextMate grammar"));
        }
        if !contains_word(&vim_all, w) {
            out.push(format!("word `{w}`: not in the Vim syntax"));
        }
    }
    for u in &voc.units {
        // Every pattern that scopes units (after numbers, `unit:`, parameter types) has all.
        if tm_units.is_empty() || tm_units.iter().any(|re| !is_alternative(re, &escaped(u))) {
            out.push(format!(
                "unit `{u}`: not in the unit pattern of the TextMate grammar"
            ));
        }
        if !is_alternative(&vim_units, &escaped(u)) {
            out.push(format!("unit `{u}`: not in s:unit_atom of the Vim syntax"));
        }
    }
    out
}

#[test]
fn every_keyword_word_and_unit_of_the_pest_grammar_is_highlighted_in_both_editors() {
    let pest = read("grammar/grid.pest");
    let voc = vocabulary(&pest);
    assert!(voc.keywords.len() > 30, "found only {:?}", voc.keywords);
    for k in ["gridc", "import", "demand_charge", "peak_charge", "sweep"] {
        assert!(
            voc.keywords.iter().any(|x| x == k),
            "{k} in {:?}",
            voc.keywords
        );
    }
    assert!(voc.words.iter().any(|w| w == "number"), "{:?}", voc.words);
    for u in ["kWh", "$", "%", "steps", "min"] {
        assert!(voc.units.iter().any(|x| x == u), "{u} in {:?}", voc.units);
    }
    let tm = read("editors/vscode/syntaxes/grid.tmLanguage.json");
    let vim = read("editors/vim/syntax/grid.vim");
    let missing = missing(&pest, &tm, &vim);
    assert!(
        missing.is_empty(),
        "update the editor grammars (editors/) for grammar/grid.pest:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_keyword_or_unit_missing_from_an_editor_is_reported() {
    let pest = r#"
// comment with "quotes" { and braces
unit_atom = @{ ("kWh" | "$" | "%") ~ !ident_char }
kw_gridc = @{ "gridc" ~ !ident_char }
kw_zap = @{ "zap" ~ !ident_char }
plain_type = @{ "number" ~ !ident_char }
rule = { "{" ~ kw_zap }
"#;
    let tm = r#"{ "scopeName": "source.grid", "patterns": [
        { "name": "keyword.control.grid", "match": "\\b(?:gridc)\\b" },
        { "name": "comment.line.grid", "match": "zap" },
        { "match": "(\\d+)\\s*((?:kWh|%))", "captures": { "2": { "name": "keyword.other.unit.grid" } } },
        { "match": "(number)", "captures": { "1": { "name": "storage.type.grid" } } } ] }"#;
    let vim = "let s:kw_item = 'gridc\\|zap'\nlet s:unit_atom = '\\%(kWh\\|\\$\\)'\n\" number\n";
    assert_eq!(
        missing(pest, tm, vim),
        [
            "keyword `zap`: not in a keyword pattern of the TextMate grammar",
            "word `number`: not in the Vim syntax",
            "unit `$`: not in the unit pattern of the TextMate grammar",
            "unit `%`: not in s:unit_atom of the Vim syntax",
        ]
    );
}

#[test]
fn the_vscode_extension_manifest_points_at_the_grammar() {
    let tm: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/grid.tmLanguage.json")).unwrap();
    assert_eq!(tm["scopeName"], "source.grid");
    let pkg: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/package.json")).unwrap();
    assert_eq!(pkg["name"], "gridc-grid");
    assert!(pkg["engines"]["vscode"].is_string());
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "grid");
    assert_eq!(lang["extensions"][0], ".grid");
    let grammar = &pkg["contributes"]["grammars"][0];
    assert_eq!(grammar["language"], "grid");
    assert_eq!(grammar["scopeName"], "source.grid");
    let grammar_path = grammar["path"].as_str().unwrap().trim_start_matches("./");
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("editors/vscode")
        .join(grammar_path)
        .is_file());
    let config_path = lang["configuration"]
        .as_str()
        .unwrap()
        .trim_start_matches("./");
    let config: serde_json::Value =
        serde_json::from_str(&read(&format!("editors/vscode/{config_path}"))).unwrap();
    assert_eq!(config["comments"]["lineComment"], "//");
    assert_eq!(config["comments"]["blockComment"][0], "/*");
}

/// Every example has an assertion file whose source is the example as it is now
/// (`node editors/vscode/test/make_tests.js` regenerates them).
#[test]
fn every_example_has_an_up_to_date_assertion_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "grid"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    for example in examples {
        let stem = example.file_stem().unwrap().to_str().unwrap();
        let test = format!("editors/vscode/test/{stem}.test.grid");
        let test_text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&test))
            .unwrap_or_else(|_| {
                panic!("{test} is missing: run `node editors/vscode/test/make_tests.js`")
            });
        let source: Vec<&str> = test_text
            .lines()
            .skip(1)
            .filter(|l| {
                let rest = l.strip_prefix("//").map(str::trim_start);
                !rest.is_some_and(|r| {
                    r.starts_with('^') || r.starts_with("<-") || r.starts_with("<~")
                })
            })
            .collect();
        let example_text = std::fs::read_to_string(&example).unwrap();
        assert_eq!(
            source,
            example_text.lines().collect::<Vec<_>>(),
            "{test} is stale: run `node editors/vscode/test/make_tests.js`"
        );
    }
}
