//! Cranelift JIT of the IR's kernels. Each `Map` kernel becomes one native loop function
//! over struct-of-arrays, `extern "C" fn(fields, scalars, per_env, batch) -> flags`:
//! counts are arguments, so code size does not depend on the number of households.
//! Arithmetic mirrors the interpreter op for op (no fusion; min/max as fcmp + select),
//! so results are bit-identical. The only `unsafe` is the call into compiled code, made
//! by [`JitProgram::run`] after checking every array length.

use crate::ir::{Check, Domain, Ir, Kernel, Op, Stage, FLAG_NON_FINITE, FLAG_SOC_BOUNDS};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use std::collections::BTreeMap;

/// Upper bound on fields and scalars (both enums are far smaller).
const MAX_ARRAYS: usize = 64;

type KernelFn = unsafe extern "C" fn(*const *mut f64, *const *mut f64, i64, i64) -> i32;

#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("the JIT is not available on this machine: {0}")]
    Unsupported(String),
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// Compiled kernels of one IR, in program order (None for non-`Map` stages).
pub struct JitProgram {
    /// Keeps the executable memory alive as long as the program.
    _module: JITModule,
    kernels: Vec<Option<(KernelFn, Domain)>>,
    pub compile_ms: f64,
    /// Machine-code bytes over all kernels.
    pub code_bytes: usize,
}

// The compiled functions are pure code over the pointers they are given.
unsafe impl Send for JitProgram {}
unsafe impl Sync for JitProgram {}

impl JitProgram {
    pub fn compile(ir: &Ir) -> Result<JitProgram, JitError> {
        let start = std::time::Instant::now();
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| {
            f.set(k, v).map_err(|e| JitError::Codegen(e.to_string()))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        set(&mut flags, "is_pic", "false")?;
        let isa = cranelift_native::builder()
            .map_err(|e| JitError::Unsupported(e.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        let mut module = JITModule::new(JITBuilder::with_isa(
            isa,
            cranelift_module::default_libcall_names(),
        ));
        let mut fctx = FunctionBuilderContext::new();
        let mut ids = Vec::new();
        let mut code_bytes = 0;
        for (i, stage) in ir.program.iter().enumerate() {
            let Stage::Map(k) = stage else {
                ids.push(None);
                continue;
            };
            let mut ctx = module.make_context();
            let ptr = module.target_config().pointer_type();
            for _ in 0..2 {
                ctx.func.signature.params.push(AbiParam::new(ptr));
            }
            ctx.func.signature.params.push(AbiParam::new(types::I64));
            ctx.func.signature.params.push(AbiParam::new(types::I64));
            ctx.func.signature.returns.push(AbiParam::new(types::I32));
            build_kernel(
                FunctionBuilder::new(&mut ctx.func, &mut fctx),
                k,
                ptr,
                module.target_config(),
            );
            let id = module
                .declare_function(
                    &format!("{}_{i}", k.name),
                    Linkage::Local,
                    &ctx.func.signature,
                )
                .map_err(|e| JitError::Codegen(e.to_string()))?;
            module
                .define_function(id, &mut ctx)
                .map_err(|e| JitError::Codegen(format!("{e:?}")))?;
            code_bytes += ctx
                .compiled_code()
                .map(|c| c.code_buffer().len())
                .unwrap_or(0);
            module.clear_context(&mut ctx);
            ids.push(Some((id, k.domain)));
        }
        module
            .finalize_definitions()
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        let kernels = ids
            .into_iter()
            .map(|x| {
                x.map(|(id, d)| {
                    let p = module.get_finalized_function(id);
                    // SAFETY: `p` points at a function compiled above with exactly this signature.
                    (unsafe { std::mem::transmute::<*const u8, KernelFn>(p) }, d)
                })
            })
            .collect();
        Ok(JitProgram {
            _module: module,
            kernels,
            compile_ms: start.elapsed().as_secs_f64() * 1e3,
            code_bytes,
        })
    }

    /// Run the compiled kernel of program stage `stage` over every environment.
    /// `house`/`feed`: one array per field, `scalars`: one array per scalar.
    pub fn run(
        &self,
        stage: usize,
        house: &mut [Vec<f64>],
        feed: &mut [Vec<f64>],
        scalars: &mut [Vec<f64>],
        households: usize,
        feeders: usize,
        batch: usize,
    ) -> u32 {
        let Some(Some((f, domain))) = self.kernels.get(stage) else {
            return 0;
        };
        let (table, per_env) = match domain {
            Domain::Households => (house, households),
            Domain::Feeders => (feed, feeders),
            Domain::Community => (house, 1),
        };
        let need = if *domain == Domain::Community {
            0
        } else {
            batch * per_env
        };
        // Every array the code may touch must be long enough: the one check that makes
        // the call below sound.
        assert!(
            table.iter().all(|a| a.len() >= need),
            "field arrays shorter than batch × elements"
        );
        assert!(
            scalars.iter().all(|a| a.len() >= batch),
            "scalar arrays shorter than the batch"
        );
        // Pointer tables on the stack: no allocation per call.
        assert!(table.len() <= MAX_ARRAYS && scalars.len() <= MAX_ARRAYS);
        let mut ptrs = [std::ptr::null_mut::<f64>(); MAX_ARRAYS];
        let mut sptrs = [std::ptr::null_mut::<f64>(); MAX_ARRAYS];
        for (p, a) in ptrs.iter_mut().zip(table.iter_mut()) {
            *p = a.as_mut_ptr();
        }
        for (p, a) in sptrs.iter_mut().zip(scalars.iter_mut()) {
            *p = a.as_mut_ptr();
        }
        // SAFETY: the kernel reads and writes `ptrs[f][0..batch·per_env]` and
        // `sptrs[s][0..batch]` only, which the asserts above guarantee exist; the arrays
        // are borrowed mutably for the duration of the call.
        let flags = unsafe { f(ptrs.as_ptr(), sptrs.as_ptr(), per_env as i64, batch as i64) };
        flags as u32
    }
}

fn build_kernel(
    mut fb: FunctionBuilder,
    k: &Kernel,
    ptr: types::Type,
    cfg: cranelift_codegen::isa::TargetFrontendConfig,
) {
    let b = &mut fb;
    let mem = MemFlagsData::trusted();
    let entry = b.create_block();
    let outer_head = b.create_block();
    let outer_body = b.create_block();
    let inner_head = b.create_block();
    let inner_body = b.create_block();
    let outer_next = b.create_block();
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (tbl, stbl, per_env, batch) = (params[0], params[1], params[2], params[3]);
    let vb = b.declare_var(types::I64);
    let vj = b.declare_var(types::I64);
    let vflags = b.declare_var(types::I32);
    // Hoist the base pointer of every field and scalar the kernel touches.
    let mut fields: BTreeMap<usize, Value> = BTreeMap::new();
    let mut scalars: BTreeMap<usize, Value> = BTreeMap::new();
    for op in &k.ops {
        match op {
            Op::Load(f) => {
                fields
                    .entry(*f as usize)
                    .or_insert_with(|| Value::from_u32(0));
            }
            Op::Scalar(s) => {
                scalars
                    .entry(*s as usize)
                    .or_insert_with(|| Value::from_u32(0));
            }
            _ => {}
        }
    }
    for (f, _) in &k.stores {
        fields
            .entry(*f as usize)
            .or_insert_with(|| Value::from_u32(0));
    }
    for (s, _) in &k.scalar_stores {
        scalars
            .entry(*s as usize)
            .or_insert_with(|| Value::from_u32(0));
    }
    for (f, v) in fields.iter_mut() {
        *v = b.ins().load(ptr, mem, tbl, (*f * 8) as i32);
    }
    for (s, v) in scalars.iter_mut() {
        *v = b.ins().load(ptr, mem, stbl, (*s * 8) as i32);
    }
    let zero64 = b.ins().iconst(types::I64, 0);
    let zero32 = b.ins().iconst(types::I32, 0);
    b.def_var(vb, zero64);
    b.def_var(vflags, zero32);
    b.ins().jump(outer_head, &[]);

    // for b in 0..batch
    b.switch_to_block(outer_head);
    let bi = b.use_var(vb);
    let more = b.ins().icmp(IntCC::SignedLessThan, bi, batch);
    b.ins().brif(more, outer_body, &[], exit, &[]);

    b.switch_to_block(outer_body);
    let bi = b.use_var(vb);
    let boff = b.ins().imul_imm_s(bi, 8);
    let mut scalar_vals: BTreeMap<usize, Value> = BTreeMap::new();
    for (s, base) in &scalars {
        let addr = b.ins().iadd(*base, boff);
        scalar_vals.insert(*s, b.ins().load(types::F64, mem, addr, 0));
    }
    let row = b.ins().imul(bi, per_env);
    b.def_var(vj, zero64);
    b.ins().jump(inner_head, &[]);

    // for j in 0..per_env
    b.switch_to_block(inner_head);
    let j = b.use_var(vj);
    let more = b.ins().icmp(IntCC::SignedLessThan, j, per_env);
    b.ins().brif(more, inner_body, &[], outer_next, &[]);

    b.switch_to_block(inner_body);
    let j = b.use_var(vj);
    let idx = b.ins().iadd(row, j);
    let off = b.ins().imul_imm_s(idx, 8);
    let mut regs: Vec<Value> = Vec::with_capacity(k.ops.len());
    for op in &k.ops {
        let r = |x: crate::ir::V| regs[x.0 as usize];
        let v = match op {
            Op::Const(c) => b.ins().f64const(*c),
            Op::Load(f) => {
                let addr = b.ins().iadd(fields[&(*f as usize)], off);
                b.ins().load(types::F64, mem, addr, 0)
            }
            Op::Scalar(s) => scalar_vals[&(*s as usize)],
            Op::Add(x, y) => b.ins().fadd(r(*x), r(*y)),
            Op::Sub(x, y) => b.ins().fsub(r(*x), r(*y)),
            Op::Mul(x, y) => b.ins().fmul(r(*x), r(*y)),
            Op::Div(x, y) => b.ins().fdiv(r(*x), r(*y)),
            Op::Min(x, y) => {
                let c = b.ins().fcmp(FloatCC::LessThan, r(*x), r(*y));
                b.ins().select(c, r(*x), r(*y))
            }
            Op::Max(x, y) => {
                let c = b.ins().fcmp(FloatCC::GreaterThan, r(*x), r(*y));
                b.ins().select(c, r(*x), r(*y))
            }
            Op::Abs(x) => b.ins().fabs(r(*x)),
            Op::Neg(x) => b.ins().fneg(r(*x)),
        };
        regs.push(v);
    }
    for (f, v) in &k.stores {
        let addr = b.ins().iadd(fields[&(*f as usize)], off);
        b.ins().store(mem, regs[v.0 as usize], addr, 0);
    }
    for (s, v) in &k.scalar_stores {
        let addr = b.ins().iadd(scalars[&(*s as usize)], boff);
        b.ins().store(mem, regs[v.0 as usize], addr, 0);
    }
    let mut flags = b.use_var(vflags);
    let inf = b.ins().f64const(f64::INFINITY);
    for c in &k.checks {
        let (fail, bit) = match *c {
            Check::Finite(v) => {
                let x = regs[v.0 as usize];
                let nan = b.ins().fcmp(FloatCC::Unordered, x, x);
                let ax = b.ins().fabs(x);
                let is_inf = b.ins().fcmp(FloatCC::Equal, ax, inf);
                (b.ins().bor(nan, is_inf), FLAG_NON_FINITE)
            }
            Check::Within { value, low, high } => {
                let x = regs[value.0 as usize];
                let below = b
                    .ins()
                    .fcmp(FloatCC::UnorderedOrLessThan, x, regs[low.0 as usize]);
                let above = b
                    .ins()
                    .fcmp(FloatCC::UnorderedOrGreaterThan, x, regs[high.0 as usize]);
                (b.ins().bor(below, above), FLAG_SOC_BOUNDS)
            }
        };
        let bitv = b.ins().iconst(types::I32, bit as i64);
        let set = b.ins().select(fail, bitv, zero32);
        flags = b.ins().bor(flags, set);
    }
    b.def_var(vflags, flags);
    let j1 = b.ins().iadd_imm_s(j, 1);
    b.def_var(vj, j1);
    b.ins().jump(inner_head, &[]);

    b.switch_to_block(outer_next);
    let bi = b.use_var(vb);
    let b1 = b.ins().iadd_imm_s(bi, 1);
    b.def_var(vb, b1);
    b.ins().jump(outer_head, &[]);

    b.switch_to_block(exit);
    let f = b.use_var(vflags);
    b.ins().return_(&[f]);
    b.seal_all_blocks();
    fb.finalize(cfg);
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
