//! One process per store: an advisory `flock` on `DIR/kgx.lock` (std's
//! `File::try_lock`).
//!
//! Takes: a store directory. Gives: a guard held for the process's work on
//! the store; the lock file names the holder (pid and command) so that a
//! refused process can say who holds it.
//! Invariants: the lock is released when the guard drops or the process
//! dies (the kernel drops `flock`s), so a killed run never leaves a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::StoreError;

pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock or fails at once naming the holder.
    pub fn acquire(dir: &Path, command: &str) -> Result<Self, StoreError> {
        let path = dir.join("kgx.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(dir, format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = if holder.trim().is_empty() { "holder unknown".to_string() } else { holder.trim().to_string() };
                return Err(StoreError::Locked { dir: dir.to_path_buf(), holder });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(dir, format!("cannot lock {}", path.display()), e)),
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "pid {} (kgx {command})", std::process::id());
        let _ = file.flush();
        Ok(Self { _file: file })
    }
}

/// The process id in a holder text that [`StoreLock::acquire`] wrote.
pub fn holder_pid(holder: &str) -> Option<u32> {
    holder.strip_prefix("pid ")?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let _first = StoreLock::acquire(dir.path(), "extract").unwrap();
        // flock locks belong to open file descriptions, so a second open in
        // the same process conflicts like another process would.
        match StoreLock::acquire(dir.path(), "query") {
            Err(StoreError::Locked { holder, .. }) => assert_eq!(holder_pid(&holder), Some(std::process::id()), "{holder}"),
            other => panic!("expected Locked, got {:?}", other.err()),
        }
    }
}
