// SPDX-License-Identifier: GPL-2.0
//! The `--json` document. Each struct is one JSON object, written by
//! serde_json with its keys in field order; the names and types here are
//! the document's interface, so changing one changes what readers see.

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::{FileError, FileReport, Location, Summary};
use crate::scan::Hit;

#[derive(Serialize)]
struct Document<'a> {
    files: &'a [FileEntry],
    errors: Vec<ErrorEntry<'a>>,
    summary: RunSummary,
    elapsed_ms: f64,
}

/// One scanned file. Owned, so that it can outlive the file's scan while
/// the document waits for the rest of the run.
#[derive(Serialize)]
pub struct FileEntry {
    file: String,
    allowlisted: bool,
    hits: Vec<HitEntry>,
    summary: FileSummary,
}

/// One SMC or HVC. It repeats the file name and the allowlisting so that
/// a reader can handle hits without their file.
#[derive(Serialize)]
struct HitEntry {
    file: String,
    symbol: Option<String>,
    offset: u64,
    location: String,
    section: String,
    section_offset: u64,
    /// A string: kernel addresses exceed 2^53, which many JSON readers
    /// would silently round.
    address: String,
    instruction: String,
    kind: &'static str,
    imm16: u16,
    verdict: &'static str,
    possibly_data: bool,
    allowlisted: bool,
}

#[derive(Serialize)]
struct FileSummary {
    smc_imm_zero: u64,
    smc_imm_nonzero: u64,
    hvc: u64,
    hvc_imm_nonzero: u64,
    data_words_skipped: u64,
    elapsed_ms: f64,
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    file: Cow<'a, str>,
    error: &'a str,
}

#[derive(Serialize)]
struct RunSummary {
    files_scanned: u64,
    errors: usize,
    smc_imm_zero: u64,
    smc_imm_nonzero: u64,
    smc_imm_nonzero_not_allowlisted: u64,
    hvc: u64,
    hvc_imm_nonzero: u64,
    data_words_skipped: u64,
    exit_status: u8,
}

impl FileEntry {
    pub fn new(report: &FileReport<'_>) -> Self {
        // Paths need not be UTF-8; JSON strings must be.
        let file = report.path.to_string_lossy().into_owned();
        let hits = report
            .scan
            .hits
            .iter()
            .map(|hit| HitEntry::new(hit, &file, report.allowlisted))
            .collect();
        let counts = &report.scan.counts;
        FileEntry {
            file,
            allowlisted: report.allowlisted,
            hits,
            summary: FileSummary {
                smc_imm_zero: counts.smc_imm_zero,
                smc_imm_nonzero: counts.smc_imm_nonzero,
                hvc: counts.hvc,
                hvc_imm_nonzero: counts.hvc_imm_nonzero,
                data_words_skipped: counts.data_words_skipped,
                elapsed_ms: millis(report.elapsed),
            },
        }
    }
}

impl HitEntry {
    fn new(hit: &Hit, file: &str, allowlisted: bool) -> Self {
        HitEntry {
            file: file.to_owned(),
            symbol: hit.symbol.clone(),
            offset: hit.symbol_offset,
            location: Location(hit).to_string(),
            section: hit.section.clone(),
            section_offset: hit.section_offset,
            address: format!("{:#x}", hit.address),
            instruction: hit.insn.to_string(),
            kind: hit.insn.kind.mnemonic(),
            imm16: hit.insn.imm16,
            verdict: hit.insn.class().verdict(),
            possibly_data: hit.possibly_data,
            allowlisted,
        }
    }
}

impl<'a> ErrorEntry<'a> {
    fn new(err: &'a FileError) -> Self {
        ErrorEntry {
            file: err.path.to_string_lossy(),
            error: &err.message,
        }
    }
}

impl RunSummary {
    fn new(summary: &Summary<'_>) -> Self {
        let totals = summary.totals;
        RunSummary {
            files_scanned: totals.files_scanned,
            errors: summary.errors.len(),
            smc_imm_zero: totals.counts.smc_imm_zero,
            smc_imm_nonzero: totals.counts.smc_imm_nonzero,
            smc_imm_nonzero_not_allowlisted: totals.smc_imm_nonzero_not_allowlisted,
            hvc: totals.counts.hvc,
            hvc_imm_nonzero: totals.counts.hvc_imm_nonzero,
            data_words_skipped: totals.counts.data_words_skipped,
            exit_status: summary.exit_status,
        }
    }
}

/// Writes the whole document, on one line.
pub fn write_document<W: Write>(
    out: &mut W,
    files: &[FileEntry],
    summary: &Summary<'_>,
) -> io::Result<()> {
    let document = Document {
        files,
        errors: summary.errors.iter().map(ErrorEntry::new).collect(),
        summary: RunSummary::new(summary),
        elapsed_ms: millis(summary.elapsed),
    };
    // serde_json hands back the writer's own io::Error, so main still
    // sees a broken pipe as one.
    serde_json::to_writer(&mut *out, &document)?;
    writeln!(out)
}

/// Milliseconds, rounded to the microsecond: digits beyond are timer noise
/// and would only make the document harder to read.
fn millis(elapsed: Duration) -> f64 {
    (super::millis(elapsed) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_keep_three_decimals() {
        assert_eq!(millis(Duration::from_nanos(1_234_567)), 1.235);
        assert_eq!(millis(Duration::from_nanos(400)), 0.0);
        assert_eq!(millis(Duration::from_secs(2)), 2000.0);
    }
}
