//! Personal data in free text: phone, ID and bank card numbers, vehicle plates and detailed
//! addresses, found in one pass over the UTF-8 bytes and masked.
//!
//! The rules are those of the plain-Python oracle `core_ext/reference/pii.py` (read its
//! docstring); this is the same scan over bytes. Only ASCII digits, brackets and three-byte
//! CJK characters start anything, so every other byte is passed over at once. Spans are
//! byte ranges here and character ranges (Python string indices) at the boundary.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Texts at least this long are scanned with the GIL released.
const DETACH_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Phone,
    IdNumber,
    BankCard,
    Plate,
    Address,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::IdNumber => "id_number",
            Kind::BankCard => "bank_card",
            Kind::Plate => "plate",
            Kind::Address => "address",
        }
    }
}

/// A found piece of personal data: bytes `start..end` of the text.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const PLATE_SUFFIXES: &str = "挂学警港澳";
const ROAD_ENDS: &str = "路街道巷弄里";
const ALLEY: &str = "胡同";
const UNIT_WORDS: [&str; 11] = [
    "号楼", "号院", "号", "栋", "幢", "座", "单元", "室", "户", "楼", "层",
];
const FLAT: &str = "室";
const MIDDLE_DOT: &str = "·";
const FULL_OPEN: &str = "（";
const FULL_CLOSE: &str = "）";
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The CJK Unified Ideographs block (U+4E00..U+9FFF), where every character this scan looks
/// for in the text is: a set of them is a bitmap built at compile time.
const CJK_FIRST: u32 = 0x4E00;
const CJK_WORDS: usize = (0xA000 - 0x4E00) / 64;

const fn cjk_set(chars: &str) -> [u64; CJK_WORDS] {
    let b = chars.as_bytes();
    let mut set = [0u64; CJK_WORDS];
    let mut i = 0;
    while i + 2 < b.len() {
        let cp = decode3(b[i], b[i + 1], b[i + 2]) - CJK_FIRST;
        set[(cp / 64) as usize] |= 1 << (cp % 64);
        i += 3;
    }
    set
}

#[inline]
const fn decode3(b0: u8, b1: u8, b2: u8) -> u32 {
    ((b0 as u32 & 0x0F) << 12) | ((b1 as u32 & 0x3F) << 6) | (b2 as u32 & 0x3F)
}

static PROVINCE_SET: [u64; CJK_WORDS] = cjk_set(PROVINCES);

/// Whether the three-byte character at `p` is a province's abbreviation (one bitmap probe).
#[inline]
fn province_at(b: &[u8], p: usize) -> bool {
    match b.get(p..p + 3) {
        Some(&[b0, b1, b2]) => {
            let cp = decode3(b0, b1, b2);
            (CJK_FIRST..0xA000).contains(&cp) && {
                let k = cp - CJK_FIRST;
                PROVINCE_SET[(k / 64) as usize] & (1 << (k % 64)) != 0
            }
        }
        _ => false,
    }
}

/// Whether the three bytes at `at` are one of `set`'s (three-byte) characters.
#[inline]
fn three_byte_in(b: &[u8], at: usize, set: &str) -> bool {
    match b.get(at..at + 3) {
        Some(c) => set.as_bytes().chunks_exact(3).any(|s| s == c),
        None => false,
    }
}

#[inline]
fn run_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

#[inline]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

pub fn id_check_digit(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

pub fn luhn_ok(digits: &[u8]) -> bool {
    let mut total = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut n = u32::from(d - b'0');
        if i % 2 == 1 {
            n = if n > 4 { n * 2 - 9 } else { n * 2 };
        }
        total += n;
    }
    total % 10 == 0
}

fn area_code(b: &[u8], i: usize, j: usize) -> bool {
    (j - i == 3 || j - i == 4) && b[i] == b'0' && b[i + 1] != b'0'
}

fn subscriber_end(b: &[u8], i: usize) -> Option<usize> {
    if !(b'2'..=b'9').contains(&at(b, i)) {
        return None;
    }
    let j = run_end(b, i);
    (j - i == 7 || j - i == 8).then_some(j)
}

fn grouped_mobile_end(b: &[u8], j: usize) -> Option<usize> {
    let sep = at(b, j);
    if sep != b'-' && sep != b' ' {
        return None;
    }
    let k = run_end(b, j + 1);
    if k - j - 1 != 4 || at(b, k) != sep {
        return None;
    }
    let end = run_end(b, k + 1);
    (end - k - 1 == 4).then_some(end)
}

fn grouped_card_end(b: &[u8], j: usize) -> Option<usize> {
    let sep = at(b, j);
    if sep != b'-' && sep != b' ' {
        return None;
    }
    let (mut digits, mut p) = (4, j);
    while at(b, p) == sep {
        let k = run_end(b, p + 1);
        let group = k - p - 1;
        if !(1..=4).contains(&group) {
            break;
        }
        digits += group;
        p = k;
        if group < 4 {
            break;
        }
    }
    (16..=19).contains(&digits).then_some(p)
}

fn dashed_flat_end(b: &[u8], j: usize) -> Option<usize> {
    if at(b, j) != b'-' {
        return None;
    }
    let k = run_end(b, j + 1);
    if !(1..=2).contains(&(k - j - 1)) || at(b, k) != b'-' {
        return None;
    }
    let end = run_end(b, k + 1);
    ((3..=4).contains(&(end - k - 1)) && at(b, end) != b'-').then_some(end)
}

fn address_end(b: &[u8], i: usize) -> Option<usize> {
    let (mut parts, mut flat, mut p) = (0, false, i);
    loop {
        let q = run_end(b, p);
        if q == p || q - p > 5 {
            break;
        }
        let Some(word) = UNIT_WORDS.iter().find(|w| b[q..].starts_with(w.as_bytes())) else {
            break;
        };
        parts += 1;
        flat = flat || *word == FLAT;
        p = q + word.len();
    }
    if parts == 0 {
        return None;
    }
    let after_road = (i >= 3 && three_byte_in(b, i - 3, ROAD_ENDS))
        || (i >= ALLEY.len() && &b[i - ALLEY.len()..i] == ALLEY.as_bytes());
    (after_road || parts >= 2 || flat).then_some(p)
}

/// What the digit run `b[i..j]` starts, if anything.
fn number_at(b: &[u8], i: usize, j: usize) -> Option<(usize, Kind)> {
    let n = j - i;
    let digits = &b[i..j];
    let first = digits[0];
    if area_code(b, i, j) && at(b, j) == b'-' {
        if let Some(end) = subscriber_end(b, j + 1) {
            return Some((end, Kind::Phone));
        }
    }
    if n == 17
        && first != b'0'
        && matches!(at(b, j), b'X' | b'x')
        && !at(b, j + 1).is_ascii_alphanumeric()
        && id_check_digit(digits) == b'X'
    {
        return Some((j + 1, Kind::IdNumber));
    }
    if n == 18 && first != b'0' && id_check_digit(&digits[..17]) == digits[17] {
        return Some((j, Kind::IdNumber));
    }
    if n == 15 && first != b'0' && old_id_date(digits) {
        return Some((j, Kind::IdNumber));
    }
    if n == 11 && first == b'1' && digits[1] >= b'3' {
        return Some((j, Kind::Phone));
    }
    if n == 13 && digits.starts_with(b"861") && digits[3] >= b'3' {
        return Some((j, Kind::Phone));
    }
    if n == 3 && first == b'1' && digits[1] >= b'3' {
        if let Some(end) = grouped_mobile_end(b, j) {
            return Some((end, Kind::Phone));
        }
    }
    if (13..=19).contains(&n) && luhn_ok(digits) {
        return Some((j, Kind::BankCard));
    }
    if n == 4 {
        if let Some(end) = grouped_card_end(b, j) {
            let card: Vec<u8> = b[i..end]
                .iter()
                .copied()
                .filter(u8::is_ascii_digit)
                .collect();
            if luhn_ok(&card) {
                return Some((end, Kind::BankCard));
            }
        }
    }
    if n <= 3 {
        if let Some(end) = dashed_flat_end(b, j) {
            return Some((end, Kind::Address));
        }
    }
    if n <= 5 {
        return address_end(b, i).map(|end| (end, Kind::Address));
    }
    None
}

fn old_id_date(digits: &[u8]) -> bool {
    let two = |k: usize| u32::from(digits[k] - b'0') * 10 + u32::from(digits[k + 1] - b'0');
    (1..=12).contains(&two(8)) && (1..=31).contains(&two(10))
}

/// A landline with its area code in brackets, the opening bracket `open` bytes long at `i`.
fn bracketed_landline(b: &[u8], i: usize, open: usize) -> Option<usize> {
    let s = i + open;
    let j = run_end(b, s);
    if j == s || !area_code(b, s, j) {
        return None;
    }
    let mut k = if at(b, j) == b')' {
        j + 1
    } else if b[j..].starts_with(FULL_CLOSE.as_bytes()) {
        j + FULL_CLOSE.len()
    } else {
        return None;
    };
    if at(b, k) == b' ' {
        k += 1;
    }
    subscriber_end(b, k)
}

#[inline]
fn plate_char(c: u8) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && c != b'I' && c != b'O')
}

/// A plate starting with the province's abbreviation (three bytes) at `i`.
fn plate(b: &[u8], i: usize) -> Option<usize> {
    let letter = at(b, i + 3);
    if !letter.is_ascii_uppercase() || letter == b'I' || letter == b'O' {
        return None;
    }
    let mut q = i + 4;
    if b[q..].starts_with(MIDDLE_DOT.as_bytes()) {
        q += MIDDLE_DOT.len();
    }
    let mut e = q;
    while e < b.len() && (b[e].is_ascii_digit() || b[e].is_ascii_uppercase()) {
        e += 1;
    }
    let body = &b[q..e];
    if body.is_empty()
        || !body.iter().all(|&c| plate_char(c))
        || !body.iter().any(u8::is_ascii_digit)
    {
        return None;
    }
    let energy = |c: u8| c == b'D' || c == b'F';
    if body.len() == 5 || (body.len() == 6 && (energy(body[0]) || energy(body[5]))) {
        return Some(e);
    }
    if body.len() == 4 && three_byte_in(b, e, PLATE_SUFFIXES) {
        return Some(e + 3);
    }
    None
}

/// Every piece of personal data in `text`, in order, never overlapping (byte spans).
pub fn scan(text: &str) -> Vec<Span> {
    scan_flagged(text).0
}

/// Full-width digits (U+FF10..U+FF19: EF BC 90..99), as a Chinese input mode types them.
#[inline]
fn fullwidth_digit_at(b: &[u8], p: usize) -> bool {
    matches!(b.get(p..p + 3), Some(&[0xEF, 0xBC, c]) if (0x90..=0x99).contains(&c))
}

/// `scan`, and whether the text has full-width digits (then it is scanned again as
/// `ascii_digits`: the rare case pays a second pass, the common one none).
fn scan_flagged(text: &str) -> (Vec<Span>, bool) {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut fullwidth = false;
    let mut p = 0;
    while p < b.len() {
        let c = b[p];
        let (found, resume) = if c.is_ascii_digit() {
            let j = run_end(b, p);
            (number_at(b, p, j), j)
        } else if c == b'(' {
            (bracketed_landline(b, p, 1).map(|e| (e, Kind::Phone)), p + 1)
        } else if c < 0x80 {
            (None, p + 1)
        } else if c < 0xE0 {
            (None, p + 2)
        } else if c < 0xF0 {
            fullwidth = fullwidth || (c == 0xEF && fullwidth_digit_at(b, p));
            let found = if b[p..].starts_with(FULL_OPEN.as_bytes()) {
                bracketed_landline(b, p, 3).map(|e| (e, Kind::Phone))
            } else if province_at(b, p) {
                plate(b, p).map(|e| (e, Kind::Plate))
            } else {
                None
            };
            (found, p + 3)
        } else {
            (None, p + 4)
        };
        match found {
            Some((end, kind)) => {
                spans.push(Span {
                    start: p,
                    end,
                    kind,
                });
                p = end;
            }
            None => p = resume,
        }
    }
    (spans, fullwidth)
}

/// One found piece of personal data masked (the oracle's `mask_span`).
pub fn mask_span(s: &str, kind: Kind, out: &mut String) {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    match kind {
        Kind::Phone => {
            let head = phone_head(&chars);
            out.extend(&chars[..head]);
            star_digits_but_last(&chars[head..], 4, out);
        }
        Kind::IdNumber => keep_ends(&chars, 6, 4, out),
        Kind::BankCard => star_digits_but_last(&chars, 4, out),
        Kind::Plate => keep_ends(&chars, 2, 1, out),
        Kind::Address => out.extend(
            chars
                .iter()
                .map(|&c| if c.is_ascii_digit() { '*' } else { c }),
        ),
    }
    debug_assert!(n > 0);
}

/// Every digit starred but the last `keep` (what is not a digit kept).
fn star_digits_but_last(chars: &[char], keep: usize, out: &mut String) {
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    let mut seen = 0;
    for &c in chars {
        if c.is_ascii_digit() {
            seen += 1;
            out.push(if seen + keep <= digits { '*' } else { c });
        } else {
            out.push(c);
        }
    }
}

fn keep_ends(chars: &[char], head: usize, tail: usize, out: &mut String) {
    let n = chars.len();
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', n - head - tail));
    out.extend(&chars[n - tail..]);
}

fn phone_head(chars: &[char]) -> usize {
    if chars[0] == '(' || chars[0] == '（' {
        return chars
            .iter()
            .position(|&c| c == ')' || c == '）')
            .map_or(0, |k| k + 1);
    }
    match chars.iter().position(|&c| c == '-' || c == ' ') {
        Some(k) if k > 0 => k,
        _ if chars.len() == 13 => 5,
        _ => 3,
    }
}

/// `text` with every span masked.
pub fn mask(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in spans {
        out.push_str(&text[last..span.start]);
        mask_span(&text[span.start..span.end], span.kind, &mut out);
        last = span.end;
    }
    out.push_str(&text[last..]);
    out
}

/// `text` with its full-width digits in ASCII: one character for one, so character offsets
/// hold (byte offsets do not).
fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            _ => c,
        })
        .collect()
}

/// `original` with the spans of `plain` (its ASCII-digit twin, `ascii_digits`) masked:
/// outside them the original's characters stay.
fn mask_twin(original: &str, plain: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(original.len());
    let mut chars = original.chars();
    let mut last = 0;
    for span in spans {
        out.extend(chars.by_ref().take(plain[last..span.start].chars().count()));
        let piece = &plain[span.start..span.end];
        mask_span(piece, span.kind, &mut out);
        chars.by_ref().take(piece.chars().count()).for_each(drop);
        last = span.end;
    }
    out.extend(chars);
    out
}

/// The spans of `text`, and the ASCII-digit twin they refer to when it has full-width digits.
fn scan_maybe_detached(py: Python<'_>, text: &str) -> (Vec<Span>, Option<String>) {
    let run = || {
        let (spans, fullwidth) = scan_flagged(text);
        if fullwidth {
            let plain = ascii_digits(text);
            (scan(&plain), Some(plain))
        } else {
            (spans, None)
        }
    };
    if text.len() >= DETACH_BYTES {
        py.detach(run)
    } else {
        run()
    }
}

/// Personal data in `text`: `(start, end, kind)` in characters (Python string indices).
#[pyfunction]
pub fn find_pii(
    py: Python<'_>,
    text: &Bound<'_, PyString>,
) -> PyResult<Vec<(usize, usize, &'static str)>> {
    let s = text.to_str()?;
    let (spans, plain) = scan_maybe_detached(py, s);
    let b = plain.as_deref().unwrap_or(s).as_bytes();
    let ascii = b.is_ascii();
    // byte -> character offsets, counting each byte once as the spans go by
    let (mut byte, mut chars) = (0usize, 0usize);
    let mut to_char = |to: usize| {
        if !ascii {
            chars += b[byte..to].iter().filter(|&&c| (c & 0xC0) != 0x80).count();
        } else {
            chars += to - byte;
        }
        byte = to;
        chars
    };
    Ok(spans
        .iter()
        .map(|sp| (to_char(sp.start), to_char(sp.end), sp.kind.name()))
        .collect())
}

/// `text` with its personal data masked; the same string object when there is none.
#[pyfunction]
pub fn mask_pii<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyString>> {
    let s = text.to_str()?;
    let (spans, plain) = scan_maybe_detached(py, s);
    if spans.is_empty() {
        return Ok(text.clone());
    }
    Ok(match plain {
        Some(plain) => PyString::new(py, &mask_twin(s, &plain, &spans)),
        None => PyString::new(py, &mask(s, &spans)),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(find_pii, m)?)?;
    m.add_function(wrap_pyfunction!(mask_pii, m)?)?;
    Ok(())
}
