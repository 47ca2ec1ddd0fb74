//! Multi-layer perceptrons in f32 on ndarray (matrixmultiply underneath, measured fastest
//! here in ../shared/DEPENDENCIES.md): batched forward and backward passes with
//! hand-written gradients (checked against finite differences in the tests), orthogonal
//! initialisation, Adam and global gradient-norm clipping. Deterministic given a seed.

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

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

    /// Batched forward pass: `x` is `batch × in`; returns `batch × out` and the tape.
    pub fn forward(&self, x: &Array2<f32>) -> (Array2<f32>, Tape) {
        let mut outputs = vec![x.clone()];
        let mut h = x.clone();
        for l in &self.layers {
            let mut z = h.dot(&l.w.t());
            z += &l.b;
            z.mapv_inplace(|v| l.act.apply(v));
            outputs.push(z.clone());
            h = z;
        }
        (h, Tape { outputs })
    }

    /// Forward without keeping a tape (inference).
    pub fn predict(&self, x: &Array2<f32>) -> Array2<f32> {
        self.forward(x).0
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
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m_w: net
                .layers
                .iter()
                .map(|l| Array2::zeros(l.w.raw_dim()))
                .collect(),
            v_w: net
                .layers
                .iter()
                .map(|l| Array2::zeros(l.w.raw_dim()))
                .collect(),
            m_b: net
                .layers
                .iter()
                .map(|l| Array1::zeros(l.b.raw_dim()))
                .collect(),
            v_b: net
                .layers
                .iter()
                .map(|l| Array1::zeros(l.b.raw_dim()))
                .collect(),
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
