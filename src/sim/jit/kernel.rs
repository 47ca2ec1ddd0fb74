//! One `Map` kernel → one loop function
//! `extern "C" fn(fields, scalars, per_env, batch) -> flags`.
//!
//! Loop shape: every field's base pointer is loaded once in the entry block; the loop
//! over environments loads the environment's scalars; the loop over elements has one
//! induction variable, the byte offset `off` (`off += 8`, compared with the row's end),
//! and every access is `base + off`, which x64 encodes as one addressing mode. Ops are
//! emitted one for one as the interpreter runs them (min/max as fcmp + select), so
//! results are bit-identical. Failed checks OR their bit into the returned flags.

use crate::ir::{Check, Kernel, Op, FLAG_NON_FINITE, FLAG_SOC_BOUNDS};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::BTreeMap;

pub(super) fn build(
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
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (tbl, stbl, per_env, batch) = (params[0], params[1], params[2], params[3]);
    let vb = b.declare_var(types::I64);
    let voff = b.declare_var(types::I64);
    let vflags = b.declare_var(types::I32);
    // The base pointer of every field and scalar the kernel touches, loaded once.
    let mut fields: BTreeMap<usize, Value> = BTreeMap::new();
    let mut scalars: BTreeMap<usize, Value> = BTreeMap::new();
    let field_ids = k
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Load(f) => Some(*f as usize),
            _ => None,
        })
        .chain(k.stores.iter().map(|(f, _)| *f as usize));
    let scalar_ids = k
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Scalar(s) => Some(*s as usize),
            _ => None,
        })
        .chain(k.scalar_stores.iter().map(|(s, _)| *s as usize));
    for f in field_ids {
        if !fields.contains_key(&f) {
            let v = b.ins().load(ptr, mem, tbl, (f * 8) as i32);
            fields.insert(f, v);
        }
    }
    for s in scalar_ids {
        if !scalars.contains_key(&s) {
            let v = b.ins().load(ptr, mem, stbl, (s * 8) as i32);
            scalars.insert(s, v);
        }
    }
    let zero64 = b.ins().iconst(types::I64, 0);
    let zero32 = b.ins().iconst(types::I32, 0);
    let row_bytes = b.ins().imul_imm_s(per_env, 8);
    b.def_var(vb, zero64);
    b.def_var(voff, zero64);
    b.def_var(vflags, zero32);
    b.ins().jump(outer_head, &[]);

    // for b in 0..batch (off runs on across rows: rows are contiguous)
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
    let off0 = b.use_var(voff);
    let end = b.ins().iadd(off0, row_bytes);
    b.ins().jump(inner_head, &[]);

    // while off < end
    b.switch_to_block(inner_head);
    let off = b.use_var(voff);
    let more = b.ins().icmp(IntCC::SignedLessThan, off, end);
    let outer_next = b.create_block();
    b.ins().brif(more, inner_body, &[], outer_next, &[]);

    b.switch_to_block(inner_body);
    let off = b.use_var(voff);
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
    for c in &k.checks {
        let (fail, bit) = match *c {
            Check::Finite(v) => {
                // x − x is 0 for finite x and NaN for NaN and ±inf: one unordered compare.
                let x = regs[v.0 as usize];
                let d = b.ins().fsub(x, x);
                (b.ins().fcmp(FloatCC::Unordered, d, d), FLAG_NON_FINITE)
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
    let off1 = b.ins().iadd_imm_s(off, 8);
    b.def_var(voff, off1);
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
