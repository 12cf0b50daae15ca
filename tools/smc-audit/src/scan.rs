// SPDX-License-Identifier: GPL-2.0
//! Finds the SMC and HVC instructions in the executable sections of one
//! AArch64 ELF file (vmlinux, a .ko or any other object).

use std::fmt;

use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{Endianness, FileKind, SectionIndex};

use crate::decode::{decode, Class, Insn};
use crate::symbols::{mapping_kind, LabelRank, Region, SectionSymbols};

type Header = FileHeader64<Endianness>;

/// Why a file could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    NotElf,
    Elf32,
    NotAarch64(String),
    Malformed(String),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::NotElf => write!(f, "not an ELF file"),
            ScanError::Elf32 => write!(f, "32-bit ELF file; AArch64 kernels and modules are ELF64"),
            ScanError::NotAarch64(machine) => {
                write!(f, "not an AArch64 ELF file (e_machine {machine})")
            }
            ScanError::Malformed(why) => write!(f, "malformed or truncated ELF file: {why}"),
        }
    }
}

impl From<object::read::Error> for ScanError {
    fn from(err: object::read::Error) -> Self {
        ScanError::Malformed(err.to_string())
    }
}

/// One SMC or HVC found in code (or in a section that cannot tell code from
/// data).
#[derive(Debug, Clone)]
pub struct Hit {
    pub section: String,
    pub section_offset: u64,
    pub address: u64,
    /// The nearest preceding function or label in the same section.
    pub symbol: Option<String>,
    /// Offset from `symbol`, or from the section start when there is none.
    pub symbol_offset: u64,
    pub insn: Insn,
    /// The section has no mapping symbol covering this word.
    pub possibly_data: bool,
}

/// How many words of each kind one file (or a whole run) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub smc_imm_zero: u64,
    pub smc_imm_nonzero: u64,
    pub hvc: u64,
    /// Of `hvc`, those with a non-zero immediate.
    pub hvc_imm_nonzero: u64,
    /// Words inside `$d` regions that happen to encode SMC/HVC.
    pub data_words_skipped: u64,
}

impl Counts {
    fn count(&mut self, class: Class) {
        match class {
            Class::SmcImmZero => self.smc_imm_zero += 1,
            Class::SmcImmNonZero => self.smc_imm_nonzero += 1,
            Class::Hvc => self.hvc += 1,
            Class::HvcImmNonZero => {
                self.hvc += 1;
                self.hvc_imm_nonzero += 1;
            }
        }
    }

    pub fn add(&mut self, other: &Counts) {
        self.smc_imm_zero += other.smc_imm_zero;
        self.smc_imm_nonzero += other.smc_imm_nonzero;
        self.hvc += other.hvc;
        self.hvc_imm_nonzero += other.hvc_imm_nonzero;
        self.data_words_skipped += other.data_words_skipped;
    }
}

/// Everything found in one file.
#[derive(Debug, Default)]
pub struct FileScan {
    pub hits: Vec<Hit>,
    pub counts: Counts,
}

/// Scans the contents of one file.
pub fn scan_elf(data: &[u8]) -> Result<FileScan, ScanError> {
    check_kind(data)?;
    let header = Header::parse(data)?;
    let endian = header.endian()?;
    check_machine(header, endian)?;

    let sections = header.sections(endian, data)?;
    let symtab = sections.symbols(endian, data, elf::SHT_SYMTAB)?;
    let symbols = index_symbols(&sections, &symtab, endian)?;

    let mut scan = FileScan::default();
    for (index, section) in sections.enumerate() {
        let Some(syms) = symbols.get(index.0).and_then(Option::as_ref) else {
            continue;
        };
        let name = sections.section_name(endian, section)?;
        let code = section.data(endian, data)?;
        let base = section.sh_addr(endian);
        scan_section(code, base, name, syms, &mut scan);
    }
    Ok(scan)
}

fn check_kind(data: &[u8]) -> Result<(), ScanError> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => Ok(()),
        Ok(FileKind::Elf32) => Err(ScanError::Elf32),
        // The magic alone is there: a file cut short, not some other format.
        _ if data.starts_with(&elf::ELFMAG) => Err(ScanError::Malformed(
            "no complete ELF identification".into(),
        )),
        _ => Err(ScanError::NotElf),
    }
}

fn check_machine(header: &Header, endian: Endianness) -> Result<(), ScanError> {
    let machine = header.e_machine(endian);
    if machine == elf::EM_AARCH64 {
        return Ok(());
    }
    let name = machine
        .name()
        .map_or_else(|| machine.0.to_string(), str::to_owned);
    Err(ScanError::NotAarch64(name))
}

/// Sections worth decoding: executable and present in the file.
fn is_code_section(section: &elf::SectionHeader64<Endianness>, endian: Endianness) -> bool {
    section.sh_flags(endian).contains(elf::SHF_EXECINSTR)
        && section.sh_type(endian) != elf::SHT_NOBITS
}

/// Builds the label and mapping symbol lookups of every code section,
/// indexed by section number (`None` for the other sections).
fn index_symbols<'data>(
    sections: &SectionTable<'data, Header>,
    symtab: &SymbolTable<'data, Header>,
    endian: Endianness,
) -> Result<Vec<Option<SectionSymbols<'data>>>, ScanError> {
    let mut index: Vec<Option<SectionSymbols<'data>>> = sections
        .iter()
        .map(|s| is_code_section(s, endian).then(SectionSymbols::default))
        .collect();

    for (sym_index, sym) in symtab.enumerate() {
        let Some(SectionIndex(shndx)) = symtab.symbol_section(endian, sym, sym_index)? else {
            continue;
        };
        let Some(Some(syms)) = index.get_mut(shndx) else {
            continue;
        };
        let Some(offset) = section_offset(sections, shndx, sym, endian)? else {
            continue;
        };
        let name = symtab.symbol_name(endian, sym)?;
        if let Some(kind) = mapping_kind(name) {
            syms.add_mapping(offset, kind);
        } else if let Some(rank) = label_rank(sym) {
            if !name.is_empty() {
                syms.add_label(offset, rank, name);
            }
        }
    }

    for syms in index.iter_mut().flatten() {
        syms.finish();
    }
    Ok(index)
}

/// A symbol's offset in its section: `st_value` is section-relative in
/// relocatable objects (where `sh_addr` is 0) and a virtual address in
/// linked images, so subtracting `sh_addr` works for both. `None` for a
/// value outside the section, which no lookup could use.
fn section_offset(
    sections: &SectionTable<'_, Header>,
    shndx: usize,
    sym: &elf::Sym64<Endianness>,
    endian: Endianness,
) -> Result<Option<u64>, ScanError> {
    let section = sections.section(SectionIndex(shndx))?;
    Ok(sym.st_value(endian).checked_sub(section.sh_addr(endian)))
}

fn label_rank(sym: &elf::Sym64<Endianness>) -> Option<LabelRank> {
    match sym.st_type() {
        elf::STT_FUNC | elf::STT_GNU_IFUNC => Some(LabelRank::Function),
        elf::STT_NOTYPE => Some(LabelRank::Label),
        _ => None,
    }
}

/// Decodes every aligned word of one section. Only words that are SMC/HVC
/// reach the symbol lookups, and only hits allocate.
fn scan_section(
    code: &[u8],
    base: u64,
    name: &[u8],
    syms: &SectionSymbols<'_>,
    scan: &mut FileScan,
) {
    let mut offset = 0u64;
    for bytes in code.chunks_exact(4) {
        // A64 instructions are little-endian even in big-endian images.
        let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if let Some(insn) = decode(word) {
            record(insn, offset, base, name, syms, scan);
        }
        offset += 4;
    }
}

fn record(
    insn: Insn,
    offset: u64,
    base: u64,
    section: &[u8],
    syms: &SectionSymbols<'_>,
    scan: &mut FileScan,
) {
    let region = syms.region_at(offset);
    if region == Region::Data {
        scan.counts.data_words_skipped += 1;
        return;
    }
    scan.counts.count(insn.class());

    let (symbol, symbol_offset) = match syms.label_at(offset) {
        Some((name, delta)) => (Some(String::from_utf8_lossy(name).into_owned()), delta),
        None => (None, offset),
    };
    scan.hits.push(Hit {
        section: String::from_utf8_lossy(section).into_owned(),
        section_offset: offset,
        address: base.wrapping_add(offset),
        symbol,
        symbol_offset,
        insn,
        // No mapping symbol covers the word (a section without any, as in
        // stripped or hand-built images): it may be data after all.
        possibly_data: region == Region::Unknown,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_elf_and_short_input() {
        assert_eq!(scan_elf(b"").err(), Some(ScanError::NotElf));
        assert_eq!(scan_elf(b"\x7fEL").err(), Some(ScanError::NotElf));
        assert!(matches!(
            scan_elf(b"\x7fELF\x02"),
            Err(ScanError::Malformed(_))
        ));
        assert_eq!(
            scan_elf(b"#!/bin/sh\necho hi\n").err(),
            Some(ScanError::NotElf)
        );
    }

    #[test]
    fn rejects_elf32() {
        let mut ident = vec![0u8; 64];
        ident[..4].copy_from_slice(b"\x7fELF");
        ident[4] = elf::ELFCLASS32.0;
        ident[5] = elf::ELFDATA2LSB.0;
        ident[6] = elf::EV_CURRENT.0;
        assert_eq!(scan_elf(&ident).err(), Some(ScanError::Elf32));
    }

    #[test]
    fn scans_words_and_skips_data_regions() {
        let mut syms = SectionSymbols::default();
        syms.add_label(0, LabelRank::Function, b"f");
        syms.add_mapping(0, crate::symbols::MappingKind::Code);
        syms.add_mapping(8, crate::symbols::MappingKind::Data);
        syms.finish();
        let words: [u32; 3] = [0xD400_0023, 0xD400_0003, 0xD400_0023];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut scan = FileScan::default();
        scan_section(&code, 0x1000, b".text", &syms, &mut scan);

        assert_eq!(
            scan.counts,
            Counts {
                smc_imm_zero: 1,
                smc_imm_nonzero: 1,
                hvc: 0,
                hvc_imm_nonzero: 0,
                data_words_skipped: 1,
            }
        );
        assert_eq!(scan.hits.len(), 2);
        assert_eq!(scan.hits[1].symbol.as_deref(), Some("f"));
        assert_eq!(scan.hits[1].symbol_offset, 4);
        assert_eq!(scan.hits[1].address, 0x1004);
        assert!(!scan.hits[1].possibly_data);
    }

    #[test]
    fn flags_hits_in_sections_without_mapping_symbols() {
        let syms = SectionSymbols::default();
        let code = 0xD400_0002u32.to_le_bytes();
        let mut scan = FileScan::default();
        // A trailing partial word is not an instruction and is ignored.
        let mut bytes = code.to_vec();
        bytes.push(0xD4);
        scan_section(&bytes, 0, b".text", &syms, &mut scan);
        assert_eq!(scan.counts.hvc, 1);
        assert!(scan.hits[0].possibly_data);
        assert_eq!(scan.hits[0].symbol, None);
        assert_eq!(scan.hits[0].symbol_offset, 0);
    }
}
