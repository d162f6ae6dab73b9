//! Committed states for readers while `kgx extract` writes: the writer
//! publishes a checkpoint of the RDF store; `query`, `export`, `stats` and
//! `eval`, finding the store locked by that writer, read the newest one.
//!
//! Takes: the writer's open Oxigraph store (publishing) or a store
//! directory (reading). Gives: `DIR/snapshots/N/`, a RocksDB checkpoint
//! (hard links to the immutable table files: no copy), and
//! `DIR/snapshots/CURRENT` naming the newest (N, the writer's pid, when it
//! was published, documents committed by then); a reader gets that store
//! opened read-only and holds a shared `flock` on `N.lock` while it reads.
//! Invariants: a snapshot is taken between commits, so it holds whole
//! chunks (never part of a document), and is never written after it is
//! published (Oxigraph's read-only opening is defined for it); snapshots
//! only grow older, so answers read in turn never go back in time; the
//! writer deletes a snapshot only when it gets the exclusive lock (no
//! reader holds it), and a reader that lost the race to a deletion takes
//! the newer one; a snapshot counts only while the process that published
//! it holds the store's lock (one left by a killed writer is never read,
//! and the next writer deletes it).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oxigraph::store::Store;

use super::StoreError;

const DIR: &str = "snapshots";
const CURRENT: &str = "CURRENT";

/// The writer's side: publishes snapshots and deletes old ones.
pub struct Publisher {
    dir: PathBuf,
    every: Duration,
    last: Option<Instant>,
    sequence: u64,
}

/// What `CURRENT` says about the newest snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub sequence: u64,
    pub pid: u32,
    pub published_at: String,
    pub documents: usize,
}

/// A snapshot opened for reading; the shared lock keeps the writer from
/// deleting it until this drops.
pub struct OpenSnapshot {
    pub store: Store,
    pub info: SnapshotInfo,
    _lock: File,
}

impl Publisher {
    /// For the writer of the store in `store_dir` (holding its lock):
    /// deletes every snapshot an earlier writer left that no reader holds.
    /// `every`: the least time between two snapshots; zero publishes none.
    pub fn new(store_dir: &Path, every: Duration) -> Result<Self, StoreError> {
        let dir = store_dir.join(DIR);
        let sequence = if dir.is_dir() { existing(&dir)?.into_iter().max().unwrap_or(0) } else { 0 };
        let publisher = Self { dir, every, last: None, sequence };
        publisher.prune(None)?;
        Ok(publisher)
    }

    /// Publishes the store's committed state when `every` has passed since
    /// the last one (or none was published yet by this writer).
    pub fn maybe_publish(&mut self, store: &Store, documents: usize) -> Result<bool, StoreError> {
        if self.every.is_zero() || self.last.is_some_and(|t| t.elapsed() < self.every) {
            return Ok(false);
        }
        self.publish(store, documents)?;
        Ok(true)
    }

    fn publish(&mut self, store: &Store, documents: usize) -> Result<(), StoreError> {
        let err = |action: String, e| StoreError::io(&self.dir, action, e);
        std::fs::create_dir_all(&self.dir).map_err(|e| err("cannot create the snapshot directory".into(), e))?;
        let sequence = self.sequence + 1;
        let staging = self.dir.join(format!("{sequence}.tmp"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| err(format!("cannot remove {}", staging.display()), e))?;
        }
        store.backup(&staging).map_err(|e| StoreError::rdf(&self.dir, e))?;
        File::create(self.dir.join(format!("{sequence}.lock"))).map_err(|e| err("cannot create a snapshot lock".into(), e))?;
        std::fs::rename(&staging, self.dir.join(sequence.to_string())).map_err(|e| err("cannot publish a snapshot".into(), e))?;
        let info = SnapshotInfo { sequence, pid: std::process::id(), published_at: crate::timestamp::now_rfc3339(), documents };
        let temporary = self.dir.join("CURRENT.tmp");
        std::fs::write(&temporary, format!("{}\t{}\t{}\t{}\n", info.sequence, info.pid, info.published_at, info.documents))
            .map_err(|e| err("cannot write CURRENT.tmp".into(), e))?;
        std::fs::rename(&temporary, self.dir.join(CURRENT)).map_err(|e| err("cannot write CURRENT".into(), e))?;
        self.sequence = sequence;
        self.last = Some(Instant::now());
        self.prune(Some(sequence))
    }

    /// Deletes the snapshots other than `keep` that no reader holds.
    fn prune(&self, keep: Option<u64>) -> Result<(), StoreError> {
        if !self.dir.is_dir() {
            return Ok(());
        }
        if keep.is_none() {
            let _ = std::fs::remove_file(self.dir.join(CURRENT));
        }
        for sequence in existing(&self.dir)? {
            if Some(sequence) == keep {
                continue;
            }
            let lock_path = self.dir.join(format!("{sequence}.lock"));
            let Ok(lock) = OpenOptions::new().write(true).open(&lock_path) else { continue };
            match lock.try_lock() {
                Ok(()) => {
                    let snapshot = self.dir.join(sequence.to_string());
                    std::fs::remove_dir_all(&snapshot)
                        .or_else(|e| if snapshot.exists() { Err(e) } else { Ok(()) })
                        .map_err(|e| StoreError::io(&self.dir, format!("cannot delete snapshot {}", snapshot.display()), e))?;
                    let _ = std::fs::remove_file(&lock_path);
                }
                Err(TryLockError::WouldBlock) => {} // a reader is on it: the next prune
                Err(TryLockError::Error(e)) => return Err(StoreError::io(&self.dir, format!("cannot lock {}", lock_path.display()), e)),
            }
        }
        Ok(())
    }

    /// At the end of the run: deletes every snapshot no reader holds (the
    /// store itself is readable once the lock goes).
    pub fn retire(&self) -> Result<(), StoreError> {
        self.prune(None)
    }
}

/// Sequence numbers of the published snapshots in `dir`.
fn existing(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, "cannot list snapshots", e))?;
    Ok(entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.split('.').next()?.parse().ok())
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect())
}

fn read_current(dir: &Path) -> Option<SnapshotInfo> {
    let text = std::fs::read_to_string(dir.join(CURRENT)).ok()?;
    let mut fields = text.trim_end().split('\t');
    Some(SnapshotInfo {
        sequence: fields.next()?.parse().ok()?,
        pid: fields.next()?.parse().ok()?,
        published_at: fields.next()?.to_string(),
        documents: fields.next()?.parse().ok()?,
    })
}

/// The newest snapshot of the store in `store_dir`, published by the
/// process `writer_pid` (the one holding the store's lock), opened
/// read-only; None when that process has published none.
pub fn open_newest(store_dir: &Path, writer_pid: u32) -> Result<Option<OpenSnapshot>, StoreError> {
    let dir = store_dir.join(DIR);
    // Each retry follows a deletion that won a race with this reader; the
    // writer deletes only after publishing a newer snapshot.
    for _ in 0..20 {
        let Some(info) = read_current(&dir) else { return Ok(None) };
        if info.pid != writer_pid {
            return Ok(None);
        }
        let Ok(lock) = File::open(dir.join(format!("{}.lock", info.sequence))) else { continue };
        lock.lock_shared().map_err(|e| StoreError::io(&dir, "cannot lock a snapshot", e))?;
        let path = dir.join(info.sequence.to_string());
        if !path.is_dir() {
            continue;
        }
        let store = Store::open_read_only(&path).map_err(|e| StoreError::rdf(store_dir, e))?;
        return Ok(Some(OpenSnapshot { store, info, _lock: lock }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{GraphNameRef, NamedNodeRef, QuadRef};

    fn add(store: &Store, i: usize) {
        let s = format!("http://e/{i}");
        let p = NamedNodeRef::new_unchecked("http://e/p");
        store.insert(QuadRef::new(NamedNodeRef::new_unchecked(&s), p, p, GraphNameRef::DefaultGraph)).unwrap();
    }

    #[test]
    fn a_reader_sees_the_state_published_and_keeps_it_while_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("oxigraph")).unwrap();
        let mut publisher = Publisher::new(dir.path(), Duration::from_secs(3600)).unwrap();
        assert!(open_newest(dir.path(), std::process::id()).unwrap().is_none(), "nothing published yet");
        add(&store, 1);
        assert!(publisher.maybe_publish(&store, 1).unwrap());
        add(&store, 2);
        assert!(!publisher.maybe_publish(&store, 2).unwrap(), "an hour has not passed");
        let first = open_newest(dir.path(), std::process::id()).unwrap().unwrap();
        assert_eq!((first.info.sequence, first.info.documents, first.store.len().unwrap()), (1, 1, 1));
        // A newer snapshot; the one being read survives the prune.
        publisher.publish(&store, 2).unwrap();
        assert!(dir.path().join("snapshots/1").is_dir());
        let second = open_newest(dir.path(), std::process::id()).unwrap().unwrap();
        assert_eq!((second.info.sequence, second.store.len().unwrap()), (2, 2));
        assert_eq!(first.store.len().unwrap(), 1);
        drop(first);
        publisher.publish(&store, 2).unwrap();
        assert!(!dir.path().join("snapshots/1").exists(), "released snapshots are deleted");
        drop(second);
        publisher.retire().unwrap();
        assert_eq!(existing(&dir.path().join("snapshots")).unwrap(), Vec::<u64>::new());
        assert!(open_newest(dir.path(), std::process::id()).unwrap().is_none());
    }

    #[test]
    fn a_snapshot_of_another_process_is_never_read_and_the_next_writer_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("oxigraph")).unwrap();
        let mut publisher = Publisher::new(dir.path(), Duration::ZERO).unwrap();
        assert!(!publisher.maybe_publish(&store, 0).unwrap(), "zero publishes nothing");
        publisher.every = Duration::from_secs(1);
        publisher.maybe_publish(&store, 0).unwrap();
        assert!(open_newest(dir.path(), std::process::id() + 1).unwrap().is_none(), "published by another pid");
        let next = Publisher::new(dir.path(), Duration::from_secs(1)).unwrap();
        assert_eq!(next.sequence, 1, "sequence numbers go on");
        assert!(existing(&dir.path().join("snapshots")).unwrap().is_empty());
    }
}
