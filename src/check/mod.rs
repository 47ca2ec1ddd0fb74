//! Checking: `ast::File` (+ imports, profiles, overrides) → `Scenario`, or diagnostics.
//!
//! One module per pass, all sharing [`Ctx`]: modules/names (here), [`eval`] (expressions
//! and units), [`profiles`], [`tariff`], [`network`] (graph, templates, instances),
//! [`agents`], [`reward`], [`experiment`], [`overrides`]. Every pass reports what it can
//! and continues, so one run shows all errors of a file.

pub mod agents;
pub mod eval;
pub mod experiment;
pub mod households;
pub mod network;
pub mod overrides;
pub mod profiles;
pub mod reward;
pub mod tariff;
pub mod units;

use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::files::{io_reason, FileReader};
use crate::model::{Profile, Scenario};
use crate::source::{SourceFile, SourceId, Sources, Span};
use crate::syntax::ast::{self, Item, Path as AstPath};
use eval::Typed;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--set path=value`, in order.
    pub overrides: Vec<(String, String)>,
}

/// The result of checking one file.
#[derive(Debug)]
pub struct Checked {
    pub sources: Sources,
    /// Present when there are no errors.
    pub scenario: Option<Scenario>,
    pub diagnostics: Vec<Diagnostic>,
    pub main_source: Option<SourceId>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefKind {
    Profile,
    Tariff,
    Template,
}

impl DefKind {
    pub fn word(self) -> &'static str {
        match self {
            DefKind::Profile => "profile",
            DefKind::Tariff => "tariff",
            DefKind::Template => "template",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub kind: DefKind,
    /// Index into the module's `file.items`.
    pub item: usize,
    pub name_span: Span,
}

#[derive(Debug)]
pub struct Module {
    pub source: SourceId,
    pub file: std::rc::Rc<ast::File>,
    pub defs: HashMap<String, Def>,
    /// alias → module index.
    pub imports: HashMap<String, usize>,
    pub used: std::collections::HashSet<String>,
}

/// State shared by all passes.
pub struct Ctx<'f> {
    /// Where imports and CSV profiles are read from (check itself does no IO).
    pub files: &'f dyn FileReader,
    pub sources: Sources,
    pub modules: Vec<Module>,
    pub diags: Vec<Diagnostic>,
    pub profiles: Vec<Profile>,
    /// (module, profile name) → resolved value (None = failed, already reported).
    pub profile_values: HashMap<(usize, String), Option<Typed>>,
    pub profile_in_progress: Vec<(usize, String)>,
    /// Profile index → the source + span of its definition (for day-coverage errors).
    pub profile_sites: Vec<(SourceId, Span)>,
    /// Module index by canonical file path (imports are loaded once).
    loaded: HashMap<String, usize>,
}

pub fn check_file(files: &dyn FileReader, path: &Path, options: &Options) -> Checked {
    let sources = Sources::new();
    let name = path.display().to_string();
    let bytes = match files.read(path) {
        Ok(b) => b,
        Err(e) => {
            return Checked {
                sources,
                scenario: None,
                diagnostics: vec![Diagnostic::error(
                    codes::IO,
                    format!("cannot read `{name}`: {}", io_reason(&e)),
                )],
                main_source: None,
            }
        }
    };
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    check_bytes(files, &name, &bytes, Some(dir), options)
}

/// Check text that is not on disk (tests, stdin). Relative paths resolve against `dir`.
pub fn check_source(
    files: &dyn FileReader,
    name: &str,
    text: &str,
    dir: Option<PathBuf>,
    options: &Options,
) -> Checked {
    let mut sources = Sources::new();
    let id = sources.add(SourceFile {
        name: name.to_string(),
        text: text.to_string(),
        dir,
        embedded: false,
    });
    check_main(files, sources, id, options)
}

/// Bytes → text; on invalid UTF-8, a lossy text and the offset of the first bad byte.
pub fn decode(bytes: &[u8]) -> (String, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(e) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(e.valid_up_to()),
        ),
    }
}

fn not_utf8(id: SourceId, at: usize) -> Diagnostic {
    Diagnostic::error(codes::NOT_UTF8, "file is not valid UTF-8")
        .label(id, Span::new(at, at + 1), "invalid byte here")
        .help("save the file as UTF-8")
}

/// Check raw bytes as if read from a file called `name` (fuzzing, stdin).
pub fn check_bytes(
    files: &dyn FileReader,
    name: &str,
    bytes: &[u8],
    dir: Option<PathBuf>,
    options: &Options,
) -> Checked {
    let mut sources = Sources::new();
    let (text, bad) = decode(bytes);
    let id = sources.add(SourceFile {
        name: name.to_string(),
        text,
        dir,
        embedded: false,
    });
    if let Some(at) = bad {
        let d = not_utf8(id, at);
        return Checked {
            sources,
            scenario: None,
            diagnostics: vec![d],
            main_source: Some(id),
        };
    }
    check_main(files, sources, id, options)
}

fn check_main(
    files: &dyn FileReader,
    sources: Sources,
    main: SourceId,
    options: &Options,
) -> Checked {
    let mut ctx = Ctx {
        files,
        sources,
        modules: Vec::new(),
        diags: Vec::new(),
        profiles: Vec::new(),
        profile_values: HashMap::new(),
        profile_in_progress: Vec::new(),
        profile_sites: Vec::new(),
        loaded: HashMap::new(),
    };
    let text = ctx.sources.get(main).text.clone();
    let (mut file, parse_diags) = crate::syntax::parse_file(&text, main);
    let parse_failed = parse_diags.iter().any(Diagnostic::is_error);
    ctx.diags.extend(parse_diags);
    overrides::apply(&mut ctx, &mut file, &options.overrides);
    let m = ctx.add_module(main, file, Vec::new());
    let scenario = if parse_failed {
        None
    } else {
        ctx.build_scenario(m)
    };
    if ctx.diags.iter().all(|d| !d.is_error()) {
        ctx.warn_unused(m);
    }
    let mut diagnostics = std::mem::take(&mut ctx.diags);
    dedup(&mut diagnostics);
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    Checked {
        sources: ctx.sources,
        scenario: if ok { scenario } else { None },
        diagnostics,
        main_source: Some(main),
    }
}

/// Template bodies are checked once per instance; report each problem once.
fn dedup(d: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    d.retain(|x| seen.insert(format!("{x:?}")));
}

impl Ctx<'_> {
    /// Register a parsed file as a module, load its imports, build its name table.
    /// `chain` holds the import chain for cycle detection.
    fn add_module(&mut self, source: SourceId, file: ast::File, chain: Vec<String>) -> usize {
        let index = self.modules.len();
        self.modules.push(Module {
            source,
            file: Default::default(),
            defs: HashMap::new(),
            imports: HashMap::new(),
            used: Default::default(),
        });
        let mut defs: HashMap<String, Def> = HashMap::new();
        let mut imports = HashMap::new();
        for (i, item) in file.items.iter().enumerate() {
            let (kind, name) = match item {
                Item::Profile(p) => (DefKind::Profile, &p.name),
                Item::Tariff(t) => (DefKind::Tariff, &t.name),
                Item::Template(t) => (DefKind::Template, &t.name),
                Item::Import(imp) => {
                    let alias = imp
                        .alias
                        .as_ref()
                        .map(|a| a.name.clone())
                        .unwrap_or_else(|| default_alias(&imp.path.value));
                    if let Some(m) = self.load_import(source, imp, &chain) {
                        // Keep the first import of a name, so later uses still resolve.
                        if imports.contains_key(&alias) {
                            self.diags.push(
                                Diagnostic::error(
                                    codes::DUPLICATE,
                                    format!("two imports named `{alias}`"),
                                )
                                .label(source, imp.span, "second import with this name")
                                .help("give one of them another name with `as`"),
                            );
                        } else {
                            imports.insert(alias.clone(), m);
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            if let Some(prev) = defs.get(&name.name) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        format!("`{}` is defined twice", name.name),
                    )
                    .label(source, name.span, "second definition")
                    .label(source, prev.name_span, "first definition here")
                    .help(
                        "profiles, tariffs and templates share one namespace per file: rename one",
                    ),
                );
                continue;
            }
            defs.insert(
                name.name.clone(),
                Def {
                    kind,
                    item: i,
                    name_span: name.span,
                },
            );
        }
        let m = &mut self.modules[index];
        m.file = std::rc::Rc::new(file);
        m.defs = defs;
        m.imports = imports;
        index
    }

    fn load_import(
        &mut self,
        from: SourceId,
        imp: &ast::Import,
        chain: &[String],
    ) -> Option<usize> {
        let spec = &imp.path.value;
        let (key, name, text, dir, embedded) = if spec == "std" {
            let text = crate::stdlib_files::stdlib_file("std.grid")
                .unwrap_or("")
                .to_string();
            (
                "<std>".to_string(),
                "<std>/std.grid".to_string(),
                text,
                None,
                true,
            )
        } else {
            let from_file = self.sources.get(from);
            let Some(base) = from_file.dir.clone() else {
                self.diags.push(
                    Diagnostic::error(
                        codes::IMPORT,
                        format!("`{spec}` cannot be imported from here"),
                    )
                    .label(
                        from,
                        imp.path.span,
                        "the standard library imports only other stdlib modules",
                    ),
                );
                return None;
            };
            let path = base.join(spec);
            let key = self
                .files
                .canonicalize(&path)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.display().to_string());
            if let Some(&m) = self.loaded.get(&key) {
                if chain.contains(&key) {
                    self.import_cycle(from, imp);
                    return None;
                }
                return Some(m);
            }
            match self.files.read(&path) {
                Ok(bytes) => {
                    let (text, bad) = decode(&bytes);
                    if let Some(at) = bad {
                        let id = self.sources.add(SourceFile {
                            name: path.display().to_string(),
                            text,
                            dir: None,
                            embedded: false,
                        });
                        self.diags.push(not_utf8(id, at));
                        return None;
                    }
                    let dir = path.parent().map(Path::to_path_buf);
                    (key, path.display().to_string(), text, dir, false)
                }
                Err(e) => {
                    self.diags.push(
                        Diagnostic::error(codes::IMPORT, format!("cannot import `{spec}`: {}", io_reason(&e)))
                            .label(from, imp.path.span, format!("looked for {}", path.display()))
                            .help("paths are relative to the importing file; the standard library is `import \"std\"`"),
                    );
                    return None;
                }
            }
        };
        if chain.contains(&key) || self.main_key_matches(&key) {
            self.import_cycle(from, imp);
            return None;
        }
        if let Some(&m) = self.loaded.get(&key) {
            return Some(m);
        }
        let id = self.sources.add(SourceFile {
            name,
            text: text.clone(),
            dir,
            embedded,
        });
        let (file, diags) = crate::syntax::parse_file(&text, id);
        self.diags.extend(diags);
        for item in &file.items {
            if matches!(
                item,
                Item::Network(_) | Item::Agents(_) | Item::Reward(_) | Item::Experiment(_)
            ) {
                self.diags.push(
                    Diagnostic::error(
                        codes::IMPORT,
                        "an imported module may only define profiles, tariffs and templates",
                    )
                    .label(id, item.span(), "not allowed in a module")
                    .label(from, imp.span, "imported here"),
                );
            }
        }
        let mut chain = chain.to_vec();
        chain.push(key.clone());
        // Reserve the key before recursing so a cycle back to it is detected.
        let m = self.add_module(id, file, chain);
        self.loaded.insert(key, m);
        Some(m)
    }

    fn main_key_matches(&self, key: &str) -> bool {
        let main = self.sources.get(SourceId(0));
        let main_key = self
            .files
            .canonicalize(Path::new(&main.name))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        !main_key.is_empty() && main_key == key
    }

    fn import_cycle(&mut self, from: SourceId, imp: &ast::Import) {
        self.diags.push(
            Diagnostic::error(
                codes::IMPORT,
                format!("`{}` imports itself", imp.path.value),
            )
            .label(
                from,
                imp.path.span,
                "this import leads back to a file that is being imported",
            )
            .help("move the shared definitions into a third module"),
        );
    }

    /// Find a definition by path, from `module`. `std.load.h25` looks up `load.h25` in
    /// the module imported as `std`.
    pub fn lookup(&mut self, module: usize, path: &AstPath) -> Option<(usize, Def)> {
        let segs: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
        if segs.len() > 1 {
            if let Some(&m) = self.modules[module].imports.get(segs[0]) {
                let rest = segs[1..].join(".");
                if let Some(d) = self.modules[m].defs.get(&rest).copied() {
                    self.modules[m].used.insert(rest);
                    return Some((m, d));
                }
                return None;
            }
        }
        let full = segs.join(".");
        let d = self.modules[module].defs.get(&full).copied()?;
        self.modules[module].used.insert(full);
        Some((module, d))
    }

    /// Report an undefined name with the closest visible name as a suggestion.
    pub fn undefined(&mut self, module: usize, path: &AstPath, what: &str) {
        let src = self.modules[module].source;
        let mut names: Vec<String> = self.modules[module].defs.keys().cloned().collect();
        for (alias, &m) in &self.modules[module].imports {
            names.extend(self.modules[m].defs.keys().map(|k| format!("{alias}.{k}")));
        }
        let dotted = path.dotted();
        let mut d = Diagnostic::error(codes::UNDEFINED, format!("undefined {what} `{dotted}`"))
            .label(src, path.span, "not defined");
        let imported = self.modules[module]
            .imports
            .contains_key(&path.segments[0].name);
        if let Some(s) = did_you_mean(&dotted, names.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        } else if path.segments.len() > 1 && imported {
            d = d.help(offered_under(&dotted, &names));
        } else if path.segments.len() > 1 && path.segments[0].name == "std" {
            d = d.help("add `import \"std\"` to use the standard library");
        }
        self.diags.push(d);
    }

    pub fn wrong_kind(
        &mut self,
        module: usize,
        span: Span,
        name: &str,
        found: DefKind,
        (dm, def): (usize, Def),
        expected: &str,
    ) {
        let src = self.modules[module].source;
        let def_src = self.modules[dm].source;
        self.diags.push(
            Diagnostic::error(
                codes::WRONG_KIND,
                format!("`{name}` is a {}, not {expected}", found.word()),
            )
            .label(src, span, format!("expected {expected}"))
            .label(
                def_src,
                def.name_span,
                format!("`{name}` is defined as a {} here", found.word()),
            ),
        );
    }

    /// Look up a path and require a definition of `kind`.
    pub fn lookup_kind(
        &mut self,
        module: usize,
        path: &AstPath,
        kind: DefKind,
    ) -> Option<(usize, Def)> {
        let what = match kind {
            DefKind::Profile => "a profile",
            DefKind::Tariff => "a tariff",
            DefKind::Template => "a template",
        };
        match self.lookup(module, path) {
            None => {
                self.undefined(module, path, kind.word());
                None
            }
            Some((m, d)) if d.kind != kind => {
                self.wrong_kind(module, path.span, &path.dotted(), d.kind, (m, d), what);
                None
            }
            Some(found) => Some(found),
        }
    }

    fn warn_unused(&mut self, m: usize) {
        let module = &self.modules[m];
        let mut unused: Vec<(Span, String, DefKind)> = module
            .defs
            .iter()
            .filter(|(n, _)| !module.used.contains(*n))
            .map(|(n, d)| (d.name_span, n.clone(), d.kind))
            .collect();
        unused.sort_by_key(|u| u.0);
        let src = module.source;
        for (span, name, kind) in unused {
            self.diags.push(
                Diagnostic::warning(
                    codes::UNUSED,
                    format!("{} `{name}` is never used", kind.word()),
                )
                .label(src, span, "defined here")
                .help("remove it, or use it in the network"),
            );
        }
    }

    fn build_scenario(&mut self, m: usize) -> Option<Scenario> {
        let file = self.modules[m].file.clone();
        let items = &file.items;
        let src = self.modules[m].source;
        let find = |pred: fn(&Item) -> bool| items.iter().filter(|i| pred(i)).collect::<Vec<_>>();
        let networks = find(|i| matches!(i, Item::Network(_)));
        let agents = find(|i| matches!(i, Item::Agents(_)));
        let rewards = find(|i| matches!(i, Item::Reward(_)));
        let experiments: Vec<&ast::ExperimentDef> = items
            .iter()
            .filter_map(|i| {
                if let Item::Experiment(e) = i {
                    Some(e)
                } else {
                    None
                }
            })
            .collect();
        for (list, what) in [
            (&networks, "network"),
            (&agents, "agents block"),
            (&rewards, "reward block"),
        ] {
            for extra in list.iter().skip(1) {
                self.diags.push(
                    Diagnostic::error(codes::DUPLICATE, format!("more than one {what}"))
                        .label(src, extra.span(), "second one")
                        .label(src, list[0].span(), "first one")
                        .help(format!("a scenario has exactly one {what}")),
                );
            }
        }
        let main_span = Span::new(0, 0);
        let mut missing = Vec::new();
        if networks.is_empty() {
            missing.push("network");
        }
        if agents.is_empty() {
            missing.push("agents");
        }
        if rewards.is_empty() {
            missing.push("reward");
        }
        if experiments.is_empty() {
            missing.push("experiment");
        }
        if !missing.is_empty() {
            self.diags.push(
                Diagnostic::error(codes::MISSING_ITEM, format!("the scenario has no {}", missing.join(", no ")))
                    .label(src, main_span, "in this file")
                    .help("a scenario needs a `network`, an `agents` block, a `reward` and an `experiment`; files that only define profiles, tariffs and templates are modules to `import`"),
            );
        }
        let Item::Network(net) = networks.first()? else {
            return None;
        };
        // Check every definition in the main file, used or not, so typos surface.
        self.check_all_profiles(m);
        let built = network::check_network(self, m, net);
        let built = built?;
        let agents_item = agents.first().and_then(|a| {
            if let Item::Agents(a) = a {
                Some(a)
            } else {
                None
            }
        });
        let step_s = experiments
            .first()
            .map(|e| experiment::step_of(self, m, e))
            .unwrap_or(3600.0);
        let agents = agents_item.and_then(|a| agents::check_agents(self, m, a, &built, step_s));
        let reward = rewards
            .first()
            .and_then(|r| {
                if let Item::Reward(r) = r {
                    Some(r)
                } else {
                    None
                }
            })
            .and_then(|r| reward::check_reward(self, m, r, &built));
        let mut exps = Vec::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        for e in &experiments {
            if let Some(prev) = names.insert(e.name.name.clone(), e.name.span) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        format!("experiment `{}` is defined twice", e.name.name),
                    )
                    .label(src, e.name.span, "second definition")
                    .label(src, prev, "first definition here"),
                );
            }
            if let Some(x) = experiment::check_experiment(self, m, e, &built, agents_item) {
                exps.push(x);
            }
        }
        let agents = agents?;
        // Forecast observations are sized by the first experiment's step; another step
        // would silently change their horizon.
        let forecasts = agents.observations.iter().any(|o| match &o.feature {
            crate::model::Feature::PriceImport { steps_ahead }
            | crate::model::Feature::PriceExport { steps_ahead }
            | crate::model::Feature::Carbon { steps_ahead }
            | crate::model::Feature::OwnSignal { steps_ahead, .. } => *steps_ahead > 0,
            _ => false,
        });
        if forecasts {
            if let Some(first) = exps.first() {
                for (x, def) in exps.iter().zip(&experiments).skip(1) {
                    if x.step_s != first.step_s {
                        self.diags.push(
                            Diagnostic::error(
                                codes::EXPERIMENT,
                                format!(
                                    "experiment `{}` steps by {}, but forecast observations are sized by the first experiment's step of {}",
                                    x.name,
                                    units::show(x.step_s, units::Dim::TIME),
                                    units::show(first.step_s, units::Dim::TIME)
                                ),
                            )
                            .label(src, def.name.span, "different step")
                            .help("give every experiment of a scenario with `next(...)` observations the same step"),
                        );
                        return None;
                    }
                }
            }
        }
        let reward = reward?;
        if exps.len() != experiments.len() {
            return None;
        }
        let name = Path::new(&self.sources.get(src).name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some(Scenario {
            name,
            profiles: std::mem::take(&mut self.profiles),
            tariff: built.tariff,
            network: built.network,
            households: built.households,
            agents,
            reward,
            experiments: exps,
        })
    }
}

fn default_alias(spec: &str) -> String {
    let file = spec.rsplit(['/', '\\']).next().unwrap_or(spec);
    file.trim_end_matches(".grid").to_string()
}

/// What an imported module offers under the longest prefix of `dotted` that has names:
/// `std.pv.berlin` → "`std.pv.` offers `greensboro`, …".
fn offered_under(dotted: &str, names: &[String]) -> String {
    let mut prefix = dotted;
    while let Some(cut) = prefix.rfind('.') {
        prefix = &prefix[..cut];
        let under = format!("{prefix}.");
        let mut offered: Vec<&str> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&under))
            .map(|rest| rest.split('.').next().unwrap_or(rest))
            .collect();
        offered.sort_unstable();
        offered.dedup();
        if !offered.is_empty() {
            let list: Vec<String> = offered.iter().map(|n| format!("`{n}`")).collect();
            return format!("`{under}` offers {}", list.join(", "));
        }
    }
    format!("nothing is defined under `{dotted}`")
}
