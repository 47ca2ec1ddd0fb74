//! The canonical formatter (`gridc fmt`): one layout for every file, comments kept,
//! idempotent.
//!
//! The formatter works from the syntax tree plus the comments the parser collected; the
//! source text is only consulted to answer layout questions about the original (was
//! there a blank line here, is this comment on the same line as that token, where is
//! this block's `{`). It runs only on files that parsed without errors.
//!
//! Comments: a comment that starts on the line where the previous token ended stays at
//! the end of the printed line; every other comment goes on its own line before the next
//! statement (at that statement's indentation, or at the block's inner indentation when
//! only the closing brace follows). Comments inside something printed on one line (an
//! expression, a parameter list) move to the end of that line; comments inside a small
//! block (`battery { ... }`, `observe { ... }`, ...) force it onto several lines.

use super::ast::*;
use crate::source::Span;

/// Lines longer than this break their small blocks (`{ a; b }`, `observe { a, b }`).
pub const WIDTH: usize = 100;

/// Unit atoms that are also identifiers: a path spelled like one of these right after a
/// quantity's unit and a `*`/`/` on the same line would be read as part of the unit.
const IDENT_UNIT_ATOMS: &[&str] = &[
    "kWh", "MWh", "GWh", "Wh", "kWp", "MWp", "Wp", "kW", "MW", "GW", "W", "ct", "kg", "g", "min",
    "h", "steps", "step", "s", "d",
];

/// Format a whole file canonically. `file` must come from parsing `source_text` without
/// errors (its spans and comments point into `source_text`).
pub fn format_file(source_text: &str, file: &File) -> String {
    let mut comments: Vec<&Comment> = file.comments.iter().collect();
    comments.sort_by_key(|c| c.span.start);
    let mut f = Fmt {
        src: source_text,
        comments,
        next: 0,
        out: String::new(),
        last_end: 0,
    };
    f.file(file);
    let mut out = f.out;
    while out.ends_with('\n') {
        out.pop();
    }
    out.push('\n');
    out
}

// ------------------------------------------------------------------- printer state

#[derive(Clone, Copy, PartialEq)]
enum Blank {
    /// Never a blank line before the first thing (start of file, after `{`).
    Suppress,
    /// Always one (between top-level items).
    Force,
    /// One if the source had at least one.
    Source,
}

/// A statement of a block, printed on its own line(s).
#[derive(Clone, Copy)]
enum Node<'a> {
    Tariff(&'a TariffStmt),
    Asset(&'a Asset),
    Prop(&'a Property),
    Net(&'a NetStmt, bool),
    Agent(&'a AgentStmt),
    Feature(&'a Feature),
    Binding(&'a Binding),
    Exp(&'a ExpStmt),
    Axis(&'a SweepAxis),
    Slot(&'a Slot),
}

impl Node<'_> {
    fn span(&self) -> Span {
        match self {
            Node::Tariff(s) => s.span(),
            Node::Asset(a) => a.span,
            Node::Prop(p) => p.span,
            Node::Net(s, _) => s.span(),
            Node::Agent(s) => s.span(),
            Node::Feature(f) => f.span,
            Node::Binding(b) => b.span,
            Node::Exp(s) => s.span(),
            Node::Axis(a) => a.span,
            Node::Slot(s) => s.span,
        }
    }
}

struct Fmt<'a> {
    src: &'a str,
    comments: Vec<&'a Comment>,
    /// Index of the first comment not printed yet.
    next: usize,
    out: String,
    /// Source offset of the end of the last thing printed (token or comment).
    last_end: usize,
}

impl<'a> Fmt<'a> {
    // ---------------------------------------------------------- lines and comments

    fn start_line(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn column(&self) -> usize {
        let line_start = self.out.rfind('\n').map(|i| i + 1).unwrap_or(0);
        self.out[line_start..].chars().count()
    }

    /// End the current line, which printed source up to `end`: first every unprinted
    /// comment that lies before `end` (inside what was printed on one line), then the
    /// comments that follow `end` on its source line. A line comment ends the line; any
    /// comment after it stays pending and is printed on its own line later.
    fn finish_line(&mut self, end: usize) {
        let mut pos = end;
        let mut first = true;
        let mut last = end;
        while let Some(c) = self.comments.get(self.next).copied() {
            let take = c.span.start < end || {
                let from = pos.max(end);
                from <= c.span.start
                    && self.src[from..c.span.start]
                        .chars()
                        .all(|ch| matches!(ch, ' ' | '\t' | '\r' | ';' | ','))
            };
            if !take {
                break;
            }
            self.push(if first { "  " } else { " " });
            self.push(&c.text);
            first = false;
            self.next += 1;
            pos = pos.max(c.span.end);
            last = last.max(c.span.end);
            if c.text.starts_with("//") {
                break;
            }
        }
        self.last_end = self.last_end.max(last);
        self.out.push('\n');
    }

    /// Print, each on its own line at `indent`, the pending comments that start before
    /// `pos`; then, if `target`, the blank line (if any) that goes before the thing at
    /// `pos`. `mode` decides the blank line before the first of these.
    fn leading(&mut self, pos: usize, indent: usize, mode: Blank, target: bool) {
        let mut first = true;
        while let Some(c) = self.comments.get(self.next).copied() {
            if c.span.start >= pos {
                break;
            }
            if self.blank_before(first, mode, c.span.start) {
                self.out.push('\n');
            }
            self.start_line(indent);
            self.push(&c.text);
            self.next += 1;
            self.last_end = self.last_end.max(c.span.end);
            // Block comments may be followed by more comments on the same line.
            if c.text.starts_with("//") {
                self.out.push('\n');
            } else {
                self.finish_line(c.span.end);
            }
            first = false;
        }
        if target && self.blank_before(first, mode, pos) {
            self.out.push('\n');
        }
    }

    fn blank_before(&self, first: bool, mode: Blank, at: usize) -> bool {
        match (first, mode) {
            (true, Blank::Force) => true,
            (true, Blank::Suppress) => false,
            _ => self.has_blank(self.last_end, at),
        }
    }

    /// Whether the source has an empty line between `from` and `to`.
    fn has_blank(&self, from: usize, to: usize) -> bool {
        if from >= to || to > self.src.len() {
            return false;
        }
        let gap = &self.src[from..to];
        let mut seen_newline = false;
        let mut only_ws = false;
        for ch in gap.chars() {
            match ch {
                '\n' => {
                    if seen_newline && only_ws {
                        return true;
                    }
                    seen_newline = true;
                    only_ws = true;
                }
                ' ' | '\t' | '\r' => {}
                _ => only_ws = false,
            }
        }
        false
    }

    /// Where a node really ends. The parser's spans can run on over the whitespace and
    /// comments that follow the last token (a failed optional repetition has already
    /// skipped them), so walk back over those.
    fn end(&self, span: Span) -> usize {
        let bytes = self.src.as_bytes();
        let mut pos = span.end.min(bytes.len());
        loop {
            while pos > span.start && matches!(bytes[pos - 1], b' ' | b'\t' | b'\r' | b'\n') {
                pos -= 1;
            }
            let before = self.comments.partition_point(|c| c.span.start < pos);
            let comment = before
                .checked_sub(1)
                .map(|k| self.comments[k])
                .filter(|c| c.span.start >= span.start && c.span.start + c.text.len() <= pos)
                .filter(|c| self.src[c.span.start + c.text.len()..pos].trim().is_empty());
            match comment {
                Some(c) if c.span.start < pos => pos = c.span.start,
                _ => return pos,
            }
        }
    }

    fn comments_inside(&self, open: usize, close: usize) -> bool {
        let k = self.comments.partition_point(|c| c.span.start <= open);
        self.comments.get(k).is_some_and(|c| c.span.start < close)
    }

    /// The offset of the first `ch` at or after `from`, skipping comments.
    fn find(&self, from: usize, ch: u8) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            if let Ok(k) = self.comments.binary_search_by_key(&i, |c| c.span.start) {
                i = self.comments[k].span.end.max(i + 1);
                continue;
            }
            if bytes[i] == ch {
                return i;
            }
            i += 1;
        }
        bytes.len().saturating_sub(1)
    }

    // ---------------------------------------------------------------- blocks

    /// A `{ ... }` block with one statement per line. The caller has printed the header;
    /// the closing `}` is left on an open line for the caller to finish.
    fn block(&mut self, indent: usize, open: usize, close: usize, nodes: &[Node<'a>], sep: &str) {
        if nodes.is_empty() && !self.comments_inside(open, close) {
            self.push(" {}");
            return;
        }
        self.push(" {");
        self.finish_line(open + 1);
        let inner = indent + 2;
        for (i, n) in nodes.iter().enumerate() {
            let span = n.span();
            let mode = if i == 0 {
                Blank::Suppress
            } else {
                Blank::Source
            };
            self.leading(span.start, inner, mode, true);
            self.start_line(inner);
            self.node(*n, inner);
            if i + 1 < nodes.len() {
                self.push(sep);
            }
            self.finish_line(self.end(span));
        }
        let mode = if nodes.is_empty() {
            Blank::Suppress
        } else {
            Blank::Source
        };
        self.leading(close, inner, mode, false);
        self.start_line(indent);
        self.push("}");
    }

    /// A small block: `{ a; b }` on the current line when it fits and holds no comment,
    /// else one entry per line (`multi_sep` between entries).
    fn small_block(
        &mut self,
        indent: usize,
        open: usize,
        close: usize,
        nodes: &[Node<'a>],
        inline_sep: &str,
        multi_sep: &str,
    ) {
        if !self.comments_inside(open, close) {
            let parts: Vec<String> = nodes.iter().map(|n| self.inline_node(*n, indent)).collect();
            let inline = if parts.is_empty() {
                " {}".to_string()
            } else {
                format!(" {{ {} }}", parts.join(inline_sep))
            };
            if !inline.contains('\n') && self.column() + inline.chars().count() <= WIDTH {
                self.push(&inline);
                return;
            }
        }
        self.block(indent, open, close, nodes, multi_sep);
    }

    // ---------------------------------------------------------------- file and items

    fn file(&mut self, file: &'a File) {
        #[derive(PartialEq, Clone, Copy)]
        enum Kind {
            Header,
            Import,
            Profile,
            Other,
        }
        let mut prev: Option<Kind> = None;
        if let Some(h) = &file.header {
            self.leading(h.span.start, 0, Blank::Suppress, true);
            self.start_line(0);
            self.push(&format!("gridc {}", h.version));
            self.finish_line(self.end(h.span));
            prev = Some(Kind::Header);
        }
        for item in &file.items {
            let kind = match item {
                Item::Import(_) => Kind::Import,
                Item::Profile(_) => Kind::Profile,
                _ => Kind::Other,
            };
            let mode = match prev {
                None => Blank::Suppress,
                Some(p) if p == kind && kind != Kind::Other => Blank::Source,
                Some(_) => Blank::Force,
            };
            self.leading(item.span().start, 0, mode, true);
            self.item(item);
            prev = Some(kind);
        }
        let mode = if prev.is_none() {
            Blank::Suppress
        } else {
            Blank::Source
        };
        self.leading(usize::MAX, 0, mode, false);
    }

    fn item(&mut self, item: &'a Item) {
        self.start_line(0);
        match item {
            Item::Import(i) => {
                let mut s = format!("import {}", string_lit(&i.path.value));
                if let Some(a) = &i.alias {
                    s.push_str(" as ");
                    s.push_str(&a.name);
                }
                self.push(&s);
            }
            Item::Profile(p) => {
                let s = format!(
                    "profile {} = {}",
                    p.name.name,
                    self.profile_source(&p.source)
                );
                self.push(&s);
            }
            Item::Tariff(t) => {
                self.push(&format!("tariff {}", t.name.name));
                let open = self.find(t.name.span.end, b'{');
                let nodes: Vec<Node> = t.stmts.iter().map(Node::Tariff).collect();
                self.block(0, open, self.end(t.span) - 1, &nodes, "");
            }
            Item::Template(t) => {
                let params: Vec<String> = t.params.iter().map(|p| self.param(p)).collect();
                self.push(&format!("template {}({})", t.name.name, params.join(", ")));
                let after = t
                    .params
                    .last()
                    .map(|p| p.span.end)
                    .unwrap_or(t.name.span.end);
                let open = self.find(after, b'{');
                let nodes: Vec<Node> = t.assets.iter().map(Node::Asset).collect();
                self.block(0, open, self.end(t.span) - 1, &nodes, "");
            }
            Item::Network(n) => {
                self.push(&format!("network {}", n.name.name));
                let open = self.find(n.name.span.end, b'{');
                let nodes: Vec<Node> = n
                    .stmts
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Node::Net(s, needs_semicolon(s, n.stmts.get(i + 1))))
                    .collect();
                self.block(0, open, self.end(n.span) - 1, &nodes, "");
            }
            Item::Agents(a) => {
                self.push("agents");
                let open = self.find(a.span.start, b'{');
                let nodes: Vec<Node> = a.stmts.iter().map(Node::Agent).collect();
                self.block(0, open, self.end(a.span) - 1, &nodes, "");
            }
            Item::Reward(r) => {
                self.push("reward");
                let open = self.find(r.span.start, b'{');
                let nodes: Vec<Node> = r.bindings.iter().map(Node::Binding).collect();
                self.block(0, open, self.end(r.span) - 1, &nodes, "");
            }
            Item::Experiment(e) => {
                self.push(&format!("experiment {}", e.name.name));
                let open = self.find(e.name.span.end, b'{');
                let nodes: Vec<Node> = e.stmts.iter().map(Node::Exp).collect();
                self.block(0, open, self.end(e.span) - 1, &nodes, "");
            }
        }
        self.finish_line(self.end(item.span()));
    }

    // ---------------------------------------------------------------- statements

    /// Print a statement on the current (already indented) line; nested blocks may add
    /// lines. The last line is left open.
    fn node(&mut self, n: Node<'a>, indent: usize) {
        match n {
            Node::Tariff(s) => match s {
                TariffStmt::Import(p, _) => {
                    self.push("import ");
                    self.price(p, indent);
                }
                TariffStmt::Export(p, _) => {
                    self.push("export ");
                    self.price(p, indent);
                }
                TariffStmt::DemandCharge { rate, period, .. } => {
                    let s = format!(
                        "demand_charge {} per {}",
                        self.expr(rate, indent),
                        period.name
                    );
                    self.push(&s);
                }
                TariffStmt::Carbon(e, _) => {
                    let s = format!("carbon {}", self.expr(e, indent));
                    self.push(&s);
                }
            },
            Node::Asset(a) => {
                let kw = a.kind.keyword();
                match (&a.value, a.kind) {
                    (_, AssetKind::Battery) | (None, _) => {
                        self.push(&format!("{kw} {}", a.name.name));
                        let open = self.find(a.name.span.end, b'{');
                        let nodes: Vec<Node> = a.properties.iter().map(Node::Prop).collect();
                        self.small_block(indent, open, self.end(a.span) - 1, &nodes, "; ", "");
                    }
                    (Some(v), _) => {
                        let s = format!("{kw} {} = {}", a.name.name, self.expr(v, indent));
                        self.push(&s);
                    }
                }
            }
            Node::Net(s, semicolon) => {
                self.net_stmt(s, indent);
                if semicolon {
                    self.push(";");
                }
            }
            Node::Agent(s) => match s {
                AgentStmt::Controls {
                    template, controls, ..
                } => {
                    let cs: Vec<String> = controls
                        .iter()
                        .map(|c| {
                            format!("{} in {}", c.target.dotted(), self.range(&c.bounds, indent))
                        })
                        .collect();
                    let s = format!("each {} controls {}", template.dotted(), cs.join(", "));
                    self.push(&s);
                }
                AgentStmt::Observe(features, span) => {
                    self.push("observe");
                    let open = self.find(span.start, b'{');
                    let nodes: Vec<Node> = features.iter().map(Node::Feature).collect();
                    self.small_block(indent, open, self.end(*span) - 1, &nodes, ", ", ",");
                }
                AgentStmt::Communicate(v, _) => {
                    let mut s = format!("communicate {}", v.kind.name);
                    if let Some((size, _)) = &v.size {
                        s.push_str(&format!("({size})"));
                    }
                    self.push(&s);
                }
                AgentStmt::Others(rule, _) => self.push(&format!("others follow {}", rule.name)),
            },
            Node::Exp(s) => match s {
                ExpStmt::Days { train, ranges, .. } => {
                    let rs: Vec<String> = ranges
                        .iter()
                        .map(|r| match &r.to {
                            Some(to) => format!("{}..{}", r.from.text, to.text),
                            None => r.from.text.clone(),
                        })
                        .collect();
                    let kw = if *train { "train" } else { "test" };
                    self.push(&format!("{kw} days {}", rs.join(", ")));
                }
                ExpStmt::Sweep(axes, span) => {
                    self.push("sweep");
                    let open = self.find(span.start, b'{');
                    let nodes: Vec<Node> = axes.iter().map(Node::Axis).collect();
                    self.block(indent, open, self.end(*span) - 1, &nodes, "");
                }
                ExpStmt::List { name, items, .. } => {
                    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                    self.push(&format!("{} [{}]", name.name, names.join(", ")));
                }
                ExpStmt::Setting { name, value, .. } => {
                    let s = format!("{} {}", name.name, self.expr(value, indent));
                    self.push(&s);
                }
            },
            Node::Prop(_) | Node::Feature(_) | Node::Binding(_) | Node::Axis(_) | Node::Slot(_) => {
                let s = self.inline_node(n, indent);
                self.push(&s);
            }
        }
    }

    /// One-line statements (entries of small blocks, reward bindings, sweep axes).
    fn inline_node(&self, n: Node<'a>, indent: usize) -> String {
        match n {
            Node::Prop(p) => {
                let v = match &p.value {
                    PropValue::Expr(e) => self.expr(e, indent),
                    PropValue::Range(r) => self.range(r, indent),
                };
                format!("{} {}", p.name.name, v)
            }
            Node::Feature(f) => match &f.arg {
                Some(a) => format!("{}({})", f.path.dotted(), self.expr(a, indent)),
                None => f.path.dotted(),
            },
            Node::Binding(b) => format!("{} = {}", b.name.name, self.expr(&b.value, indent)),
            Node::Axis(a) => {
                let vs: Vec<String> = a.values.iter().map(|v| self.expr(v, indent)).collect();
                format!("{} [{}]", a.path.dotted(), vs.join(", "))
            }
            Node::Slot(s) => {
                format!(
                    "{}..{} => {}",
                    s.from.text,
                    s.to.text,
                    self.expr(&s.price, indent)
                )
            }
            _ => unreachable!("only one-line statements are printed inline"),
        }
    }

    fn price(&mut self, p: &'a Price, indent: usize) {
        match p {
            Price::Schedule(slots, span) => {
                self.push("schedule");
                let open = self.find(span.start, b'{');
                let nodes: Vec<Node> = slots.iter().map(Node::Slot).collect();
                // The grammar requires `;` between slots, also across lines.
                self.small_block(indent, open, self.end(*span) - 1, &nodes, "; ", ";");
            }
            Price::Expr(e) => {
                let s = self.expr(e, indent);
                self.push(&s);
            }
        }
    }

    fn net_stmt(&mut self, s: &'a NetStmt, indent: usize) {
        match s {
            NetStmt::Bus(name, _) => self.push(&format!("bus {}", name.name)),
            NetStmt::Feeder(f) => {
                let mut head = format!("feeder {} from {}", f.name.name, f.from.name);
                if let Some(to) = &f.to {
                    head.push_str(&format!(" to {}", to.name));
                }
                self.push(&head);
                if f.has_block {
                    let after = f.to.as_ref().unwrap_or(&f.from).span.end;
                    let open = self.find(after, b'{');
                    let nodes: Vec<Node> = f.properties.iter().map(Node::Prop).collect();
                    self.small_block(indent, open, self.end(f.span) - 1, &nodes, "; ", "");
                }
            }
            NetStmt::PeakCharge {
                rate, period, bus, ..
            } => {
                let s = format!(
                    "peak_charge {} per {} on {}",
                    self.expr(rate, indent),
                    period.name,
                    bus.name
                );
                self.push(&s);
            }
            NetStmt::Tariff(path, _) => self.push(&format!("tariff {}", path.dotted())),
            NetStmt::Instance(i) => {
                let mut s = format!("{} {}", i.template.dotted(), i.name.name);
                if let Some((count, _)) = &i.count {
                    s.push_str(&format!("[{count}]"));
                }
                let feeders: Vec<&str> = i.feeders.iter().map(|f| f.name.as_str()).collect();
                s.push_str(&format!(" on {}", feeders.join(", ")));
                if i.has_args {
                    s.push_str(&format!(" ({})", self.args(&i.args, indent)));
                }
                self.push(&s);
            }
        }
    }

    // ---------------------------------------------------------------- one-line pieces

    fn profile_source(&self, s: &ProfileSource) -> String {
        match s {
            ProfileSource::Csv { path, options, .. } => {
                let mut parts = vec![string_lit(&path.value)];
                parts.extend(options.iter().map(|o| self.option(o)));
                format!("csv({})", parts.join(", "))
            }
            ProfileSource::List { texts, options, .. } => {
                let mut parts = vec![format!("[{}]", texts.join(", "))];
                parts.extend(options.iter().map(|o| self.option(o)));
                format!("list({})", parts.join(", "))
            }
            ProfileSource::Expr(e) => self.expr(e, 0),
        }
    }

    fn option(&self, o: &ProfileOption) -> String {
        let v = match &o.value {
            OptionValue::Unit(u) => unit(u),
            OptionValue::String(s) => string_lit(&s.value),
            OptionValue::Expr(e) => self.expr(e, 0),
        };
        format!("{}: {}", o.name.name, v)
    }

    fn param(&self, p: &Param) -> String {
        let ty = p
            .unit
            .as_ref()
            .map(unit)
            .unwrap_or_else(|| "number".to_string());
        match &p.default {
            Some(d) => format!("{}: {} = {}", p.name.name, ty, self.expr(d, 0)),
            None => format!("{}: {}", p.name.name, ty),
        }
    }

    fn range(&self, r: &Range, indent: usize) -> String {
        format!(
            "{}..{}",
            self.expr(&r.low, indent),
            self.expr(&r.high, indent)
        )
    }

    fn args(&self, args: &[Arg], indent: usize) -> String {
        args.iter()
            .map(|a| match &a.name {
                Some(n) => format!("{}: {}", n.name, self.expr(&a.value, indent)),
                None => self.expr(&a.value, indent),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An expression on one line, exactly as parenthesised in the source. The one
    /// exception: `10 kWh` and a `*`/`/` followed by a path named like a unit (`h`) would
    /// be read back as the unit `kWh*h`, so the operator goes to a continuation line.
    fn expr(&self, e: &Expr, indent: usize) -> String {
        match e {
            Expr::Quantity(q) => quantity(q),
            Expr::Path(p) => p.dotted(),
            Expr::Call(c) => format!("{}({})", c.callee.name, self.args(&c.args, indent)),
            Expr::Binary(b) => {
                let lhs = self.expr(&b.lhs, indent);
                let rhs = self.expr(&b.rhs, indent);
                let op = b.op.symbol();
                let glued = matches!(b.op, BinOp::Mul | BinOp::Div)
                    && ends_with_unit(&b.lhs)
                    && starts_with_unit_word(&b.rhs);
                if glued {
                    format!("{lhs}\n{}{op} {rhs}", " ".repeat(indent + 4))
                } else {
                    format!("{lhs} {op} {rhs}")
                }
            }
            Expr::Neg(inner, _) => format!("-{}", self.expr(inner, indent)),
            Expr::Paren(inner, _) => format!("({})", self.expr(inner, indent)),
        }
    }
}

/// `feeder f from a` followed by an instance of a template named `to` would read back as
/// `feeder f from a to ...`: keep a `;` between them.
fn needs_semicolon(s: &NetStmt, next: Option<&NetStmt>) -> bool {
    matches!(
        (s, next),
        (NetStmt::Feeder(f), Some(NetStmt::Instance(i)))
            if f.to.is_none() && !f.has_block
                && i.template.segments.len() == 1 && i.template.segments[0].name == "to"
    )
}

/// Whether the last token printed for `e` is a quantity's unit.
fn ends_with_unit(e: &Expr) -> bool {
    match e {
        Expr::Quantity(q) => q.unit.is_some(),
        Expr::Binary(b) => ends_with_unit(&b.rhs),
        Expr::Neg(inner, _) => ends_with_unit(inner),
        _ => false,
    }
}

/// Whether the first token printed for `e` is a word spelled like a unit atom.
fn starts_with_unit_word(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p
            .segments
            .first()
            .is_some_and(|s| IDENT_UNIT_ATOMS.contains(&s.name.as_str())),
        Expr::Call(c) => IDENT_UNIT_ATOMS.contains(&c.callee.name.as_str()),
        Expr::Binary(b) => starts_with_unit_word(&b.lhs),
        _ => false,
    }
}

fn quantity(q: &Quantity) -> String {
    match &q.unit {
        None => q.number_text.clone(),
        Some(u) => {
            let attached = u.terms.first().is_some_and(|t| t.atom == "%");
            let sep = if attached { "" } else { " " };
            format!("{}{}{}", q.number_text, sep, unit(u))
        }
    }
}

/// `$/kWh`, `kW*h`, `h^-1`.
fn unit(u: &UnitExpr) -> String {
    u.text()
}

fn string_lit(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceId;
    use crate::syntax::parse_file;

    fn parse_ok(src: &str) -> File {
        let (file, diags) = parse_file(src, SourceId(0));
        assert!(diags.is_empty(), "input does not parse:\n{src}\n{diags:#?}");
        file
    }

    fn fmt(src: &str) -> String {
        format_file(src, &parse_ok(src))
    }

    /// The AST's debug text with every span blanked out.
    fn shape(file: &File) -> String {
        let text = format!("{file:?}");
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("Span { start: ") {
            out.push_str(&rest[..at]);
            out.push_str("Span");
            let close = rest[at..].find('}').expect("span debug ends with }");
            rest = &rest[at + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn comment_texts(file: &File) -> Vec<String> {
        file.comments.iter().map(|c| c.text.clone()).collect()
    }

    /// Idempotence, meaning preservation, comments kept in order.
    fn check(name: &str, src: &str) {
        let before = parse_ok(src);
        let once = format_file(src, &before);
        let after = {
            let (file, diags) = parse_file(&once, SourceId(0));
            assert!(
                diags.is_empty(),
                "{name}: formatted output does not parse:\n{once}\n{diags:#?}"
            );
            file
        };
        let twice = format_file(&once, &after);
        assert_eq!(
            once, twice,
            "{name}: not idempotent\n--- once ---\n{once}\n--- twice ---\n{twice}"
        );
        assert_eq!(
            shape(&before),
            shape(&after),
            "{name}: meaning changed\n{once}"
        );
        assert_eq!(
            comment_texts(&before),
            comment_texts(&after),
            "{name}: comments changed\n{once}"
        );
        // Every comment text appears in the output, in order.
        let mut pos = 0;
        for c in &before.comments {
            let at = once[pos..]
                .find(&c.text)
                .unwrap_or_else(|| panic!("{name}: lost comment {:?}\n{once}", c.text));
            pos += at + c.text.len();
        }
        assert!(
            once.ends_with('\n') && !once.ends_with("\n\n"),
            "{name}: bad ending"
        );
        for line in once.lines() {
            assert_eq!(line, line.trim_end(), "{name}: trailing whitespace");
        }
    }

    fn sample_files() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut examples: Vec<_> = std::fs::read_dir(root.join("examples"))
            .expect("examples directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "grid"))
            .collect();
        examples.sort();
        examples.push(root.join("stdlib/std.grid"));
        for p in examples {
            let text = std::fs::read_to_string(&p).expect("readable sample");
            files.push((p.display().to_string(), text));
        }
        assert!(files.len() >= 3);
        files
    }

    const TRICKY: &[&str] = &[
        // comments everywhere around items
        "// before header\ngridc 0.1 // after header\n\n\n// before import\nimport \"std\" // trailing\nimport \"other\" as o\n\n\nprofile a = 1 kW\n// between profiles\nprofile b = 2 kW /* block */\n\n// detached\n\nprofile c = a + b\n// at the end\n\n/* very end\n   spans lines */\n",
        // comments inside blocks
        "gridc 0.1\ntariff t { // after brace\n  // first\n  import 0.3 $/kWh; // trailing\n\n\n  /* lonely */\n  export 0.05 $/kWh\n  // before close\n}\nreward {\n  // only a comment\n}\nreward {}\n",
        // comments between observe features and inside small blocks
        "gridc 0.1\nagents {\n  each h controls store.power in -1..1, x.y in 0 kW..5 kW\n  observe { time.hour, // hour\n    price.import.next(6h), /* soc */ self.store.soc\n  }\n  observe { a, b, }\n  observe {}\n  communicate broadcast(4)\n}\ntemplate h(a: kWh = 1 kWh) {\n  battery store { capacity 10 kWh; /* c */ power 5 kW }\n  battery empty {}\n  load x = a // load\n}\n",
        // schedules long and short
        "gridc 0.1\ntariff short { import schedule { 00:00..12:00 => 0.1 $/kWh; 12:00..24:00 => 0.2 $/kWh; } }\ntariff long {\n  import schedule { 00:00..06:00 => 0.15 $/kWh; 06:00..16:00 => 0.25 $/kWh; 16:00..21:00 => 0.45 $/kWh; 21:00..24:00 => 0.25 $/kWh }\n  export schedule { 00:00..24:00 => 0.05 $/kWh // only slot\n  }\n  demand_charge 10 $/kW per month; carbon 0.4 kg/kWh\n}\n",
        // nested parens, negatives, %, magnitudes, powers
        "gridc 0.1\nprofile p = ((a + b) * (c - -d)) / -(e)\nprofile q = -1.5e3 kW * 95% + 200k steps - 2M $ / 3\nprofile r = 10kWh/ h^2 + 3 kW*h + 4 h^-1\nprofile s = list([1, -2.5, 3k,], unit: kW)\nprofile t = csv(\"data/\\\"odd\\\\name\\t.csv\", column: \"kw\", scale: 2 * 3,)\nprofile u = f(g(h(1)), x: (2))\n",
        // experiment: multiple date ranges, sweep, settings
        "gridc 0.1\nexperiment e {\n  step 1h; episode 24 h\n  train days 2023-01-01..2023-03-31, 2023-06-01, 2023-07-01..2023-07-31\n  test days 2023-12-01\n\n\n  algorithms [mappo, ippo,]\n  baselines []\n  budget 200k steps\n  sweep { households [4, 8]; reward.mix [0, 0.5, 1] /* mix */ }\n  sweep {}\n}\n",
        // network: instance without args, feeder without block, empty args
        "gridc 0.1\nnetwork n {\n  bus a; bus b\n  feeder f from a\n  feeder g from a to b {}\n  feeder k from a to b { limit 16 kW }\n  household h on f\n  household i[2] on f, k ()\n  std.household j on g (annual: uniform(3000 kWh, 6000 kWh), seed: 7)\n  peak_charge 0.5 $/kW per day on a\n  tariff std.tou\n}\n",
        // comments inside expressions and parameter lists
        "gridc 0.1\nprofile a = 1 kW + // inside\n  /* then */ 2 kW\nprofile b = 3 /* x */ * 4 // y\ntemplate t(\n  // doc\n  a: kWh = 1 kWh,\n  n: number\n) {\n  solar s = sun * (a / /* c */ 1 kWh)\n}\n",
        // the unit-gluing corner case and the feeder/`to` corner case
        "gridc 0.1\nprofile a = 10 kWh\n  / h + (2 kW)\n  * min - -3 kW\n * s\nnetwork n {\n  feeder f from a; to x on f\n}\n",
        // a long small block goes multi-line, blank lines inside blocks
        "gridc 0.1\ntemplate household(annual: kWh = 4500 kWh) {\n  battery store { capacity 10 kWh; power 5 kW; efficiency 0.95; soc 0.1..0.95; start 0.5; extra_long_property_name 12345 kWh }\n\n  load demand = house * (annual / 1000 kWh)\n}\nagents {\n  observe { time.hour, time.weekday, price.import, price.import.next(6h), self.demand, self.roof, self.store.soc }\n}\n",
        // block comments in odd places, comment chains, comments before close braces
        "gridc 0.1\n/* a */ /* b */ // c\nreward { mix = 0.5 /* d */ /* e */ // f\n  /* g */ social = -cost(town) / count(h) }\nreward\n// between keyword and brace\n{\n  x = 1\n\n  // last\n\n}\n",
        // no blank lines anywhere, everything on few lines
        // CRLF line endings and tabs; a block comment spanning lines after a brace
        "gridc 0.1\r\n\r\n\r\n// crlf\r\ntariff t {\t/* multi\r\n line */ import 1 $/kWh;\r\n\r\n\r\n\texport 2 $/kWh // x\r\n}\r\n",
        // comments in small blocks, instance args, template without parameters
        "gridc 0.1\ntemplate t() { battery b { // cap\n capacity 1 kWh } }\nnetwork n {\n  feeder f from a { /* lim */ limit 1 kW; }\n  t x on f (a: 1, // one\n b: 2)\n}\nprofile l = list([1, 2], /* u */ unit: kW)\n",
        "gridc 0.1\nimport \"std\" as s\nprofile a = 1\nprofile b = 2\ntariff t { import 1 $/kWh }\nnetwork n { bus a }\nagents { communicate none }\nreward { mix = 1 }\nexperiment e { seeds 10 }\n// eof",
    ];

    #[test]
    fn samples_are_idempotent_and_preserved() {
        for (name, text) in sample_files() {
            check(&name, &text);
        }
    }

    #[test]
    fn tricky_inputs_are_idempotent_and_preserved() {
        for (i, src) in TRICKY.iter().enumerate() {
            check(&format!("tricky #{i}"), src);
        }
    }

    #[test]
    fn comments_are_kept_in_order() {
        let src = TRICKY[0];
        let out = fmt(src);
        let texts = comment_texts(&parse_ok(src));
        let mut pos = 0;
        for t in texts {
            let at = out[pos..].find(&t).expect("comment kept");
            pos += at + t.len();
        }
    }

    #[test]
    fn corner_cases_keep_their_meaning() {
        let out = fmt(TRICKY[8]);
        assert!(
            out.contains("profile a = 10 kWh\n    / h + (2 kW) * min - -3 kW\n    * s\n"),
            "{out}"
        );
        assert!(out.contains("  feeder f from a;\n  to x on f\n"), "{out}");
    }

    #[test]
    fn golden() {
        let messy = "\n\n   gridc   0.1\n\n\n\n//  header comment\nimport    \"std\"\nimport \"more\" as   m\n\n\n\nprofile house  = std.load.h25   // shape\nprofile sun    =   std.pv.greensboro\n\n\ntariff tou{import schedule{00:00..16:00=>0.15$/kWh;16:00..24:00=>0.45 $/kWh;};\n      export 0.05$/kWh;;\n\n\n\n   carbon   0.4 kg / kWh }\ntemplate household( annual : kWh=4500kWh , pv:kWp = 5 kWp, ) {\nload demand=house*(annual/1000 kWh);\n    solar roof = sun*pv\nbattery store{capacity 10kWh;power 5 kW;efficiency 95 %;soc 0.1..0.95}\n}\nnetwork town {\n  bus substation ;\n      feeder street from substation{limit 16 kW}\n  household h [16] on street ( annual : uniform( 3000 kWh,6000 kWh ) , seed:7 )\n  peak_charge 0.5$/kW per day on substation\n}\nagents {\neach household controls store.power in - 1 .. 1 ;\nobserve{time.hour,self.store.soc,}\n    communicate   none }\nreward { mix=0.5 ; individual = - bill( self ) ; social = -cost(town)/count(household) }\nexperiment main {\nstep 1h\n  train days 2023-01-01 .. 2023-10-31 ,2023-11-01\n  algorithms [ mappo , ippo ]\n  budget 200k   steps\n  sweep { reward.mix [0,0.5,1] }\n}\n\n\n// the end\n\n\n";
        let expected = r#"gridc 0.1

//  header comment
import "std"
import "more" as m

profile house = std.load.h25  // shape
profile sun = std.pv.greensboro

tariff tou {
  import schedule { 00:00..16:00 => 0.15 $/kWh; 16:00..24:00 => 0.45 $/kWh }
  export 0.05 $/kWh

  carbon 0.4 kg/kWh
}

template household(annual: kWh = 4500 kWh, pv: kWp = 5 kWp) {
  load demand = house * (annual / 1000 kWh)
  solar roof = sun * pv
  battery store { capacity 10 kWh; power 5 kW; efficiency 95%; soc 0.1..0.95 }
}

network town {
  bus substation
  feeder street from substation { limit 16 kW }
  household h[16] on street (annual: uniform(3000 kWh, 6000 kWh), seed: 7)
  peak_charge 0.5 $/kW per day on substation
}

agents {
  each household controls store.power in -1..1
  observe { time.hour, self.store.soc }
  communicate none
}

reward {
  mix = 0.5
  individual = -bill(self)
  social = -cost(town) / count(household)
}

experiment main {
  step 1 h
  train days 2023-01-01..2023-10-31, 2023-11-01
  algorithms [mappo, ippo]
  budget 200k steps
  sweep {
    reward.mix [0, 0.5, 1]
  }
}

// the end
"#;
        let out = fmt(messy);
        assert_eq!(out, expected, "\n--- got ---\n{out}");
        check("golden", messy);
    }

    #[test]
    fn example_layout() {
        let src = "gridc 0.1\ntariff tou {\n  import schedule { 00:00..16:00 => 0.15 $/kWh; 16:00..21:00 => 0.45 $/kWh; 21:00..24:00 => 0.25 $/kWh }\n}\nagents {\n  observe {\n    time.hour, time.weekday, price.import, price.import.next(6h),\n    self.demand, self.roof, self.store.soc, street.flow.last\n  }\n}\n";
        let expected = "gridc 0.1\n\ntariff tou {\n  import schedule {\n    00:00..16:00 => 0.15 $/kWh;\n    16:00..21:00 => 0.45 $/kWh;\n    21:00..24:00 => 0.25 $/kWh\n  }\n}\n\nagents {\n  observe {\n    time.hour,\n    time.weekday,\n    price.import,\n    price.import.next(6 h),\n    self.demand,\n    self.roof,\n    self.store.soc,\n    street.flow.last\n  }\n}\n";
        assert_eq!(fmt(src), expected);
    }
}
