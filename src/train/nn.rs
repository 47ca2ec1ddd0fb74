//! Multi-layer perceptrons in f32 on ndarray (matrixmultiply underneath, measured fastest
//! here in ../shared/DEPENDENCIES.md): batched forward and backward passes with
//! hand-written gradients (checked against finite differences in the tests), orthogonal
//! initialisation, Adam and global gradient-norm clipping. Deterministic given a seed.
//!
//! Large batches run in blocks of [`BLOCK_ROWS`] rows, in parallel with rayon: a block's
//! activations stay in a core's L2 cache (a 12 288-row minibatch of a 64-wide MLP does
//! not: its activations are 6 MB), and the blocks' gradients are summed in block order,
//! so the result does not depend on the number of threads.

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Relu,
    Tanh,
    Identity,
}

impl Activation {
    fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Identity => x,
        }
    }
    /// Derivative expressed through the activation's output y = f(x).
    fn grad_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - y * y,
            Activation::Identity => 1.0,
        }
    }
}

/// One affine layer followed by an activation: y = f(x Wᵀ + b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// `out × in`.
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub act: Activation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub layers: Vec<Layer>,
}

/// Gradients with the same shapes as the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Grads {
    pub w: Vec<Array2<f32>>,
    pub b: Vec<Array1<f32>>,
}

/// Activations kept by `forward` for `backward`: the input and every layer's output.
pub struct Tape {
    outputs: Vec<Array2<f32>>,
}

/// Rows per block of a blocked pass. A block of a 64-wide MLP holds ≈ 512 · (in + 2·64 +
/// out) floats of activations and as many of deltas, ≈ 0.6 MB with its tape: one core's
/// L2 (512 kB) plus its share of L3. Measured on community16 (docs/performance.md).
pub const BLOCK_ROWS: usize = 512;

/// `0..rows` cut into consecutive blocks of at most [`BLOCK_ROWS`].
fn row_blocks(rows: usize) -> Vec<Range<usize>> {
    (0..rows)
        .step_by(BLOCK_ROWS)
        .map(|r| r..(r + BLOCK_ROWS).min(rows))
        .collect()
}

/// What [`Mlp::gradients`] returns: parameter gradients summed over the blocks, ∂L/∂input
/// for every row, and what the loss function said of each block, in block order.
pub struct Gradients<S> {
    pub grads: Grads,
    pub input_grad: Array2<f32>,
    pub parts: Vec<S>,
}

impl Mlp {
    /// `sizes = [in, hidden…, out]`; hidden layers use `hidden`, the last layer `output`.
    /// Weights are orthogonal with gain √2 for ReLU, 1 otherwise (`last_gain` for the output
    /// layer, e.g. 0.01 for a policy head), biases zero.
    pub fn new(
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
        last_gain: f32,
        seed: u64,
    ) -> Mlp {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|i| {
                let act = if i + 1 == n { output } else { hidden };
                let gain = if i + 1 == n {
                    last_gain
                } else if act == Activation::Relu {
                    std::f32::consts::SQRT_2
                } else {
                    1.0
                };
                Layer {
                    w: orthogonal(sizes[i + 1], sizes[i], gain, &mut rng),
                    b: Array1::zeros(sizes[i + 1]),
                    act,
                }
            })
            .collect();
        Mlp { layers }
    }

    pub fn input_size(&self) -> usize {
        self.layers.first().map(|l| l.w.ncols()).unwrap_or(0)
    }
    pub fn output_size(&self) -> usize {
        self.layers.last().map(|l| l.w.nrows()).unwrap_or(0)
    }

    /// Floating-point operations of a forward pass over `rows` rows (2 per multiply-add),
    /// with `backward` those of the backward pass too (weight and input gradients: twice
    /// the forward's). Activations and bias adds are not counted.
    pub fn flops(&self, rows: usize, backward: bool) -> f64 {
        let forward: f64 = self
            .layers
            .iter()
            .map(|l| 2.0 * (rows * l.w.nrows() * l.w.ncols()) as f64)
            .sum();
        if backward {
            3.0 * forward
        } else {
            forward
        }
    }

    fn layer(l: &Layer, h: ArrayView2<f32>) -> Array2<f32> {
        let mut z = h.dot(&l.w.t());
        z += &l.b;
        z.mapv_inplace(|v| l.act.apply(v));
        z
    }

    /// Batched forward pass: `x` is `batch × in`; returns `batch × out` and the tape.
    pub fn forward(&self, x: &Array2<f32>) -> (Array2<f32>, Tape) {
        self.forward_view(x.view())
    }

    fn forward_view(&self, x: ArrayView2<f32>) -> (Array2<f32>, Tape) {
        let mut outputs = Vec::with_capacity(self.layers.len() + 1);
        outputs.push(x.to_owned());
        for l in &self.layers {
            let z = Mlp::layer(l, outputs[outputs.len() - 1].view());
            outputs.push(z);
        }
        let out = outputs[outputs.len() - 1].clone();
        (out, Tape { outputs })
    }

    /// Forward without a tape (inference), in parallel blocks of rows.
    pub fn predict(&self, x: &Array2<f32>) -> Array2<f32> {
        let run = |x: ArrayView2<f32>| {
            let mut h = x.to_owned();
            for l in &self.layers {
                h = Mlp::layer(l, h.view());
            }
            h
        };
        if x.nrows() <= BLOCK_ROWS {
            return run(x.view());
        }
        let parts: Vec<Array2<f32>> = row_blocks(x.nrows())
            .into_par_iter()
            .map(|r| run(x.slice(s![r, ..])))
            .collect();
        let views: Vec<ArrayView2<f32>> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).expect("blocks share the output width")
    }

    /// Gradients of a loss that is a sum over rows, in parallel blocks of rows:
    /// `loss_grad(rows, outputs)` gets a block's row range and outputs and returns
    /// ∂L/∂outputs for them and whatever else the caller wants to know of the block.
    pub fn gradients<S, F>(&self, x: &Array2<f32>, loss_grad: F) -> Gradients<S>
    where
        S: Send,
        F: Fn(Range<usize>, &Array2<f32>) -> (Array2<f32>, S) + Sync,
    {
        let blocks: Vec<(Grads, Array2<f32>, S)> = row_blocks(x.nrows())
            .into_par_iter()
            .map(|r| {
                let (out, tape) = self.forward_view(x.slice(s![r.clone(), ..]));
                let (dout, part) = loss_grad(r, &out);
                let (g, dx) = self.backward(&tape, &dout);
                (g, dx, part)
            })
            .collect();
        let mut grads: Option<Grads> = None;
        let mut input_grads = Vec::with_capacity(blocks.len());
        let mut parts = Vec::with_capacity(blocks.len());
        for (g, dx, part) in blocks {
            match &mut grads {
                None => grads = Some(g),
                Some(sum) => sum.add(&g),
            }
            input_grads.push(dx);
            parts.push(part);
        }
        let views: Vec<ArrayView2<f32>> = input_grads.iter().map(|d| d.view()).collect();
        Gradients {
            grads: grads.unwrap_or_else(|| self.zero_grads()),
            input_grad: if views.is_empty() {
                Array2::zeros((0, self.input_size()))
            } else {
                ndarray::concatenate(Axis(0), &views).expect("blocks share the input width")
            },
            parts,
        }
    }

    fn zero_grads(&self) -> Grads {
        Grads {
            w: self
                .layers
                .iter()
                .map(|l| Array2::zeros(l.w.raw_dim()))
                .collect(),
            b: self
                .layers
                .iter()
                .map(|l| Array1::zeros(l.b.raw_dim()))
                .collect(),
        }
    }

    /// Backward pass: `dout` = ∂L/∂output (`batch × out`). Returns parameter gradients and
    /// ∂L/∂input (for critics that differentiate through their action input).
    pub fn backward(&self, tape: &Tape, dout: &Array2<f32>) -> (Grads, Array2<f32>) {
        let n = self.layers.len();
        let mut gw = vec![Array2::zeros((0, 0)); n];
        let mut gb = vec![Array1::zeros(0); n];
        let mut delta = dout.clone();
        for i in (0..n).rev() {
            let l = &self.layers[i];
            let y = &tape.outputs[i + 1];
            // Through the activation: δz = δy ⊙ f'(z).
            ndarray::Zip::from(&mut delta)
                .and(y)
                .for_each(|d, &yv| *d *= l.act.grad_from_output(yv));
            let x = &tape.outputs[i];
            gw[i] = delta.t().dot(x);
            gb[i] = delta.sum_axis(Axis(0));
            delta = delta.dot(&l.w);
        }
        (Grads { w: gw, b: gb }, delta)
    }
}

impl Grads {
    /// Adds `other` (same shapes) to these gradients.
    pub fn add(&mut self, other: &Grads) {
        self.w.iter_mut().zip(&other.w).for_each(|(a, b)| *a += b);
        self.b.iter_mut().zip(&other.b).for_each(|(a, b)| *a += b);
    }

    pub fn norm(&self) -> f32 {
        let s: f32 = self
            .w
            .iter()
            .map(|g| g.iter().map(|v| v * v).sum::<f32>())
            .sum::<f32>()
            + self
                .b
                .iter()
                .map(|g| g.iter().map(|v| v * v).sum::<f32>())
                .sum::<f32>();
        s.sqrt()
    }
    /// Scale so the global L2 norm is at most `max_norm`; returns the norm before.
    pub fn clip(&mut self, max_norm: f32) -> f32 {
        let norm = self.norm();
        if norm > max_norm && norm > 0.0 {
            let k = max_norm / norm;
            self.w.iter_mut().for_each(|g| g.mapv_inplace(|v| v * k));
            self.b.iter_mut().for_each(|g| g.mapv_inplace(|v| v * k));
        }
        norm
    }
}

/// Adam (Kingma & Ba) with bias correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub t: u64,
    m_w: Vec<Array2<f32>>,
    v_w: Vec<Array2<f32>>,
    m_b: Vec<Array1<f32>>,
    v_b: Vec<Array1<f32>>,
}

impl Adam {
    pub fn new(net: &Mlp, lr: f32) -> Adam {
        let zeros = net.zero_grads();
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m_w: zeros.w.clone(),
            v_w: zeros.w,
            m_b: zeros.b.clone(),
            v_b: zeros.b,
        }
    }

    /// One descent step: θ ← θ − lr · m̂ / (√v̂ + ε).
    pub fn step(&mut self, net: &mut Mlp, g: &Grads) {
        self.t += 1;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let c1 = 1.0 - b1.powi(self.t.min(i32::MAX as u64) as i32);
        let c2 = 1.0 - b2.powi(self.t.min(i32::MAX as u64) as i32);
        let lr = self.lr;
        for (i, l) in net.layers.iter_mut().enumerate() {
            ndarray::Zip::from(&mut l.w)
                .and(&mut self.m_w[i])
                .and(&mut self.v_w[i])
                .and(&g.w[i])
                .for_each(|p, m, v, &gr| {
                    *m = b1 * *m + (1.0 - b1) * gr;
                    *v = b2 * *v + (1.0 - b2) * gr * gr;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            ndarray::Zip::from(&mut l.b)
                .and(&mut self.m_b[i])
                .and(&mut self.v_b[i])
                .and(&g.b[i])
                .for_each(|p, m, v, &gr| {
                    *m = b1 * *m + (1.0 - b1) * gr;
                    *v = b2 * *v + (1.0 - b2) * gr * gr;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
        }
    }
}

/// The machine's f32 matrix-multiply throughput in GFLOP/s, as this module's GEMM
/// (matrixmultiply through ndarray) reaches it: every rayon thread multiplies 256 × 256
/// matrices (cache-resident, the best case) for about `seconds`. The yardstick for
/// learning's achieved GFLOP/s in `gridc train --profile`.
pub fn gemm_peak_gflops(seconds: f64) -> f64 {
    let n = 256;
    let threads = rayon::current_num_threads().max(1);
    let start = std::time::Instant::now();
    let products: usize = (0..threads)
        .into_par_iter()
        .map(|t| {
            let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j + t) % 13) as f32 * 0.1);
            let b = a.t().to_owned();
            let mut c = Array2::<f32>::zeros((n, n));
            let mut count = 0;
            let thread_start = std::time::Instant::now();
            while count < 4 || thread_start.elapsed().as_secs_f64() < seconds {
                ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
                count += 1;
            }
            std::hint::black_box(&c);
            count
        })
        .sum();
    2.0 * (n * n * n) as f64 * products as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// A `rows × cols` matrix with orthonormal rows (or columns, whichever are fewer), times
/// `gain`: Gram–Schmidt on a standard normal matrix (Saxe et al. 2014).
fn orthogonal(rows: usize, cols: usize, gain: f32, rng: &mut rand::rngs::StdRng) -> Array2<f32> {
    let (n, m) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    // Orthonormalise the m columns of an n × m matrix (n ≥ m), in f64 for accuracy.
    let mut a: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..n).map(|_| StandardNormal.sample(rng)).collect())
        .collect();
    for j in 0..m {
        for k in 0..j {
            let dot: f64 = (0..n).map(|i| a[j][i] * a[k][i]).sum();
            for i in 0..n {
                a[j][i] -= dot * a[k][i];
            }
        }
        let norm = (0..n)
            .map(|i| a[j][i] * a[j][i])
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        for i in 0..n {
            a[j][i] /= norm;
        }
    }
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let v = if rows >= cols { a[c][r] } else { a[r][c] };
        v as f32 * gain
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(batch: usize, n: usize, seed: u64) -> Array2<f32> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Array2::from_shape_fn((batch, n), |_| StandardNormal.sample(&mut rng))
    }

    /// L = Σ c ⊙ y with fixed random c, so ∂L/∂y = c.
    fn loss(net: &Mlp, x: &Array2<f32>, c: &Array2<f32>) -> f64 {
        net.predict(x)
            .iter()
            .zip(c.iter())
            .map(|(y, c)| (*y as f64) * (*c as f64))
            .sum()
    }

    #[test]
    fn gradients_match_finite_differences_for_every_activation() {
        for (hidden, output) in [
            (Activation::Tanh, Activation::Identity),
            (Activation::Relu, Activation::Tanh),
            (Activation::Identity, Activation::Relu),
        ] {
            let net = Mlp::new(&[5, 7, 6, 3], hidden, output, 1.0, 3);
            let x = input(4, 5, 9);
            let c = input(4, 3, 10);
            let (_, tape) = net.forward(&x);
            let (g, dx) = net.backward(&tape, &c);
            let h = 1e-3f32;
            let mut worst: f64 = 0.0;
            for li in 0..net.layers.len() {
                for idx in [(0usize, 0usize), (1, 2), (2, 1)] {
                    if idx.0 >= net.layers[li].w.nrows() || idx.1 >= net.layers[li].w.ncols() {
                        continue;
                    }
                    let mut p = net.clone();
                    p.layers[li].w[idx] += h;
                    let mut m = net.clone();
                    m.layers[li].w[idx] -= h;
                    let fd = (loss(&p, &x, &c) - loss(&m, &x, &c)) / (2.0 * h as f64);
                    worst = worst.max((fd - g.w[li][idx] as f64).abs() / fd.abs().max(1e-2));
                }
                let mut p = net.clone();
                p.layers[li].b[0] += h;
                let mut m = net.clone();
                m.layers[li].b[0] -= h;
                let fd = (loss(&p, &x, &c) - loss(&m, &x, &c)) / (2.0 * h as f64);
                worst = worst.max((fd - g.b[li][0] as f64).abs() / fd.abs().max(1e-2));
            }
            // Input gradient.
            let mut xp = x.clone();
            xp[(1, 2)] += h;
            let mut xm = x.clone();
            xm[(1, 2)] -= h;
            let fd = (loss(&net, &xp, &c) - loss(&net, &xm, &c)) / (2.0 * h as f64);
            worst = worst.max((fd - dx[(1, 2)] as f64).abs() / fd.abs().max(1e-2));
            assert!(
                worst < 2e-2,
                "{hidden:?}/{output:?}: relative gradient error {worst}"
            );
        }
    }

    /// The blocked, parallel passes against one unblocked pass over the same rows: the
    /// summed gradients, the input gradients and the predictions agree (up to the order
    /// of f32 sums), and a block's loss function sees its own rows.
    #[test]
    fn blocked_passes_match_one_pass_over_all_rows() {
        let net = Mlp::new(&[6, 16, 16, 2], Activation::Relu, Activation::Tanh, 1.0, 4);
        let rows = 2 * BLOCK_ROWS + 77;
        let x = input(rows, 6, 3);
        let c = input(rows, 2, 8);
        let (out, tape) = net.forward(&x);
        let (g, dx) = net.backward(&tape, &c);
        let blocked = net.gradients(&x, |r, out_block| {
            assert_eq!(out_block.nrows(), r.len());
            (c.slice(s![r.clone(), ..]).to_owned(), r.start)
        });
        assert_eq!(blocked.parts, vec![0, BLOCK_ROWS, 2 * BLOCK_ROWS]);
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs()));
        for (a, b) in g.w.iter().zip(&blocked.grads.w) {
            assert!(
                a.iter().zip(b).all(|(a, b)| close(*a, *b)),
                "weight gradients"
            );
        }
        for (a, b) in g.b.iter().zip(&blocked.grads.b) {
            assert!(
                a.iter().zip(b).all(|(a, b)| close(*a, *b)),
                "bias gradients"
            );
        }
        assert_eq!(blocked.input_grad.dim(), dx.dim());
        assert!(dx
            .iter()
            .zip(&blocked.input_grad)
            .all(|(a, b)| close(*a, *b)));
        let predicted = net.predict(&x);
        assert_eq!(predicted.dim(), out.dim());
        assert!(out.iter().zip(&predicted).all(|(a, b)| close(*a, *b)));
        // 3 layers: 6·16 + 16·16 + 16·2 multiply-adds per row.
        assert_eq!(net.flops(10, false), 2.0 * 10.0 * (96.0 + 256.0 + 32.0));
        assert_eq!(net.flops(10, true), 3.0 * net.flops(10, false));
    }

    #[test]
    fn orthogonal_init_has_orthonormal_rows_or_columns() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for (r, c) in [(8, 5), (5, 8), (6, 6)] {
            let w = orthogonal(r, c, 1.0, &mut rng);
            let g = if r >= c { w.t().dot(&w) } else { w.dot(&w.t()) };
            for i in 0..g.nrows() {
                for j in 0..g.ncols() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (g[(i, j)] - want).abs() < 1e-5,
                        "{r}x{c}: gram[{i},{j}] = {}",
                        g[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn adam_fits_a_small_regression_and_is_deterministic() {
        // y = sin(x₀) + 0.5 x₁ on random inputs; the MSE must drop by 10× in 400 steps.
        let run = || {
            let mut net = Mlp::new(
                &[2, 32, 32, 1],
                Activation::Tanh,
                Activation::Identity,
                1.0,
                42,
            );
            let mut opt = Adam::new(&net, 3e-3);
            let x = input(128, 2, 5);
            let y = Array2::from_shape_fn((128, 1), |(i, _)| x[(i, 0)].sin() + 0.5 * x[(i, 1)]);
            let mse = |net: &Mlp| {
                (&net.predict(&x) - &y)
                    .mapv(|d| d * d)
                    .mean()
                    .unwrap_or(f32::NAN)
            };
            let first = mse(&net);
            for _ in 0..400 {
                let (out, tape) = net.forward(&x);
                let d = (&out - &y) * (2.0 / 128.0);
                let (mut g, _) = net.backward(&tape, &d);
                g.clip(10.0);
                opt.step(&mut net, &g);
            }
            (first, mse(&net), net)
        };
        let (first, last, net_a) = run();
        assert!(last < first / 10.0, "MSE {first} → {last}");
        let (_, _, net_b) = run();
        assert_eq!(net_a, net_b, "same seed, same parameters");
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let net = Mlp::new(&[3, 4, 2], Activation::Relu, Activation::Identity, 1.0, 0);
        let x = input(8, 3, 1);
        let (_, tape) = net.forward(&x);
        let (mut g, _) = net.backward(&tape, &(input(8, 2, 2) * 100.0));
        let before = g.clip(0.5);
        assert!(before > 0.5);
        assert!((g.norm() - 0.5).abs() < 1e-4);
    }
}
