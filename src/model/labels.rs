//! The model's labels: which label id plays which role.
//!
//! Takes: the manifest's label list. Gives: [`Roles`], the ids of O, SRC,
//! REL and TGT. Invariants: all four are present, or the model is refused
//! when it loads.

/// Label ids of the three roles in the model's label list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub outside: usize,
    pub source: usize,
    pub relation: usize,
    pub target: usize,
}

/// A role's label is not in the model's label list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label {name} missing from model labels {labels:?}")]
pub struct MissingLabel {
    pub name: &'static str,
    pub labels: Vec<String>,
}

impl Roles {
    /// Finds O, SRC, REL and TGT in a label list.
    pub fn from_labels(labels: &[String]) -> Result<Self, MissingLabel> {
        let find = |name: &'static str| labels.iter().position(|l| l == name).ok_or_else(|| MissingLabel { name, labels: labels.to_vec() });
        Ok(Self { outside: find("O")?, source: find("SRC")?, relation: find("REL")?, target: find("TGT")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_found_by_name_or_the_missing_one_is_named() {
        let labels: Vec<String> = ["O", "TGT", "REL", "SRC"].map(String::from).to_vec();
        assert_eq!(Roles::from_labels(&labels), Ok(Roles { outside: 0, source: 3, relation: 2, target: 1 }));
        assert_eq!(Roles::from_labels(&labels[..3]).unwrap_err().name, "SRC");
    }
}
