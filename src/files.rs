//! File input and output shared by the layers that may touch the disk (cli, experiment):
//! atomic writes, and the [`FileReader`] that the checker receives instead of reading
//! files itself (as Gleam's `FileSystemReader`), so `check` does no IO and tests can
//! hand it in-memory files.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Where the checker reads imported modules and CSV profiles from.
pub trait FileReader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// One name for every spelling of a path (imports are loaded once, cycles detected).
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl FileReader for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// Files held in memory, keyed by path as given (tests, editors' unsaved buffers).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl InMemory {
    pub fn new() -> InMemory {
        InMemory::default()
    }
    pub fn with(mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> InMemory {
        self.files.insert(normalize(&path.into()), contents.into());
        self
    }
}

/// `a/./b/../c` → `a/c`, lexically (no file system to resolve links in).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

impl FileReader for InMemory {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = normalize(path);
        if self.files.contains_key(&p) {
            Ok(p)
        } else {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
    }
}

/// A short reason for an IO error, for diagnostics ("no such file").
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Write `contents` to `path` atomically: a temp file in the same directory, then rename,
/// so a reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.gridc-tmp-{}", std::process::id()));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn in_memory_files_resolve_relative_spellings() {
        let fs = InMemory::new().with("dir/a.grid", "x");
        assert_eq!(fs.read(Path::new("dir/./sub/../a.grid")).unwrap(), b"x");
        assert_eq!(
            fs.canonicalize(Path::new("./dir/a.grid")).unwrap(),
            PathBuf::from("dir/a.grid")
        );
        assert_eq!(
            fs.read(Path::new("dir/b.grid")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
