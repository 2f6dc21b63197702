//! Polygons as flat rings, their validation, and exact geometric predicates.
//!
//! A *polygon set* is a list of cells; each cell is any number of rings (exterior rings and
//! holes of one or more parts). Membership is the even-odd (crossing-number) rule over all of
//! a cell's rings, evaluated exactly with Shewchuk's adaptive `orient2d`.
//!
//! **On-edge rule.** A point exactly on an edge or vertex is treated as the point displaced
//! by an infinitesimal (ε, ε²): it belongs to the cell to its east, and on a horizontal edge
//! to the cell to its north. So every point on an edge shared by two cells of a tessellation
//! belongs to exactly one of them, and a point on the outer boundary of the union belongs to
//! a cell only when the displaced point is inside it. In code: an upward edge (ay < by)
//! counts as a crossing for (px, py) iff `ay <= py < by` and `orient2d(a, b, p) > 0`;
//! horizontal edges never count.

use robust::{orient2d, Coord};

/// A non-horizontal edge, stored upward: `ay < by`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpEdge {
    pub ax: f64,
    pub ay: f64,
    pub bx: f64,
    pub by: f64,
}

impl UpEdge {
    /// The upward form of the segment (x1, y1)-(x2, y2); None if horizontal.
    #[inline]
    pub fn new(x1: f64, y1: f64, x2: f64, y2: f64) -> Option<UpEdge> {
        if y1 < y2 {
            Some(UpEdge {
                ax: x1,
                ay: y1,
                bx: x2,
                by: y2,
            })
        } else if y2 < y1 {
            Some(UpEdge {
                ax: x2,
                ay: y2,
                bx: x1,
                by: y1,
            })
        } else {
            None
        }
    }

    /// Whether the rightward ray from (px, py) crosses this edge under the on-edge rule.
    #[inline(always)]
    pub fn crosses(&self, px: f64, py: f64) -> bool {
        self.ay <= py && py < self.by && orient(self.ax, self.ay, self.bx, self.by, px, py) > 0.0
    }
}

/// Exact sign of the orientation of (a, b, p): > 0 when p is left of a->b.
#[inline(always)]
pub fn orient(ax: f64, ay: f64, bx: f64, by: f64, px: f64, py: f64) -> f64 {
    orient2d(
        Coord { x: ax, y: ay },
        Coord { x: bx, y: by },
        Coord { x: px, y: py },
    )
}

/// One ring of one cell; vertices without the closing repeat or consecutive duplicates.
#[derive(Debug, Clone)]
pub struct Ring {
    pub cell: u32,
    pub pts: Vec<[f64; 2]>,
}

impl Ring {
    /// The ring's edges as (x1, y1, x2, y2), closing edge included.
    pub fn segments(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        let n = self.pts.len();
        (0..n).map(move |i| {
            let a = self.pts[i];
            let b = self.pts[(i + 1) % n];
            (a[0], a[1], b[0], b[1])
        })
    }
}

/// A validated polygon set.
#[derive(Debug, Clone)]
pub struct PolygonSet {
    pub n_cells: usize,
    pub rings: Vec<Ring>,
    /// [minx, miny, maxx, maxy] over all rings (None when there are no rings).
    pub bbox: Option<[f64; 4]>,
}

/// Build a polygon set from flat arrays: `xy` holds (x, y) pairs, ring `r` is
/// `xy[offsets[r]..offsets[r + 1]]` and belongs to cell `ring_cells[r]` (< `n_cells`).
/// Every cell is validated (finite coordinates, rings of at least three distinct vertices with
/// non-zero area, no self-intersection); the first problem is returned as a message.
pub fn build_polygon_set(
    xy: &[f64],
    offsets: &[i64],
    ring_cells: &[i64],
    n_cells: usize,
) -> Result<PolygonSet, String> {
    if xy.len() % 2 != 0 {
        return Err("xy must hold (x, y) pairs".into());
    }
    let npts = xy.len() / 2;
    if offsets.len() != ring_cells.len() + 1 {
        return Err(format!(
            "ring_offsets must have one more entry than ring_cells ({} vs {})",
            offsets.len(),
            ring_cells.len()
        ));
    }
    if offsets.first().copied().unwrap_or(0) != 0
        || offsets.last().copied().unwrap_or(0) as usize != npts
    {
        return Err("ring_offsets must start at 0 and end at the number of points".into());
    }
    let mut rings = Vec::with_capacity(ring_cells.len());
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (r, &cell) in ring_cells.iter().enumerate() {
        if cell < 0 || cell as usize >= n_cells {
            return Err(format!("ring {r} names cell {cell}, outside 0..{n_cells}"));
        }
        let (s, e) = (offsets[r], offsets[r + 1]);
        if s > e || e as usize > npts {
            return Err(format!("ring_offsets are not increasing at ring {r}"));
        }
        let mut pts: Vec<[f64; 2]> = Vec::with_capacity((e - s) as usize);
        for i in s as usize..e as usize {
            let p = [xy[2 * i], xy[2 * i + 1]];
            if !p[0].is_finite() || !p[1].is_finite() {
                return Err(format!(
                    "cell {cell}: coordinates must be finite, got ({}, {}) in ring {r}",
                    p[0], p[1]
                ));
            }
            if pts.last() != Some(&p) {
                pts.push(p);
            }
        }
        while pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            return Err(format!(
                "cell {cell}: ring {r} has fewer than 3 distinct vertices; not a polygon"
            ));
        }
        for p in &pts {
            bbox[0] = bbox[0].min(p[0]);
            bbox[1] = bbox[1].min(p[1]);
            bbox[2] = bbox[2].max(p[0]);
            bbox[3] = bbox[3].max(p[1]);
        }
        rings.push(Ring {
            cell: cell as u32,
            pts,
        });
    }
    let set = PolygonSet {
        n_cells,
        bbox: if rings.is_empty() { None } else { Some(bbox) },
        rings,
    };
    validate(&set)?;
    Ok(set)
}

#[derive(Debug, PartialEq, Eq)]
enum Relation {
    Disjoint,
    Touch,
    Cross,
    Overlap,
}

fn on_segment(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    a[0].min(b[0]) <= p[0]
        && p[0] <= a[0].max(b[0])
        && a[1].min(b[1]) <= p[1]
        && p[1] <= a[1].max(b[1])
}

fn relation(p1: [f64; 2], p2: [f64; 2], q1: [f64; 2], q2: [f64; 2]) -> Relation {
    let o = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| orient(a[0], a[1], b[0], b[1], c[0], c[1]);
    let d1 = o(q1, q2, p1);
    let d2 = o(q1, q2, p2);
    let d3 = o(p1, p2, q1);
    let d4 = o(p1, p2, q2);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return Relation::Cross;
    }
    if d1 == 0.0 && d2 == 0.0 && d3 == 0.0 && d4 == 0.0 {
        // collinear: compare extents along the dominant axis
        let axis = if (p1[0] - p2[0]).abs() + (q1[0] - q2[0]).abs()
            >= (p1[1] - p2[1]).abs() + (q1[1] - q2[1]).abs()
        {
            0
        } else {
            1
        };
        let lo = p1[axis].min(p2[axis]).max(q1[axis].min(q2[axis]));
        let hi = p1[axis].max(p2[axis]).min(q1[axis].max(q2[axis]));
        return if lo < hi {
            Relation::Overlap
        } else if lo == hi {
            Relation::Touch
        } else {
            Relation::Disjoint
        };
    }
    if (d1 == 0.0 && on_segment(q1, q2, p1))
        || (d2 == 0.0 && on_segment(q1, q2, p2))
        || (d3 == 0.0 && on_segment(p1, p2, q1))
        || (d4 == 0.0 && on_segment(p1, p2, q2))
    {
        return Relation::Touch;
    }
    Relation::Disjoint
}

fn ring_area2(pts: &[[f64; 2]]) -> f64 {
    let n = pts.len();
    let (ox, oy) = (pts[0][0], pts[0][1]);
    (0..n)
        .map(|i| {
            let a = pts[i];
            let b = pts[(i + 1) % n];
            (a[0] - ox) * (b[1] - oy) - (b[0] - ox) * (a[1] - oy)
        })
        .sum()
}

/// Check every cell: rings with area, no ring crossing or overlapping itself or another ring of
/// the same cell, no ring touching itself (rings of one cell may touch at single points).
pub fn validate(set: &PolygonSet) -> Result<(), String> {
    // segments grouped by cell: (minx, maxx, ring index, vertex index)
    let mut by_cell: Vec<Vec<(f64, f64, u32, u32)>> = vec![Vec::new(); set.n_cells];
    for (ri, ring) in set.rings.iter().enumerate() {
        let n = ring.pts.len();
        for i in 0..n {
            let a = ring.pts[i];
            let b = ring.pts[(i + 1) % n];
            by_cell[ring.cell as usize].push((a[0].min(b[0]), a[0].max(b[0]), ri as u32, i as u32));
            // spikes: consecutive edges a->b->c folding back on themselves
            let c = ring.pts[(i + 2) % n];
            if orient(a[0], a[1], b[0], b[1], c[0], c[1]) == 0.0
                && (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0.0
            {
                return Err(format!(
                    "cell {}: ring {} folds back on itself at ({}, {}); the polygon is self-intersecting",
                    ring.cell, ri, b[0], b[1]
                ));
            }
        }
    }
    let seg = |ri: u32, i: u32| -> ([f64; 2], [f64; 2]) {
        let pts = &set.rings[ri as usize].pts;
        (pts[i as usize], pts[(i as usize + 1) % pts.len()])
    };
    for (cell, segs) in by_cell.iter_mut().enumerate() {
        segs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut active: Vec<(f64, f64, u32, u32)> = Vec::new();
        for &s in segs.iter() {
            active.retain(|t| t.1 >= s.0);
            let (p1, p2) = seg(s.2, s.3);
            for &t in &active {
                let (q1, q2) = seg(t.2, t.3);
                if p1[1].max(p2[1]) < q1[1].min(q2[1]) || q1[1].max(q2[1]) < p1[1].min(p2[1]) {
                    continue;
                }
                let same_ring = s.2 == t.2;
                let n = set.rings[s.2 as usize].pts.len() as u32;
                let adjacent = same_ring && ((s.3 + 1) % n == t.3 || (t.3 + 1) % n == s.3);
                let rel = relation(p1, p2, q1, q2);
                let bad = match rel {
                    Relation::Disjoint => false,
                    Relation::Cross | Relation::Overlap => true,
                    Relation::Touch => same_ring && !adjacent,
                };
                if bad {
                    let what = if same_ring {
                        "intersects itself"
                    } else {
                        "crosses another ring of the cell"
                    };
                    return Err(format!(
                        "cell {cell}: ring {} {what} near ({}, {}); the polygon is self-intersecting (invalid)",
                        s.2, p1[0], p1[1]
                    ));
                }
            }
            active.push(s);
        }
    }
    for (ri, ring) in set.rings.iter().enumerate() {
        if ring_area2(&ring.pts) == 0.0 {
            return Err(format!(
                "cell {}: ring {} has zero area; not a valid polygon",
                ring.cell, ri
            ));
        }
    }
    Ok(())
}
