// SPDX-License-Identifier: GPL-2.0
//! Command-line parsing, with clap. Arguments stay `OsString`s so that any
//! path the kernel accepts can be scanned, UTF-8 or not.
//!
//! The help text follows a template rather than clap's default layout:
//! lower-case headings, the exit statuses last. Usage errors are worded by
//! [`describe`] rather than clap's multi-line reports, since main prints
//! them in the tool's one-line `smc-audit: ...` form.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Parser};

/// Written by hand: clap would spell `--allow <NAME>`.
const USAGE: &str = "smc-audit [--json] [--allow NAME]... PATH...";

const ABOUT: &str = "\
Lists every SMC and HVC instruction in AArch64 ELF files, with its
immediate and what pKVM does with it: pKVM answers an SMC whose immediate
is not zero with SMCCC NOT_SUPPORTED and forwards nothing.

Each PATH is an ELF file, always scanned, or a directory, walked
recursively for files named vmlinux or *.ko (symlinked directories are
not followed). Every executable section is decoded word by word. Words
in $d (data) regions of the AArch64 mapping symbols are not instructions:
they are only counted as skipped data words. Hits that no mapping symbol
covers (a section without any, as after `ld -x`) are marked \"possibly
data\". Each hit is located at the nearest preceding function or label.";

const EXIT_STATUS: &str = "\
exit status:
  0  no SMC with a non-zero immediate outside the allowlist, no errors
  1  such an SMC was found (even one marked \"possibly data\"), or a file
     or directory could not be read or is not a 64-bit AArch64 ELF
     (each such error is reported on stderr and the scan goes on)
  2  usage error";

/// Lower-case headings, and no list of positionals: PATH is explained in
/// the about text. clap puts the blank line before the after-help itself.
const HELP_TEMPLATE: &str = "\
usage: {usage}

{about}

options:
{options}{after-help}";

// What the command line asks for. Plain comments, not doc comments, here
// and on the fields: clap's derive turns doc comments into help text, and
// one of several paragraphs into a separate long help, which `--help`
// would print in another layout than `-h`.
#[derive(Debug, PartialEq, Eq, Parser)]
#[command(
    name = "smc-audit",
    about = ABOUT,
    after_help = EXIT_STATUS,
    override_usage = USAGE,
    help_template = HELP_TEMPLATE,
    // Replaced by the `help` field, for its wording.
    disable_help_flag = true,
    // `--json --json` is as good as `--json`, not an error.
    args_override_self = true
)]
pub struct Options {
    #[arg(long, help = "write one JSON document instead of text lines")]
    pub json: bool,

    #[arg(
        long,
        value_name = "NAME",
        action = ArgAction::Append,
        value_parser = OsStringValueParser::new().try_map(check_allow_name),
        // `--allow --json` allowlists a file named "--json", as any
        // file name may start with a dash.
        allow_hyphen_values = true,
        help = "allowlist files whose name (not path) is NAME; their hits\n\
                are still reported, marked \"allowlisted\", but do not fail\n\
                the run (repeatable; also --allow=NAME)"
    )]
    pub allow: Vec<OsString>,

    #[arg(short, long, action = ArgAction::Help, help = "show this help")]
    help: Option<bool>,

    // Not `PathBuf`'s own parser, which refuses an empty argument: that is
    // a path that cannot be accessed, reported like any other.
    #[arg(
        value_name = "PATH",
        required = true,
        value_parser = OsStringValueParser::new().map(PathBuf::from)
    )]
    pub paths: Vec<PathBuf>,
}

/// Parses the whole command line, program name first. `--help` comes back
/// as an error of kind [`ErrorKind::DisplayHelp`] that holds the help text.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Options, clap::Error> {
    Options::try_parse_from(args)
}

/// The allowlist matches file names, so a path would never match: say so
/// rather than silently allowing nothing.
fn check_allow_name(name: OsString) -> Result<OsString, String> {
    let text = name.to_string_lossy();
    if text.is_empty() || text.contains('/') {
        return Err(format!(
            "--allow takes a file name without directories, not '{text}'"
        ));
    }
    Ok(name)
}

/// One line saying what is wrong with the command line, without clap's
/// `error:` prefix, usage and tips: main adds its own prefix and pointer
/// to `--help`.
pub fn describe(err: &clap::Error) -> String {
    let arg = context(err, ContextKind::InvalidArg).unwrap_or_default();
    match err.kind() {
        ErrorKind::UnknownArgument => format!("unknown option '{arg}'"),
        // clap names the argument `<PATH>...`.
        ErrorKind::MissingRequiredArgument => {
            let name = arg.trim_end_matches("...").trim_matches(['<', '>']);
            format!("no {name} given")
        }
        // An option's value missing altogether; clap names the option
        // `--allow <NAME>`.
        ErrorKind::InvalidValue
            if context(err, ContextKind::InvalidValue).as_deref() == Some("") =>
        {
            let option = arg.split(' ').next().unwrap_or_default();
            format!("{option} needs a value")
        }
        // A value parser's own message, such as check_allow_name's.
        ErrorKind::ValueValidation => match std::error::Error::source(err) {
            Some(source) => source.to_string(),
            None => clap_message(err),
        },
        _ => clap_message(err),
    }
}

fn context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(value) => Some(value.clone()),
        ContextValue::Strings(values) => values.first().cloned(),
        _ => None,
    }
}

/// clap's own wording for the rarer errors: the first line of its report,
/// which is the only one that describes the error itself.
fn clap_message(err: &clap::Error) -> String {
    let report = err.render().to_string();
    let first = report.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse_strs(args: &[&str]) -> Result<Options, clap::Error> {
        parse(
            std::iter::once("smc-audit")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
    }

    fn options(json: bool, allow: &[&str], paths: &[&str]) -> Options {
        Options {
            json,
            allow: allow.iter().map(OsString::from).collect(),
            help: None,
            paths: paths.iter().map(PathBuf::from).collect(),
        }
    }

    /// The message main would print for a command line clap refuses.
    fn usage_error(args: &[&str]) -> String {
        match parse_strs(args) {
            Ok(opts) => panic!("{args:?} parsed as {opts:?}"),
            Err(err) => {
                assert!(err.use_stderr(), "{args:?} asked for help");
                describe(&err)
            }
        }
    }

    #[test]
    fn command_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn parses_options_and_paths() {
        let cmd = parse_strs(&["--json", "--allow", "a.ko", "x", "--allow=b.ko", "y"]);
        assert_eq!(
            cmd.ok(),
            Some(options(true, &["a.ko", "b.ko"], &["x", "y"]))
        );
    }

    #[test]
    fn double_dash_ends_options() {
        let cmd = parse_strs(&["--", "--json"]);
        assert_eq!(cmd.ok(), Some(options(false, &[], &["--json"])));
    }

    #[test]
    fn dashes_are_file_names_too() {
        assert_eq!(
            parse_strs(&["--allow", "--json", "-", ""]).ok(),
            Some(options(false, &["--json"], &["-", ""]))
        );
        assert_eq!(
            parse_strs(&["--json", "--json", "x"]).ok(),
            Some(options(true, &[], &["x"]))
        );
    }

    #[test]
    fn help_wins() {
        for args in [
            &["x", "--help"][..],
            &["-h"][..],
            &["--help", "--bogus"][..],
        ] {
            let kind = parse_strs(args).err().map(|err| err.kind());
            assert_eq!(kind, Some(ErrorKind::DisplayHelp), "{args:?}");
        }
    }

    #[test]
    fn usage_errors() {
        assert_eq!(usage_error(&[]), "no PATH given");
        assert_eq!(usage_error(&["--json"]), "no PATH given");
        assert_eq!(usage_error(&["--allow"]), "--allow needs a value");
        assert_eq!(
            usage_error(&["--allow", "dir/x.ko", "p"]),
            "--allow takes a file name without directories, not 'dir/x.ko'"
        );
        assert_eq!(
            usage_error(&["--allow="]),
            "--allow takes a file name without directories, not ''"
        );
        assert_eq!(
            usage_error(&["--frobnicate", "p"]),
            "unknown option '--frobnicate'"
        );
        assert_eq!(usage_error(&["-x", "p"]), "unknown option '-x'");
        assert!(usage_error(&["--json=1", "p"]).contains("'--json'"));
    }

    /// The option list is clap's layout; a clap update that changes it
    /// shows here.
    #[test]
    fn help_text() {
        let options = "      --json          write one JSON document instead of text lines
      --allow <NAME>  allowlist files whose name (not path) is NAME; their hits
                      are still reported, marked \"allowlisted\", but do not fail
                      the run (repeatable; also --allow=NAME)
  -h, --help          show this help";
        let expected =
            format!("usage: {USAGE}\n\n{ABOUT}\n\noptions:\n{options}\n\n{EXIT_STATUS}\n");
        let help = Options::command().render_help().to_string();
        assert_eq!(help, expected);
    }
}
