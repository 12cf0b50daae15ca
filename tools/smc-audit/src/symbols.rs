// SPDX-License-Identifier: GPL-2.0
//! Per-section symbol lookups: which function a word belongs to, and whether
//! the AArch64 mapping symbols say the word is code or data.
//!
//! Both lookups are "the last entry at or before this offset", done by binary
//! search over a vector sorted once per section, so a hit costs O(log n) and
//! words that are not SMC/HVC cost nothing here.

/// What the mapping symbols say about one offset in a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// Inside a `$x` region: instructions.
    Code,
    /// Inside a `$d` region: literal pools, jump tables, `.word` data.
    Data,
    /// The section has no mapping symbol at or before this offset, so the
    /// object does not say (stripped or hand-built files).
    Unknown,
}

/// The two mapping symbol kinds AAELF64 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MappingKind {
    Code,
    Data,
}

/// Recognises AAELF64 mapping symbols: `$x` and `$d`, optionally followed by
/// `.` and any suffix (`$x.12`), which assemblers add to keep names unique.
pub fn mapping_kind(name: &[u8]) -> Option<MappingKind> {
    let (kind, rest) = match name {
        [b'$', b'x', rest @ ..] => (MappingKind::Code, rest),
        [b'$', b'd', rest @ ..] => (MappingKind::Data, rest),
        _ => return None,
    };
    (rest.is_empty() || rest.starts_with(b".")).then_some(kind)
}

/// How strongly a symbol names the code at its address; when several
/// symbols share an address the strongest is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LabelRank {
    /// `STT_NOTYPE`: assembler labels such as `__smccc_workaround_1_smc`.
    Label,
    /// `STT_FUNC`/`STT_GNU_IFUNC`.
    Function,
}

#[derive(Clone, Copy, Debug)]
struct Label<'data> {
    offset: u64,
    rank: LabelRank,
    name: &'data [u8],
}

/// The symbols of one executable section, keyed by offset in the section.
#[derive(Debug, Default)]
pub struct SectionSymbols<'data> {
    labels: Vec<Label<'data>>,
    mapping: Vec<(u64, MappingKind)>,
}

impl<'data> SectionSymbols<'data> {
    pub fn add_label(&mut self, offset: u64, rank: LabelRank, name: &'data [u8]) {
        self.labels.push(Label { offset, rank, name });
    }

    pub fn add_mapping(&mut self, offset: u64, kind: MappingKind) {
        self.mapping.push((offset, kind));
    }

    /// Sorts for the lookups; call once after the last `add_*`.
    pub fn finish(&mut self) {
        // label_at() takes the last label at or before an offset, so among
        // aliases (common in vmlinux) the preferred one must sort last:
        // the higher rank, then the lowest name (hence `b.name` on the
        // left). The report then does not depend on symbol table order.
        self.labels
            .sort_unstable_by(|a, b| (a.offset, a.rank, b.name).cmp(&(b.offset, b.rank, a.name)));
        self.mapping.sort_unstable();
    }

    /// The nearest label at or before `offset`, and the distance to it.
    pub fn label_at(&self, offset: u64) -> Option<(&'data [u8], u64)> {
        let after = self.labels.partition_point(|l| l.offset <= offset);
        let label = self.labels.get(after.checked_sub(1)?)?;
        Some((label.name, offset - label.offset))
    }

    /// Whether `offset` lies in a code or a data region.
    pub fn region_at(&self, offset: u64) -> Region {
        let after = self.mapping.partition_point(|&(start, _)| start <= offset);
        match after.checked_sub(1).and_then(|i| self.mapping.get(i)) {
            Some((_, MappingKind::Code)) => Region::Code,
            Some((_, MappingKind::Data)) => Region::Data,
            None => Region::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_mapping_symbols() {
        assert_eq!(mapping_kind(b"$x"), Some(MappingKind::Code));
        assert_eq!(mapping_kind(b"$x.17"), Some(MappingKind::Code));
        assert_eq!(mapping_kind(b"$d"), Some(MappingKind::Data));
        assert_eq!(mapping_kind(b"$d.3"), Some(MappingKind::Data));
        assert_eq!(mapping_kind(b"$xyz"), None);
        assert_eq!(mapping_kind(b"$a"), None);
        assert_eq!(mapping_kind(b"x"), None);
        assert_eq!(mapping_kind(b""), None);
    }

    #[test]
    fn finds_nearest_preceding_label() {
        let mut syms = SectionSymbols::default();
        syms.add_label(0x20, LabelRank::Function, b"second");
        syms.add_label(0x10, LabelRank::Function, b"first");
        syms.finish();
        assert_eq!(syms.label_at(0x0c), None);
        assert_eq!(syms.label_at(0x10), Some((&b"first"[..], 0)));
        assert_eq!(syms.label_at(0x1c), Some((&b"first"[..], 0xc)));
        assert_eq!(syms.label_at(0x24), Some((&b"second"[..], 4)));
    }

    #[test]
    fn prefers_functions_then_lowest_name_at_same_address() {
        let mut syms = SectionSymbols::default();
        syms.add_label(0, LabelRank::Label, b"a_label");
        syms.add_label(0, LabelRank::Function, b"zeta");
        syms.add_label(0, LabelRank::Function, b"alpha");
        syms.finish();
        assert_eq!(syms.label_at(8), Some((&b"alpha"[..], 8)));
    }

    #[test]
    fn mapping_regions() {
        let mut syms = SectionSymbols::default();
        assert_eq!(syms.region_at(0), Region::Unknown);
        syms.add_mapping(0x14, MappingKind::Data);
        syms.add_mapping(0x4, MappingKind::Code);
        syms.add_mapping(0x1c, MappingKind::Code);
        syms.finish();
        assert_eq!(syms.region_at(0), Region::Unknown);
        assert_eq!(syms.region_at(0x4), Region::Code);
        assert_eq!(syms.region_at(0x10), Region::Code);
        assert_eq!(syms.region_at(0x14), Region::Data);
        assert_eq!(syms.region_at(0x18), Region::Data);
        assert_eq!(syms.region_at(0x1c), Region::Code);
        assert_eq!(syms.region_at(u64::MAX), Region::Code);
    }
}
