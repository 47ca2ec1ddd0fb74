//! `gridc slurm FILE --out DIR`: check the plan like `gridc run`, then write
//! DIR/slurm/run.sbatch (a job array: task I runs `gridc run --shard I/N` into
//! DIR/shards/I) and DIR/slurm/merge.sbatch (`gridc merge DIR/shards/* --out DIR`);
//! with `--submit`, submit both, the merge depending on the array (`afterok`).
//! The scripts depend only on the arguments, the binary's path and the plan's run count:
//! the same command writes the same bytes.

use super::PlanArgs;
use super::{fail, usage};
use crate::experiment::plan::PlanRequest;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Args {
    pub file: PathBuf,
    pub plan: PlanArgs,
    pub out: PathBuf,
    pub partition: Option<String>,
    pub time: String,
    pub cpus: u32,
    pub shards: Option<u32>,
    pub submit: bool,
}

/// Most array tasks chosen by default (one run per task below that).
pub const DEFAULT_MAX_SHARDS: usize = 64;

/// Quote `s` for a POSIX shell: unchanged if it only has characters no shell treats
/// specially, else in single quotes (a `'` becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Everything the two scripts are made of (absolute paths).
pub struct Scripts<'a> {
    pub gridc: &'a Path,
    pub file: &'a Path,
    pub out: &'a Path,
    pub plan: &'a PlanArgs,
    pub experiment: &'a str,
    pub runs: usize,
    pub shards: usize,
    pub cpus: u32,
    pub time: &'a str,
    pub partition: Option<&'a str>,
}

fn q(p: &Path) -> String {
    shell_quote(&p.to_string_lossy())
}

/// A path on a `#SBATCH` line: sbatch reads these itself (no shell), accepting one
/// double-quoted word.
fn sbatch_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.chars().any(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.into_owned()
    }
}

impl Scripts<'_> {
    /// `--experiment`, `--set`, `--hp`, `--budget`, `--seeds`, `--batch`, `--no-sweeps`,
    /// `--algos` as given to `gridc slurm`.
    fn plan_options(&self) -> String {
        let p = self.plan;
        let mut o = String::new();
        let mut add = |flag: &str, value: Option<String>| {
            o.push_str(" \\\n    ");
            o.push_str(flag);
            if let Some(v) = value {
                o.push(' ');
                o.push_str(&shell_quote(&v));
            }
        };
        if let Some(e) = &p.experiment {
            add("--experiment", Some(e.clone()));
        }
        for (k, v) in &p.overrides {
            add("--set", Some(format!("{k}={v}")));
        }
        for (k, v) in &p.hyper {
            add("--hp", Some(format!("{k}={v}")));
        }
        if let Some(b) = p.budget {
            add("--budget", Some(b.to_string()));
        }
        if let Some(s) = p.seeds {
            add("--seeds", Some(s.to_string()));
        }
        add("--batch", Some(p.batch.to_string()));
        if p.no_sweeps {
            add("--no-sweeps", None);
        }
        if !p.algos.is_empty() {
            let names: Vec<&str> = p
                .algos
                .iter()
                .map(|&a| crate::train::Algo::from(a).name())
                .collect();
            add("--algos", Some(names.join(",")));
        }
        o
    }

    fn header(&self, name: &str, log: &str) -> String {
        let mut h = String::from("#!/bin/bash\n");
        h += &format!("#SBATCH --job-name={name}\n");
        h += &format!("#SBATCH --time={}\n", self.time);
        if let Some(p) = self.partition {
            h += &format!("#SBATCH --partition={p}\n");
        }
        let logs = self.out.join("slurm").join("logs").join(log);
        h += &format!("#SBATCH --output={}\n", sbatch_path(&logs));
        h
    }

    fn job_name(&self) -> String {
        let clean: String = self
            .experiment
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("gridc-{clean}")
    }

    pub fn run_sbatch(&self) -> String {
        let n = self.shards;
        let mut s = self.header(&self.job_name(), "%A_%a.out");
        s += &format!("#SBATCH --array=1-{n}\n");
        s += &format!("#SBATCH --cpus-per-task={}\n", self.cpus);
        s += &format!(
            "# Written by `gridc slurm` (gridc {}): experiment `{}` of {}, {} runs in {n} shards.\n",
            env!("CARGO_PKG_VERSION"),
            self.experiment,
            self.file.display(),
            self.runs
        );
        s += "# Task I runs every N-th run starting at the I-th into DIR/shards/I; rerunning a task\n";
        s += "# resumes it. merge.sbatch joins the shards into DIR.\n";
        s += "set -euo pipefail\n";
        s += &format!(
            "exec {} run {} \\\n    --shard $SLURM_ARRAY_TASK_ID/{n} \\\n    --jobs {} \\\n    --out {}/$SLURM_ARRAY_TASK_ID{}\n",
            q(self.gridc),
            q(self.file),
            self.cpus,
            q(&self.out.join("shards")),
            self.plan_options()
        );
        s
    }

    pub fn merge_sbatch(&self) -> String {
        let mut s = self.header(&format!("{}-merge", self.job_name()), "merge_%j.out");
        s += "#SBATCH --cpus-per-task=1\n";
        s += &format!(
            "# Written by `gridc slurm` (gridc {}): joins the {} shards of run.sbatch into DIR\n",
            env!("CARGO_PKG_VERSION"),
            self.shards
        );
        s += "# and writes DIR/report.md. Submit it with --dependency=afterok:<array job id>.\n";
        s += "set -euo pipefail\n";
        s += &format!(
            "exec {} merge {}/shards/* --out {}\n",
            q(self.gridc),
            q(self.out),
            q(self.out)
        );
        s
    }
}

/// `sbatch ARGS… SCRIPT` → the job id (`--parsable` prints `ID` or `ID;CLUSTER`).
fn sbatch(args: &[String], script: &Path) -> Result<String, String> {
    let out = Command::new("sbatch")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "sbatch not found — install Slurm or run the printed commands".to_string()
            } else {
                format!("cannot run sbatch: {e}")
            }
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "sbatch {} failed ({}): {}",
            script.display(),
            out.status,
            stderr.trim()
        ));
    }
    let id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "sbatch {} printed no job id: {}{}",
            script.display(),
            stdout.trim(),
            stderr.trim()
        ));
    }
    Ok(id)
}

pub fn run(a: Args) -> i32 {
    // Values that end up on `#SBATCH` lines must stay one word on one line.
    let word = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '"');
    if !word(&a.time) {
        return usage(format!(
            "`{}` is not a Slurm time limit (e.g. 01:30:00)",
            a.time
        ));
    }
    if let Some(p) = a.partition.as_deref().filter(|p| !word(p)) {
        return usage(format!("`{p}` is not a partition name"));
    }
    let Some((plan, _points)) = super::run::make_plan(&PlanRequest {
        file: &a.file,
        experiment: a.plan.experiment.as_deref(),
        overrides: &a.plan.overrides,
        budget: a.plan.budget,
        seeds: a.plan.seeds,
        batch: a.plan.batch,
        no_sweeps: a.plan.no_sweeps,
        algorithms: a.plan.algos.iter().map(|&x| x.into()).collect(),
    }) else {
        return 1;
    };
    if let Err(code) = super::run::check_hyper_for(&plan, &a.plan.hyper) {
        return code;
    }
    let gridc = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot find the gridc binary: {e}")),
    };
    let file = match std::fs::canonicalize(&a.file) {
        Ok(p) => p,
        Err(e) => return fail(format!("`{}`: {e}", a.file.display())),
    };
    let out = match std::path::absolute(&a.out) {
        Ok(p) => p,
        Err(e) => return fail(format!("`{}`: {e}", a.out.display())),
    };
    if out.to_string_lossy().contains(['\n', '\r', '"']) {
        return usage("the --out path must not contain newlines or double quotes");
    }
    let runs = plan.runs.len();
    let shards = match a.shards {
        Some(n) => n as usize,
        None => runs.clamp(1, DEFAULT_MAX_SHARDS),
    };
    if shards > runs {
        eprintln!(
            "note: {shards} shards for {runs} runs: {} array tasks will have nothing to train",
            shards - runs
        );
    }
    let scripts = Scripts {
        gridc: &gridc,
        file: &file,
        out: &out,
        plan: &a.plan,
        experiment: &plan.experiment,
        runs,
        shards,
        cpus: a.cpus,
        time: &a.time,
        partition: a.partition.as_deref(),
    };
    let dir = out.join("slurm");
    let logs = dir.join("logs");
    if let Err(e) = std::fs::create_dir_all(&logs) {
        return fail(format!("cannot create `{}`: {e}", logs.display()));
    }
    let run_path = dir.join("run.sbatch");
    let merge_path = dir.join("merge.sbatch");
    for (path, text) in [
        (&run_path, scripts.run_sbatch()),
        (&merge_path, scripts.merge_sbatch()),
    ] {
        if let Err(e) = crate::files::write_atomic(path, text.as_bytes()) {
            return fail(format!("cannot write `{}`: {e}", path.display()));
        }
    }
    println!(
        "experiment `{}`: {runs} runs in {shards} shards (at most {} per shard), {} CPU(s) per shard",
        plan.experiment,
        runs.div_ceil(shards),
        a.cpus
    );
    println!("wrote {}", run_path.display());
    println!("wrote {}", merge_path.display());
    let commands = format!(
        "  jobid=$(sbatch --parsable {})\n  sbatch --dependency=afterok:${{jobid%%;*}} {}\n",
        q(&run_path),
        q(&merge_path)
    );
    if !a.submit {
        println!("submit with:\n{commands}");
        return 0;
    }
    let run_id = match sbatch(&["--parsable".into()], &run_path) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("to submit by hand:\n{commands}");
            return fail(&e);
        }
    };
    println!(
        "submitted job array {run_id} ({shards} tasks): {}",
        run_path.display()
    );
    let dep = vec![
        "--parsable".into(),
        format!("--dependency=afterok:{run_id}"),
    ];
    match sbatch(&dep, &merge_path) {
        Ok(id) => {
            println!(
                "submitted merge job {id} (after {run_id} succeeds): {}",
                merge_path.display()
            );
            println!("report when done: {}", out.join("report.md").display());
            0
        }
        Err(e) => {
            eprintln!(
                "the job array {run_id} is submitted; submit the merge by hand:\n  sbatch --dependency=afterok:{run_id} {}",
                q(&merge_path)
            );
            fail(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/a/b-c_d.grid"), "/a/b-c_d.grid");
        assert_eq!(shell_quote("reward.mix=0.25"), "reward.mix=0.25");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(
            shell_quote("communicate=broadcast(4)"),
            "'communicate=broadcast(4)'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote("a*"), "'a*'");
        assert_eq!(shell_quote("x\ny"), "'x\ny'");
    }

    #[test]
    fn shell_quote_round_trips_through_sh() {
        for s in [
            "plain",
            "a b",
            "it's",
            "'",
            "''",
            "$x `y` \"z\" \\ ; & | > <",
            "tab\there",
            "new\nline",
            "*?[",
            "~",
            "!",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(s)))
                .output()
                .expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s, "{s:?}");
        }
    }
}
