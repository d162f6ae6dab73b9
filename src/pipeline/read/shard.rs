//! Shards (pure): which documents one of N processes takes.
//!
//! Takes: `--shard I/N` (I from 0) or `auto` (the index and count from a
//! cluster scheduler's environment). Gives: a [`Shard`] that owns a
//! document when the first 8 bytes of SHA-256 of its id, read as a
//! big-endian u64, are I modulo N ([`shard_of`]).
//! Invariants: the hash depends on the id alone (not on the machine, the
//! input order or the process), so N processes over the same inputs take
//! every document exactly once; an unusable input is reported by the shard
//! that owns its location, so by exactly one.

use sha2::{Digest, Sha256};

/// One shard of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// Environment variables `--shard auto` reads, in order: Kubernetes Indexed
/// Jobs give `JOB_COMPLETION_INDEX` (the count is the Job's `completions`,
/// passed as `KGX_SHARD_COUNT`); Slurm job arrays give `SLURM_ARRAY_TASK_ID`,
/// `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT`.
pub const AUTO_VARIABLES: &str = "JOB_COMPLETION_INDEX + KGX_SHARD_COUNT, or SLURM_ARRAY_TASK_ID + SLURM_ARRAY_TASK_COUNT";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("--shard {0:?}: expected I/N with 0 <= I < N (e.g. 0/4), or auto")]
    Syntax(String),
    #[error("--shard auto: none of {AUTO_VARIABLES} is set")]
    NoScheduler,
    #[error("--shard auto: {name}={value:?} is not a usable number")]
    Variable { name: &'static str, value: String },
}

/// The shard a document id falls in, of `count`.
pub fn shard_of(id: &str, count: u64) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % count.max(1)
}

impl Shard {
    /// Parses `I/N` or `auto` (`env` reads a variable).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ShardError> {
        if text == "auto" {
            return Self::from_env(env);
        }
        Self::explicit(text)
    }

    /// Parses `I/N`.
    fn explicit(text: &str) -> Result<Self, ShardError> {
        let syntax = || ShardError::Syntax(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(syntax)?;
        let (index, count) = (i.trim().parse::<u64>().map_err(|_| syntax())?, n.trim().parse::<u64>().map_err(|_| syntax())?);
        if count == 0 || index >= count {
            return Err(syntax());
        }
        Ok(Self { index, count })
    }

    fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ShardError> {
        let number = |name: &'static str| -> Result<Option<u64>, ShardError> {
            env(name).map(|value| value.trim().parse::<u64>().map_err(|_| ShardError::Variable { name, value })).transpose()
        };
        let (index, count) = if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            (index, number("KGX_SHARD_COUNT")?.ok_or(ShardError::NoScheduler)?)
        } else if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = task.checked_sub(min).ok_or(ShardError::Variable { name: "SLURM_ARRAY_TASK_ID", value: task.to_string() })?;
            (index, number("SLURM_ARRAY_TASK_COUNT")?.ok_or(ShardError::NoScheduler)?)
        } else {
            return Err(ShardError::NoScheduler);
        };
        Self::explicit(&format!("{index}/{count}"))
    }

    /// Whether this shard takes the document (or unusable input) named `id`.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn every_id_falls_in_exactly_one_shard_and_the_split_is_even() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        let mut sizes = [0usize; 3];
        for i in 0..3000 {
            let id = format!("doc-{i}");
            let owners: Vec<usize> = (0..3).filter(|&s| shards[s].owns(&id)).collect();
            assert_eq!(owners.len(), 1);
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| (900..=1100).contains(&n)), "{sizes:?}");
        // Pinned: the hash is part of the data format (shards made today must agree with shards made later).
        // SHA-256("a") opens ca978112 ca1bbdca.
        assert_eq!(shard_of("a", 1 << 32), 0xca1b_bdca);
    }

    #[test]
    fn parses_explicit_and_scheduler_shards() {
        let none = env(&[]);
        assert_eq!(Shard::parse("2/4", &none), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(matches!(Shard::parse(bad, &none), Err(ShardError::Syntax(_))), "{bad}");
        }
        assert_eq!(Shard::parse("auto", &none), Err(ShardError::NoScheduler));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3"), ("KGX_SHARD_COUNT", "8")]);
        assert_eq!(Shard::parse("auto", &k8s), Ok(Shard { index: 3, count: 8 }));
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "10")]);
        assert_eq!(Shard::parse("auto", &slurm), Ok(Shard { index: 4, count: 10 }));
        let k8s_without_count = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(Shard::parse("auto", &k8s_without_count), Err(ShardError::NoScheduler));
    }
}
