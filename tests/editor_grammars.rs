//! The editor grammars cannot drift from grammar/grid.pest: every keyword (`kw_*` rules)
//! and every unit atom of the pest grammar must appear in the TextMate grammar and in the
//! Vim syntax file.

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// String literals of the rules whose name starts with `prefix` (first literal per rule).
fn literals(pest: &str, rule_prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = pest.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if !t.starts_with(rule_prefix) {
            continue;
        }
        // A rule may continue on the next lines until a closing `}`.
        let mut body = t.to_string();
        while !body.contains('}') {
            match lines.next() {
                Some(l) => body.push_str(l),
                None => break,
            }
        }
        let mut rest = body.as_str();
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            out.push(after[..end].to_string());
            rest = &after[end + 1..];
            if rule_prefix.starts_with("kw_") {
                break;
            }
        }
    }
    out
}

fn contains_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[test]
fn every_keyword_and_unit_is_highlighted_in_both_editors() {
    let pest = read("grammar/grid.pest");
    let keywords = literals(&pest, "kw_");
    assert!(keywords.len() > 30, "found only {keywords:?}");
    let units: Vec<String> = literals(&pest, "unit_atom")
        .into_iter()
        .filter(|u| !u.is_empty())
        .collect();
    assert!(
        units.iter().any(|u| u == "kWh") && units.iter().any(|u| u == "%"),
        "{units:?}"
    );
    let tm = read("editors/vscode/syntaxes/grid.tmLanguage.json");
    let vim = read("editors/vim/syntax/grid.vim");
    let tm_json: serde_json::Value = serde_json::from_str(&tm).expect("tmLanguage is JSON");
    assert_eq!(tm_json["scopeName"], "source.grid");
    for k in &keywords {
        assert!(
            contains_word(&tm, k),
            "keyword `{k}` missing from the TextMate grammar"
        );
        assert!(
            contains_word(&vim, k),
            "keyword `{k}` missing from the Vim syntax"
        );
    }
    for u in &units {
        // `$` is escaped in regexes; look for the escaped form too.
        let escaped = format!("\\\\{u}");
        let in_tm = if u.chars().all(|c| c.is_ascii_alphanumeric()) {
            contains_word(&tm, u)
        } else {
            tm.contains(u.as_str()) || tm.contains(&escaped)
        };
        assert!(in_tm, "unit `{u}` missing from the TextMate grammar");
        let in_vim = if u.chars().all(|c| c.is_ascii_alphanumeric()) {
            contains_word(&vim, u)
        } else {
            vim.contains(u.as_str())
        };
        assert!(in_vim, "unit `{u}` missing from the Vim syntax");
    }
}
