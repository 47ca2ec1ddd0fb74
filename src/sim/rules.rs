//! The fixed battery policies (`model::Rule`): the rule baselines, and the policy of the
//! households no agent controls (`others follow …`), which the environment applies itself.
//! Each returns one action per household (fraction of rated power, + = charge).

use crate::ir::Field;
use crate::model::Rule;
use crate::sim::env::Env;

impl Rule {
    /// Actions for every household of every environment at the env's current step.
    pub fn actions(self, env: &Env) -> Vec<f64> {
        let n = env.ir.households;
        let pmax = env.ir.household_param(Field::PowerRating);
        let mut out = vec![0.0; env.batch() * n];
        if self == Rule::NoBattery {
            return out;
        }
        let t = env.t;
        let cap = env.ir.household_param(Field::Capacity);
        let smax = env.ir.household_param(Field::SocMax);
        let eta_c = env.ir.household_param(Field::EtaCharge);
        let dt = env.ir.dt_h;
        for b in 0..env.batch() {
            let ep = &env.episodes[b];
            let steps = env.steps();
            let day_prices = &ep.price_import[..steps];
            let cheapest = day_prices.iter().copied().fold(f64::INFINITY, f64::min);
            let dearest = day_prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let price = ep.price_import[t];
            // Cheap steps left today, including this one.
            let cheap_left = day_prices[t..]
                .iter()
                .filter(|p| **p <= cheapest)
                .count()
                .max(1) as f64;
            for i in 0..n {
                if pmax[i] <= 0.0 {
                    continue;
                }
                let surplus = env.m.h(Field::PvKw, b, i) - env.m.h(Field::LoadKw, b, i);
                let greedy = (surplus / pmax[i]).clamp(-1.0, 1.0);
                out[b * n + i] = match self {
                    Rule::Greedy => greedy,
                    Rule::TouRule if dearest > cheapest && price <= cheapest => {
                        let need_kwh =
                            (smax[i] * cap[i] - env.m.h(Field::Energy, b, i)).max(0.0) / eta_c[i];
                        (need_kwh / (cheap_left * dt * pmax[i]))
                            .clamp(0.0, 1.0)
                            .max(greedy)
                    }
                    Rule::TouRule if dearest > cheapest && price >= dearest => greedy.min(0.0),
                    Rule::TouRule => greedy.max(0.0),
                    Rule::NoBattery => 0.0,
                };
            }
        }
        out
    }
}
