//! IRI minting (pure): span text -> normalised key -> IRI under a base.
//!
//! Takes: surface text of an entity or relation. Gives: a key (Unicode NFC,
//! lower-cased, whitespace collapsed, edge punctuation removed) and an IRI
//! `base + kind + "/" + key`, where the key keeps letters and digits of any
//! script and `-._~`, turns spaces into `_` and percent-encodes the rest.
//! Invariants: the same text always gives the same IRI; minted IRIs are
//! valid (RFC 3987) whatever the input; keys are at most
//! [`MAX_KEY_CHARS`] chars (longer ones end in a hash of the full key).

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

pub const MAX_KEY_CHARS: usize = 120;

/// The normalised form two mentions must share to be one node; empty when
/// the text has no letter or digit.
pub fn normalise(text: &str) -> String {
    let nfc: String = text.nfc().collect();
    let lowered = nfc.to_lowercase();
    let collapsed = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| !c.is_alphanumeric());
    trimmed.to_string()
}

/// The IRI-safe key of a normalised text.
pub fn key(normalised: &str) -> String {
    let mut out = String::with_capacity(normalised.len());
    for (chars, c) in normalised.chars().enumerate() {
        if chars >= MAX_KEY_CHARS {
            let digest = Sha256::digest(normalised.as_bytes());
            out.push('-');
            for b in &digest[..8] {
                out.push_str(&format!("{b:02x}"));
            }
            return out;
        }
        if c == ' ' {
            out.push('_');
        } else if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') || (!c.is_ascii() && c.is_alphanumeric() && is_ucschar(c))
        {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `ucschar` of RFC 3987: the non-ASCII chars an IRI may hold unencoded.
fn is_ucschar(c: char) -> bool {
    let c = c as u32;
    matches!(c,
        0xA0..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF
        | 0x10000..=0x1FFFD | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD | 0x40000..=0x4FFFD
        | 0x50000..=0x5FFFD | 0x60000..=0x6FFFD | 0x70000..=0x7FFFD | 0x80000..=0x8FFFD
        | 0x90000..=0x9FFFD | 0xA0000..=0xAFFFD | 0xB0000..=0xBFFFD | 0xC0000..=0xCFFFD
        | 0xD0000..=0xDFFFD | 0xE1000..=0xEFFFD)
}

/// Percent-encodes everything but unreserved ASCII, for ids in IRIs.
pub fn encode_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base + kind + "/" + key(normalise(text))`, or `None` for text without letters or digits.
pub fn mint(base: &str, kind: &str, text: &str) -> Option<String> {
    let n = normalise(text);
    if n.is_empty() {
        return None;
    }
    Some(format!("{base}{kind}/{}", key(&n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_space_unicode_and_edge_punctuation() {
        assert_eq!(normalise("  The   Eiffel\tTower, "), "the eiffel tower");
        assert_eq!(normalise("Cafe\u{301}"), normalise("Café"));
        assert_eq!(normalise("?!..."), "");
    }

    #[test]
    fn keys_escape_what_iris_cannot_hold() {
        assert_eq!(key("a <b> \"c\" ^^ \\d"), "a_%3Cb%3E_%22c%22_%5E%5E_%5Cd");
        assert_eq!(key("東京 タワー"), "東京_タワー");
        assert_eq!(key("line\nbreak"), "line%0Abreak");
        assert_eq!(key("zero\u{200b}width"), "zero%E2%80%8Bwidth");
    }

    #[test]
    fn long_keys_are_cut_with_a_hash() {
        let long = "x".repeat(1000);
        let k = key(&long);
        assert!(k.chars().count() <= MAX_KEY_CHARS + 17);
        assert_ne!(k, key(&"x".repeat(999)));
    }

    #[test]
    fn minted_iris_parse() {
        for text in ["Paris", "<script>", "a b", "ü", "\u{202e}rtl", "@prefix x: <y> .", "]]>"] {
            if let Some(iri) = mint("https://kgx.invalid/", "entity", text) {
                oxigraph::model::NamedNode::new(&iri).expect(&iri);
            }
        }
    }
}
