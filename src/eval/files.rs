//! The TSV files of `kgx eval`: gold tuples (CaRB or OIE2016 layout) and
//! extractions (CaRB's input layout), read with the csv crate (tabs, no
//! quoting), and extractions written back.
//!
//! Invariants: blank lines are skipped; a malformed line is an error that
//! names the file and the line; sentences keep their text as written.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::carb::{OieTuple, Prediction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldFormat {
    Carb,
    Oie2016,
    /// GAP coreference (scored by [`super::gap`], not as Open IE tuples).
    Gap,
    /// CESI noun-phrase canonicalization (scored by [`super::cesi`]).
    Cesi,
}

crate::choice::choices!(GoldFormat {
    Carb => "carb", "`SENTENCE \\t RELATION \\t ARG1 \\t ARG2 ...`";
    Oie2016 => "oie2016", "`SENTENCE \\t PREDICATE-HEAD \\t FULL-PREDICATE \\t ARG1 \\t ARG2 ...`";
    Gap => "gap", "GAP coreference TSV (ID, Text, Pronoun, Pronoun-offset, A, A-offset, A-coref, B, B-offset, B-coref, URL)";
    Cesi => "cesi", "CESI canonicalization JSON lines (`triple`, `true_link.subject`), scored per subject phrase";
});

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: csv::Error },
    #[error("cannot read {path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {problem}")]
    Format { path: PathBuf, line: u64, problem: String },
}

/// Gold tuples by sentence, and the sentences in file order.
pub struct Gold {
    pub sentences: Vec<String>,
    pub tuples: HashMap<String, Vec<OieTuple>>,
}

/// The non-blank lines of a TSV file as (line number, fields).
fn tsv_lines(path: &Path) -> Result<Vec<(u64, csv::StringRecord)>, EvalError> {
    let read_error = |source| EvalError::Read { path: path.to_path_buf(), source };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(b'\t').quoting(false).has_headers(false).flexible(true).from_path(path).map_err(read_error)?;
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(read_error)?;
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        lines.push((record.position().map_or(0, |p| p.line()), record));
    }
    Ok(lines)
}

pub fn read_gold(path: &Path, format: GoldFormat) -> Result<Gold, EvalError> {
    let mut gold = Gold { sentences: Vec::new(), tuples: HashMap::new() };
    for (line, cols) in tsv_lines(path)? {
        let (relation, first_arg) = match (format, cols.len()) {
            (GoldFormat::Carb, n) if n >= 3 => (&cols[1], 2),
            (GoldFormat::Oie2016, n) if n >= 4 => (&cols[2], 3),
            (GoldFormat::Gap | GoldFormat::Cesi, _) => {
                let problem = "a GAP or CESI file is not Open IE tuples (see eval::gap, eval::cesi)".to_string();
                return Err(EvalError::Format { path: path.to_path_buf(), line, problem });
            }
            _ => {
                return Err(EvalError::Format {
                    path: path.to_path_buf(),
                    line,
                    problem: format!("expected a sentence, a relation and arguments, found {} columns", cols.len()),
                })
            }
        };
        let sentence = cols[0].to_string();
        if !gold.tuples.contains_key(&sentence) {
            gold.sentences.push(sentence.clone());
        }
        let args = cols.iter().skip(first_arg).filter(|a| !a.trim().is_empty()).map(str::to_string).collect();
        gold.tuples.entry(sentence).or_default().push(OieTuple { relation: relation.to_string(), args });
    }
    Ok(gold)
}

/// Reads CaRB's input TSV: `SENTENCE \t CONFIDENCE \t RELATION \t ARG1 \t ARG2 ...`.
pub fn read_extractions(path: &Path) -> Result<HashMap<String, Vec<Prediction>>, EvalError> {
    let mut out: HashMap<String, Vec<Prediction>> = HashMap::new();
    for (line, cols) in tsv_lines(path)? {
        let bad = |problem: String| EvalError::Format { path: path.to_path_buf(), line, problem };
        if cols.len() < 4 {
            return Err(bad(format!("expected sentence, confidence, relation, arguments; found {} columns", cols.len())));
        }
        let confidence: f64 = cols[1].trim().parse().map_err(|_| bad(format!("confidence {:?} is not a number", &cols[1])))?;
        let tuple = OieTuple { relation: cols[2].to_string(), args: cols.iter().skip(3).map(str::to_string).collect() };
        out.entry(cols[0].to_string()).or_default().push(Prediction { tuple, confidence });
    }
    Ok(out)
}

/// Writes CaRB's input TSV, one extraction a line; tabs and newlines inside fields become spaces.
pub fn write_carb_rows(rows: &[[String; 5]], out: &mut dyn Write) -> std::io::Result<()> {
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n', '\r'], " ")).collect();
        writeln!(out, "{}", cells.join("\t"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_lines_keep_quotes_skip_blanks_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gold.tsv");
        std::fs::write(&path, "He said \"hi\" .\tsaid\tHe\t\"hi\"\n\n   \nX y .\ty\tX\t\t\r\n").unwrap();
        let gold = read_gold(&path, GoldFormat::Carb).unwrap();
        assert_eq!(gold.sentences, vec!["He said \"hi\" .", "X y ."]);
        assert_eq!(gold.tuples["He said \"hi\" ."][0].args, vec!["He", "\"hi\""]);
        assert_eq!(gold.tuples["X y ."][0].args, vec!["X"]);
        std::fs::write(&path, "A b .\tb\tA\tc\nno tabs here\n").unwrap();
        match read_gold(&path, GoldFormat::Carb) {
            Err(EvalError::Format { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a format error, got {:?}", other.map(|g| g.sentences)),
        }
    }
}
