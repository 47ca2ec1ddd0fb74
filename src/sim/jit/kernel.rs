//! One `Map` kernel → one loop function
//! `extern "C" fn(fields, scalars, per_env, batch) -> flags`.
//!
//! Loop shape: every field's base pointer is loaded once in the entry block; the loop
//! over environments loads the environment's scalars; the loop over elements has one
//! induction variable, the byte offset `off` (rows are contiguous, so it runs on from
//! row to row), and every access is `base + off`, which x64 encodes as one addressing
//! mode. Household and feeder kernels first run a 128-bit SIMD loop (f64x2: two
//! elements per iteration), then a scalar loop for the odd element of the row.
//!
//! Ops are emitted one for one as the interpreter runs them (min/max as fcmp + select,
//! lane-wise `bitselect` in the SIMD loop; no fused multiply-add), so every lane computes
//! exactly the interpreter's value. Failed checks OR their bit into the returned flags
//! (the SIMD loop accumulates lane masks and reduces them once at the end).

use crate::ir::{Check, Domain, Kernel, Op, FLAG_NON_FINITE, FLAG_SOC_BOUNDS};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::BTreeMap;

/// Whether household and feeder kernels get the f64x2 loop (see docs/performance.md).
pub const SIMD: bool = true;

/// `sums`: (field, scalar) pairs — per environment, the sum of the values the kernel
/// stores into `field`, in element order from −0.0 (exactly `Iterator::sum`, as the
/// interpreter's `Total` stage), is stored into `scalar` (a fused `Total` stage).
pub(super) fn build(
    mut fb: FunctionBuilder,
    k: &Kernel,
    sums: &[(usize, usize)],
    ptr: types::Type,
    cfg: cranelift_codegen::isa::TargetFrontendConfig,
) {
    let b = &mut fb;
    let mem = MemFlagsData::trusted();
    let simd = SIMD && k.domain != Domain::Community;
    let entry = b.create_block();
    let outer_head = b.create_block();
    let outer_body = b.create_block();
    let vec_head = b.create_block();
    let vec_body = b.create_block();
    let inner_head = b.create_block();
    let inner_body = b.create_block();
    let outer_next = b.create_block();
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (tbl, stbl, per_env, batch) = (params[0], params[1], params[2], params[3]);
    let vb = b.declare_var(types::I64);
    let voff = b.declare_var(types::I64);
    let vflags = b.declare_var(types::I32);
    // Lane masks of failed checks in the SIMD loop: [non-finite, soc bounds].
    let vmask = [b.declare_var(types::I64X2), b.declare_var(types::I64X2)];
    // Running sums of fused totals: (value stored into the field, sum variable).
    let sum_vars: Vec<(crate::ir::V, usize, Variable)> = sums
        .iter()
        .filter_map(|(f, s)| {
            let v = k.stores.iter().find(|(g, _)| *g as usize == *f)?.1;
            Some((v, *s, b.declare_var(types::F64)))
        })
        .collect();
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
        .chain(k.scalar_stores.iter().map(|(s, _)| *s as usize))
        .chain(sums.iter().map(|(_, s)| *s));
    for f in field_ids {
        fields
            .entry(f)
            .or_insert_with(|| b.ins().load(ptr, mem, tbl, (f * 8) as i32));
    }
    for s in scalar_ids {
        scalars
            .entry(s)
            .or_insert_with(|| b.ins().load(ptr, mem, stbl, (s * 8) as i32));
    }
    let zero64 = b.ins().iconst(types::I64, 0);
    let zero32 = b.ins().iconst(types::I32, 0);
    let row_bytes = b.ins().imul_imm_s(per_env, 8);
    b.def_var(vb, zero64);
    b.def_var(voff, zero64);
    b.def_var(vflags, zero32);
    if simd {
        let z = b.ins().splat(types::I64X2, zero64);
        b.def_var(vmask[0], z);
        b.def_var(vmask[1], z);
    }
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
    let off0 = b.use_var(voff);
    let end = b.ins().iadd(off0, row_bytes);
    let minus_zero = b.ins().f64const(-0.0);
    for (_, _, var) in &sum_vars {
        b.def_var(*var, minus_zero);
    }
    let body = Body {
        k,
        fields: &fields,
        scalars: &scalars,
        boff,
        sums: &sum_vars,
    };
    if simd {
        // Two elements per iteration while off + 16 ≤ end.
        let splats: BTreeMap<usize, Value> = scalar_vals
            .iter()
            .map(|(s, v)| (*s, b.ins().splat(types::F64X2, *v)))
            .collect();
        let vec_end = b.ins().iadd_imm_s(end, -8);
        b.ins().jump(vec_head, &[]);
        b.switch_to_block(vec_head);
        let off = b.use_var(voff);
        let more = b.ins().icmp(IntCC::SignedLessThan, off, vec_end);
        b.ins().brif(more, vec_body, &[], inner_head, &[]);
        b.switch_to_block(vec_body);
        let off = b.use_var(voff);
        body.emit(b, types::F64X2, off, &splats, Flags::Lanes(vmask));
        let off2 = b.ins().iadd_imm_s(off, 16);
        b.def_var(voff, off2);
        b.ins().jump(vec_head, &[]);
    } else {
        b.ins().jump(inner_head, &[]);
    }

    // while off < end (the scalar loop: the whole row, or the SIMD loop's remainder)
    b.switch_to_block(inner_head);
    let off = b.use_var(voff);
    let more = b.ins().icmp(IntCC::SignedLessThan, off, end);
    b.ins().brif(more, inner_body, &[], outer_next, &[]);

    b.switch_to_block(inner_body);
    let off = b.use_var(voff);
    body.emit(b, types::F64, off, &scalar_vals, Flags::Scalar(vflags));
    let off1 = b.ins().iadd_imm_s(off, 8);
    b.def_var(voff, off1);
    b.ins().jump(inner_head, &[]);

    b.switch_to_block(outer_next);
    for (_, s, var) in &sum_vars {
        let total = b.use_var(*var);
        let addr = b.ins().iadd(scalars[s], boff);
        b.ins().store(mem, total, addr, 0);
    }
    let bi = b.use_var(vb);
    let b1 = b.ins().iadd_imm_s(bi, 1);
    b.def_var(vb, b1);
    b.ins().jump(outer_head, &[]);

    b.switch_to_block(exit);
    let mut f = b.use_var(vflags);
    if simd {
        for (var, bit) in vmask.iter().zip([FLAG_NON_FINITE, FLAG_SOC_BOUNDS]) {
            let m = b.use_var(*var);
            let any = b.ins().vany_true(m);
            let bitv = b.ins().iconst(types::I32, bit as i64);
            let set = b.ins().select(any, bitv, zero32);
            f = b.ins().bor(f, set);
        }
    }
    b.ins().return_(&[f]);
    b.seal_all_blocks();
    fb.finalize(cfg);
}

/// Where failed checks go: the scalar flags variable, or per-flag lane masks.
#[derive(Clone, Copy)]
enum Flags {
    Scalar(Variable),
    Lanes([Variable; 2]),
}

/// The kernel's ops for one element (`F64`) or two (`F64X2`) at byte offset `off`.
struct Body<'a> {
    k: &'a Kernel,
    fields: &'a BTreeMap<usize, Value>,
    scalars: &'a BTreeMap<usize, Value>,
    boff: Value,
    sums: &'a [(crate::ir::V, usize, Variable)],
}

impl Body<'_> {
    fn emit(
        &self,
        b: &mut FunctionBuilder,
        ty: Type,
        off: Value,
        scalar_vals: &BTreeMap<usize, Value>,
        flags: Flags,
    ) {
        let k = self.k;
        let vector = ty.is_vector();
        // Vector accesses may be unaligned (rows start at any element).
        let mem = if vector {
            MemFlagsData::new().with_notrap()
        } else {
            MemFlagsData::trusted()
        };
        let select = |b: &mut FunctionBuilder, c: Value, x: Value, y: Value| {
            if vector {
                // The lane mask (i64x2) as f64x2 bits for `bitselect`.
                let flags =
                    MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little);
                let m = b.ins().bitcast(ty, flags, c);
                b.ins().bitselect(m, x, y)
            } else {
                b.ins().select(c, x, y)
            }
        };
        let mut regs: Vec<Value> = Vec::with_capacity(k.ops.len());
        for op in &k.ops {
            let r = |x: crate::ir::V| regs[x.0 as usize];
            let v = match op {
                Op::Const(c) => {
                    let c = b.ins().f64const(*c);
                    if vector {
                        b.ins().splat(ty, c)
                    } else {
                        c
                    }
                }
                Op::Load(f) => {
                    let addr = b.ins().iadd(self.fields[&(*f as usize)], off);
                    b.ins().load(ty, mem, addr, 0)
                }
                Op::Scalar(s) => scalar_vals[&(*s as usize)],
                Op::Add(x, y) => b.ins().fadd(r(*x), r(*y)),
                Op::Sub(x, y) => b.ins().fsub(r(*x), r(*y)),
                Op::Mul(x, y) => b.ins().fmul(r(*x), r(*y)),
                Op::Div(x, y) => b.ins().fdiv(r(*x), r(*y)),
                Op::Min(x, y) => {
                    let c = b.ins().fcmp(FloatCC::LessThan, r(*x), r(*y));
                    select(b, c, r(*x), r(*y))
                }
                Op::Max(x, y) => {
                    let c = b.ins().fcmp(FloatCC::GreaterThan, r(*x), r(*y));
                    select(b, c, r(*x), r(*y))
                }
                Op::Abs(x) => b.ins().fabs(r(*x)),
                Op::Neg(x) => b.ins().fneg(r(*x)),
            };
            regs.push(v);
        }
        for (f, v) in &k.stores {
            let addr = b.ins().iadd(self.fields[&(*f as usize)], off);
            b.ins().store(mem, regs[v.0 as usize], addr, 0);
        }
        // Fused totals: add the element(s) in order (lane 0, then lane 1).
        for (v, _, var) in self.sums {
            let x = regs[v.0 as usize];
            let mut s = b.use_var(*var);
            if vector {
                for lane in 0..2u8 {
                    let e = b.ins().extractlane(x, lane);
                    s = b.ins().fadd(s, e);
                }
            } else {
                s = b.ins().fadd(s, x);
            }
            b.def_var(*var, s);
        }
        // Scalar outputs exist in community kernels only (never vectorised).
        for (s, v) in &k.scalar_stores {
            let addr = b.ins().iadd(self.scalars[&(*s as usize)], self.boff);
            b.ins()
                .store(MemFlagsData::trusted(), regs[v.0 as usize], addr, 0);
        }
        for c in &k.checks {
            let (fail, bit) = match *c {
                Check::Finite(v) => {
                    // x − x is 0 for finite x and NaN for NaN and ±inf: one unordered compare.
                    let x = regs[v.0 as usize];
                    let d = b.ins().fsub(x, x);
                    (b.ins().fcmp(FloatCC::Unordered, d, d), 0)
                }
                Check::Within { value, low, high } => {
                    let x = regs[value.0 as usize];
                    let below = b
                        .ins()
                        .fcmp(FloatCC::UnorderedOrLessThan, x, regs[low.0 as usize]);
                    let above =
                        b.ins()
                            .fcmp(FloatCC::UnorderedOrGreaterThan, x, regs[high.0 as usize]);
                    (b.ins().bor(below, above), 1)
                }
            };
            match flags {
                Flags::Scalar(var) => {
                    let bits = [FLAG_NON_FINITE, FLAG_SOC_BOUNDS];
                    let bitv = b.ins().iconst(types::I32, bits[bit] as i64);
                    let zero = b.ins().iconst(types::I32, 0);
                    let set = b.ins().select(fail, bitv, zero);
                    let f = b.use_var(var);
                    let f = b.ins().bor(f, set);
                    b.def_var(var, f);
                }
                Flags::Lanes(vars) => {
                    let m = b.use_var(vars[bit]);
                    let m = b.ins().bor(m, fail);
                    b.def_var(vars[bit], m);
                }
            }
        }
    }
}
