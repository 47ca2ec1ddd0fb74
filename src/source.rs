//! Source files known to one compilation: the main file, its imports, the embedded
//! stdlib, CSV files named by profiles and `--set` overrides. Diagnostics point into them
//! by [`SourceId`] + [`Span`].

use serde::Serialize;

/// A byte range inside one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn shifted(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, PartialOrd, Ord)]
pub struct SourceId(pub u32);

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name as shown to the user (a path as given, `<std>/std.grid`, `--set`).
    pub name: String,
    pub text: String,
    /// Directory against which relative paths named inside this file resolve; `None` for
    /// embedded stdlib files and overrides.
    pub dir: Option<std::path::PathBuf>,
    pub embedded: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }
    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId((self.files.len() - 1) as u32)
    }
    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn find(&self, name: &str) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| SourceId(i as u32))
    }
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        line_col(&self.get(id).text, offset)
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past the end or
/// inside a character clamp to the nearest valid position.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}
