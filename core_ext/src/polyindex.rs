//! Point -> cell lookup over a polygon set (the engine of `GridIndex` and of geofences),
//! exact under the on-edge rule of `polygon.rs`.
//!
//! Two levels of uniform buckets cover the cells' bounding box: a coarse table, and for every
//! coarse bucket that some edge touches, an 8 x 8 sub-grid of fine buckets. A bucket (coarse
//! or fine) that no edge touches, with a small safety margin, stores its answer directly.
//! Every other fine bucket stores a record: for each candidate cell, the cell's edges in the
//! half-strip from the bucket's west side eastwards. The ones overlapping the bucket's columns
//! are tested exactly (`orient2d`); the ones wholly east of it are crossed exactly when
//! `ay <= py < by`, so they are stored as a starting parity plus the few breakpoints inside
//! the bucket's row. The crossing count of the eastward ray is therefore the global one, and
//! the answer is exact.
//!
//! Batches run in passes so that the CPU keeps many cache misses in flight: bucket numbers,
//! then coarse-table loads, then sub-grid loads and edge tests for the few points left, each
//! with the next records prefetched.

use std::collections::BTreeSet;

use crate::polygon::{PolygonSet, UpEdge};

/// Margin added around every fine bucket when deciding which edges touch it, as a fraction of
/// the bucket size (covers floating-point error in hashing a point to its bucket).
const MARGIN: f64 = 1.0 / 64.0;
/// log2 of the sub-grid side.
const SUB_SHIFT: u32 = 3;
const SUB: usize = 1 << SUB_SHIFT;
const SUB_MASK: u32 = SUB as u32 - 1;
/// How many records ahead a batch prefetches.
const AHEAD: usize = 16;
/// Points per chunk of a batch (fits the u16 scratch indices; keeps a chunk in L1/L2).
const CHUNK: usize = 4096;

/// Per-batch scratch buffers.
struct Scratch {
    keys: Vec<u32>,
    pending: Vec<u16>,
    records: Vec<u16>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            keys: vec![0; CHUNK],
            pending: vec![0; CHUNK],
            records: vec![0; CHUNK],
        }
    }
}

/// Counts kept for `stats()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildStats {
    pub coarse_mixed: usize,
    pub fine_mixed: usize,
    pub candidates: usize,
    pub local_edges: usize,
    pub breakpoints: usize,
}

/// The lookup structure (pure Rust, no Python).
#[derive(Debug, Clone)]
pub struct PolygonIndex {
    n_cells: usize,
    bounds: [f64; 4],
    /// origin of the bucket grid, inverse fine-bucket size, fine grid size as floats
    ox: f64,
    oy: f64,
    inv_fdx: f64,
    inv_fdy: f64,
    fnx: f64,
    fny: f64,
    /// coarse grid size
    pub nx: usize,
    pub ny: usize,
    /// Coarse table: >= -1 is the answer; <= -2 is sub-grid number `-2 - v`. One extra entry
    /// at the end (-1) serves points outside the grid.
    pub table: Vec<i32>,
    /// Sub-grids, `SUB * SUB` entries each (row-major): >= -1 is the answer; <= -2 is the
    /// record at `blob[-2 - v]`.
    pub sub: Vec<i32>,
    /// Records of fine mixed buckets: `[n_cand]` then per candidate
    /// `[cell | parity0 << 32, n_breaks | n_local << 32, breaks..., (ax, ay, bx, by)...]`,
    /// integers stored as f64 bit patterns.
    pub blob: Vec<f64>,
    pub stats: BuildStats,
    pub n_edges: usize,
}

impl PolygonIndex {
    /// Build over a validated polygon set with about `coarse_buckets` coarse buckets (auto
    /// when None); each coarse bucket that edges touch is refined 8 x 8.
    pub fn build(set: &PolygonSet, coarse_buckets: Option<usize>) -> PolygonIndex {
        let Some([minx, miny, maxx, maxy]) = set.bbox else {
            return PolygonIndex {
                n_cells: set.n_cells,
                bounds: [f64::NAN; 4],
                ox: 0.0,
                oy: 0.0,
                inv_fdx: 0.0,
                inv_fdy: 0.0,
                fnx: 0.0,
                fny: 0.0,
                nx: 1,
                ny: 1,
                table: vec![-1, -1],
                sub: Vec::new(),
                blob: Vec::new(),
                stats: BuildStats::default(),
                n_edges: 0,
            };
        };
        // all segments: (x1, y1, x2, y2, cell)
        let mut segs: Vec<(f64, f64, f64, f64, u32)> = Vec::new();
        for ring in &set.rings {
            for (x1, y1, x2, y2) in ring.segments() {
                segs.push((x1, y1, x2, y2, ring.cell));
            }
        }
        let n_edges = segs.len();
        let target = coarse_buckets
            .unwrap_or_else(|| (n_edges * 8).clamp(256, 1 << 17))
            .max(1);
        // The grid covers the bounding box padded by a hair, so that every point of the box
        // hashes strictly inside the grid despite rounding.
        let pad_x = (maxx - minx).abs().max(minx.abs()).max(1e-300) * 1e-9;
        let pad_y = (maxy - miny).abs().max(miny.abs()).max(1e-300) * 1e-9;
        let (ox, oy) = (minx - pad_x, miny - pad_y);
        let w = maxx + pad_x - ox;
        let h = maxy + pad_y - oy;
        let nx = ((target as f64 * w / h).sqrt().round() as usize).clamp(1, 1 << 12);
        // coarse slots must fit 24 bits (see `locate_chunk`)
        let ny = (target / nx).clamp(1, (1 << 24) / nx - 1);
        let (fnx, fny) = (nx * SUB, ny * SUB);
        let fdx = w / fnx as f64;
        let fdy = h / fny as f64;
        let (mx, my) = (fdx * MARGIN, fdy * MARGIN);
        let col_lo = |ix: usize| ox + ix as f64 * fdx - mx;
        let col_hi = |ix: usize| ox + (ix + 1) as f64 * fdx + mx;
        let row_lo = |iy: usize| oy + iy as f64 * fdy - my;
        let row_hi = |iy: usize| oy + (iy + 1) as f64 * fdy + my;
        let col_of = |x: f64| (((x - ox) / fdx).floor().max(0.0) as usize).min(fnx - 1);
        let row_of = |y: f64| (((y - oy) / fdy).floor().max(0.0) as usize).min(fny - 1);
        let coarse_of = |fb: usize| ((fb / fnx) >> SUB_SHIFT) * nx + ((fb % fnx) >> SUB_SHIFT);
        let sub_pos = |fb: usize| ((fb / fnx) & (SUB - 1)) * SUB + ((fb % fnx) & (SUB - 1));

        // 1. which (fine bucket, cell) pairs an edge touches; (fine row, cell, edge) lists
        let mut touch: Vec<(u32, u32)> = Vec::new();
        let mut row_edges: Vec<(u32, u32, UpEdge)> = Vec::new();
        for &(x1, y1, x2, y2, cell) in &segs {
            let (ylo, yhi) = (y1.min(y2), y1.max(y2));
            let up = UpEdge::new(x1, y1, x2, y2);
            for iy in row_of(ylo - my)..=row_of(yhi + my) {
                let (ry0, ry1) = (row_lo(iy), row_hi(iy));
                if yhi < ry0 || ylo > ry1 {
                    continue;
                }
                // x-extent of the part of the segment inside the row band
                let (xa, xb) = if y1 == y2 {
                    (x1.min(x2), x1.max(x2))
                } else {
                    let t0 = ((ry0 - y1) / (y2 - y1)).clamp(0.0, 1.0);
                    let t1 = ((ry1 - y1) / (y2 - y1)).clamp(0.0, 1.0);
                    let xa = x1 + t0 * (x2 - x1);
                    let xb = x1 + t1 * (x2 - x1);
                    (xa.min(xb), xa.max(xb))
                };
                for ix in col_of(xa - mx)..=col_of(xb + mx) {
                    if xb < col_lo(ix) || xa > col_hi(ix) {
                        continue;
                    }
                    touch.push(((iy * fnx + ix) as u32, cell));
                }
                if let Some(e) = up {
                    if e.by > ry0 && e.ay <= ry1 {
                        row_edges.push((iy as u32, cell, e));
                    }
                }
            }
        }
        touch.sort_unstable();
        touch.dedup();
        row_edges.sort_unstable_by_key(|a| (a.0, a.1));
        let mut row_start = vec![0usize; fny + 1];
        for &(iy, _, _) in &row_edges {
            row_start[iy as usize + 1] += 1;
        }
        for i in 0..fny {
            row_start[i + 1] += row_start[i];
        }

        // 2. coarse buckets holding a touched fine bucket get a sub-grid
        let mut table: Vec<i32> = vec![-1; nx * ny + 1];
        let mut n_sub = 0usize;
        for &(fb, _) in &touch {
            let c = coarse_of(fb as usize);
            if table[c] == -1 {
                table[c] = -2 - n_sub as i32;
                n_sub += 1;
            }
        }
        let mut sub: Vec<i32> = vec![-1; n_sub * SUB * SUB];

        // 3. the cell at every fine bucket's centre, by a sweep along each fine row's centre
        //    line; written into the sub-grid, or into the coarse table for untouched ones.
        //    Where cells overlap, a touched fine bucket also keeps every other cell holding
        //    its centre: a cell whose edges miss the bucket covers all of it, so a point there
        //    may lie in it and not in the lower cell whose edge runs through the bucket.
        let mut centre_cells: Vec<(u32, u32)> = Vec::new(); // (fine bucket, cell), fb order
        {
            let mut rows: Vec<Vec<(f64, u32)>> = vec![Vec::new(); fny];
            for &(x1, y1, x2, y2, cell) in &segs {
                let Some(e) = UpEdge::new(x1, y1, x2, y2) else {
                    continue;
                };
                // rows whose centre line yc satisfies ay <= yc < by
                let first = ((e.ay - oy) / fdy - 0.5).ceil().max(0.0) as usize;
                let mut iy = first.saturating_sub(1);
                while iy < fny {
                    let yc = oy + (iy as f64 + 0.5) * fdy;
                    if yc >= e.by {
                        break;
                    }
                    if e.ay <= yc {
                        let x = e.ax + (yc - e.ay) * (e.bx - e.ax) / (e.by - e.ay);
                        rows[iy].push((x, cell));
                    }
                    iy += 1;
                }
            }
            let mut parity = vec![false; set.n_cells];
            let mut inside: BTreeSet<u32> = BTreeSet::new();
            for (iy, crossings) in rows.iter_mut().enumerate() {
                crossings.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
                let mut k = 0;
                for ix in 0..fnx {
                    let xc = ox + (ix as f64 + 0.5) * fdx;
                    while k < crossings.len() && crossings[k].0 < xc {
                        let c = crossings[k].1 as usize;
                        parity[c] = !parity[c];
                        if parity[c] {
                            inside.insert(c as u32);
                        } else {
                            inside.remove(&(c as u32));
                        }
                        k += 1;
                    }
                    let answer = inside.first().map_or(-1, |&c| c as i32);
                    let fb = iy * fnx + ix;
                    let c = coarse_of(fb);
                    if table[c] <= -2 {
                        sub[(-2 - table[c]) as usize * SUB * SUB + sub_pos(fb)] = answer;
                        for &other in inside.iter().skip(1) {
                            centre_cells.push((fb as u32, other));
                        }
                    } else if answer >= 0 {
                        table[c] = answer;
                    }
                }
                for &(_, c) in crossings.iter() {
                    parity[c as usize] = false;
                }
                inside.clear();
            }
        }

        // 4. records for touched fine buckets: candidates and their half-strip edges
        let mut blob: Vec<f64> = Vec::new();
        let mut stats = BuildStats {
            coarse_mixed: n_sub,
            ..BuildStats::default()
        };
        let bits = f64::from_bits;
        let mut i = 0;
        let mut cells_here: Vec<u32> = Vec::new();
        let mut breaks: Vec<f64> = Vec::new();
        let mut local: Vec<UpEdge> = Vec::new();
        let mut j = 0;
        while i < touch.len() {
            let fb = touch[i].0 as usize;
            cells_here.clear();
            while i < touch.len() && touch[i].0 as usize == fb {
                cells_here.push(touch[i].1);
                i += 1;
            }
            let slot = (-2 - table[coarse_of(fb)]) as usize * SUB * SUB + sub_pos(fb);
            if sub[slot] >= 0 {
                cells_here.push(sub[slot] as u32);
            }
            while j < centre_cells.len() && (centre_cells[j].0 as usize) < fb {
                j += 1;
            }
            while j < centre_cells.len() && centre_cells[j].0 as usize == fb {
                cells_here.push(centre_cells[j].1);
                j += 1;
            }
            cells_here.sort_unstable();
            cells_here.dedup();
            let (iy, ix) = (fb / fnx, fb % fnx);
            let (ry0, ry1) = (row_lo(iy), row_hi(iy));
            let (cx0, cx1) = (col_lo(ix), col_hi(ix));
            let row = &row_edges[row_start[iy]..row_start[iy + 1]];
            let start = blob.len();
            blob.push(bits(cells_here.len() as u64));
            for &cell in &cells_here {
                let lo = row.partition_point(|t| t.1 < cell);
                let hi = row.partition_point(|t| t.1 <= cell);
                let mut parity0 = false;
                breaks.clear();
                local.clear();
                for &(_, _, e) in &row[lo..hi] {
                    if e.ax.max(e.bx) < cx0 {
                        continue; // wholly west of the bucket: never crossed
                    }
                    if e.ax.min(e.bx) > cx1 {
                        // wholly east: crossed iff ay <= py < by
                        if e.ay <= ry0 && ry0 < e.by {
                            parity0 = !parity0;
                        }
                        if ry0 < e.ay && e.ay <= ry1 {
                            breaks.push(e.ay);
                        }
                        if ry0 < e.by && e.by <= ry1 {
                            breaks.push(e.by);
                        }
                    } else {
                        local.push(e);
                    }
                }
                breaks.sort_unstable_by(f64::total_cmp);
                blob.push(bits(cell as u64 | (parity0 as u64) << 32));
                blob.push(bits(breaks.len() as u64 | (local.len() as u64) << 32));
                blob.extend_from_slice(&breaks);
                for e in &local {
                    blob.extend_from_slice(&[e.ax, e.ay, e.bx, e.by]);
                }
                stats.candidates += 1;
                stats.breakpoints += breaks.len();
                stats.local_edges += local.len();
            }
            stats.fine_mixed += 1;
            sub[slot] = -2 - start as i32;
        }
        blob.shrink_to_fit();
        PolygonIndex {
            n_cells: set.n_cells,
            bounds: [minx, miny, maxx, maxy],
            ox,
            oy,
            inv_fdx: 1.0 / fdx,
            inv_fdy: 1.0 / fdy,
            fnx: fnx as f64,
            fny: fny as f64,
            nx,
            ny,
            table,
            sub,
            blob,
            stats,
            n_edges,
        }
    }

    /// Fine bucket coordinates of a point, or None outside the grid (or NaN).
    #[inline(always)]
    fn fine(&self, x: f64, y: f64) -> Option<(u32, u32)> {
        let fx = (x - self.ox) * self.inv_fdx;
        let fy = (y - self.oy) * self.inv_fdy;
        let ok = (fx >= 0.0) & (fx < self.fnx) & (fy >= 0.0) & (fy < self.fny);
        if !ok {
            return None;
        }
        // SAFETY: 0 <= fx < fnx <= 2^15 and 0 <= fy < fny <= 2^15: both truncate into u32.
        Some(unsafe { (fx.to_int_unchecked::<u32>(), fy.to_int_unchecked::<u32>()) })
    }

    /// Coarse-table slot of a point (the trailing "outside" slot when off the grid).
    #[inline(always)]
    fn coarse_slot(&self, x: f64, y: f64) -> usize {
        match self.fine(x, y) {
            Some((ix, iy)) => (iy >> SUB_SHIFT) as usize * self.nx + (ix >> SUB_SHIFT) as usize,
            None => self.nx * self.ny,
        }
    }

    /// Sub-grid entry of a point whose coarse entry `v` is <= -2.
    #[inline(always)]
    fn sub_slot(&self, v: i32, x: f64, y: f64) -> usize {
        let (ix, iy) = self.fine(x, y).unwrap_or((0, 0));
        (-2 - v) as usize * SUB * SUB + ((iy & SUB_MASK) as usize * SUB + (ix & SUB_MASK) as usize)
    }

    /// The coarse-table entry of a point (answer, or sub-grid when <= -2); for tuning.
    #[inline]
    pub fn probe(&self, x: f64, y: f64) -> i32 {
        self.table[self.coarse_slot(x, y)]
    }

    /// The first (lowest-index) cell containing a finite point, or -1.
    #[inline(always)]
    pub fn locate(&self, x: f64, y: f64) -> i32 {
        let v = self.table[self.coarse_slot(x, y)];
        if v >= -1 {
            return v;
        }
        let s = self.sub[self.sub_slot(v, x, y)];
        if s >= -1 {
            return s;
        }
        self.test_record((-2 - s) as usize, x, y)
    }

    /// Exact edge tests of one fine-bucket record.
    #[inline(never)]
    fn test_record(&self, start: usize, x: f64, y: f64) -> i32 {
        let blob = &self.blob[start..];
        let n_cand = blob[0].to_bits() as usize;
        let mut k = 1;
        for _ in 0..n_cand {
            let head = blob[k].to_bits();
            let counts = blob[k + 1].to_bits();
            let (n_breaks, n_local) = ((counts & 0xffff_ffff) as usize, (counts >> 32) as usize);
            k += 2;
            let mut inside = head >> 32 != 0;
            for &b in &blob[k..k + n_breaks] {
                inside ^= b <= y;
            }
            k += n_breaks;
            for e in blob[k..k + 4 * n_local].chunks_exact(4) {
                let edge = UpEdge {
                    ax: e[0],
                    ay: e[1],
                    bx: e[2],
                    by: e[3],
                };
                inside ^= edge.crosses(x, y);
            }
            k += 4 * n_local;
            if inside {
                return (head & 0xffff_ffff) as i32;
            }
        }
        -1
    }

    /// Locate every point; Err(index) at the first non-finite coordinate.
    pub fn locate_into(&self, xs: &[f64], ys: &[f64], out: &mut [i32]) -> Result<(), usize> {
        let mut buf = Scratch::default();
        for (c, ((xs, ys), out)) in xs
            .chunks(CHUNK)
            .zip(ys.chunks(CHUNK))
            .zip(out.chunks_mut(CHUNK))
            .enumerate()
        {
            self.locate_chunk(xs, ys, out, &mut buf)
                .map_err(|i| c * CHUNK + i)?;
        }
        Ok(())
    }

    /// One chunk of `locate_into`, in passes so that many cache misses are in flight and no
    /// branch depends on where a point fell.
    fn locate_chunk(
        &self,
        xs: &[f64],
        ys: &[f64],
        out: &mut [i32],
        buf: &mut Scratch,
    ) -> Result<(), usize> {
        let n = xs.len();
        let keys = &mut buf.keys[..n];
        // pass 1: key = coarse slot | position in the sub-grid << 24
        let outside = (self.nx * self.ny) as u32;
        let mut finite = true;
        for ((&x, &y), k) in xs.iter().zip(ys).zip(keys.iter_mut()) {
            finite &= x.is_finite() & y.is_finite();
            *k = match self.fine(x, y) {
                Some((ix, iy)) => {
                    let slot = (iy >> SUB_SHIFT) * self.nx as u32 + (ix >> SUB_SHIFT);
                    slot | ((iy & SUB_MASK) << SUB_SHIFT | (ix & SUB_MASK)) << 24
                }
                None => outside,
            };
        }
        if !finite {
            return Err(xs
                .iter()
                .zip(ys)
                .position(|(x, y)| !(x.is_finite() && y.is_finite()))
                .unwrap_or(0));
        }
        // pass 2: coarse-table loads; collect the points in refined buckets
        let pending = &mut buf.pending;
        let mut m = 0;
        for (i, (o, &k)) in out.iter_mut().zip(keys.iter()).enumerate() {
            let v = self.table[(k & 0x00ff_ffff) as usize];
            *o = v;
            pending[m] = i as u16;
            m += (v <= -2) as usize;
        }
        // pass 3: sub-grid loads (prefetched ahead); collect the points needing edge tests
        let sub_at = |v: i32, k: u32| (-2 - v) as usize * SUB * SUB + (k >> 24) as usize;
        let records = &mut buf.records;
        let mut r = 0;
        for j in 0..m {
            if j + AHEAD < m {
                let a = pending[j + AHEAD] as usize;
                prefetch_i32(self.sub.as_ptr().wrapping_add(sub_at(out[a], keys[a])));
            }
            let i = pending[j] as usize;
            let s = self.sub[sub_at(out[i], keys[i])];
            out[i] = s;
            records[r] = i as u16;
            r += (s <= -2) as usize;
        }
        // pass 4: exact edge tests, records prefetched ahead
        for j in 0..r {
            if j + AHEAD < r {
                let start = (-2 - out[records[j + AHEAD] as usize]) as usize;
                prefetch_f64(self.blob.as_ptr().wrapping_add(start));
                prefetch_f64(self.blob.as_ptr().wrapping_add(start + 8));
            }
            let i = records[j] as usize;
            out[i] = self.test_record((-2 - out[i]) as usize, xs[i], ys[i]);
        }
        Ok(())
    }

    pub fn n_cells(&self) -> usize {
        self.n_cells
    }

    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let [a, b, c, d] = self.bounds;
        (a, b, c, d)
    }

    /// Bytes held by the lookup tables.
    pub fn bytes(&self) -> usize {
        self.table.len() * 4 + self.sub.len() * 4 + self.blob.len() * 8
    }
}

/// Hint the CPU to fetch the cache line at `p` (no-op on other architectures).
#[inline(always)]
fn prefetch_f64(p: *const f64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn prefetch_i32(p: *const i32) {
    prefetch_f64(p as *const f64)
}
