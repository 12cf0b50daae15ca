// SPDX-License-Identifier: GPL-2.0
//! Human-readable and JSON output.
//!
//! Text is written file by file as the scan goes, so that a long scan
//! shows its progress. The JSON document is one value that serde_json
//! writes at the end (see [`json`]), so its entries are kept until then: a
//! few short strings per hit, some 25 MB even for the 65536 SMCs of the
//! project's own smc_imm_test.ko, and little for a kernel tree.

mod json;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scan::{Counts, FileScan, Hit};

/// The outcome of scanning one file, as handed to the reporter.
pub struct FileReport<'a> {
    pub path: &'a Path,
    pub allowlisted: bool,
    pub scan: &'a FileScan,
    pub elapsed: Duration,
}

/// A file or directory that could not be scanned.
#[derive(Debug, Clone)]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// What the whole run found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub files_scanned: u64,
    pub counts: Counts,
    /// SMCs with a non-zero immediate in files not on the allowlist: the
    /// number that decides the exit status.
    pub smc_imm_nonzero_not_allowlisted: u64,
}

impl Totals {
    pub fn add(&mut self, file: &FileReport<'_>) {
        self.files_scanned += 1;
        self.counts.add(&file.scan.counts);
        if !file.allowlisted {
            self.smc_imm_nonzero_not_allowlisted += file.scan.counts.smc_imm_nonzero;
        }
    }
}

/// The closing part of the report.
pub struct Summary<'a> {
    pub totals: &'a Totals,
    pub errors: &'a [FileError],
    pub elapsed: Duration,
    pub exit_status: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

pub struct Reporter<W: Write> {
    out: W,
    format: Format,
    /// The JSON document's entries for the files scanned so far.
    json_files: Vec<json::FileEntry>,
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, format: Format) -> Self {
        Reporter {
            out,
            format,
            json_files: Vec::new(),
        }
    }

    /// Writes (or, for JSON, keeps) the hits and summary of one file.
    pub fn file(&mut self, file: &FileReport<'_>) -> io::Result<()> {
        match self.format {
            Format::Human => write_human_file(&mut self.out, file),
            Format::Json => {
                self.json_files.push(json::FileEntry::new(file));
                Ok(())
            }
        }
    }

    /// Writes the totals (for JSON, the whole document) and flushes;
    /// returns the writer for tests.
    pub fn finish(mut self, summary: &Summary<'_>) -> io::Result<W> {
        match self.format {
            Format::Human => write_human_summary(&mut self.out, summary)?,
            Format::Json => json::write_document(&mut self.out, &self.json_files, summary)?,
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// `symbol+0x10`, or `section+0x10` when no symbol precedes the hit.
struct Location<'a>(&'a Hit);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hit = self.0;
        let base = hit.symbol.as_deref().unwrap_or(&hit.section);
        write!(f, "{base}+{:#x}", hit.symbol_offset)
    }
}

fn write_human_file<W: Write>(out: &mut W, file: &FileReport<'_>) -> io::Result<()> {
    let path = file.path.display();
    for hit in &file.scan.hits {
        write!(
            out,
            "{path}: {} ({}+{:#x}, address {:#x}): {}, imm16={}: {}",
            Location(hit),
            hit.section,
            hit.section_offset,
            hit.address,
            hit.insn,
            hit.insn.imm16,
            hit.insn.class().verdict(),
        )?;
        write_human_notes(out, hit.possibly_data, file.allowlisted)?;
    }
    let c = &file.scan.counts;
    write!(
        out,
        "{path}: summary: smc imm==0: {}, smc imm!=0: {}, hvc: {}, hvc imm!=0: {}, \
         data words skipped: {}, scan {:.1} ms",
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        c.hvc,
        c.hvc_imm_nonzero,
        c.data_words_skipped,
        millis(file.elapsed),
    )?;
    write_human_notes(out, false, file.allowlisted)
}

/// Ends a line with the notes that qualify it, e.g. ` [possibly data]`.
fn write_human_notes<W: Write>(
    out: &mut W,
    possibly_data: bool,
    allowlisted: bool,
) -> io::Result<()> {
    match (possibly_data, allowlisted) {
        (false, false) => writeln!(out),
        (true, false) => writeln!(out, " [possibly data]"),
        (false, true) => writeln!(out, " [allowlisted]"),
        (true, true) => writeln!(out, " [possibly data, allowlisted]"),
    }
}

fn write_human_summary<W: Write>(out: &mut W, summary: &Summary<'_>) -> io::Result<()> {
    let t = summary.totals;
    let c = &t.counts;
    writeln!(
        out,
        "total: files: {}, errors: {}, smc imm==0: {}, smc imm!=0: {} \
         (not allowlisted: {}), hvc: {}, hvc imm!=0: {}, data words skipped: {}, {:.1} ms",
        t.files_scanned,
        summary.errors.len(),
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        t.smc_imm_nonzero_not_allowlisted,
        c.hvc,
        c.hvc_imm_nonzero,
        c.data_words_skipped,
        millis(summary.elapsed),
    )?;
    if summary.exit_status == 0 {
        writeln!(out, "result: OK")
    } else {
        writeln!(
            out,
            "result: FAIL: SMCs with a non-zero immediate outside the allowlist: {}, errors: {}",
            t.smc_imm_nonzero_not_allowlisted,
            summary.errors.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    fn sample_scan() -> FileScan {
        let insn = decode(0xD400_0023).expect("smc #1");
        let mut scan = FileScan::default();
        scan.counts.smc_imm_nonzero = 1;
        scan.hits.push(Hit {
            section: ".text".into(),
            section_offset: 8,
            address: 0xffff_8000_8000_0008,
            symbol: Some("caller".into()),
            symbol_offset: 8,
            insn,
            possibly_data: false,
        });
        scan
    }

    fn render(format: Format) -> String {
        let scan = sample_scan();
        let file = FileReport {
            path: Path::new("dir/a \"quoted\".ko"),
            allowlisted: true,
            scan: &scan,
            elapsed: Duration::from_micros(1500),
        };
        let mut totals = Totals::default();
        totals.add(&file);
        let errors = [FileError {
            path: PathBuf::from("bad"),
            message: "not an ELF file".into(),
        }];
        let mut reporter = Reporter::new(Vec::new(), format);
        reporter.file(&file).expect("write to Vec");
        let out = reporter
            .finish(&Summary {
                totals: &totals,
                errors: &errors,
                elapsed: Duration::from_millis(2),
                exit_status: 1,
            })
            .expect("write to Vec");
        String::from_utf8(out).expect("report is UTF-8")
    }

    #[test]
    fn human_report_lines() {
        let text = render(Format::Human);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "dir/a \"quoted\".ko: caller+0x8 (.text+0x8, address 0xffff800080000008): \
             smc #0x1, imm16=1: returns NOT_SUPPORTED under pKVM [allowlisted]"
        );
        assert!(lines[1].starts_with("dir/a \"quoted\".ko: summary: smc imm==0: 0, smc imm!=0: 1,"));
        assert!(lines[2].starts_with("total: files: 1, errors: 1,"));
        assert!(lines[2].contains("(not allowlisted: 0)"));
        assert!(lines[3].starts_with("result: FAIL"));
    }

    /// The whole document, so that a change to any key, type or order
    /// shows here; readers of `--json` depend on all three.
    #[test]
    fn json_report_document() {
        let expected = concat!(
            r#"{"files":[{"file":"dir/a \"quoted\".ko","allowlisted":true,"hits":["#,
            r#"{"file":"dir/a \"quoted\".ko","symbol":"caller","offset":8,"#,
            r#""location":"caller+0x8","section":".text","section_offset":8,"#,
            r#""address":"0xffff800080000008","instruction":"smc #0x1","kind":"smc","#,
            r#""imm16":1,"verdict":"returns NOT_SUPPORTED under pKVM","#,
            r#""possibly_data":false,"allowlisted":true}],"#,
            r#""summary":{"smc_imm_zero":0,"smc_imm_nonzero":1,"hvc":0,"hvc_imm_nonzero":0,"#,
            r#""data_words_skipped":0,"elapsed_ms":1.5}}],"#,
            r#""errors":[{"file":"bad","error":"not an ELF file"}],"#,
            r#""summary":{"files_scanned":1,"errors":1,"smc_imm_zero":0,"#,
            r#""smc_imm_nonzero":1,"smc_imm_nonzero_not_allowlisted":0,"hvc":0,"hvc_imm_nonzero":0,"#,
            r#""data_words_skipped":0,"exit_status":1},"elapsed_ms":2.0}"#,
            "\n"
        );
        assert_eq!(render(Format::Json), expected);
    }

    #[test]
    fn json_report_without_files() {
        let totals = Totals::default();
        let reporter = Reporter::new(Vec::new(), Format::Json);
        let out = reporter
            .finish(&Summary {
                totals: &totals,
                errors: &[],
                elapsed: Duration::ZERO,
                exit_status: 0,
            })
            .expect("write to Vec");
        let text = String::from_utf8(out).expect("report is UTF-8");
        assert!(text.starts_with(r#"{"files":[],"errors":[],"summary":{"files_scanned":0,"#));
        assert!(text.ends_with("\"exit_status\":0},\"elapsed_ms\":0.0}\n"));
    }
}
