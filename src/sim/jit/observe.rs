//! The observation kernel: `ObsProgram` → one loop function
//! `extern "C" fn(ptrs, counts)` over environments × agents that writes the whole
//! `batch × agents × obs_dim` f32 buffer. Counts (batch, agents, households, feeders,
//! step, series length) are arguments, so the code depends on the declared features
//! only, never on the number of households.
//!
//! Per environment it loads the values every agent shares (time features, prices and
//! their forecasts, named feeders' `.last` flow, the bus import) once and rounds them to
//! f32; per agent (one induction variable, the agent's byte offset, and an output
//! pointer advanced by `obs_dim · 4`) it loads the own series, soc, `.last` values and
//! the message means. Every value is computed with the interpreter's operations in the
//! interpreter's order (`e / cap` then round; message sums in agent order from +0.0,
//! then `/ count`), so the f32 results are bit-identical.

use crate::ir::{ObsColumn, ObsProgram};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;

/// Indices into the pointer table.
pub(super) const P_OUT: usize = 0;
pub(super) const P_ENERGY: usize = 1;
pub(super) const P_CAPACITY: usize = 2;
pub(super) const P_NET_LAST: usize = 3;
pub(super) const P_FLOW_LAST: usize = 4;
pub(super) const P_BUS_LAST: usize = 5;
pub(super) const P_MESSAGES: usize = 6;
pub(super) const P_ENV_SERIES: usize = 7;
pub(super) const P_AGENT_SERIES: usize = 8;
pub(super) const P_AGENT_HOUSE: usize = 9;
pub(super) const P_AGENT_FEEDER: usize = 10;
pub(super) const P_PEAK_TODAY: usize = 11;
pub(super) const POINTERS: usize = 12;
/// Indices into the count table.
pub(super) const C_BATCH: usize = 0;
pub(super) const C_AGENTS: usize = 1;
pub(super) const C_HOUSEHOLDS: usize = 2;
pub(super) const C_FEEDERS: usize = 3;
pub(super) const C_T: usize = 4;
pub(super) const C_LEN: usize = 5;
pub(super) const COUNTS: usize = 6;

pub(super) fn build(
    mut fb: FunctionBuilder,
    p: &ObsProgram,
    ptr: types::Type,
    cfg: cranelift_codegen::isa::TargetFrontendConfig,
) {
    let b = &mut fb;
    let mem = MemFlagsData::trusted();
    let (i64t, f64t, f32t) = (types::I64, types::F64, types::F32);
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
    let (ptbl, ctbl) = (params[0], params[1]);
    let pv: Vec<Value> = (0..POINTERS)
        .map(|i| b.ins().load(ptr, mem, ptbl, (i * 8) as i32))
        .collect();
    let cv: Vec<Value> = (0..COUNTS)
        .map(|i| b.ins().load(i64t, mem, ctbl, (i * 8) as i32))
        .collect();
    let (batch, na, nh, nf, t, len) = (
        cv[C_BATCH],
        cv[C_AGENTS],
        cv[C_HOUSEHOLDS],
        cv[C_FEEDERS],
        cv[C_T],
        cv[C_LEN],
    );
    let k = p.messages;
    let n_env = p.env_series.len() as i64;
    let dense = p.dense();
    // Loop-invariant byte offsets and strides.
    let na8 = b.ins().imul_imm_s(na, 8);
    let env_stride = b.ins().imul_imm_s(len, n_env * 8);
    let agent_bstride = b.ins().imul(len, na8);
    let agent_fstride = b.ins().imul(agent_bstride, batch);
    let t8 = b.ins().imul_imm_s(t, 8);
    let t_na8 = b.ins().imul(t, na8);
    let col_off: Vec<Option<Value>> = p
        .columns
        .iter()
        .map(|c| match *c {
            ObsColumn::Env { series, offset } => {
                let s = b.ins().imul_imm_s(len, (series * 8) as i64);
                let s = b.ins().iadd_imm_s(s, (offset * 8) as i64);
                Some(b.ins().iadd(s, t8))
            }
            ObsColumn::Agent { series, offset } => {
                let f = b.ins().imul_imm_s(agent_fstride, series as i64);
                let o = b.ins().imul_imm_s(na8, offset as i64);
                let fo = b.ins().iadd(f, o);
                Some(b.ins().iadd(fo, t_na8))
            }
            _ => None,
        })
        .collect();
    let zero64 = b.ins().iconst(i64t, 0);
    let fzero = b.ins().f64const(0.0);
    let fone = b.ins().f64const(1.0);
    let szero = b.ins().f32const(0.0);
    let vb = b.declare_var(i64t);
    let vout = b.declare_var(ptr);
    let va8 = b.declare_var(i64t);
    b.def_var(vb, zero64);
    b.def_var(vout, pv[P_OUT]);
    b.ins().jump(outer_head, &[]);

    b.switch_to_block(outer_head);
    let bi = b.use_var(vb);
    let more = b.ins().icmp(IntCC::SignedLessThan, bi, batch);
    b.ins().brif(more, outer_body, &[], exit, &[]);

    // Per environment: the values every agent shares, rounded once.
    b.switch_to_block(outer_body);
    let bi = b.use_var(vb);
    let b8 = b.ins().imul_imm_s(bi, 8);
    let env_base = {
        let o = b.ins().imul(bi, env_stride);
        b.ins().iadd(pv[P_ENV_SERIES], o)
    };
    let agent_base = {
        let o = b.ins().imul(bi, agent_bstride);
        b.ins().iadd(pv[P_AGENT_SERIES], o)
    };
    let hrow = {
        let o = b.ins().imul(bi, nh);
        b.ins().imul_imm_s(o, 8)
    };
    let frow = {
        let o = b.ins().imul(bi, nf);
        let o = b.ins().imul_imm_s(o, 8);
        b.ins().iadd(pv[P_FLOW_LAST], o)
    };
    let msg_row = {
        let o = b.ins().imul(bi, na);
        let o = b.ins().imul_imm_s(o, (k * 8) as i64);
        b.ins().iadd(pv[P_MESSAGES], o)
    };
    let mut shared: Vec<Option<Value>> = Vec::with_capacity(p.columns.len());
    for (c, off) in p.columns.iter().zip(&col_off) {
        let v = match *c {
            ObsColumn::Env { .. } => {
                let addr = b.ins().iadd(env_base, off.expect("env column offset"));
                Some(b.ins().load(f64t, mem, addr, 0))
            }
            ObsColumn::Agent { .. } => Some(b.ins().iadd(agent_base, off.expect("offset"))),
            ObsColumn::FeederFlowLast(f) => Some(b.ins().load(f64t, mem, frow, (f * 8) as i32)),
            ObsColumn::BusLast => {
                let addr = b.ins().iadd(pv[P_BUS_LAST], b8);
                Some(b.ins().load(f64t, mem, addr, 0))
            }
            ObsColumn::BusPeakToday => {
                let addr = b.ins().iadd(pv[P_PEAK_TODAY], b8);
                Some(b.ins().load(f64t, mem, addr, 0))
            }
            _ => None,
        };
        // Shared values are rounded here; agent-series entries stay base pointers.
        shared.push(match (c, v) {
            (ObsColumn::Agent { .. }, v) => v,
            (_, Some(x)) => Some(b.ins().fdemote(f32t, x)),
            (_, None) => None,
        });
    }
    b.def_var(va8, zero64);
    b.ins().jump(inner_head, &[]);

    b.switch_to_block(inner_head);
    let a8 = b.use_var(va8);
    let more = b.ins().icmp(IntCC::SignedLessThan, a8, na8);
    b.ins().brif(more, inner_body, &[], outer_next, &[]);

    // Per agent.
    b.switch_to_block(inner_body);
    let a8 = b.use_var(va8);
    let out = b.use_var(vout);
    let h8 = if dense {
        a8
    } else {
        let addr = b.ins().iadd(pv[P_AGENT_HOUSE], a8);
        let h = b.ins().load(i64t, mem, addr, 0);
        b.ins().imul_imm_s(h, 8)
    };
    let hoff = b.ins().iadd(hrow, h8);
    let mut col = 0i32;
    for (c, sv) in p.columns.iter().zip(&shared) {
        let v = match *c {
            ObsColumn::Env { .. }
            | ObsColumn::FeederFlowLast(_)
            | ObsColumn::BusLast
            | ObsColumn::BusPeakToday => sv.expect("shared value"),
            ObsColumn::Agent { .. } => {
                let addr = b.ins().iadd(sv.expect("series base"), a8);
                let x = b.ins().load(f64t, mem, addr, 0);
                b.ins().fdemote(f32t, x)
            }
            ObsColumn::Soc => {
                let ea = b.ins().iadd(pv[P_ENERGY], hoff);
                let e = b.ins().load(f64t, mem, ea, 0);
                let ca = b.ins().iadd(pv[P_CAPACITY], h8);
                let cap = b.ins().load(f64t, mem, ca, 0);
                let q = b.ins().fdiv(e, cap);
                let q = b.ins().fdemote(f32t, q);
                let pos = b.ins().fcmp(FloatCC::GreaterThan, cap, fzero);
                b.ins().select(pos, q, szero)
            }
            ObsColumn::NetLast => {
                let addr = b.ins().iadd(pv[P_NET_LAST], hoff);
                let x = b.ins().load(f64t, mem, addr, 0);
                b.ins().fdemote(f32t, x)
            }
            ObsColumn::OwnFeederFlowLast => {
                let fa = b.ins().iadd(pv[P_AGENT_FEEDER], a8);
                let f = b.ins().load(i64t, mem, fa, 0);
                let f8 = b.ins().imul_imm_s(f, 8);
                let addr = b.ins().iadd(frow, f8);
                let x = b.ins().load(f64t, mem, addr, 0);
                b.ins().fdemote(f32t, x)
            }
            ObsColumn::Messages => {
                let means = messages(b, p, &pv, na, a8, msg_row, [fzero, fone, szero]);
                for m in means {
                    b.ins().store(mem, m, out, col * 4);
                    col += 1;
                }
                continue;
            }
        };
        b.ins().store(mem, v, out, col * 4);
        col += 1;
    }
    let out = b.use_var(vout);
    let out1 = b.ins().iadd_imm_s(out, (p.obs_dim * 4) as i64);
    b.def_var(vout, out1);
    let a8 = b.use_var(va8);
    let a1 = b.ins().iadd_imm_s(a8, 8);
    b.def_var(va8, a1);
    b.ins().jump(inner_head, &[]);

    b.switch_to_block(outer_next);
    let bi = b.use_var(vb);
    let b1 = b.ins().iadd_imm_s(bi, 1);
    b.def_var(vb, b1);
    b.ins().jump(outer_head, &[]);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    fb.finalize(cfg);
}

/// Mean of the other (same-feeder) agents' messages, summed in agent order from +0.0
/// like the interpreter. An excluded agent adds +0.0, which leaves any sum that started
/// at +0.0 unchanged bit for bit (such a sum is never −0.0). Leaves the builder in the
/// loop's exit block and returns the k rounded means.
fn messages(
    b: &mut FunctionBuilder,
    p: &ObsProgram,
    pv: &[Value],
    na: Value,
    a8: Value,
    msg_row: Value,
    [fzero, fone, szero]: [Value; 3],
) -> Vec<Value> {
    let mem = MemFlagsData::trusted();
    let k = p.messages;
    let head = b.create_block();
    let body = b.create_block();
    let done = b.create_block();
    let vo = b.declare_var(types::I64);
    let vcount = b.declare_var(types::F64);
    let vsum: Vec<_> = (0..k).map(|_| b.declare_var(types::F64)).collect();
    let my_feeder = p.neighbours.then(|| {
        let fa = b.ins().iadd(pv[P_AGENT_FEEDER], a8);
        b.ins().load(types::I64, mem, fa, 0)
    });
    let me = b.ins().ushr_imm_u(a8, 3);
    let zero = b.ins().iconst(types::I64, 0);
    b.def_var(vo, zero);
    b.def_var(vcount, fzero);
    for v in &vsum {
        b.def_var(*v, fzero);
    }
    b.ins().jump(head, &[]);

    b.switch_to_block(head);
    let o = b.use_var(vo);
    let more = b.ins().icmp(IntCC::SignedLessThan, o, na);
    b.ins().brif(more, body, &[], done, &[]);

    b.switch_to_block(body);
    let o = b.use_var(vo);
    let mut include = b.ins().icmp(IntCC::NotEqual, o, me);
    if let Some(mf) = my_feeder {
        let o8 = b.ins().imul_imm_s(o, 8);
        let fa = b.ins().iadd(pv[P_AGENT_FEEDER], o8);
        let f = b.ins().load(types::I64, mem, fa, 0);
        let same = b.ins().icmp(IntCC::Equal, f, mf);
        include = b.ins().band(include, same);
    }
    let row = b.ins().imul_imm_s(o, (k * 8) as i64);
    let row = b.ins().iadd(msg_row, row);
    for (j, v) in vsum.iter().enumerate() {
        let m = b.ins().load(types::F64, mem, row, (j * 8) as i32);
        let m = b.ins().select(include, m, fzero);
        let s = b.use_var(*v);
        let s = b.ins().fadd(s, m);
        b.def_var(*v, s);
    }
    let one = b.ins().select(include, fone, fzero);
    let c = b.use_var(vcount);
    let c = b.ins().fadd(c, one);
    b.def_var(vcount, c);
    let o1 = b.ins().iadd_imm_s(o, 1);
    b.def_var(vo, o1);
    b.ins().jump(head, &[]);

    b.switch_to_block(done);
    let count = b.use_var(vcount);
    let pos = b.ins().fcmp(FloatCC::GreaterThan, count, fzero);
    vsum.iter()
        .map(|v| {
            let s = b.use_var(*v);
            let q = b.ins().fdiv(s, count);
            let q = b.ins().fdemote(types::F32, q);
            b.ins().select(pos, q, szero)
        })
        .collect()
}
