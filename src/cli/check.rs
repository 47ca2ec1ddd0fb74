use super::Format;
use crate::check::{check_file, Checked, Options};
use crate::diag::render::{render, to_json};
use crate::model::{Experiment, Scenario};
use serde_json::json;
use std::path::PathBuf;

pub fn run(files: &[PathBuf], format: Format, overrides: &[(String, String)]) -> i32 {
    let options = Options {
        overrides: overrides.to_vec(),
    };
    let mut failed = false;
    let mut json_files = Vec::new();
    for f in files {
        let checked = check_file(&crate::files::Disk, f, &options);
        failed |= checked.has_errors();
        match format {
            Format::Text => print_text(f, &checked),
            Format::Json => json_files.push(json_report(f, &checked)),
        }
    }
    if format == Format::Json {
        let doc = json!({ "files": json_files });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    i32::from(failed)
}

fn print_text(path: &std::path::Path, c: &Checked) {
    let color = super::color();
    for d in &c.diagnostics {
        eprint!("{}", render(d, &c.sources, color));
    }
    if let Some(s) = &c.scenario {
        let warnings = c.diagnostics.len();
        let w = if warnings > 0 {
            format!(
                ", {warnings} warning{}",
                if warnings == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        println!("{}: ok: {}{w}", path.display(), summary(s));
    } else {
        let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
            "{}: {errors} error{}",
            path.display(),
            if errors == 1 { "" } else { "s" }
        );
    }
}

/// `16 households, 1 feeder, 16 agents (obs 14, act 1), 10 experiments days ...`
pub fn summary(s: &Scenario) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let days = s
        .experiments
        .first()
        .map(|e| {
            format!(
                ", days {} train / {} test",
                Experiment::day_count(&e.train_days),
                Experiment::day_count(&e.test_days)
            )
        })
        .unwrap_or_default();
    format!(
        "{}, {}, {} (obs {}, act {}){}",
        plural(s.households.len(), "household"),
        plural(s.network.feeders.len(), "feeder"),
        plural(s.agents.households.len(), "agent"),
        s.agents.obs_dim,
        s.agents.act_dim,
        days
    )
}

fn json_report(path: &std::path::Path, c: &Checked) -> serde_json::Value {
    let diagnostics: Vec<_> = c
        .diagnostics
        .iter()
        .map(|d| to_json(d, &c.sources))
        .collect();
    let summary = c.scenario.as_ref().map(|s| {
        json!({
            "households": s.households.len(),
            "feeders": s.network.feeders.len(),
            "agents": s.agents.households.len(),
            "observation": { "size": s.agents.obs_dim, "features": s.agents.observations },
            "action": { "size": s.agents.act_dim, "controls": s.agents.controls, "communication": s.agents.communication },
            "experiments": s.experiments.iter().map(|e| json!({
                "name": e.name,
                "train_days": Experiment::day_count(&e.train_days),
                "test_days": Experiment::day_count(&e.test_days),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "file": path.display().to_string(),
        "ok": !c.has_errors(),
        "summary": summary,
        "diagnostics": diagnostics,
    })
}
