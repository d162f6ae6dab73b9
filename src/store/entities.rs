//! The entity graph: the entity index's clusters -> `<base>graph/entities`.
//!
//! Takes: the run log's entity index ([`crate::canon::index`]) after a run's
//! last chunk. Gives: the entity graph, rebuilt whole: for each entity its node (`entity/<canonical key>`, typed
//! `kgx:Entity`), its preferred `rdfs:label`, every other name as
//! `skos:altLabel` and its `kgx:mentionCount`; for each other name key of
//! the entity, that name's node `owl:sameAs` the entity's node, with its
//! own label. Document graphs keep naming the nodes of their own names.
//! Invariants: the graph is a function of the index alone (not of the
//! order documents came in); memory stays bounded (the old graph is
//! removed in batches, the new one goes through the bulk loader), at the
//! price of atomicity: a run killed during the rebuild leaves the graph
//! partial, and the next `kgx extract` (the resume) rebuilds it.

use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedNodeRef, Quad, QuadRef, TermRef};
use oxigraph::store::Store;

use super::vocab::{kgx, owl, rdf, rdfs, skos, xsd, Iris};
use crate::canon::index::{for_each_entity, Clusters, EntityFacts};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Quads removed per transaction, and handed to the bulk loader at a time.
const BATCH: usize = 50_000;

/// Replaces the entity graph with what the index says; returns (entities, names linked to another).
pub fn rebuild(store: &Store, index: &rusqlite::Connection, iris: &Iris) -> Result<(usize, usize), BoxError> {
    let clusters = crate::canon::index::link(index)?;
    let graph = NamedNode::new_unchecked(iris.entity_graph());
    clear(store, graph.as_ref())?;
    // The bulk loader spills sorted runs to disk and ingests them at commit, atomically.
    let mut loader = store.bulk_loader().with_num_threads(1).with_max_memory_size_in_megabytes(128);
    let mut entities = 0;
    let mut quads: Vec<Quad> = Vec::new();
    for_each_entity(index, &clusters, |f| {
        entities += 1;
        entity_quads(&f, iris, graph.as_ref(), &mut quads);
        if quads.len() >= BATCH {
            loader.load_quads(quads.drain(..))?;
        }
        Ok(())
    })?;
    loader.load_quads(quads)?;
    loader.commit()?;
    Ok((entities, linked_names(&clusters)))
}

/// Empties `graph` a batch of quads per transaction, so memory stays
/// bounded however large the graph (the rebuild is not atomic: a run killed
/// here leaves the graph partial until the next run rebuilds it).
fn clear(store: &Store, graph: NamedNodeRef<'_>) -> Result<(), BoxError> {
    loop {
        let batch: Vec<Quad> = store.quads_for_pattern(None, None, None, Some(graph.into())).take(BATCH).collect::<Result<_, _>>()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = store.start_transaction()?;
        for q in &batch {
            tx.remove(q.as_ref());
        }
        tx.commit()?;
    }
}

fn linked_names(clusters: &Clusters) -> usize {
    clusters.canonical.iter().filter(|(k, c)| k != c).count()
}

fn entity_quads(f: &EntityFacts, iris: &Iris, graph: NamedNodeRef<'_>, out: &mut Vec<Quad>) {
    let mut add = |s: NamedNodeRef<'_>, p: NamedNodeRef<'_>, o: TermRef<'_>| {
        out.push(QuadRef::new(s, p, o, GraphNameRef::NamedNode(graph)).into_owned())
    };
    let e = NamedNode::new_unchecked(iris.entity(&f.key));
    let e = e.as_ref();
    add(e, rdf::TYPE, kgx::ENTITY.into());
    add(e, rdfs::LABEL, Literal::new_simple_literal(&f.label).as_ref().into());
    for other in &f.other_names {
        add(e, skos::ALT_LABEL, Literal::new_simple_literal(other).as_ref().into());
    }
    add(e, kgx::MENTION_COUNT, Literal::new_typed_literal(f.mentions.to_string(), xsd::INTEGER).as_ref().into());
    for (key, label) in &f.same_as {
        let n = NamedNode::new_unchecked(iris.entity(key));
        add(n.as_ref(), owl::SAME_AS, e.into());
        add(n.as_ref(), rdfs::LABEL, Literal::new_simple_literal(label).as_ref().into());
    }
}
