//! How an agent's identity enters the networks its parameters are shared with, and the
//! inputs built from it. A one-hot id makes the input width obs_dim + N, so each agent's
//! forward pass costs O(N) and a step O(N²); a learned embedding of fixed width (or no id
//! at all, where an agent's own observation tells it apart) keeps the cost per agent flat.
//!
//! Rows of every input matrix are `environment × agent` (row r belongs to agent r % N),
//! in acting and in the minibatches alike.

use super::common::Rng;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The identity input of a shared network (`--hp agent_id=one_hot|embedding|none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentId {
    /// N columns, a 1 at the agent's index (input width grows with N).
    OneHot,
    /// `id_width` learned columns per agent (Adam on a table `N × id_width`).
    Embedding,
    /// No identity input: agents differ only through their observations.
    None,
}

/// A learned table of per-agent vectors with its own Adam moments; gradients come from
/// the network's input gradient on the embedding columns, summed per agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdEmbedding {
    agents: usize,
    width: usize,
    /// `agents × width`, row-major.
    table: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    t: u64,
}

impl IdEmbedding {
    /// Entries N(0, 1): the same scale as normalised observations.
    pub fn new(agents: usize, width: usize, seed: u64) -> IdEmbedding {
        let mut rng = Rng::new(seed);
        let table = (0..agents * width).map(|_| rng.normal()).collect();
        IdEmbedding {
            agents,
            width,
            table,
            m: vec![0.0; agents * width],
            v: vec![0.0; agents * width],
            t: 0,
        }
    }

    fn row(&self, agent: usize) -> &[f32] {
        &self.table[agent * self.width..(agent + 1) * self.width]
    }

    /// Adam step from ∂L/∂input (`rows × in`) whose columns `first..first + width` are
    /// this embedding; row r belongs to the r-th agent of `agent_of_row`.
    fn step(
        &mut self,
        input_grad: &Array2<f32>,
        first: usize,
        agent_of_row: impl Iterator<Item = usize>,
        lr: f32,
    ) {
        let mut g = vec![0.0f32; self.agents * self.width];
        for (row, a) in input_grad.outer_iter().zip(agent_of_row) {
            for j in 0..self.width {
                g[a * self.width + j] += row[first + j];
            }
        }
        self.t += 1;
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let t = self.t.min(i32::MAX as u64) as i32;
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for (k, &gr) in g.iter().enumerate() {
            self.m[k] = b1 * self.m[k] + (1.0 - b1) * gr;
            self.v[k] = b2 * self.v[k] + (1.0 - b2) * gr * gr;
            self.table[k] -= lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + eps);
        }
    }
}

/// The identity part of one network's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Identity {
    OneHot { agents: usize },
    Learned(IdEmbedding),
    None,
}

impl Identity {
    pub fn new(kind: AgentId, agents: usize, width: usize, seed: u64) -> Identity {
        match kind {
            AgentId::OneHot => Identity::OneHot { agents },
            AgentId::Embedding => Identity::Learned(IdEmbedding::new(agents, width, seed)),
            AgentId::None => Identity::None,
        }
    }

    /// Columns this identity adds to an input row.
    pub fn width(&self) -> usize {
        match self {
            Identity::OneHot { agents } => *agents,
            Identity::Learned(e) => e.width,
            Identity::None => 0,
        }
    }

    /// Write agent `agent`'s identity into `out` (length [`Identity::width`]).
    pub fn write_row(&self, agent: usize, out: &mut [f32]) {
        self.write(agent, out)
    }

    fn write(&self, agent: usize, out: &mut [f32]) {
        match self {
            Identity::OneHot { .. } => {
                out.fill(0.0);
                out[agent] = 1.0;
            }
            Identity::Learned(e) => out.copy_from_slice(e.row(agent)),
            Identity::None => {}
        }
    }

    /// Learn from the input gradient of the network these inputs fed (a no-op unless
    /// learned); `first` is the column where the identity starts.
    pub fn learn(&mut self, input_grad: &Array2<f32>, first: usize, lr: f32) {
        if let Identity::Learned(e) = self {
            let agents = e.agents;
            e.step(
                input_grad,
                first,
                (0..input_grad.nrows()).map(|r| r % agents),
                lr,
            );
        }
    }

    /// [`Identity::learn`] for rows whose agents are given explicitly (row r belongs to
    /// the r-th agent of `agent_of_row`).
    pub fn learn_rows(
        &mut self,
        input_grad: &Array2<f32>,
        first: usize,
        agent_of_row: impl Iterator<Item = usize>,
        lr: f32,
    ) {
        if let Identity::Learned(e) = self {
            e.step(input_grad, first, agent_of_row, lr);
        }
    }
}

/// Inputs `[own observation | identity]` for `obs` = `batch × agents × obs_dim`
/// (normalised): `(batch·agents) × (obs_dim + identity width)`.
pub fn own_inputs(
    obs: &[f32],
    batch: usize,
    agents: usize,
    obs_dim: usize,
    id: &Identity,
) -> Array2<f32> {
    inputs(obs, batch, agents, obs_dim, id, false)
}

/// Mean-field inputs `[own observation | mean of the environment's observations |
/// identity]`: the population enters through one pooled vector, so the width is
/// 2·obs_dim + identity whatever the number of agents (Yang et al. 2018).
pub fn mean_field_inputs(
    obs: &[f32],
    batch: usize,
    agents: usize,
    obs_dim: usize,
    id: &Identity,
) -> Array2<f32> {
    inputs(obs, batch, agents, obs_dim, id, true)
}

fn inputs(
    obs: &[f32],
    batch: usize,
    agents: usize,
    obs_dim: usize,
    id: &Identity,
    pooled: bool,
) -> Array2<f32> {
    let state = if pooled { 2 * obs_dim } else { obs_dim };
    let mut x = Array2::zeros((batch * agents, state + id.width()));
    let mut mean = vec![0.0f32; if pooled { obs_dim } else { 0 }];
    for env in 0..batch {
        let env_obs = &obs[env * agents * obs_dim..(env + 1) * agents * obs_dim];
        if pooled {
            mean.fill(0.0);
            for o in env_obs.chunks(obs_dim.max(1)) {
                mean.iter_mut().zip(o).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= agents.max(1) as f32);
        }
        for a in 0..agents {
            let mut row = x.row_mut(env * agents + a);
            let row = row
                .as_slice_mut()
                .expect("a fresh array is in standard layout");
            row[..obs_dim].copy_from_slice(&env_obs[a * obs_dim..(a + 1) * obs_dim]);
            row[obs_dim..state].copy_from_slice(&mean);
            id.write(a, &mut row[state..]);
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_place_own_observation_pooled_mean_and_identity() {
        // 2 environments × 3 agents × 2 features, values 10·row + feature.
        let obs: Vec<f32> = (0..6)
            .flat_map(|r| [10.0 * r as f32, 10.0 * r as f32 + 1.0])
            .collect();
        let one_hot = Identity::new(AgentId::OneHot, 3, 0, 1);
        let x = own_inputs(&obs, 2, 3, 2, &one_hot);
        assert_eq!(x.dim(), (6, 5));
        assert_eq!(x.row(4).to_vec(), vec![40.0, 41.0, 0.0, 1.0, 0.0]);
        let none = Identity::new(AgentId::None, 3, 8, 1);
        assert_eq!(own_inputs(&obs, 2, 3, 2, &none).dim(), (6, 2));
        let mf = mean_field_inputs(&obs, 2, 3, 2, &none);
        // Environment 1 holds rows 3, 4, 5: mean (40, 41).
        assert_eq!(mf.row(5).to_vec(), vec![50.0, 51.0, 40.0, 41.0]);
        assert_eq!(mf.row(0).to_vec(), vec![0.0, 1.0, 10.0, 11.0]);
        let learned = Identity::new(AgentId::Embedding, 3, 4, 1);
        let x = own_inputs(&obs, 2, 3, 2, &learned);
        assert_eq!(x.dim(), (6, 6));
        // The same agent gets the same vector in every environment; agents differ.
        assert_eq!(x.row(1).to_vec()[2..], x.row(4).to_vec()[2..]);
        assert_ne!(x.row(1).to_vec()[2..], x.row(2).to_vec()[2..]);
    }

    /// Descending the summed input gradient of L = Σ_rows ½‖e_agent − target_agent‖²
    /// moves each agent's vector to its target.
    #[test]
    fn an_embedding_learns_from_input_gradients_per_agent() {
        let (agents, width) = (3, 2);
        let mut id = Identity::new(AgentId::Embedding, agents, width, 7);
        let target = |a: usize, j: usize| (a * width + j) as f32 - 2.0;
        for _ in 0..3000 {
            let x = own_inputs(&[], 4, agents, 0, &id);
            let grad = Array2::from_shape_fn(x.dim(), |(r, j)| x[(r, j)] - target(r % agents, j));
            id.learn(&grad, 0, 0.01);
        }
        let x = own_inputs(&[], 1, agents, 0, &id);
        for a in 0..agents {
            for j in 0..width {
                assert!(
                    (x[(a, j)] - target(a, j)).abs() < 1e-2,
                    "{a},{j}: {}",
                    x[(a, j)]
                );
            }
        }
    }
}
