//! Data structures shared by the trainers: generalised advantage estimation (PPO family),
//! running mean/variance for observation and value normalisation, and a replay buffer
//! (MADDPG). Each is tested against values worked out by hand.

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// GAE(γ, λ) over one rollout of `steps` for `n` parallel streams (environment × agent),
/// time-major: `rewards[t * n + k]`. `values` has `steps + 1` rows (the last is the
/// bootstrap value after the final step); `dones[t * n + k]` is true when step t ended an
/// episode (no bootstrapping across it). Returns (advantages, returns = adv + value).
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[bool],
    n: usize,
    gamma: f32,
    lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let steps = rewards.len() / n.max(1);
    let mut adv = vec![0.0; steps * n];
    let mut last = vec![0.0f32; n];
    for t in (0..steps).rev() {
        for k in 0..n {
            let i = t * n + k;
            let not_done = if dones[i] { 0.0 } else { 1.0 };
            let delta = rewards[i] + gamma * values[(t + 1) * n + k] * not_done - values[i];
            last[k] = delta + gamma * lambda * not_done * last[k];
            adv[i] = last[k];
        }
    }
    let returns = adv.iter().enumerate().map(|(i, a)| a + values[i]).collect();
    (adv, returns)
}

/// Running mean and variance per feature (Chan et al.'s parallel update), for normalising
/// observations and value targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    pub count: f64,
    pub mean: Vec<f64>,
    pub m2: Vec<f64>,
}

impl RunningStats {
    pub fn new(features: usize) -> RunningStats {
        RunningStats {
            count: 0.0,
            mean: vec![0.0; features],
            m2: vec![0.0; features],
        }
    }

    /// Add a batch of rows (`rows × features`, row-major).
    pub fn update(&mut self, data: &[f32]) {
        let f = self.mean.len();
        if f == 0 || data.is_empty() {
            return;
        }
        let rows = (data.len() / f) as f64;
        for j in 0..f {
            let col = data.iter().skip(j).step_by(f).map(|&x| x as f64);
            let bmean = col.clone().sum::<f64>() / rows;
            let bm2: f64 = col.map(|x| (x - bmean) * (x - bmean)).sum();
            let delta = bmean - self.mean[j];
            let total = self.count + rows;
            self.mean[j] += delta * rows / total;
            self.m2[j] += bm2 + delta * delta * self.count * rows / total;
        }
        self.count += rows;
    }

    pub fn variance(&self, j: usize) -> f64 {
        if self.count > 0.0 {
            self.m2[j] / self.count
        } else {
            1.0
        }
    }

    /// (x − mean) / √(var + ε), clipped to ±`clip`, in place.
    pub fn normalize(&self, data: &mut [f32], clip: f32) {
        let f = self.mean.len();
        for (i, x) in data.iter_mut().enumerate() {
            let j = i % f;
            let z = (*x as f64 - self.mean[j]) / (self.variance(j) + 1e-8).sqrt();
            *x = (z as f32).clamp(-clip, clip);
        }
    }

    /// A normalised copy of `data` (unchanged when there are no features).
    pub fn normalized(&self, data: &[f32], clip: f32) -> Vec<f32> {
        let mut out = data.to_vec();
        if !self.mean.is_empty() {
            self.normalize(&mut out, clip);
        }
        out
    }
}

/// A fixed-capacity ring buffer of transitions with seeded uniform sampling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replay {
    pub capacity: usize,
    /// Floats per transition.
    pub width: usize,
    data: Vec<f32>,
    len: usize,
    next: usize,
    rng_state: u64,
}

impl Replay {
    pub fn new(capacity: usize, width: usize, seed: u64) -> Replay {
        Replay {
            capacity,
            width,
            data: vec![0.0; capacity * width],
            len: 0,
            next: 0,
            rng_state: seed,
        }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Store one transition (`width` floats), overwriting the oldest when full.
    pub fn push(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.width, "transition width");
        let at = self.next * self.width;
        self.data[at..at + self.width].copy_from_slice(row);
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }
    /// `batch` transitions drawn uniformly with replacement, row-major.
    pub fn sample(&mut self, batch: usize) -> Vec<f32> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.rng_state);
        let mut out = Vec::with_capacity(batch * self.width);
        for _ in 0..batch {
            let i = rng.random_range(0..self.len.max(1));
            out.extend_from_slice(&self.data[i * self.width..(i + 1) * self.width]);
        }
        self.rng_state = rng.random();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_by_hand() {
        // One stream, 3 steps, γ = 0.9, λ = 0.5, rewards 1, 0, 2, values 0.5, 1, 0.2, bootstrap 4.
        // δ2 = 2 + 0.9·4 − 0.2 = 5.4;   A2 = 5.4
        // δ1 = 0 + 0.9·0.2 − 1 = −0.82; A1 = −0.82 + 0.45·5.4 = 1.61
        // δ0 = 1 + 0.9·1 − 0.5 = 1.4;   A0 = 1.4 + 0.45·1.61 = 2.1245
        let (a, r) = gae(
            &[1.0, 0.0, 2.0],
            &[0.5, 1.0, 0.2, 4.0],
            &[false, false, false],
            1,
            0.9,
            0.5,
        );
        for (x, want) in a.iter().zip([2.1245, 1.61, 5.4]) {
            assert!((x - want).abs() < 1e-5, "{a:?}");
        }
        assert!((r[0] - 2.6245).abs() < 1e-5);
        // An episode end at step 1 stops bootstrapping: δ1 = 0 − 1 = −1, A1 = −1;
        // A0 = 1.4 + 0.45·(−1) = 0.95.
        let (a, _) = gae(
            &[1.0, 0.0, 2.0],
            &[0.5, 1.0, 0.2, 4.0],
            &[false, true, false],
            1,
            0.9,
            0.5,
        );
        assert!(
            (a[1] + 1.0).abs() < 1e-6 && (a[0] - 0.95).abs() < 1e-6,
            "{a:?}"
        );
    }

    #[test]
    fn running_stats_match_the_batch_formulas() {
        // Two features; rows (1, 10), (2, 20), (3, 30), (4, 40) added in two batches.
        let mut s = RunningStats::new(2);
        s.update(&[1.0, 10.0, 2.0, 20.0]);
        s.update(&[3.0, 30.0, 4.0, 40.0]);
        assert!((s.mean[0] - 2.5).abs() < 1e-12 && (s.mean[1] - 25.0).abs() < 1e-12);
        // Population variance of 1..4 is 1.25; of 10..40 it is 125.
        assert!((s.variance(0) - 1.25).abs() < 1e-12 && (s.variance(1) - 125.0).abs() < 1e-9);
        let mut x = [2.5, 25.0, 100.0, 25.0];
        s.normalize(&mut x, 5.0);
        assert_eq!(x[0], 0.0);
        assert_eq!(x[2], 5.0, "clipped");
    }

    #[test]
    fn replay_overwrites_the_oldest_and_samples_reproducibly() {
        let mut a = Replay::new(3, 2, 7);
        for k in 0..5 {
            a.push(&[k as f32, -(k as f32)]);
        }
        assert_eq!(a.len(), 3);
        let mut b = a.clone();
        let sa = a.sample(10);
        assert_eq!(sa, b.sample(10));
        // Only transitions 2, 3, 4 remain.
        assert!(sa
            .chunks(2)
            .all(|r| (2.0..=4.0).contains(&r[0]) && r[1] == -r[0]));
        assert_ne!(a.sample(10), sa, "the generator advances");
    }
}
