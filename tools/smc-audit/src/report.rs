// SPDX-License-Identifier: GPL-2.0
//! Human-readable and JSON output.
//!
//! Both formats are written file by file as the scan goes, so a directory
//! of modules does not have to be held in memory. The JSON is written by
//! hand: the document is small and flat, and escaping strings is the only
//! subtle part (see [`JsonStr`]).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decode::Class;
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

/// Everything the JSON document holds before its first file.
const JSON_OPEN: &str = "{\"files\":[\n";

pub struct Reporter<W: Write> {
    out: W,
    format: Format,
    files_written: u64,
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, format: Format) -> Self {
        Reporter {
            out,
            format,
            files_written: 0,
        }
    }

    /// Writes the hits and summary of one scanned file.
    pub fn file(&mut self, file: &FileReport<'_>) -> io::Result<()> {
        match self.format {
            Format::Human => write_human_file(&mut self.out, file)?,
            Format::Json => {
                // The first file opens the document and its file array.
                let separator = if self.files_written == 0 {
                    JSON_OPEN
                } else {
                    ",\n"
                };
                self.out.write_all(separator.as_bytes())?;
                write_json_file(&mut self.out, file)?;
            }
        }
        self.files_written += 1;
        Ok(())
    }

    /// Writes the totals and flushes; returns the writer for tests.
    pub fn finish(mut self, summary: &Summary<'_>) -> io::Result<W> {
        match self.format {
            Format::Human => write_human_summary(&mut self.out, summary)?,
            Format::Json => {
                if self.files_written == 0 {
                    self.out.write_all(JSON_OPEN.as_bytes())?;
                }
                write_json_summary(&mut self.out, summary)?;
            }
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
        "{path}: summary: smc imm==0: {}, smc imm!=0: {}, hvc: {}, \
         data words skipped: {}, scan {:.1} ms",
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        c.hvc,
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
         (not allowlisted: {}), hvc: {}, data words skipped: {}, {:.1} ms",
        t.files_scanned,
        summary.errors.len(),
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        t.smc_imm_nonzero_not_allowlisted,
        c.hvc,
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

fn kind_name(class: Class) -> &'static str {
    match class {
        Class::Hvc => "hvc",
        Class::SmcImmZero | Class::SmcImmNonZero => "smc",
    }
}

fn write_json_file<W: Write>(out: &mut W, file: &FileReport<'_>) -> io::Result<()> {
    let path = file.path.to_string_lossy();
    write!(
        out,
        "{{\"file\":{},\"allowlisted\":{},\"hits\":[",
        JsonStr(&path),
        file.allowlisted
    )?;
    for (i, hit) in file.scan.hits.iter().enumerate() {
        let separator = if i == 0 { "\n" } else { ",\n" };
        out.write_all(separator.as_bytes())?;
        write_json_hit(out, &path, hit, file.allowlisted)?;
    }
    let c = &file.scan.counts;
    write!(
        out,
        "],\"summary\":{{\"smc_imm_zero\":{},\"smc_imm_nonzero\":{},\"hvc\":{},\
         \"data_words_skipped\":{},\"elapsed_ms\":{:.3}}}}}",
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        c.hvc,
        c.data_words_skipped,
        millis(file.elapsed),
    )
}

fn write_json_hit<W: Write>(
    out: &mut W,
    path: &str,
    hit: &Hit,
    allowlisted: bool,
) -> io::Result<()> {
    let class = hit.insn.class();
    write!(out, "{{\"file\":{},\"symbol\":", JsonStr(path))?;
    match &hit.symbol {
        Some(symbol) => write!(out, "{}", JsonStr(symbol))?,
        None => out.write_all(b"null")?,
    }
    // The address is a string: kernel addresses exceed 2^53, which many
    // JSON readers would silently round.
    write!(
        out,
        ",\"offset\":{},\"location\":\"{}\",\"section\":{},\"section_offset\":{},\
         \"address\":\"{:#x}\",\"instruction\":\"{}\",\"kind\":\"{}\",\"imm16\":{},\
         \"verdict\":\"{}\",\"possibly_data\":{},\"allowlisted\":{}}}",
        hit.symbol_offset,
        JsonStrBody(&Location(hit).to_string()),
        JsonStr(&hit.section),
        hit.section_offset,
        hit.address,
        hit.insn,
        kind_name(class),
        hit.insn.imm16,
        class.verdict(),
        hit.possibly_data,
        allowlisted,
    )
}

fn write_json_summary<W: Write>(out: &mut W, summary: &Summary<'_>) -> io::Result<()> {
    out.write_all(b"\n],\"errors\":[")?;
    for (i, err) in summary.errors.iter().enumerate() {
        let separator = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{separator}{{\"file\":{},\"error\":{}}}",
            JsonStr(&err.path.to_string_lossy()),
            JsonStr(&err.message),
        )?;
    }
    let t = summary.totals;
    let c = &t.counts;
    writeln!(
        out,
        "\n],\"summary\":{{\"files_scanned\":{},\"errors\":{},\"smc_imm_zero\":{},\
         \"smc_imm_nonzero\":{},\"smc_imm_nonzero_not_allowlisted\":{},\"hvc\":{},\
         \"data_words_skipped\":{},\"exit_status\":{}}},\n\"elapsed_ms\":{:.3}}}",
        t.files_scanned,
        summary.errors.len(),
        c.smc_imm_zero,
        c.smc_imm_nonzero,
        t.smc_imm_nonzero_not_allowlisted,
        c.hvc,
        c.data_words_skipped,
        summary.exit_status,
        millis(summary.elapsed),
    )
}

/// A JSON string literal, quotes included.
struct JsonStr<'a>(&'a str);

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", JsonStrBody(self.0))
    }
}

/// The inside of a JSON string literal. File and symbol names may hold any
/// character but NUL; quotes, backslashes and control characters must be
/// escaped (RFC 8259, section 7). Everything else, UTF-8 included, is
/// written as is.
struct JsonStrBody<'a>(&'a str);

impl fmt::Display for JsonStrBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut plain_from = 0;
        for (i, c) in s.char_indices() {
            let escaped = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                c if c < ' ' => "",
                _ => continue,
            };
            f.write_str(&s[plain_from..i])?;
            if escaped.is_empty() {
                write!(f, "\\u{:04x}", u32::from(c))?;
            } else {
                f.write_str(escaped)?;
            }
            plain_from = i + c.len_utf8();
        }
        f.write_str(&s[plain_from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    #[test]
    fn escapes_json_strings() {
        assert_eq!(JsonStr("plain").to_string(), "\"plain\"");
        assert_eq!(JsonStr("a\"b\\c").to_string(), r#""a\"b\\c""#);
        assert_eq!(JsonStr("tab\there\n").to_string(), r#""tab\there\n""#);
        assert_eq!(JsonStr("\u{1}\u{1f}").to_string(), r#""\u0001\u001f""#);
        assert_eq!(JsonStr("émoji ✓ \u{7f}").to_string(), "\"émoji ✓ \u{7f}\"");
    }

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

    #[test]
    fn json_report_shape() {
        let text = render(Format::Json);
        assert!(text.starts_with("{\"files\":[\n{\"file\":\"dir/a \\\"quoted\\\".ko\""));
        assert!(text.contains("\"address\":\"0xffff800080000008\""));
        assert!(text.contains("\"errors\":[\n{\"file\":\"bad\",\"error\":\"not an ELF file\"}"));
        assert!(text.trim_end().ends_with("\"elapsed_ms\":2.000}"));
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
        assert!(text.starts_with("{\"files\":[\n\n],\"errors\":[\n],"));
    }
}
