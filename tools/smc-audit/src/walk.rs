// SPDX-License-Identifier: GPL-2.0
//! Turns the command line's paths into the list of files to scan.
//!
//! A named file is always scanned. A directory is walked for `vmlinux` and
//! `*.ko`, the images a kernel build leaves behind; everything else in it
//! (`vmlinux.o`, `*.o`, sources) is ignored. Symlinks to directories are not
//! followed during a walk: kernel build directories link back into their
//! source tree (`source -> ...`), and following links invites cycles.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::report::FileError;

/// Something found while expanding one command-line path.
#[derive(Debug)]
pub enum Entry {
    File(PathBuf),
    Error(FileError),
}

/// Whether a file met while walking a directory is a kernel image or module.
pub fn is_kernel_binary(name: &OsStr) -> bool {
    name == "vmlinux" || Path::new(name).extension().is_some_and(|ext| ext == "ko")
}

/// The files to scan for one command-line path, in a stable order.
pub fn expand(path: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => walk_dir(path, &mut entries),
        Ok(_) => entries.push(Entry::File(path.to_path_buf())),
        Err(err) => entries.push(error(path, format!("cannot access: {err}"))),
    }
    entries
}

fn error(path: &Path, message: String) -> Entry {
    Entry::Error(FileError {
        path: path.to_path_buf(),
        message,
    })
}

fn walk_dir(dir: &Path, entries: &mut Vec<Entry>) {
    let children = match read_dir_sorted(dir) {
        Ok(children) => children,
        Err(err) => {
            entries.push(error(dir, format!("cannot read directory: {err}")));
            return;
        }
    };
    for (path, file_type) in children {
        if file_type.is_dir() {
            walk_dir(&path, entries);
            continue;
        }
        let wanted = path.file_name().is_some_and(is_kernel_binary);
        if wanted && (file_type.is_file() || is_link_to_file(&path, file_type)) {
            entries.push(Entry::File(path));
        }
    }
}

fn is_link_to_file(path: &Path, file_type: fs::FileType) -> bool {
    file_type.is_symlink() && fs::metadata(path).is_ok_and(|meta| meta.is_file())
}

/// A directory's entries with their types (not following symlinks), sorted
/// by name so that reports can be compared between runs.
fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<(PathBuf, fs::FileType)>> {
    let mut children = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        children.push((entry.path(), entry.file_type()?));
    }
    children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_kernel_binaries_by_name() {
        assert!(is_kernel_binary(OsStr::new("vmlinux")));
        assert!(is_kernel_binary(OsStr::new("smc_imm_test.ko")));
        assert!(!is_kernel_binary(OsStr::new("vmlinux.o")));
        assert!(!is_kernel_binary(OsStr::new("vmlinux.unstripped")));
        assert!(!is_kernel_binary(OsStr::new("foo.ko.cmd")));
        assert!(!is_kernel_binary(OsStr::new("foo.o")));
        assert!(!is_kernel_binary(OsStr::new(".ko")));
    }
}
