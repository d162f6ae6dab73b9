//! The push log: what each SPARQL server last acknowledged of this store's
//! graphs (`push_log` in the run log's database).
//!
//! Takes: graphs about to be sent (marked in flight), acknowledgements
//! (graph -> content hash) and deletions. Gives: for a server, a graph's
//! acknowledged hash, and the graphs the server may hold.
//! Invariants: a graph is marked in flight (hash NULL) and committed before
//! its request leaves, and gets its hash only after the server acknowledged
//! it; so after a kill at any point, every graph the server may hold from
//! this store is listed, and no graph is listed as acknowledged with
//! content the server does not hold.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS push_log (
  target TEXT NOT NULL, graph TEXT NOT NULL, hash TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (target, graph)
) WITHOUT ROWID;
";

/// One server's rows of the push log (`target`: its graph-store or update URL).
pub struct PushLog<'c> {
    conn: &'c Connection,
    target: String,
    path: std::path::PathBuf,
}

impl<'c> PushLog<'c> {
    pub fn new(conn: &'c Connection, target: &str) -> Result<Self, StoreError> {
        let path = conn.path().map(std::path::PathBuf::from).unwrap_or_default();
        conn.execute_batch(SCHEMA).map_err(|source| StoreError::RunLog { path: path.clone(), source })?;
        Ok(Self { conn, target: target.to_string(), path })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::RunLog { path: self.path.clone(), source }
    }

    /// The hash the server acknowledged for `graph`; None if never, or if a send is in flight.
    pub fn acknowledged(&self, graph: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT hash FROM push_log WHERE target = ?1 AND graph = ?2")
            .and_then(|mut s| s.query_row(params![self.target, graph], |r| r.get::<_, Option<String>>(0)).optional())
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Marks graphs as in flight (committed before their request is sent).
    pub fn mark_in_flight<'a>(&self, graphs: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let now = crate::timestamp::now_rfc3339();
        for graph in graphs {
            tx.prepare_cached("INSERT OR REPLACE INTO push_log (target, graph, hash, updated_at) VALUES (?1, ?2, NULL, ?3)")
                .and_then(|mut s| s.execute(params![self.target, graph, now]))
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Records what the server acknowledged: `Some(hash)` sent, `None` deleted.
    pub fn acknowledge<'a>(&self, acks: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let now = crate::timestamp::now_rfc3339();
        for (graph, hash) in acks {
            let result = match hash {
                Some(hash) => tx
                    .prepare_cached("INSERT OR REPLACE INTO push_log (target, graph, hash, updated_at) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| s.execute(params![self.target, graph, hash, now])),
                None => tx
                    .prepare_cached("DELETE FROM push_log WHERE target = ?1 AND graph = ?2")
                    .and_then(|mut s| s.execute(params![self.target, graph])),
            };
            result.map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The graphs listed for this server, in order, `page` at a time after `after`.
    pub fn graphs_after(&self, after: &str, page: usize) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT graph FROM push_log WHERE target = ?1 AND graph > ?2 ORDER BY graph LIMIT ?3")
            .and_then(|mut s| s.query_map(params![self.target, after, page as i64], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_in_flight_is_listed_but_not_acknowledged_until_the_server_says_so() {
        let conn = Connection::open_in_memory().unwrap();
        let log = PushLog::new(&conn, "http://a/store").unwrap();
        let other = PushLog::new(&conn, "http://b/store").unwrap();
        log.mark_in_flight(["urn:g1", "urn:g2"]).unwrap();
        assert_eq!(log.acknowledged("urn:g1").unwrap(), None);
        assert_eq!(log.graphs_after("", 10).unwrap(), ["urn:g1", "urn:g2"]);
        log.acknowledge([("urn:g1", Some("h1"))]).unwrap();
        assert_eq!(log.acknowledged("urn:g1").unwrap().as_deref(), Some("h1"));
        // Sending g1 again: in flight until acknowledged, its old hash forgotten.
        log.mark_in_flight(["urn:g1"]).unwrap();
        assert_eq!(log.acknowledged("urn:g1").unwrap(), None);
        log.acknowledge([("urn:g2", None)]).unwrap();
        assert_eq!(log.graphs_after("", 10).unwrap(), ["urn:g1"]);
        assert_eq!(log.graphs_after("urn:g1", 10).unwrap(), Vec::<String>::new());
        assert!(other.graphs_after("", 10).unwrap().is_empty(), "servers are kept apart");
    }
}
