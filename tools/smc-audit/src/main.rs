// SPDX-License-Identifier: GPL-2.0
//! smc-audit: lists the SMC and HVC instructions in AArch64 kernel images
//! and modules, so that "pKVM rejects SMCs with a non-zero immediate" can
//! be checked against what a kernel (or a vendor module) actually issues.
//!
//! See `smc-audit --help` for usage and exit status.

mod cli;
mod decode;
mod report;
mod scan;
mod symbols;
mod walk;

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use cli::Options;
use report::{FileError, FileReport, Format, Reporter, Summary, Totals};
use walk::Entry;

const EXIT_FINDINGS: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let started = Instant::now();
    let opts = match cli::parse(std::env::args_os()) {
        Ok(opts) => opts,
        // --help: clap's "error" holds the help text, for stdout. A reader
        // that went away has nothing left to read, so a failed write is
        // not worth reporting.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let message = cli::describe(&err);
            eprintln!("smc-audit: {message}\nTry 'smc-audit --help' for more information.");
            return ExitCode::from(EXIT_USAGE);
        }
    };

    let stdout = io::stdout().lock();
    match run(&opts, BufWriter::new(stdout), started) {
        Ok(status) => ExitCode::from(status),
        // A reader that went away (`| head`) has seen what it wanted.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_FINDINGS),
        Err(err) => {
            eprintln!("smc-audit: cannot write the report: {err}");
            ExitCode::from(EXIT_FINDINGS)
        }
    }
}

/// Scans every path and writes the report; returns the exit status.
fn run<W: Write>(opts: &Options, out: W, started: Instant) -> io::Result<u8> {
    let format = if opts.json {
        Format::Json
    } else {
        Format::Human
    };
    let mut reporter = Reporter::new(out, format);
    let mut totals = Totals::default();
    let mut errors = Vec::new();

    for path in &opts.paths {
        for entry in walk::expand(path) {
            let file = match entry {
                Entry::File(file) => file,
                Entry::Error(err) => {
                    report_error(err, &mut errors);
                    continue;
                }
            };
            let file_started = Instant::now();
            let scan = match read_and_scan(&file) {
                Ok(scan) => scan,
                Err(message) => {
                    report_error(
                        FileError {
                            path: file,
                            message,
                        },
                        &mut errors,
                    );
                    continue;
                }
            };
            let report = FileReport {
                path: &file,
                allowlisted: is_allowlisted(&file, &opts.allow),
                scan: &scan,
                elapsed: file_started.elapsed(),
            };
            totals.add(&report);
            reporter.file(&report)?;
        }
    }

    let exit_status = exit_status(&totals, &errors);
    reporter.finish(&Summary {
        totals: &totals,
        errors: &errors,
        elapsed: started.elapsed(),
        exit_status,
    })?;
    Ok(exit_status)
}

fn read_and_scan(path: &Path) -> Result<scan::FileScan, String> {
    let data = fs::read(path).map_err(|err| format!("cannot read: {err}"))?;
    scan::scan_elf(&data).map_err(|err| err.to_string())
}

/// Errors go to stderr at once, so that they are seen next to the file
/// they are about, and are kept for the summary and the JSON document.
fn report_error(err: FileError, errors: &mut Vec<FileError>) {
    eprintln!("smc-audit: {err}");
    errors.push(err);
}

fn is_allowlisted(path: &Path, allow: &[OsString]) -> bool {
    path.file_name()
        .is_some_and(|name| allow.iter().any(|allowed| allowed == name))
}

fn exit_status(totals: &Totals, errors: &[FileError]) -> u8 {
    if totals.smc_imm_nonzero_not_allowlisted > 0 || !errors.is_empty() {
        EXIT_FINDINGS
    } else {
        0
    }
}
