// SPDX-License-Identifier: GPL-2.0
//! Command-line parsing. Arguments stay `OsString`s so that any path the
//! kernel accepts can be scanned, UTF-8 or not.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

pub const HELP: &str = "\
usage: smc-audit [--json] [--allow NAME]... PATH...

Lists every SMC and HVC instruction in AArch64 ELF files, with its
immediate and what pKVM does with it: pKVM answers an SMC whose immediate
is not zero with SMCCC NOT_SUPPORTED and forwards nothing.

Each PATH is an ELF file, always scanned, or a directory, walked
recursively for files named vmlinux or *.ko (symlinked directories are
not followed). Every executable section is decoded word by word. Words
in $d (data) regions of the AArch64 mapping symbols are not instructions:
they are only counted as skipped data words. Hits that no mapping symbol
covers (a section without any, as after `ld -x`) are marked \"possibly
data\". Each hit is located at the nearest preceding function or label.

options:
  --json         write one JSON document instead of text lines
  --allow NAME   allowlist files whose name (not path) is NAME; their hits
                 are still reported, marked \"allowlisted\", but do not fail
                 the run (repeatable; also --allow=NAME)
  -h, --help     show this help

exit status:
  0  no SMC with a non-zero immediate outside the allowlist, no errors
  1  such an SMC was found (even one marked \"possibly data\"), or a file
     or directory could not be read or is not a 64-bit AArch64 ELF
     (each such error is reported on stderr and the scan goes on)
  2  usage error
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Scan(Options),
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub json: bool,
    pub allow: Vec<OsString>,
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command, UsageError> {
    let mut opts = Options::default();
    let mut args = args.into_iter();
    let mut options_done = false;

    while let Some(arg) = args.next() {
        // Non-UTF-8 arguments cannot be options, so they are paths.
        let text = arg.to_str().filter(|_| !options_done);
        match text {
            Some("--") => options_done = true,
            Some("-h" | "--help") => return Ok(Command::Help),
            Some("--json") => opts.json = true,
            Some("--allow") => {
                let name = args
                    .next()
                    .ok_or_else(|| UsageError("--allow needs a file name".into()))?;
                opts.allow.push(check_allow_name(name)?);
            }
            Some(t) if t.starts_with("--allow=") => {
                let name = OsString::from(&t["--allow=".len()..]);
                opts.allow.push(check_allow_name(name)?);
            }
            Some(t) if t.starts_with('-') && t != "-" => {
                return Err(UsageError(format!("unknown option '{t}'")));
            }
            _ => opts.paths.push(PathBuf::from(arg)),
        }
    }

    if opts.paths.is_empty() {
        return Err(UsageError("no PATH given".into()));
    }
    Ok(Command::Scan(opts))
}

/// The allowlist matches file names, so a path would never match: say so
/// rather than silently allowing nothing.
fn check_allow_name(name: OsString) -> Result<OsString, UsageError> {
    let text = name.to_string_lossy();
    if text.is_empty() || text.contains('/') {
        return Err(UsageError(format!(
            "--allow takes a file name without directories, not '{text}'"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_options_and_paths() {
        let cmd = parse_strs(&["--json", "--allow", "a.ko", "x", "--allow=b.ko", "y"]);
        assert_eq!(
            cmd,
            Ok(Command::Scan(Options {
                json: true,
                allow: vec!["a.ko".into(), "b.ko".into()],
                paths: vec!["x".into(), "y".into()],
            }))
        );
    }

    #[test]
    fn double_dash_ends_options() {
        let cmd = parse_strs(&["--", "--json"]);
        assert_eq!(
            cmd,
            Ok(Command::Scan(Options {
                json: false,
                allow: vec![],
                paths: vec!["--json".into()],
            }))
        );
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse_strs(&["x", "--help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn usage_errors() {
        assert!(parse_strs(&[]).is_err());
        assert!(parse_strs(&["--json"]).is_err());
        assert!(parse_strs(&["--allow"]).is_err());
        assert!(parse_strs(&["--allow", "dir/x.ko", "p"]).is_err());
        assert!(parse_strs(&["--allow="]).is_err());
        assert!(parse_strs(&["--frobnicate", "p"]).is_err());
    }
}
