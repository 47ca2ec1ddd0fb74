//! `gridc sim`: KPI tables per example (snapshots), the JSON and trace contracts, bad input.

mod common;
use std::process::Command;

fn gridc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run gridc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kpi_table_of_each_example() {
    for path in common::files_in("examples") {
        let rel = common::relative(&path).display().to_string();
        let (code, out, err) = gridc(&["sim", &rel]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("sim_{}", rel.replace(['/', '.'], "_")), out);
    }
}

#[test]
fn json_follows_the_contract() {
    let (code, out, err) = gridc(&["sim", "examples/quickstart.grid", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    for key in [
        "scenario",
        "households",
        "steps",
        "dt_h",
        "model",
        "results",
        "energy_balance_max_residual_kwh",
    ] {
        assert!(!v[key].is_null(), "missing `{key}`");
    }
    let h = &v["model"]["households"][0];
    for key in ["name", "feeder", "pv_kwp", "annual_kwh"] {
        assert!(!h[key].is_null(), "household lacks `{key}`");
    }
    for key in [
        "capacity_kwh",
        "power_kw",
        "eta_charge",
        "eta_discharge",
        "soc_min",
        "soc_max",
        "soc_start",
    ] {
        assert!(h["battery"][key].is_number(), "battery lacks `{key}`");
    }
    assert!(v["model"]["feeders"][0]["limit_kw"].is_number());
    assert!(v["model"]["feeders"][0]["overload_penalty_per_kwh"].is_number());
    assert!(v["model"]["peak_charge_per_kw_day"].is_number());
    for policy in [
        "no_battery",
        "greedy",
        "tou_rule",
        "optimum",
        "selfish_optimum",
    ] {
        let r = &v["results"][policy];
        for key in [
            "cost",
            "import_kwh",
            "export_kwh",
            "peak_kw",
            "overload_kwh",
            "load_factor",
            "ramping_kw",
            "self_consumption",
            "self_sufficiency",
            "battery_cycles",
            "cost_reduction_vs_greedy",
            "gap_closed",
        ] {
            assert!(
                !r[key].is_null() || (policy == "greedy" && key == "gap_closed"),
                "{policy} lacks `{key}`"
            );
        }
    }
    // pv_kwp and annual_kwh are recovered from the model: std.household has 5 kWp.
    assert!((h["pv_kwp"].as_f64().unwrap_or(0.0) - 5.0).abs() < 1e-9);
    assert!(v["energy_balance_max_residual_kwh"].as_f64().unwrap_or(1.0) < 1e-9);
}

#[test]
fn trace_has_the_contract_columns_and_is_written_atomically() {
    let dir = std::env::temp_dir().join(format!("gridc-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("trace.csv");
    let (code, _, err) = gridc(&[
        "sim",
        "examples/quickstart.grid",
        "--days",
        "2023-06-01..2023-06-02",
        "--baseline",
        "greedy",
        "--trace",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).expect("trace written");
    assert_eq!(
        text.lines().next(),
        Some("day,step,household,load_kw,pv_kw,battery_kw,soc_kwh,import_kw,export_kw,price_import,price_export,feeder,feeder_flow_kw,bill,settlement")
    );
    // 2 days × 24 steps × 4 households.
    assert_eq!(text.lines().count(), 1 + 2 * 24 * 4);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `(day, step, household)` of every row of a trace written by `gridc sim`.
fn trace_keys(baseline: &str) -> Vec<(u32, usize, String)> {
    let dir = std::env::temp_dir().join(format!("gridc-order-{}-{baseline}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("trace.csv");
    let (code, _, err) = gridc(&[
        "sim",
        "examples/quickstart.grid",
        "--days",
        "2023-06-01..2023-06-03",
        "--baseline",
        baseline,
        "--trace",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).expect("trace written");
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn trace_rows_are_in_time_order() {
    let keys = trace_keys("greedy");
    assert_eq!(keys.len(), 3 * 24 * 4);
    // Day-major, then step, then the households in declaration order.
    let households: Vec<String> = (0..4).map(|i| format!("h[{i}]")).collect();
    let days: Vec<u32> = {
        let mut d: Vec<u32> = keys.iter().map(|k| k.0).collect();
        d.dedup();
        d
    };
    assert_eq!(days.len(), 3, "each day's rows are contiguous: {days:?}");
    let mut expected = Vec::new();
    for &day in &days {
        for step in 0..24 {
            for h in &households {
                expected.push((day, step, h.clone()));
            }
        }
    }
    assert_eq!(keys, expected);
}

#[test]
fn the_optimum_can_be_traced() {
    for policy in ["optimum", "selfish_optimum"] {
        let keys = trace_keys(policy);
        assert_eq!(keys.len(), 3 * 24 * 4, "{policy}");
    }
    let (code, _, err) = gridc(&[
        "sim",
        "examples/quickstart.grid",
        "--baseline",
        "optimum",
        "--no-optimum",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn bad_days_are_diagnosed_not_panicked() {
    for days in [
        "2024-01-01..2024-01-03",
        "2023-02-30",
        "2023-12-31..2023-01-01",
        "yesterday",
    ] {
        let (code, _, err) = gridc(&["sim", "examples/quickstart.grid", "--days", days]);
        assert_eq!(code, 1, "--days {days}: {err}");
        assert!(err.contains("G0041"), "--days {days}: {err}");
    }
    let (code, _, _) = gridc(&["sim", "examples/quickstart.grid", "--baseline", "smart"]);
    assert_eq!(code, 2);
}

#[test]
fn a_scenario_without_batteries_is_diagnosed() {
    let text = "gridc 0.1\n\
        tariff flat { import 0.3 $/kWh }\n\
        template hh() { load demand = 1 kW; battery store { capacity 0 kWh; power 0 kW } }\n\
        template shop() { load demand = 2 kW }\n\
        network n { bus b; feeder f from b { limit 10 kW }; shop s on f; hh h on f; tariff flat }\n\
        agents { each hh controls store.power in -1..1 }\n\
        reward { mix = 0 }\n\
        experiment e { train days 2023-01-01; test days 2023-01-02 }\n";
    let dir = std::env::temp_dir().join(format!("gridc-nobat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("zero.grid");
    std::fs::write(&file, text).expect("write");
    // A zero-capacity battery still simulates (nothing moves) ...
    let (code, out, err) = gridc(&["sim", file.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("optimum"));
    // ... but agents cannot control a battery the template does not have (checker, G0029).
    std::fs::write(
        &file,
        text.replace("battery store { capacity 0 kWh; power 0 kW }", ""),
    )
    .expect("write");
    let (code, _, err) = gridc(&["sim", file.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("G0029"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn both_backends_print_the_same_results() {
    let args = [
        "sim",
        "examples/quickstart.grid",
        "--format",
        "json",
        "--days",
        "2023-06-01..2023-06-07",
    ];
    let (c1, jit, _) = gridc(&[&args[..], &["--backend", "jit"]].concat());
    let (c2, interp, _) = gridc(&[&args[..], &["--backend", "interp"]].concat());
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(jit, interp);
}
