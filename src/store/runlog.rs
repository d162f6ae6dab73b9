//! The run log: a SQLite database of runs and documents (`DIR/runlog.sqlite`).
//!
//! Takes: run starts and ends, committed chunks and failed documents.
//! Gives: `runs` (id, model, device, provider, start/end, counts, status)
//! and `documents` (id, source, content hash, status, counts, run, error)
//! for `kgx stats` and for people asking what happened; and the entity
//! index ([`crate::canon::index`]), each document's names written in the
//! transaction that lists the document.
//! Invariants: written after the RDF store commits, so it never claims a
//! document the store lacks; a run left `running` by a killed process is
//! marked `killed` by the next writer (which holds the store lock).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use crate::pipeline::StoredCheck;

use super::{RunInfo, StoreError};
use crate::pipeline::{DocumentError, ExtractedDocument};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, precision TEXT NOT NULL, device TEXT NOT NULL,
  provider TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL,
  documents INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0, sentences INTEGER NOT NULL DEFAULT 0,
  triples INTEGER NOT NULL DEFAULT 0, command TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, content_hash TEXT, status TEXT NOT NULL,
  sentences INTEGER NOT NULL DEFAULT 0, triples INTEGER NOT NULL DEFAULT 0,
  run_id TEXT NOT NULL, updated_at TEXT NOT NULL, error TEXT
);
";

/// Final counts of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCounts {
    pub documents: usize,
    pub skipped: usize,
    pub failed: usize,
    pub sentences: usize,
    pub triples: usize,
}

/// A run as listed by `kgx stats`.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    pub model: String,
    pub precision: String,
    pub provider: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub status: String,
    pub counts: RunCounts,
}

pub struct RunLog {
    conn: Connection,
    path: PathBuf,
}

impl RunLog {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("runlog.sqlite");
        let err = |source| StoreError::RunLog { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(crate::canon::index::SCHEMA).map_err(err)?;
        Ok(Self { conn, path })
    }

    /// The database, for the entity index's pass ([`crate::canon::index`]).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Copies another run log's runs, documents and entity-index rows (a
    /// document's rows replacing any the target holds); returns its documents.
    pub fn absorb(&self, other: &Path) -> Result<usize, StoreError> {
        let err = |source| StoreError::RunLog { path: other.to_path_buf(), source };
        let conn = self.connection();
        conn.execute("ATTACH DATABASE ?1 AS shard", params![other.to_string_lossy()]).map_err(err)?;
        let copied = conn
            .execute_batch(
                "BEGIN;
                 INSERT OR IGNORE INTO runs SELECT * FROM shard.runs;
                 INSERT OR REPLACE INTO documents SELECT * FROM shard.documents;
                 DELETE FROM entity_names WHERE document IN (SELECT DISTINCT document FROM shard.entity_names);
                 INSERT INTO entity_names SELECT * FROM shard.entity_names;
                 INSERT OR IGNORE INTO entity_blocks SELECT * FROM shard.entity_blocks;
                 COMMIT;",
            )
            .and_then(|()| conn.query_row("SELECT COUNT(*) FROM shard.documents", [], |r| r.get::<_, i64>(0)));
        let detached = conn.execute("DETACH DATABASE shard", []);
        let n = copied.map_err(err)?;
        detached.map_err(err)?;
        Ok(n as usize)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::RunLog { path: self.path.clone(), source }
    }

    /// Marks runs a dead process left `running` as `killed`; returns how many.
    pub fn mark_stale_runs(&self) -> Result<usize, StoreError> {
        let now = crate::timestamp::now_rfc3339();
        self.conn
            .execute("UPDATE runs SET status = 'killed', ended_at = ?1 WHERE status = 'running'", params![now])
            .map_err(|e| self.err(e))
    }

    pub fn start_run(&self, run: &RunInfo, command: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (id, model, precision, device, provider, started_at, status, command) VALUES (?1, ?2, ?3, \
                    ?4, ?5, ?6, 'running', ?7)",
                params![run.id, run.model_name, run.precision, run.device, run.provider, run.started_at, command],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a chunk and the run's progress in one transaction, once the
    /// chunk is committed elsewhere: writes the chunk's rows, then asks
    /// `committed` (which may wait for the RDF commit that runs meanwhile)
    /// for the run's counts with the chunk, and commits the transaction
    /// only when it gives them (None: the chunk was not committed, and
    /// nothing is recorded). Returns whether it recorded the chunk.
    pub fn record_chunk(
        &mut self,
        run_id: &str,
        chunk: &[ExtractedDocument],
        committed: impl FnOnce() -> Option<RunCounts>,
    ) -> Result<bool, StoreError> {
        let now = crate::timestamp::now_rfc3339();
        let path = self.path.clone();
        let err = |source| StoreError::RunLog { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO documents (id, source, content_hash, status, sentences, triples, run_id, updated_at, error)
                     VALUES (?1, ?2, ?3, 'stored', ?4, ?5, ?6, ?7, NULL)
                     ON CONFLICT(id) DO UPDATE SET source = excluded.source, content_hash = excluded.content_hash,
                       status = 'stored', sentences = excluded.sentences, triples = excluded.triples,
                       run_id = excluded.run_id, updated_at = excluded.updated_at, error = NULL",
                )
                .map_err(err)?;
            for d in chunk {
                upsert
                    .execute(params![
                        d.document.id,
                        d.document.source,
                        d.content_hash,
                        d.sentence_count as i64,
                        d.triple_count() as i64,
                        run_id,
                        now
                    ])
                    .map_err(err)?;
                crate::canon::index::record_document(&tx, &d.document.id, &crate::canon::names_of(d)).map_err(err)?;
            }
        }
        let Some(counts) = committed() else { return Ok(false) };
        Self::update_counts(&tx, run_id, counts).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    fn update_counts(conn: &Connection, run_id: &str, c: RunCounts) -> rusqlite::Result<usize> {
        conn.execute(
            "UPDATE runs SET documents = ?2, skipped = ?3, failed = ?4, sentences = ?5, triples = ?6 WHERE id = ?1",
            params![run_id, c.documents as i64, c.skipped as i64, c.failed as i64, c.sentences as i64, c.triples as i64],
        )
    }

    /// Records documents that failed (they stay retryable: no hash stored).
    pub fn record_failures(&mut self, run_id: &str, failures: &[DocumentError]) -> Result<(), StoreError> {
        let now = crate::timestamp::now_rfc3339();
        for f in failures {
            self.conn
                .execute(
                    "INSERT INTO documents (id, source, content_hash, status, run_id, updated_at, error)
                     VALUES (?1, ?1, NULL, 'failed', ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET status = CASE WHEN documents.status = 'stored' THEN 'stored' ELSE 'failed' END,
                       run_id = excluded.run_id, updated_at = excluded.updated_at, error = excluded.error",
                    params![f.location, run_id, now, f.problem],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// A check, usable from another thread (it opens a connection of its
    /// own), of whether the log lists a document as stored with this hash.
    /// Reading the log instead of the RDF store keeps RocksDB's block cache
    /// out of the per-document path: a new document costs one indexed
    /// SQLite lookup.
    pub fn listed_check(&self) -> Result<StoredCheck<StoreError>, StoreError> {
        let conn =
            Connection::open_with_flags(&self.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| self.err(e))?;
        let path = self.path.clone();
        let err = move |source| StoreError::RunLog { path: path.clone(), source };
        Ok(Box::new(move |id, hash| {
            let mut stmt =
                conn.prepare_cached("SELECT 1 FROM documents WHERE id = ?1 AND content_hash = ?2 AND status = 'stored'").map_err(&err)?;
            stmt.exists(params![id, hash]).map_err(&err)
        }))
    }

    pub fn finish_run(&self, run_id: &str, status: &str, counts: RunCounts) -> Result<(), StoreError> {
        let now = crate::timestamp::now_rfc3339();
        Self::update_counts(&self.conn, run_id, counts).map_err(|e| self.err(e))?;
        self.conn
            .execute("UPDATE runs SET status = ?2, ended_at = ?3 WHERE id = ?1", params![run_id, status, now])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, model, precision, provider, started_at, ended_at, status, documents, skipped, failed, \
                sentences, triples FROM runs ORDER BY started_at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    model: r.get(1)?,
                    precision: r.get(2)?,
                    provider: r.get(3)?,
                    started_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    status: r.get(6)?,
                    counts: RunCounts {
                        documents: r.get::<_, i64>(7)? as usize,
                        skipped: r.get::<_, i64>(8)? as usize,
                        failed: r.get::<_, i64>(9)? as usize,
                        sentences: r.get::<_, i64>(10)? as usize,
                        triples: r.get::<_, i64>(11)? as usize,
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Document;

    fn document(id: &str) -> ExtractedDocument {
        ExtractedDocument {
            document: Document { id: id.into(), source: "test".into(), text: "Ann met Bob.".into() },
            content_hash: crate::pipeline::content_hash("Ann met Bob."),
            sentences: Vec::new(),
            sentence_count: 1,
            entities: Default::default(),
        }
    }

    fn run_info() -> RunInfo {
        let text = |s: &str| s.to_string();
        RunInfo {
            id: text("r1"),
            started_at: text("2026-12-07T00:00:00Z"),
            model_name: text("m"),
            precision: text("fp32"),
            device: text("cpu"),
            provider: text("CPUExecutionProvider"),
            coreference: None,
        }
    }

    #[test]
    fn a_chunk_whose_rdf_commit_failed_leaves_no_trace_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(dir.path()).unwrap();
        log.start_run(&run_info(), "test").unwrap();
        let chunk = [document("a"), document("b")];
        assert!(!log.record_chunk("r1", &chunk, || None).unwrap());
        let listed = |log: &RunLog| -> i64 { log.conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0)).unwrap() };
        assert_eq!(listed(&log), 0);
        let counts = RunCounts { documents: 2, sentences: 2, ..RunCounts::default() };
        assert!(log.record_chunk("r1", &chunk, || Some(counts)).unwrap());
        assert_eq!(listed(&log), 2);
        let documents: i64 = log.conn.query_row("SELECT documents FROM runs WHERE id = 'r1'", [], |r| r.get(0)).unwrap();
        assert_eq!(documents, 2);
    }
}
