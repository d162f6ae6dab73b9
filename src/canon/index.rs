//! The entity index (SQLite): which names the stored documents used, and
//! which of them name one entity.
//!
//! Takes: each stored document's names ([`NameMention`]: a surface form and
//! how many extraction arguments named it), written in the transaction that
//! records the document in the run log. Gives: [`link`], the pass that
//! decides which name keys are one entity ([`Clusters`]), and
//! [`for_each_entity`], the entity-level facts (preferred label, other
//! names, mention counts) that [`super::graph`] writes.
//! Invariants: a document's rows are replaced whole, so a rerun, a resume or
//! a changed document never counts a mention twice; the link decision for
//! a short name depends only on the set of names stored (a short name joins
//! the one longer name it is an alias of, and none when it could be the
//! alias of two), never on the order they came in; the pass keeps only the
//! linked names in memory and streams everything else from disk.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::unionfind::UnionFind;

use rusqlite::{params, Connection, OptionalExtension};

use super::name::name;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entity_names (
  document TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL, mentions INTEGER NOT NULL,
  PRIMARY KEY (document, key, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_names_by_key ON entity_names (key, label);
CREATE TABLE IF NOT EXISTS entity_blocks (
  block TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL,
  PRIMARY KEY (block, key, label)
) WITHOUT ROWID;
";

/// A name a document used for one of its entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMention {
    /// The surface form.
    pub label: String,
    /// Extraction arguments of the document that named the entity by it
    /// (0 for another name of the entity that no argument used).
    pub mentions: usize,
    /// The key of the entity it names (that of its preferred name), when
    /// that differs from the label's own.
    pub entity: Option<String>,
}

/// Replaces what the index holds for `document` with `names`.
pub fn record_document(conn: &Connection, document: &str, names: &[NameMention]) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM entity_names WHERE document = ?1")?.execute(params![document])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO entity_names (document, key, label, mentions) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (document, key, label) DO UPDATE SET mentions = mentions + excluded.mentions",
    )?;
    let mut block = conn.prepare_cached("INSERT OR IGNORE INTO entity_blocks (block, key, label) VALUES (?1, ?2, ?3)")?;
    for m in names {
        let Some(n) = name(&m.label) else { continue };
        let key = m.entity.clone().unwrap_or_else(|| n.key());
        insert.execute(params![document, key, m.label, m.mentions as i64])?;
        if m.mentions > 0 && m.entity.is_none() {
            for b in n.blocks() {
                block.execute(params![b, key, m.label])?;
            }
        }
    }
    Ok(())
}

/// Which name keys are one entity: each linked key's canonical key (the
/// cluster's key with the most words, then the smallest); a key not listed
/// is an entity of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clusters {
    pub canonical: BTreeMap<String, String>,
}

impl Clusters {
    pub fn canonical<'k>(&'k self, key: &'k str) -> &'k str {
        self.canonical.get(key).map_or(key, String::as_str)
    }
}

/// The pass: links every stored name key that is the alias of exactly one
/// longer stored name (through a block of that name whose label still has
/// mentions), and closes the links into clusters.
pub fn link(conn: &Connection) -> rusqlite::Result<Clusters> {
    let mut candidates = conn.prepare_cached(
        "SELECT DISTINCT b.key FROM entity_blocks b WHERE b.block = ?1 AND b.key != ?2
           AND EXISTS (SELECT 1 FROM entity_names m WHERE m.key = b.key AND m.label = b.label AND m.mentions > 0)
         ORDER BY b.key LIMIT 2",
    )?;
    // A name some argument wrote capitalised (ASCII capitals: "Fuel", "Content management system").
    let mut exists = conn.prepare_cached("SELECT 1 FROM entity_names WHERE key = ?1 AND mentions > 0 AND label GLOB '[A-Z]*' LIMIT 1")?;
    let mut links: Vec<(String, String)> = Vec::new();
    for_each_key(conn, |key, labels| {
        let used: Vec<String> = labels.into_iter().filter(|(_, m)| *m > 0).map(|(l, _)| l).collect();
        if let Some(only) = alias_of(&key, &used, &mut candidates, &mut exists)? {
            links.push((key, only));
        }
        Ok::<_, rusqlite::Error>(())
    })?;
    // Union-find over the linked keys; each cluster's canonical key has the most words, then is the smallest.
    let keys: Vec<&String> = links.iter().flat_map(|(a, b)| [a, b]).collect::<BTreeSet<_>>().into_iter().collect();
    let at = |k: &String| keys.binary_search(&k).unwrap_or_default();
    let mut sets = UnionFind::<usize>::new(keys.len());
    for (a, b) in &links {
        sets.union(at(a), at(b));
    }
    let mut members: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        members.entry(sets.find(i)).or_default().push(k);
    }
    let mut canonical = BTreeMap::new();
    for keys in members.into_values() {
        let words = |k: &&String| k.split(' ').count();
        let best = keys.iter().max_by(|a, b| words(a).cmp(&words(b)).then_with(|| b.cmp(a))).map(|k| k.to_string()).unwrap_or_default();
        for k in keys {
            canonical.insert(k.clone(), best.clone());
        }
    }
    Ok(Clusters { canonical })
}

/// Calls `f` with each stored key (in key order) and its surface forms with
/// their mentions over every document (sorted), one key at a time from disk.
fn for_each_key<E: From<rusqlite::Error>>(
    conn: &Connection,
    mut f: impl FnMut(String, Vec<(String, u64)>) -> Result<(), E>,
) -> Result<(), E> {
    let mut stmt = conn.prepare(
        "SELECT key, json_group_array(json_array(label, mentions)) FROM
           (SELECT key, label, SUM(mentions) AS mentions FROM entity_names GROUP BY key, label)
         GROUP BY key ORDER BY key",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let json: String = row.get(1)?;
        let mut labels: Vec<(String, u64)> = serde_json::from_str(&json)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
        labels.sort();
        f(key, labels)?;
    }
    Ok(())
}

/// The one longer name a key is an alias of, if exactly one: looked up by
/// an argument's capitalised spelling of it (an acronym's initials first),
/// so a common noun ("school", "the band") is never an alias.
fn alias_of(
    key: &str,
    labels: &[String],
    candidates: &mut rusqlite::CachedStatement<'_>,
    exists: &mut rusqlite::CachedStatement<'_>,
) -> rusqlite::Result<Option<String>> {
    let names: Vec<_> = labels.iter().filter_map(|l| name(l)).collect();
    let Some(lookup) = names.iter().find(|n| n.acronym).or_else(|| names.iter().find(|n| n.capitalised.first() == Some(&true))) else {
        return Ok(None);
    };
    let mut found: Vec<String> = Vec::new();
    // "Content Management Systems" is another spelling of a capitalised "Content management system".
    if let Some(singular) = names.iter().find_map(|n| n.singular.clone()) {
        if exists.query_row(params![singular], |_| Ok(())).optional()?.is_some() {
            found.push(singular);
        }
    }
    for block in lookup.lookups() {
        let mut c = candidates.query(params![block, key])?;
        while let Some(r) = c.next()? {
            let k: String = r.get(0)?;
            if !found.contains(&k) {
                found.push(k);
            }
        }
    }
    Ok(match found.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    })
}

/// What the graph says about one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFacts {
    /// Its key (the canonical key of its cluster).
    pub key: String,
    /// The surface form most arguments used (then the longest, then the smallest).
    pub label: String,
    /// Every other surface form of its names.
    pub other_names: Vec<String>,
    /// Extraction arguments that named it, over every document.
    pub mentions: u64,
    /// The keys of its other names, each a node `owl:sameAs` it.
    pub same_as: Vec<(String, String)>,
}

/// Streams every entity's facts in key order of its names: an entity of one
/// key as its rows are read, a linked cluster once all its keys are read.
pub fn for_each_entity(
    conn: &Connection,
    clusters: &Clusters,
    mut emit: impl FnMut(EntityFacts) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The linked clusters, gathered as their keys come (canonical key -> key -> labels).
    let mut linked: BTreeMap<String, BTreeMap<String, Vec<(String, u64)>>> = BTreeMap::new();
    for_each_key(conn, |key, labels| {
        if clusters.canonical.contains_key(&key) {
            linked.entry(clusters.canonical(&key).to_string()).or_default().insert(key, labels);
            Ok(())
        } else if labels.iter().any(|(_, m)| *m > 0) {
            emit(facts(key, BTreeMap::from([(String::new(), labels)])))
        } else {
            Ok(())
        }
    })?;
    for (canonical, keys) in linked {
        let mut f = facts(canonical.clone(), keys.clone());
        f.same_as = keys.keys().filter(|k| **k != canonical).map(|k| (k.clone(), label_of(&keys[k]))).collect();
        emit(f)?;
    }
    Ok(())
}

/// The preferred label among (label, mentions) pairs.
fn label_of(labels: &[(String, u64)]) -> String {
    labels
        .iter()
        .max_by(|a, b| {
            a.1.cmp(&b.1).then_with(|| a.0.split_whitespace().count().cmp(&b.0.split_whitespace().count())).then_with(|| b.0.cmp(&a.0))
        })
        .map(|(l, _)| l.clone())
        .unwrap_or_default()
}

fn facts(key: String, keys: BTreeMap<String, Vec<(String, u64)>>) -> EntityFacts {
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for (label, m) in keys.values().flatten() {
        *totals.entry(label.clone()).or_default() += m;
    }
    let all: Vec<(String, u64)> = totals.into_iter().collect();
    let label = label_of(&all);
    let mentions = all.iter().map(|(_, m)| m).sum();
    let other_names = all.into_iter().map(|(l, _)| l).filter(|l| *l != label).collect();
    EntityFacts { key, label, other_names, mentions, same_as: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn
    }

    fn mention(label: &str, mentions: usize) -> NameMention {
        NameMention { label: label.into(), mentions, entity: None }
    }

    fn record(conn: &Connection, document: &str, labels: &[&str]) {
        let names: Vec<_> = labels.iter().map(|l| mention(l, 1)).collect();
        record_document(conn, document, &names).unwrap();
    }

    fn entities(conn: &Connection) -> Vec<EntityFacts> {
        let clusters = link(conn).unwrap();
        let mut out = Vec::new();
        for_each_entity(conn, &clusters, |f| {
            out.push(f);
            Ok(())
        })
        .unwrap();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    #[test]
    fn a_surname_joins_its_one_full_name_whatever_the_order() {
        let documents =
            [("a", vec!["Marie Curie", "Paris"]), ("b", vec!["Curie"]), ("c", vec!["IBM"]), ("d", vec!["International Business Machines"])];
        let mut seen: Option<Clusters> = None;
        for rotation in 0..documents.len() {
            let conn = index();
            for (doc, labels) in documents.iter().cycle().skip(rotation).take(documents.len()) {
                record(&conn, doc, labels);
            }
            let clusters = link(&conn).unwrap();
            assert_eq!(clusters.canonical("curie"), "marie curie");
            assert_eq!(clusters.canonical("ibm"), "international business machines");
            assert_eq!(clusters.canonical("paris"), "paris");
            if let Some(first) = &seen {
                assert_eq!(first, &clusters, "order changed the clusters");
            }
            seen = Some(clusters);
        }
    }

    #[test]
    fn a_name_two_longer_names_share_joins_neither() {
        let conn = index();
        record(&conn, "a", &["Marie Curie"]);
        record(&conn, "b", &["Curie"]);
        assert_eq!(link(&conn).unwrap().canonical("curie"), "marie curie");
        record(&conn, "c", &["Pierre Curie"]);
        let clusters = link(&conn).unwrap();
        assert_eq!(clusters.canonical("curie"), "curie");
        assert!(clusters.canonical.is_empty(), "{clusters:?}");
    }

    #[test]
    fn a_lower_case_common_noun_is_never_an_alias() {
        let conn = index();
        record(&conn, "a", &["New Trier High School"]);
        record(&conn, "b", &["school", "the school"]);
        assert_eq!(link(&conn).unwrap().canonical("school"), "school");
    }

    #[test]
    fn replacing_a_document_replaces_its_names_and_counts() {
        let conn = index();
        record(&conn, "a", &["Marie Curie", "Marie Curie"]);
        record(&conn, "b", &["Curie"]);
        let e = entities(&conn);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].label.as_str(), e[0].mentions), ("Marie Curie", 3));
        assert_eq!(e[0].other_names, vec!["Curie"]);
        assert_eq!(e[0].same_as, vec![("curie".to_string(), "Curie".to_string())]);
        // Document a now names someone else: Curie stays alone, and nothing is counted twice.
        record(&conn, "a", &["Ada Lovelace"]);
        record(&conn, "a", &["Ada Lovelace"]);
        let e = entities(&conn);
        let summary: Vec<_> = e.iter().map(|f| (f.key.as_str(), f.mentions, f.same_as.len())).collect();
        assert_eq!(summary, vec![("ada lovelace", 1, 0), ("curie", 1, 0)]);
    }

    #[test]
    fn a_documents_other_names_for_an_entity_are_kept_as_its_names() {
        let conn = index();
        let names = [
            mention("Nicholas Rogers", 2),
            NameMention { label: "Nick Rogers".into(), mentions: 0, entity: Some("nicholas rogers".into()) },
        ];
        record_document(&conn, "a", &names).unwrap();
        let e = entities(&conn);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].other_names, vec!["Nick Rogers"]);
        assert_eq!(e[0].mentions, 2);
    }
}
