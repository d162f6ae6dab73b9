//! Node positions for the HTML view: a force-directed layout of each
//! connected component, the components packed in rows apart from each other.
//!
//! Takes: the number of nodes and the edges (pairs of node indices). Gives:
//! an (x, y) per node, in the page's pixels at zoom 1.
//! Invariants: deterministic: a fixed seed, sums always taken in node
//! order (no hash-map iteration), so the same graph always draws the same
//! picture; components' boxes never overlap ([`GAP`] between them); each
//! iteration costs O(nodes + edges): repulsion only between nodes in
//! neighbouring cells of a grid (Fruchterman and Reingold's grid variant).

use std::collections::HashMap;

/// The length an edge settles to.
pub const EDGE_LENGTH: f64 = 60.0;
/// The space between two components' boxes.
pub const GAP: f64 = 1.5 * EDGE_LENGTH;
const SEED: u64 = 0x6b67_785f_6c61_796f;

/// Positions for nodes `0..n` joined by `edges`.
pub fn layout(n: usize, edges: &[(usize, usize)]) -> Vec<(f64, f64)> {
    let mut positions = vec![(0.0, 0.0); n];
    let mut boxes = Vec::new();
    for members in components(n, edges) {
        let local = component_layout(&members, edges);
        let (min_x, min_y, max_x, max_y) = bounds(&local);
        boxes.push((members, local, max_x - min_x, max_y - min_y, min_x, min_y));
    }
    let area: f64 = boxes.iter().map(|b| (b.2 + GAP) * (b.3 + GAP)).sum();
    let widest = boxes.iter().map(|b| b.2 + GAP).fold(0.0, f64::max);
    let row_width = (area.sqrt() * 1.2).max(widest);
    let (mut x, mut y, mut row_height) = (0.0, 0.0, 0.0_f64);
    for (members, local, width, height, min_x, min_y) in boxes {
        if x > 0.0 && x + width > row_width {
            (x, y, row_height) = (0.0, y + row_height + GAP, 0.0);
        }
        for (&node, &(lx, ly)) in members.iter().zip(&local) {
            positions[node] = (x + lx - min_x, y + ly - min_y);
        }
        x += width + GAP;
        row_height = row_height.max(height);
    }
    positions
}

/// Connected components (edges undirected), each's members ascending; the
/// largest first, ties by smallest member.
fn components(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in edges {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        by_root.entry(root).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    groups
}

fn bounds(points: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    points.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)))
}

/// splitmix64: a small, fixed pseudo-random sequence.
fn unit_random(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Fruchterman-Reingold on one component (`members` ascending), with
/// repulsion cut off beyond two edge lengths (a grid of that cell size).
fn component_layout(members: &[usize], edges: &[(usize, usize)]) -> Vec<(f64, f64)> {
    let n = members.len();
    if n == 1 {
        return vec![(0.0, 0.0)];
    }
    let local: HashMap<usize, usize> = members.iter().enumerate().map(|(i, &m)| (m, i)).collect();
    let links: Vec<(usize, usize)> =
        edges.iter().filter_map(|(a, b)| Some((*local.get(a)?, *local.get(b)?))).filter(|(a, b)| a != b).collect();
    let k = EDGE_LENGTH;
    let side = (n as f64).sqrt() * k * 1.5;
    let mut state = SEED ^ (members[0] as u64);
    let mut pos: Vec<(f64, f64)> = (0..n).map(|_| (unit_random(&mut state) * side, unit_random(&mut state) * side)).collect();
    let iterations = (2_000_000 / (n + links.len())).clamp(60, 300);
    let cell = 2.0 * k;
    for step in 0..iterations {
        let temperature = side / 8.0 * (1.0 - step as f64 / iterations as f64) + 0.5;
        let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let cell_of = |(x, y): (f64, f64)| ((x / cell).floor() as i64, (y / cell).floor() as i64);
        for (i, &p) in pos.iter().enumerate() {
            grid.entry(cell_of(p)).or_default().push(i);
        }
        let mut shift = vec![(0.0, 0.0); n];
        for i in 0..n {
            let (cx, cy) = cell_of(pos[i]);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for &j in grid.get(&(cx + dx, cy + dy)).map_or(&[][..], |v| v.as_slice()) {
                        if j == i {
                            continue;
                        }
                        let (mut ddx, mut ddy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
                        let mut d2 = ddx * ddx + ddy * ddy;
                        if d2 < 1e-6 {
                            // Coincident nodes: push apart along a fixed, index-given direction.
                            let angle = (i * 7 + j * 13) as f64;
                            (ddx, ddy, d2) = (angle.cos() * 0.01, angle.sin() * 0.01, 1e-4);
                        }
                        if d2 < cell * cell {
                            let force = k * k / d2;
                            shift[i].0 += ddx * force;
                            shift[i].1 += ddy * force;
                        }
                    }
                }
            }
        }
        for &(a, b) in &links {
            let (dx, dy) = (pos[a].0 - pos[b].0, pos[a].1 - pos[b].1);
            let d = (dx * dx + dy * dy).sqrt().max(1e-3);
            let force = d / k;
            shift[a].0 -= dx * force;
            shift[a].1 -= dy * force;
            shift[b].0 += dx * force;
            shift[b].1 += dy * force;
        }
        for (p, (sx, sy)) in pos.iter_mut().zip(&shift) {
            let length = (sx * sx + sy * sy).sqrt();
            if length > 0.0 {
                let moved = length.min(temperature);
                p.0 += sx / length * moved;
                p.1 += sy / length * moved;
            }
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(offset: usize, n: usize) -> Vec<(usize, usize)> {
        (0..n).map(|i| (offset + i, offset + (i + 1) % n)).collect()
    }

    #[test]
    fn the_same_graph_gets_the_same_positions() {
        let mut edges = ring(0, 40);
        edges.extend(ring(40, 7));
        edges.push((3, 17));
        let first = layout(60, &edges);
        assert_eq!(first, layout(60, &edges));
        assert!(first.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
    }

    #[test]
    fn components_lie_apart_and_edges_come_out_near_their_length() {
        let mut edges = ring(0, 30);
        edges.extend(ring(30, 12));
        edges.extend([(42, 43), (44, 45)]);
        let pos = layout(50, &edges);
        let groups = components(50, &edges);
        assert_eq!(groups.len(), 50 - 30 - 12 - 2 + 1 + 1, "30-ring, 12-ring, two pairs, four single nodes");
        let boxes: Vec<_> = groups.iter().map(|g| bounds(&g.iter().map(|&i| pos[i]).collect::<Vec<_>>())).collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart = a.2 + GAP * 0.99 <= b.0 || b.2 + GAP * 0.99 <= a.0 || a.3 + GAP * 0.99 <= b.1 || b.3 + GAP * 0.99 <= a.1;
                assert!(apart, "boxes {a:?} and {b:?} overlap");
            }
        }
        let lengths: Vec<f64> =
            edges.iter().map(|&(a, b)| ((pos[a].0 - pos[b].0).powi(2) + (pos[a].1 - pos[b].1).powi(2)).sqrt()).collect();
        let mean = lengths.iter().sum::<f64>() / lengths.len() as f64;
        assert!((0.3 * EDGE_LENGTH..3.0 * EDGE_LENGTH).contains(&mean), "mean edge length {mean}");
    }

    #[test]
    fn no_nodes_and_self_loops_are_fine() {
        assert!(layout(0, &[]).is_empty());
        assert_eq!(layout(1, &[(0, 0)]), vec![(0.0, 0.0)]);
    }
}
