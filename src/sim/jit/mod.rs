//! Cranelift JIT of the IR. Each `Map` kernel becomes one native loop function over
//! struct-of-arrays, `extern "C" fn(fields, scalars, per_env, batch) -> flags`
//! (`kernel.rs`), and the observation program one loop function over environments ×
//! agents (`observe.rs`). Counts are arguments, so code size does not depend on the
//! number of households. Arithmetic mirrors the interpreter op for op (no fusion of
//! floating-point operations; min/max as fcmp + select), so results are bit-identical.
//!
//! [`JitProgram::step`] runs the whole step program on blocks of environments small
//! enough to stay in cache (every stage for one block, then the next block), calling the
//! compiled kernels and the reductions of `interp` for each block.
//!
//! `unsafe` appears in three places, each with its reason: the transmutes of finalized
//! code pointers to their function types (in `compile`, right after defining them with
//! exactly those signatures), the calls into compiled code ([`JitProgram::run`],
//! [`JitProgram::observe`], made after checking every array length against the counts),
//! and `Send`/`Sync` for `JitProgram` (the code is immutable after finalizing and reads
//! only the pointers each call passes).

mod kernel;
mod observe;

use super::interp::Machine;
use super::obs::ObsInputs;
use crate::ir::{Domain, Ir, Stage};
use cranelift_codegen::ir::{types, AbiParam};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};
use std::ops::Range;

/// Upper bound on fields and scalars (both enums are far smaller).
const MAX_ARRAYS: usize = 64;

/// Household elements per block of environments in [`JitProgram::step`]: ~30 arrays of
/// 4 096 f64 (≈ 1 MB) stay in L2 between the stages of one block.
pub const BLOCK_ELEMENTS: usize = 4096;

type KernelFn = unsafe extern "C" fn(*const *mut f64, *const *mut f64, i64, i64) -> i32;
type ObserveFn = unsafe extern "C" fn(*const *const u8, *const i64);

#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("the JIT is not available on this machine: {0}")]
    Unsupported(String),
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// Compiled kernels of one IR, in program order (None for non-`Map` stages), and the
/// observation kernel.
pub struct JitProgram {
    /// Keeps the executable memory alive as long as the program.
    _module: JITModule,
    kernels: Vec<Option<(KernelFn, Domain)>>,
    /// `Total` stages computed inside an earlier kernel's loop (skipped by `step`).
    fused: Vec<bool>,
    observe: ObserveFn,
    /// Counts the observation kernel was checked against at compile time.
    households: usize,
    feeders: usize,
    obs_dim: usize,
    messages: usize,
    env_series: usize,
    agent_series: usize,
    series_len: usize,
    max_offset: usize,
    /// Household and feeder of each agent (validated against the counts).
    agent_house: Vec<i64>,
    agent_feeder: Vec<i64>,
    pub compile_ms: f64,
    /// Machine-code bytes over all kernels (step kernels and observation kernel).
    pub code_bytes: usize,
    /// Machine-code bytes of the observation kernel alone.
    pub observe_code_bytes: usize,
}

// SAFETY: the module is finalized and never modified again; the compiled functions hold
// no state and touch only the pointers each call passes, so sharing across threads is sound.
unsafe impl Send for JitProgram {}
unsafe impl Sync for JitProgram {}

/// Everything the observation kernel reads, borrowed from the environment.
pub struct ObsArgs<'a> {
    /// Step within the episode (observations after the last step use `t = steps`).
    pub t: usize,
    pub batch: usize,
    /// `batch × households`.
    pub energy: &'a [f64],
    /// Per household (`households`).
    pub capacity: &'a [f64],
    /// `batch × households`, `batch × feeders`, `batch`.
    pub last_net: &'a [f64],
    pub last_flow: &'a [f64],
    pub last_bus: &'a [f64],
    /// `batch`: the day's running peak at the peak-charge bus.
    pub peak_today: &'a [f64],
    /// `batch × agents × k`.
    pub messages: &'a [f64],
    pub inputs: &'a ObsInputs,
}

fn codegen<E: std::fmt::Debug>(e: E) -> JitError {
    JitError::Codegen(format!("{e:?}"))
}

impl JitProgram {
    pub fn compile(ir: &Ir) -> Result<JitProgram, JitError> {
        let start = std::time::Instant::now();
        let p = &ir.observe;
        if p.agent_house.iter().any(|&h| h >= ir.households)
            || p.agent_feeder.iter().any(|&f| f >= ir.feeders)
            || p.agent_house.len() != p.agent_feeder.len()
            || p.columns
                .iter()
                .any(|c| matches!(c, crate::ir::ObsColumn::FeederFlowLast(f) if *f >= ir.feeders))
        {
            return Err(JitError::Codegen(
                "observation indices outside the community".into(),
            ));
        }
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(codegen);
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        set(&mut flags, "is_pic", "false")?;
        let isa = cranelift_native::builder()
            .map_err(|e| JitError::Unsupported(e.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(codegen)?;
        let mut module = JITModule::new(JITBuilder::with_isa(
            isa,
            cranelift_module::default_libcall_names(),
        ));
        let mut fctx = FunctionBuilderContext::new();
        let ptr = module.target_config().pointer_type();
        let cfg = module.target_config();
        let mut ids = Vec::new();
        let mut code_bytes = 0;
        let fusion = fuse_totals(ir);
        let define = |module: &mut JITModule,
                      ctx: &mut cranelift_codegen::Context,
                      name: String|
         -> Result<(FuncId, usize), JitError> {
            let id = module
                .declare_function(&name, Linkage::Local, &ctx.func.signature)
                .map_err(codegen)?;
            module.define_function(id, ctx).map_err(codegen)?;
            let bytes = ctx
                .compiled_code()
                .map(|c| c.code_buffer().len())
                .unwrap_or(0);
            module.clear_context(ctx);
            Ok((id, bytes))
        };
        for (i, stage) in ir.program.iter().enumerate() {
            let Stage::Map(k) = stage else {
                ids.push(None);
                continue;
            };
            let mut ctx = module.make_context();
            let sig = &mut ctx.func.signature;
            sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
            sig.params
                .extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
            sig.returns.push(AbiParam::new(types::I32));
            let sums: Vec<(usize, usize)> = fusion
                .iter()
                .filter(|f| f.kernel == i)
                .map(|f| (f.field, f.scalar))
                .collect();
            kernel::build(
                FunctionBuilder::new(&mut ctx.func, &mut fctx),
                k,
                &sums,
                ptr,
                cfg,
            );
            let (id, bytes) = define(&mut module, &mut ctx, format!("{}_{i}", k.name))?;
            code_bytes += bytes;
            ids.push(Some((id, k.domain)));
        }
        let mut ctx = module.make_context();
        let sig = &mut ctx.func.signature;
        sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
        observe::build(FunctionBuilder::new(&mut ctx.func, &mut fctx), p, ptr, cfg);
        let (obs_id, observe_code_bytes) = define(&mut module, &mut ctx, "observe".into())?;
        code_bytes += observe_code_bytes;
        module.finalize_definitions().map_err(codegen)?;
        let kernels = ids
            .into_iter()
            .map(|x| {
                x.map(|(id, d)| {
                    let f = module.get_finalized_function(id);
                    // SAFETY: `f` points at a function compiled above with exactly this signature.
                    (unsafe { std::mem::transmute::<*const u8, KernelFn>(f) }, d)
                })
            })
            .collect();
        let f = module.get_finalized_function(obs_id);
        // SAFETY: compiled above with the signature (ptr, ptr) -> ().
        let observe = unsafe { std::mem::transmute::<*const u8, ObserveFn>(f) };
        let mut fused = vec![false; ir.program.len()];
        for f in &fusion {
            fused[f.total] = true;
        }
        Ok(JitProgram {
            _module: module,
            kernels,
            fused,
            observe,
            households: ir.households,
            feeders: ir.feeders,
            obs_dim: p.obs_dim,
            messages: p.messages,
            env_series: p.env_series.len(),
            agent_series: p.agent_series.len(),
            series_len: p.series_len,
            max_offset: p.max_offset,
            agent_house: p.agent_house.iter().map(|&h| h as i64).collect(),
            agent_feeder: p.agent_feeder.iter().map(|&f| f as i64).collect(),
            compile_ms: start.elapsed().as_secs_f64() * 1e3,
            code_bytes,
            observe_code_bytes,
        })
    }

    /// The whole step program for every environment, one block of environments at a
    /// time (all stages per block, so a block's arrays stay in cache). Returns the OR of
    /// the failed checks' flags, like `Machine::step`.
    pub fn step(&self, m: &mut Machine, ir: &Ir) -> u32 {
        let per_block = (BLOCK_ELEMENTS / m.households.max(1)).max(1);
        let mut flags = 0;
        let mut b0 = 0;
        while b0 < m.batch {
            let envs = b0..(b0 + per_block).min(m.batch);
            for (i, stage) in ir.program.iter().enumerate() {
                flags |= match stage {
                    _ if self.fused.get(i) == Some(&true) => 0,
                    Stage::Map(_) => self.run(i, m, envs.clone()),
                    _ => m.reduce(ir, stage, envs.clone()),
                };
            }
            b0 = envs.end;
        }
        flags
    }

    /// Run the compiled kernel of program stage `stage` over the environments `envs`.
    pub fn run(&self, stage: usize, m: &mut Machine, envs: Range<usize>) -> u32 {
        let Some(Some((f, domain))) = self.kernels.get(stage) else {
            return 0;
        };
        let (table, per_env) = match domain {
            Domain::Households => (&mut m.house, m.households),
            Domain::Feeders => (&mut m.feed, m.feeders),
            Domain::Community => (&mut m.house, 1),
        };
        let (lo, hi) = (envs.start, envs.end);
        let need = if *domain == Domain::Community {
            0
        } else {
            hi * per_env
        };
        // Every array the code may touch must be long enough: the one check that makes
        // the call below sound.
        assert!(lo <= hi, "environment range reversed");
        assert!(
            table.iter().all(|a| a.len() >= need),
            "field arrays shorter than batch × elements"
        );
        assert!(
            m.scalar.iter().all(|a| a.len() >= hi),
            "scalar arrays shorter than the batch"
        );
        // Pointer tables on the stack: no allocation per call.
        assert!(table.len() <= MAX_ARRAYS && m.scalar.len() <= MAX_ARRAYS);
        let mut ptrs = [std::ptr::null_mut::<f64>(); MAX_ARRAYS];
        let mut sptrs = [std::ptr::null_mut::<f64>(); MAX_ARRAYS];
        let first = if *domain == Domain::Community {
            0
        } else {
            lo * per_env
        };
        for (p, a) in ptrs.iter_mut().zip(table.iter_mut()) {
            *p = a[first..].as_mut_ptr();
        }
        for (p, a) in sptrs.iter_mut().zip(m.scalar.iter_mut()) {
            *p = a[lo..].as_mut_ptr();
        }
        // SAFETY: the kernel reads and writes `ptrs[f][0..(hi − lo)·per_env]` and
        // `sptrs[s][0..hi − lo]` only, which the asserts above guarantee exist; the
        // arrays are borrowed mutably for the duration of the call.
        let flags = unsafe {
            f(
                ptrs.as_ptr(),
                sptrs.as_ptr(),
                per_env as i64,
                (hi - lo) as i64,
            )
        };
        flags as u32
    }

    /// Assemble every agent's observation into `out` (resized to
    /// `batch × agents × obs_dim`).
    pub fn observe(&self, a: &ObsArgs, out: &mut Vec<f32>) {
        let (batch, na, n, nf, k) = (
            a.batch,
            self.agent_house.len(),
            self.households,
            self.feeders,
            self.messages,
        );
        // The kernel writes every value: only a buffer of another length is reset.
        if out.len() != batch * na * self.obs_dim {
            out.clear();
            out.resize(batch * na * self.obs_dim, 0.0);
        }
        let inp = a.inputs;
        // The checks that make the call below sound: every array covers what the kernel
        // indexes for these counts (agent indices were checked at compile time).
        assert!(
            a.energy.len() >= batch * n
                && a.capacity.len() >= n
                && a.last_net.len() >= batch * n
                && a.last_flow.len() >= batch * nf
                && a.last_bus.len() >= batch
                && a.peak_today.len() >= batch
                && a.messages.len() >= batch * na * k,
            "observation state arrays shorter than the counts"
        );
        assert!(
            inp.batch == batch
                && inp.len == self.series_len
                && inp.env.len() >= batch * self.env_series * inp.len
                && inp.agent.len() >= self.agent_series * batch * inp.len * na
                && a.t + self.max_offset < inp.len,
            "observation series shorter than the counts"
        );
        let mut ptrs = [std::ptr::null::<u8>(); observe::POINTERS];
        ptrs[observe::P_OUT] = out.as_mut_ptr() as *const u8;
        ptrs[observe::P_ENERGY] = a.energy.as_ptr() as *const u8;
        ptrs[observe::P_CAPACITY] = a.capacity.as_ptr() as *const u8;
        ptrs[observe::P_NET_LAST] = a.last_net.as_ptr() as *const u8;
        ptrs[observe::P_FLOW_LAST] = a.last_flow.as_ptr() as *const u8;
        ptrs[observe::P_BUS_LAST] = a.last_bus.as_ptr() as *const u8;
        ptrs[observe::P_PEAK_TODAY] = a.peak_today.as_ptr() as *const u8;
        ptrs[observe::P_MESSAGES] = a.messages.as_ptr() as *const u8;
        ptrs[observe::P_ENV_SERIES] = inp.env.as_ptr() as *const u8;
        ptrs[observe::P_AGENT_SERIES] = inp.agent.as_ptr() as *const u8;
        ptrs[observe::P_AGENT_HOUSE] = self.agent_house.as_ptr() as *const u8;
        ptrs[observe::P_AGENT_FEEDER] = self.agent_feeder.as_ptr() as *const u8;
        let mut counts = [0i64; observe::COUNTS];
        counts[observe::C_BATCH] = batch as i64;
        counts[observe::C_AGENTS] = na as i64;
        counts[observe::C_HOUSEHOLDS] = n as i64;
        counts[observe::C_FEEDERS] = nf as i64;
        counts[observe::C_T] = a.t as i64;
        counts[observe::C_LEN] = inp.len as i64;
        assert_eq!(out.len(), batch * na * self.obs_dim);
        // SAFETY: the kernel writes `out[0..batch·agents·obs_dim]` (asserted above) and
        // reads the arrays above within the bounds asserted for these counts; agent
        // house/feeder indices are below `households`/`feeders` (checked in `compile`).
        unsafe { (self.observe)(ptrs.as_ptr(), counts.as_ptr()) }
    }
}

/// A `Total { from: field, into: scalar }` stage whose sum an earlier `Map` kernel of the
/// same domain computes while it stores `field` (same additions in the same order).
struct Fusion {
    kernel: usize,
    total: usize,
    field: usize,
    scalar: usize,
}

/// Totals that can be fused: `field` is stored by kernel `k`, and no stage between the
/// kernel and the total writes `field` or reads or writes `scalar` (so computing the sum
/// early changes nothing another stage sees).
fn fuse_totals(ir: &Ir) -> Vec<Fusion> {
    use crate::ir::Op;
    let mut out = Vec::new();
    for (t, stage) in ir.program.iter().enumerate() {
        let Stage::Total { from, domain, into } = stage else {
            continue;
        };
        let writer = ir.program[..t].iter().rposition(|s| match s {
            Stage::Map(k) => k.stores.iter().any(|(f, _)| f == from),
            Stage::FeederSum { into: f, .. } | Stage::PathOverloadDelta { into: f } => f == from,
            _ => false,
        });
        let Some(kernel) = writer else { continue };
        let Stage::Map(k) = &ir.program[kernel] else {
            continue;
        };
        let touches = |s: &Stage| match s {
            Stage::Map(k) => {
                k.ops
                    .iter()
                    .any(|op| matches!(op, Op::Scalar(x) if x == into))
                    || k.scalar_stores.iter().any(|(x, _)| x == into)
            }
            Stage::BusSum { into: x, .. } | Stage::Total { into: x, .. } => x == into,
            Stage::FeederSum { .. } | Stage::PathOverloadDelta { .. } => false,
        };
        let between = &ir.program[kernel + 1..t];
        if k.domain == *domain && *domain != Domain::Community && !between.iter().any(touches) {
            out.push(Fusion {
                kernel,
                total: t,
                field: *from as usize,
                scalar: *into as usize,
            });
        }
    }
    out
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("kernels", &self.kernels.len())
            .field("code_bytes", &self.code_bytes)
            .field("compile_ms", &self.compile_ms)
            .finish()
    }
}
