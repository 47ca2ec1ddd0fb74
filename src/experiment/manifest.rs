//! DIR/manifest.json: what produced the results (DESIGN §1 reproducibility): gridc version
//! and git commit, SHA-256 of the .grid file, its imports and every data file, overrides,
//! seeds, the machine, and start/end times. Its `fingerprint` (everything that changes the
//! results, nothing that does not) guards a result directory against mixing scenarios.

use super::plan::Plan;
use crate::check::Checked;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub gridc_version: String,
    /// The commit gridc was built from (`GRIDC_GIT_COMMIT` at build time), if known.
    pub gridc_commit: Option<String>,
    /// SHA-256 over the plan and every input's hash: equal fingerprints ⇒ same results.
    pub fingerprint: String,
    pub file: String,
    pub experiment: String,
    /// Input name (as shown in diagnostics) → SHA-256 of its bytes; embedded stdlib files
    /// are listed with a `<std>/` name.
    pub inputs: BTreeMap<String, String>,
    pub overrides: Vec<(String, String)>,
    pub hyper: Vec<(String, String)>,
    pub seeds: u32,
    pub budget: u64,
    pub batch: usize,
    pub runs: usize,
    pub machine: Machine,
    /// Seconds since the Unix epoch (UTC).
    pub started_unix: u64,
    pub finished_unix: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub os: String,
    pub arch: String,
    pub hostname: Option<String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Build the manifest for a plan; `checked` holds the sources of every point (all points
/// read the same files, so the base point's sources suffice).
pub fn manifest(plan: &Plan, base: &Checked, hyper: &[(String, String)]) -> Manifest {
    let inputs: BTreeMap<String, String> = base
        .sources
        .iter()
        .filter(|(_, f)| f.name != "--set" && !f.name.starts_with("--set"))
        .map(|(_, f)| (f.name.clone(), sha256_hex(f.text.as_bytes())))
        .collect();
    let overrides = plan.points[0].overrides.clone();
    // Only what changes results: not the file's path (a moved checkout is the same
    // experiment), not times or the machine.
    let mut plan_for_hash = plan.clone();
    plan_for_hash.file = Default::default();
    let fingerprint = sha256_hex(
        serde_json::to_string(&(&plan_for_hash, inputs.values().collect::<Vec<_>>(), hyper))
            .unwrap_or_default()
            .as_bytes(),
    );
    Manifest {
        gridc_version: env!("CARGO_PKG_VERSION").to_string(),
        gridc_commit: option_env!("GRIDC_GIT_COMMIT").map(str::to_string),
        fingerprint,
        file: plan.file.display().to_string(),
        experiment: plan.experiment.clone(),
        inputs,
        overrides,
        hyper: hyper.to_vec(),
        seeds: plan.seeds,
        budget: plan.budget,
        batch: plan.batch,
        runs: plan.runs.len(),
        machine: Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            hostname: std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string()),
        },
        started_unix: now_unix(),
        finished_unix: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_abc_is_the_fips_vector() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
