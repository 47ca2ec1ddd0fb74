//! Parse + check time against file size: generated scenarios with 1k, 10k and 100k
//! households (one instance line per household, so the file grows with them).
//! `cargo bench --bench check_scaling` prints ms per size and the time-per-household ratio
//! (linear scaling means the ratio stays near 1).

use gridc::check::{check_source, Options};
use std::time::Instant;

fn scenario(households: usize) -> String {
    let mut s = String::from(
        "gridc 0.1\nimport \"std\"\n\
         template household(annual: kWh = 4500 kWh, pv: kWp = 5 kWp) {\n\
           load demand = std.load.h25 * (annual / 1000 kWh)\n\
           solar roof = std.pv.greensboro * pv\n\
           battery store { capacity 10 kWh; power 5 kW; efficiency 0.95; soc 0.1..0.95; start 0.5 }\n\
         }\n\
         network town {\n  bus substation\n  feeder street from substation { limit 5000 kW; overload_penalty 1 $/kWh }\n",
    );
    for i in 0..households {
        s.push_str(&format!(
            "  household h{i} on street (annual: {} kWh)\n",
            3000 + (i * 37) % 3000
        ));
    }
    s.push_str(
        "  peak_charge 0.5 $/kW per day on substation\n  tariff std.tou\n}\n\
         agents {\n  each household controls store.power in -1..1\n  observe { time.hour, price.import, self.store.soc }\n}\n\
         reward { mix = 0.5 }\n\
         experiment main { train days 2023-01-01..2023-10-31; test days 2023-11-01..2023-12-31 }\n",
    );
    s
}

fn time_check(text: &str) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let c = check_source(
            &gridc::files::Disk,
            "bench.grid",
            text,
            None,
            &Options::default(),
        );
        assert!(!c.has_errors(), "generated scenario must check");
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let sizes = [1_000usize, 10_000, 100_000];
    let mut rows = Vec::new();
    for &n in &sizes {
        let text = scenario(n);
        let s = time_check(&text);
        rows.push((n, text.len(), s));
    }
    println!(
        "{:>10} {:>12} {:>10} {:>14}",
        "households", "bytes", "ms", "us/household"
    );
    for (n, bytes, s) in &rows {
        println!(
            "{:>10} {:>12} {:>10.1} {:>14.2}",
            n,
            bytes,
            s * 1e3,
            s * 1e6 / *n as f64
        );
    }
    // Split parse vs check for the 10k case.
    let text = scenario(10_000);
    let mut parse_best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let (_f, d) = gridc::syntax::parse_file(&text, gridc::source::SourceId(0));
        assert!(d.is_empty());
        parse_best = parse_best.min(t.elapsed().as_secs_f64());
    }
    println!("10k households: parse alone {:.1} ms", parse_best * 1e3);
    let per = |i: usize| rows[i].2 / rows[i].0 as f64;
    println!(
        "linearity: per-household time 100k/1k = {:.2}, 10k/1k = {:.2}",
        per(2) / per(0),
        per(1) / per(0)
    );
}
