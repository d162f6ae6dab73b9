//! What the pipeline takes: [`Document`]s, and [`DocumentError`]s in place
//! of the documents that could not be used.
//!
//! Gives: the document types and [`content_hash`], which a sink keeps to
//! recognise a document it already stored.
//! Invariants: document text is valid UTF-8 without NUL bytes; ids are
//! unique within one input.

/// One unit of provenance: what a triple will point back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    /// The input it came from (path, `-` for stdin, or what a caller names).
    pub source: String,
    pub text: String,
}

/// A document (or a whole input) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct DocumentError {
    /// Path, `path:line`, `path:row N` or a document id.
    pub location: String,
    pub problem: String,
}

impl DocumentError {
    /// The document at `location` failed with `error`: its message and its causes', joined.
    pub fn caused_by(location: impl Into<String>, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut problem = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            problem.push_str(": ");
            problem.push_str(&c.to_string());
            cause = c.source();
        }
        Self { location: location.into(), problem }
    }
}

/// What a document source yields: a document, or why one could not be used.
pub type DocumentItem = Result<Document, DocumentError>;

/// `sha256:<hex>` of a text.
pub fn content_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(super::content_hash("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
