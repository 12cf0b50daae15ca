// SPDX-License-Identifier: GPL-2.0
//! End-to-end tests: assemble small AArch64 objects with the LLVM tools the
//! project installs (`make deps`), run the smc-audit binary on them and
//! check its report and exit status.
//!
//! The LLVM tools are required: without them these tests fail, loudly,
//! rather than pass having checked nothing. `LLVM_MC` and `LD_LLD` override
//! the tool names.

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// `smc #0`, `smc #1` and `hvc #0x1234` in a function, then words that
/// encode `smc #1` and `hvc #0` emitted as data in .text (llvm-mc marks them
/// with `$d`), then `smc #0xffff` after a plain label.
const CODE_AND_DATA: &str = "
	.text
	.globl	caller
	.type	caller,@function
caller:
	nop
	smc	#0
	smc	#1
	hvc	#0x1234
	ret
	.size	caller, .-caller
table:
	.word	0xd4000023
	.word	0xd4000002
after:
	smc	#0xffff
";

/// Only SMCCC calls in code; the non-zero immediate is data.
const CLEAN: &str = "
	.text
	.globl	clean
	.type	clean,@function
clean:
	smc	#0
	ret
	.size	clean, .-clean
	.word	0xd4000023
";

const X86_64: &str = "
	.text
	.globl	f
f:
	ret
";

fn tool(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Runs an LLVM tool, failing the test with a clear message if it is not
/// installed.
fn run_llvm(program: &str, args: &[&OsStr]) {
    let output = match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(err) if err.kind() == ErrorKind::NotFound => panic!(
            "{program} not found: these tests assemble AArch64 objects with it; \
             install LLVM 19 (`make deps`, Debian packages llvm-19 and lld-19)"
        ),
        Err(err) => panic!("cannot run {program}: {err}"),
    };
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("smc-audit-tests")
        .join(test);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => panic!("cannot clear {}: {err}", dir.display()),
    }
    fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn assemble(dir: &Path, name: &str, triple: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.s"));
    let obj = dir.join(name);
    fs::write(&src, source).expect("write assembly source");
    let triple = format!("-triple={triple}");
    run_llvm(
        &tool("LLVM_MC", "llvm-mc-19"),
        &[
            triple.as_ref(),
            "-filetype=obj".as_ref(),
            src.as_os_str(),
            "-o".as_ref(),
            obj.as_os_str(),
        ],
    );
    obj
}

fn assemble_aarch64(dir: &Path, name: &str, source: &str) -> PathBuf {
    assemble(dir, name, "aarch64", source)
}

/// Links `obj` into an ET_EXEC image; `extra` may add e.g. `-x`, which
/// drops local symbols, mapping symbols included.
fn link(obj: &Path, out: &Path, entry: &str, extra: &[&str]) {
    let mut args: Vec<&OsStr> = vec!["-e".as_ref(), entry.as_ref()];
    args.extend(extra.iter().map(|a| OsStr::new(*a)));
    args.extend([obj.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    run_llvm(&tool("LD_LLD", "ld.lld-19"), &args);
}

fn smc_audit<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_smc-audit"))
        .args(args)
        .output()
        .expect("run smc-audit")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// The report line for the hit at `location` (e.g. `caller+0x8`).
fn hit_line<'a>(out: &'a str, location: &str) -> &'a str {
    let needle = format!(": {location} (");
    out.lines()
        .find(|line| line.contains(&needle))
        .unwrap_or_else(|| panic!("no hit at {location} in:\n{out}"))
}

fn summary_line<'a>(out: &'a str, file: &Path) -> &'a str {
    let prefix = format!("{}: summary:", file.display());
    out.lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no summary for {} in:\n{out}", file.display()))
}

#[test]
fn reports_smc_and_hvc_in_code_with_symbol_offsets() {
    let dir = scratch("code");
    let obj = assemble_aarch64(&dir, "code.o", CODE_AND_DATA);
    let output = smc_audit([&obj]);
    let out = stdout(&output);

    let smc0 = hit_line(&out, "caller+0x4");
    assert!(smc0.contains("smc #0x0, imm16=0: SMCCC call"), "{smc0}");
    let smc1 = hit_line(&out, "caller+0x8");
    assert!(
        smc1.contains(
            "(.text+0x8, address 0x8): smc #0x1, imm16=1: returns NOT_SUPPORTED under pKVM"
        ),
        "{smc1}"
    );
    assert!(!smc1.contains("possibly data"), "{smc1}");
    let hvc = hit_line(&out, "caller+0xc");
    assert!(
        hvc.contains("hvc #0x1234, imm16=4660: hypervisor call, vendor-defined immediate"),
        "{hvc}"
    );
    let smc_max = hit_line(&out, "after+0x0");
    assert!(smc_max.contains("smc #0xffff, imm16=65535"), "{smc_max}");

    // The two .word values are data: counted, not reported.
    assert!(!out.contains(": table+"), "{out}");
    assert_eq!(
        summary_line(&out, &obj).split(", scan").next(),
        Some(
            format!(
                "{}: summary: smc imm==0: 1, smc imm!=0: 2, hvc: 1, hvc imm!=0: 1, data words skipped: 2",
                obj.display()
            )
            .as_str()
        )
    );
    assert!(out.contains("result: FAIL"), "{out}");
    assert_eq!(output.status.code(), Some(1), "{out}");
}

#[test]
fn data_words_alone_do_not_fail() {
    let dir = scratch("clean");
    let obj = assemble_aarch64(&dir, "clean.o", CLEAN);
    let output = smc_audit([&obj]);
    let out = stdout(&output);
    assert!(!out.contains("smc #0x1"), "{out}");
    assert!(
        summary_line(&out, &obj)
            .contains("smc imm!=0: 0, hvc: 0, hvc imm!=0: 0, data words skipped: 1"),
        "{out}"
    );
    assert_eq!(output.status.code(), Some(0), "{out}");
}

#[test]
fn allowlist_passes_but_still_reports() {
    let dir = scratch("allow");
    let obj = assemble_aarch64(&dir, "smc_imm_test.ko", CODE_AND_DATA);
    let output = smc_audit([
        OsStr::new("--allow"),
        OsStr::new("smc_imm_test.ko"),
        obj.as_os_str(),
    ]);
    let out = stdout(&output);
    let smc1 = hit_line(&out, "caller+0x8");
    assert!(smc1.contains("smc #0x1"), "{smc1}");
    assert!(smc1.ends_with(" [allowlisted]"), "{smc1}");
    assert!(out.contains("smc imm!=0: 2 (not allowlisted: 0)"), "{out}");
    assert_eq!(output.status.code(), Some(0), "{out}");
}

#[test]
fn allowlist_matches_file_names_only() {
    let dir = scratch("allow-other");
    let allowed = assemble_aarch64(&dir, "smc_imm_test.ko", CODE_AND_DATA);
    let other = assemble_aarch64(&dir, "vendor.ko", CODE_AND_DATA);
    let output = smc_audit([
        OsStr::new("--allow=smc_imm_test.ko"),
        allowed.as_os_str(),
        other.as_os_str(),
    ]);
    let out = stdout(&output);
    assert!(out.contains("smc imm!=0: 4 (not allowlisted: 2)"), "{out}");
    assert_eq!(output.status.code(), Some(1), "{out}");
}

#[test]
fn linked_image_uses_virtual_addresses_and_mapping_symbols() {
    let dir = scratch("linked");
    let obj = assemble_aarch64(&dir, "code.o", CODE_AND_DATA);
    let exe = dir.join("vmlinux");
    link(&obj, &exe, "caller", &[]);
    let output = smc_audit([&exe]);
    let out = stdout(&output);
    let smc1 = hit_line(&out, "caller+0x8");
    assert!(smc1.contains("(.text+0x8, address 0x"), "{smc1}");
    assert!(!smc1.contains("address 0x8)"), "{smc1}");
    assert!(!smc1.contains("possibly data"), "{smc1}");
    assert!(out.contains("data words skipped: 2"), "{out}");
    assert_eq!(output.status.code(), Some(1), "{out}");
}

#[test]
fn sections_without_mapping_symbols_are_possibly_data() {
    let dir = scratch("stripped");
    let obj = assemble_aarch64(&dir, "code.o", CODE_AND_DATA);
    let exe = dir.join("vmlinux");
    link(&obj, &exe, "caller", &["-x"]);
    let output = smc_audit([&exe]);
    let out = stdout(&output);
    // Without $d the table's words can't be told from code: reported, with
    // the nearest remaining symbol, and flagged.
    let word = hit_line(&out, "caller+0x14");
    assert!(word.contains("smc #0x1"), "{word}");
    assert!(word.ends_with(" [possibly data]"), "{word}");
    assert!(
        hit_line(&out, "caller+0x8").ends_with(" [possibly data]"),
        "{out}"
    );
    assert!(
        out.contains("smc imm!=0: 3, hvc: 2, hvc imm!=0: 1, data words skipped: 0"),
        "{out}"
    );
    assert_eq!(output.status.code(), Some(1), "{out}");
}

#[test]
fn bad_files_are_reported_and_the_scan_goes_on() {
    let dir = scratch("bad");
    let text = dir.join("notes.txt");
    fs::write(&text, "not an object\n").expect("write text file");
    let x86 = assemble(&dir, "x86.o", "x86_64", X86_64);
    let whole = assemble_aarch64(&dir, "whole.o", CLEAN);
    let truncated = dir.join("truncated.o");
    let bytes = fs::read(&whole).expect("read object");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write truncated object");
    let missing = dir.join("missing.ko");

    let output = smc_audit([&text, &x86, &truncated, &missing, &whole]);
    let (out, err) = (stdout(&output), stderr(&output));
    let error_for = |path: &Path, what: &str| {
        let prefix = format!("smc-audit: {}: ", path.display());
        let line = err
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no error for {} in:\n{err}", path.display()));
        assert!(line.contains(what), "{line}");
    };
    error_for(&text, "not an ELF file");
    error_for(&x86, "not an AArch64 ELF file (e_machine EM_X86_64)");
    error_for(&truncated, "malformed or truncated ELF file");
    error_for(&missing, "cannot access");
    assert_eq!(err.lines().count(), 4, "{err}");

    // The good file after them was still scanned.
    assert!(hit_line(&out, "clean+0x0").contains("smc #0x0"), "{out}");
    assert!(out.contains("total: files: 1, errors: 4,"), "{out}");
    // Errors alone fail the run.
    assert_eq!(output.status.code(), Some(1), "{out}");
}

#[test]
fn directories_are_walked_for_vmlinux_and_modules() {
    let dir = scratch("walk");
    let sub = dir.join("drivers").join("firmware");
    fs::create_dir_all(&sub).expect("create subdirectory");
    let module = assemble_aarch64(&sub, "vendor.ko", CLEAN);
    // Neither a module nor vmlinux, and not an object at all: ignored.
    assemble_aarch64(&sub, "vendor.o", CODE_AND_DATA);
    fs::write(sub.join("Makefile"), "obj-m += vendor.o\n").expect("write Makefile");
    let obj = assemble_aarch64(&dir, "code.o", CLEAN);
    let vmlinux = dir.join("vmlinux");
    link(&obj, &vmlinux, "clean", &[]);

    let output = smc_audit([&dir]);
    let out = stdout(&output);
    summary_line(&out, &module);
    summary_line(&out, &vmlinux);
    assert!(!out.contains("vendor.o:"), "{out}");
    assert!(!out.contains("code.o:"), "{out}");
    assert!(out.contains("total: files: 2, errors: 0,"), "{out}");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn json_document_has_hits_summary_and_errors() {
    let dir = scratch("json");
    let obj = assemble_aarch64(&dir, "code.o", CODE_AND_DATA);
    let bad = dir.join("bad.ko");
    fs::write(&bad, "garbage").expect("write bad file");
    let output = smc_audit([OsStr::new("--json"), obj.as_os_str(), bad.as_os_str()]);
    let doc: Value = serde_json::from_slice(&output.stdout).expect("--json output parses");

    let files = doc["files"].as_array().expect("files array");
    assert_eq!(files.len(), 1);
    let hits = files[0]["hits"].as_array().expect("hits array");
    assert_eq!(hits.len(), 4);
    let smc1 = &hits[1];
    assert_eq!(smc1["file"], obj.to_string_lossy().as_ref());
    assert_eq!(smc1["symbol"], "caller");
    assert_eq!(smc1["offset"], 8);
    assert_eq!(smc1["section"], ".text");
    assert_eq!(smc1["address"], "0x8");
    assert_eq!(smc1["instruction"], "smc #0x1");
    assert_eq!(smc1["kind"], "smc");
    assert_eq!(smc1["imm16"], 1);
    assert_eq!(smc1["verdict"], "returns NOT_SUPPORTED under pKVM");
    assert_eq!(smc1["possibly_data"], false);
    assert_eq!(smc1["allowlisted"], false);
    assert_eq!(hits[2]["kind"], "hvc");
    assert_eq!(hits[2]["imm16"], 0x1234);

    let file_summary = &files[0]["summary"];
    assert_eq!(file_summary["smc_imm_zero"], 1);
    assert_eq!(file_summary["smc_imm_nonzero"], 2);
    assert_eq!(file_summary["hvc"], 1);
    assert_eq!(file_summary["hvc_imm_nonzero"], 1);
    assert_eq!(file_summary["data_words_skipped"], 2);
    assert!(file_summary["elapsed_ms"].is_f64());

    let errors = doc["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], bad.to_string_lossy().as_ref());
    assert_eq!(errors[0]["error"], "not an ELF file");

    let summary = &doc["summary"];
    assert_eq!(summary["files_scanned"], 1);
    assert_eq!(summary["errors"], 1);
    assert_eq!(summary["smc_imm_nonzero_not_allowlisted"], 2);
    assert_eq!(summary["exit_status"], 1);
    assert!(doc["elapsed_ms"].is_f64());
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--json"][..],
        &["--allow"][..],
        &["--bogus", "x"][..],
    ] {
        let output = smc_audit(args);
        assert_eq!(output.status.code(), Some(2), "args {args:?}");
        assert!(
            stderr(&output).contains("smc-audit --help"),
            "args {args:?}"
        );
    }
    let help = smc_audit(["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("exit status:"));
}
