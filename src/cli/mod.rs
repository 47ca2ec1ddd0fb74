//! Command-line interface: parse arguments with clap, run a command, map outcomes to
//! exit codes (0 ok, 1 user error in the input, 2 usage error).

mod bench;
mod check;
pub mod explain;
mod fmt;
mod run;
mod sim;
mod slurm;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gridc",
    version,
    about = "A toolchain for multi-agent RL research on smart-grid energy communities",
    long_about = "gridc reads `.grid` scenario files: an energy community's network, assets, tariffs, \
agents, reward and experiments.\n\nStart with:\n  gridc check examples/community16.grid\n  gridc explain G0009"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check files: names, units, ranges, the network graph, agent spaces.
    ///
    /// Prints one summary line per valid file and every diagnostic otherwise.
    /// Exit code 0 when all files check, 1 when any has an error.
    Check {
        /// `.grid` files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format: `text` for people, `json` for tools.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Override a value before checking, e.g. `--set reward.mix=0.25` (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, String)>,
    },
    /// Format files canonically (comments kept). Rewrites files in place.
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 if any file would change.
        #[arg(long)]
        check: bool,
    },
    /// Simulate the scenario: every baseline, the perfect-foresight optimum and the
    /// selfish optimum over the experiment's test days, with KPIs.
    Sim {
        file: PathBuf,
        /// Which experiment's step, episode and days to use (default: the first).
        #[arg(long)]
        experiment: Option<String>,
        /// Days to simulate, `2023-11-01..2023-11-30` (default: the test days).
        #[arg(long)]
        days: Option<String>,
        /// `no_battery`, `greedy`, `tou_rule`, `optimum`, `selfish_optimum` or `all` (the
        /// experiment's baselines). With --trace, the policy traced (`all`: greedy).
        #[arg(long, default_value = "all")]
        baseline: String,
        /// Write a per-household, per-step CSV trace (greedy unless --baseline names one).
        #[arg(long, value_name = "OUT.csv")]
        trace: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, String)>,
        /// Skip the LP optima.
        #[arg(long)]
        no_optimum: bool,
        /// Run the step on the Cranelift JIT (default) or the reference interpreter.
        #[arg(long, value_enum, default_value_t = BackendArg::Jit)]
        backend: BackendArg,
    },
    /// Train agents (IPPO, MAPPO or MADDPG) on the experiment's train days and evaluate them on
    /// its test days against greedy and the optimum. Writes DIR/summary.json,
    /// DIR/curve.csv and DIR/checkpoint.json.
    Train {
        file: PathBuf,
        #[arg(long, value_enum)]
        algo: AlgoArg,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Environment steps (batch × steps per episode per update), spelt as in the file
        /// (`20000`, `20k`, `1.5M`, `200k steps`); default: the experiment's budget.
        #[arg(long, value_parser = parse_budget)]
        budget: Option<u64>,
        #[arg(long, default_value = "runs/train")]
        out: PathBuf,
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, String)>,
        #[arg(long, value_enum, default_value_t = BackendArg::Jit)]
        backend: BackendArg,
        /// Continue from DIR/checkpoint.json.
        #[arg(long)]
        resume: bool,
        /// Environments (days) per update.
        #[arg(long, default_value_t = crate::experiment::session::RunConfig::DEFAULT_BATCH)]
        batch: usize,
        /// Override a hyper-parameter of the algorithm (see docs/algorithms.md), e.g. `--hp lr=0.001`.
        #[arg(long = "hp", value_name = "NAME=VALUE", value_parser = parse_override)]
        hyper: Vec<(String, String)>,
        /// Print where the training time went (environment, acting, learning, evaluation).
        #[arg(long)]
        profile: bool,
        /// `text`: a human summary; `json`: DIR/summary.json's contents on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Testing hook: stop after N updates (at a checkpoint), as if killed.
        #[arg(long, hide = true)]
        interrupt_after_updates: Option<u64>,
    },
    /// Run an experiment: algorithms × seeds × sweep points (one axis at a time), the
    /// baselines and the optimum; write DIR/report.md with statistics and plots. Rerunning
    /// resumes: finished runs are skipped, interrupted ones continue from checkpoints.
    Run {
        file: PathBuf,
        #[command(flatten)]
        plan: PlanArgs,
        #[arg(long, default_value = "runs/experiment")]
        out: PathBuf,
        /// Runs in parallel (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the I-th of N shares of the runs, e.g. `--shard 2/8` (for Slurm arrays).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Print the plan and an estimated time without running.
        #[arg(long)]
        dry_run: bool,
        /// Delete results of a different scenario in DIR and start over.
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value_t = BackendArg::Jit)]
        backend: BackendArg,
        /// Testing hook: stop every run after N updates, as if killed.
        #[arg(long, hide = true)]
        interrupt_after_updates: Option<u64>,
    },
    /// Write a Slurm job array that runs the experiment in shards (`gridc run --shard`)
    /// and a job that merges them: DIR/slurm/run.sbatch and DIR/slurm/merge.sbatch.
    /// With --submit, submit both (the merge after the array succeeds); otherwise print
    /// the sbatch commands. See docs/slurm.md.
    Slurm {
        file: PathBuf,
        #[command(flatten)]
        plan: PlanArgs,
        /// Result directory: shards go to DIR/shards/I, the merged report to DIR.
        #[arg(long)]
        out: PathBuf,
        /// Slurm partition (default: the cluster's default partition).
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per array task and for the merge job, in sbatch syntax.
        #[arg(long, default_value = "01:00:00")]
        time: String,
        /// CPUs per array task (the task runs this many runs in parallel).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        cpus: u32,
        /// Array tasks (default: the number of runs, at most 64).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        shards: Option<u32>,
        /// Submit with sbatch instead of printing the commands.
        #[arg(long)]
        submit: bool,
    },
    /// Join result directories of `gridc run --shard` into one and write its report.
    Merge {
        /// Result directories to join.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = BackendArg::Jit)]
        backend: BackendArg,
    },
    /// Measure household-steps/s of the interpreter, the JIT and the native reference step
    /// (the whole agent-level step, observation assembly included).
    Bench {
        file: PathBuf,
        /// Environments stepped together.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Steps per measurement (episodes restart untimed when they end).
        #[arg(long, default_value_t = 2000)]
        steps: usize,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, String)>,
    },
    /// Print the long explanation of a diagnostic code, e.g. `gridc explain G0009`.
    Explain {
        /// The code (`G0009`); without it, list all codes.
        code: Option<String>,
        /// Print the whole reference as Markdown (docs/diagnostics.md).
        #[arg(long)]
        markdown: bool,
    },
}

/// What to run: shared by `gridc run` and `gridc slurm`.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// Which experiment (default: the first).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Override a value of the scenario, e.g. `--set reward.mix=0.25` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
    pub overrides: Vec<(String, String)>,
    /// Hyper-parameter override for every run, e.g. `--hp lr=0.001`.
    #[arg(long = "hp", value_name = "NAME=VALUE", value_parser = parse_override)]
    pub hyper: Vec<(String, String)>,
    /// Environment steps per run, spelt as in the file (`20k`, `200k steps`; default: the
    /// experiment's budget).
    #[arg(long, value_parser = parse_budget)]
    pub budget: Option<u64>,
    /// Seeds per algorithm and point (default: the experiment's seeds).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Environments (days) per update.
    #[arg(long, default_value_t = crate::experiment::session::RunConfig::DEFAULT_BATCH)]
    pub batch: usize,
    /// Only the base point (skip the sweeps).
    #[arg(long)]
    pub no_sweeps: bool,
    /// Only these of the experiment's algorithms, e.g. `--algos ippo,mappo`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub algos: Vec<AlgoArg>,
}

/// `--backend`: mirrors `sim::env::Backend` so clap stays out of the library.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    /// Cranelift-compiled kernels (default).
    Jit,
    /// The reference interpreter.
    Interp,
}

impl From<BackendArg> for crate::sim::env::Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Jit => crate::sim::env::Backend::Jit,
            BackendArg::Interp => crate::sim::env::Backend::Interp,
        }
    }
}

/// `--algo` / `--algos`: mirrors `train::Algo` so clap stays out of the library.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgoArg {
    Ippo,
    Mappo,
    Maddpg,
}

impl From<AlgoArg> for crate::train::Algo {
    fn from(a: AlgoArg) -> Self {
        use crate::train::Algo;
        match a {
            AlgoArg::Ippo => Algo::Ippo,
            AlgoArg::Mappo => Algo::Mappo,
            AlgoArg::Maddpg => Algo::Maddpg,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

fn parse_override(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((p, v)) if !p.trim().is_empty() && !v.trim().is_empty() => {
            Ok((p.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!("expected PATH=VALUE, found `{s}`")),
    }
}

/// A budget as the language writes it: a whole number of steps with an optional `k`/`M`
/// magnitude and an optional `steps` unit.
fn parse_budget(s: &str) -> Result<u64, String> {
    let number = s.trim();
    let number = number
        .strip_suffix("steps")
        .or_else(|| number.strip_suffix("step"))
        .unwrap_or(number)
        .trim_end();
    let well_formed = number.starts_with(|c: char| c.is_ascii_digit())
        && number
            .trim_end_matches(['k', 'M'])
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    match crate::syntax::parse::number_text_value(number) {
        Some(v) if well_formed && v >= 1.0 && v.fract() == 0.0 && v < 2f64.powi(63) => Ok(v as u64),
        _ => Err(format!(
            "`{s}` is not a budget: write a whole number of steps, e.g. `20000`, `20k` or `200k steps`"
        )),
    }
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    run(cli)
}

pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check {
            files,
            format,
            overrides,
        } => check::run(&files, format, &overrides),
        Command::Fmt { files, check } => fmt::run(&files, check),
        Command::Sim {
            file,
            experiment,
            days,
            baseline,
            trace,
            format,
            overrides,
            no_optimum,
            backend,
        } => sim::run(sim::Args {
            file,
            experiment,
            days,
            baseline,
            trace,
            format,
            overrides,
            no_optimum,
            backend: backend.into(),
        }),
        Command::Train {
            file,
            algo,
            seed,
            budget,
            out,
            overrides,
            backend,
            resume,
            batch,
            hyper,
            profile,
            format,
            interrupt_after_updates,
        } => train::run(train::Args {
            file,
            algo: algo.into(),
            seed,
            budget,
            out,
            overrides,
            hyper,
            backend: backend.into(),
            resume,
            batch,
            profile,
            json: format == Format::Json,
            interrupt_after_updates,
        }),
        Command::Run {
            file,
            plan,
            out,
            jobs,
            shard,
            dry_run,
            force,
            backend,
            interrupt_after_updates,
        } => run::run(run::Args {
            file,
            experiment: plan.experiment,
            out,
            overrides: plan.overrides,
            hyper: plan.hyper,
            jobs: jobs.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
            shard,
            dry_run,
            force,
            backend: backend.into(),
            budget: plan.budget,
            seeds: plan.seeds,
            batch: plan.batch,
            interrupt_after_updates,
            no_sweeps: plan.no_sweeps,
            algorithms: plan.algos.into_iter().map(Into::into).collect(),
        }),
        Command::Slurm {
            file,
            plan,
            out,
            partition,
            time,
            cpus,
            shards,
            submit,
        } => slurm::run(slurm::Args {
            file,
            plan,
            out,
            partition,
            time,
            cpus,
            shards,
            submit,
        }),
        Command::Merge { dirs, out, backend } => run::merge(run::MergeArgs {
            out,
            dirs,
            backend: backend.into(),
        }),
        Command::Bench {
            file,
            batch,
            steps,
            reps,
            format,
            overrides,
        } => bench::run(file, batch, steps, reps, format, overrides),
        Command::Explain { code, markdown } => explain::run(code.as_deref(), markdown),
    }
}

/// Colours only when stderr is a terminal.
pub fn color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Check FILE from disk with the `--set` overrides and print its diagnostics to stderr.
pub(crate) fn check_and_report(
    file: &std::path::Path,
    overrides: Vec<(String, String)>,
) -> crate::check::Checked {
    let checked = crate::check::check_file(
        &crate::files::Disk,
        file,
        &crate::check::Options { overrides },
    );
    for d in &checked.diagnostics {
        eprint!(
            "{}",
            crate::diag::render::render(d, &checked.sources, color())
        );
    }
    checked
}

/// Report an error that is not a diagnostic (IO, results, Slurm) and give exit code 1.
pub(crate) fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    1
}

/// Report a usage error (a bad combination of arguments) and give exit code 2.
pub(crate) fn usage(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    2
}
