//! `PointIndex`: moving points (inspectors, vehicles) with attributes, nearest / within.
//!
//! Points live on the unit sphere as 3-D vectors; distances are ranked by the chord length
//! (monotonic in the great-circle distance) and reported in metres as `2 R asin(chord / 2)`.
//! A uniform 3-D grid over the points is rebuilt lazily (one counting sort, O(n)) on the first
//! query after points moved, so a batch of moves costs O(1) each. Ties are broken by the
//! order in which ids were first inserted.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use rustc_hash::FxHashMap;

use crate::geodesy::EARTH_RADIUS_M;
use crate::keys::{keys_from_py, Key};
use crate::util::{coord_error, require_lonlat, require_lonlats, same_len, slice};

/// Unit vector of a (lon, lat) position in degrees.
#[inline]
pub fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    let c = la.cos();
    [c * lo.cos(), c * lo.sin(), la.sin()]
}

#[inline(always)]
fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (dx, dy, dz) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dx * dx + dy * dy + dz * dz
}

/// Great-circle metres from a squared chord of the unit sphere.
#[inline]
pub fn chord2_to_m(c2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (c2.sqrt() / 2.0).min(1.0).asin()
}

/// Which points a query accepts.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub on_duty: Option<bool>,
    /// accepted category numbers (None: any)
    pub categories: Option<Vec<u32>>,
}

impl Filter {
    #[inline(always)]
    fn accepts(&self, on_duty: bool, category: u32) -> bool {
        self.on_duty.is_none_or(|d| d == on_duty)
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.contains(&category))
    }
}

/// A point as the grid stores it, in cell order (for locality).
#[derive(Debug, Clone, Copy)]
struct Entry {
    xyz: [f64; 3],
    seq: u64,
    slot: u32,
    category: u32,
    on_duty: bool,
}

/// A uniform 2-D grid over the points projected onto the tangent plane at their centroid.
/// Orthogonal projection never lengthens a distance, so a point `r` grid rings away is at
/// least `(r - 1) * cell` away along the chord: the bounds used to stop searches are exact.
#[derive(Debug, Clone)]
struct Grid {
    e1: [f64; 3],
    e2: [f64; 3],
    origin: [f64; 2],
    inv: f64,
    cell: f64,
    dims: [usize; 2],
    start: Vec<u32>,
    entries: Vec<Entry>,
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalized(a: [f64; 3]) -> Option<[f64; 3]> {
    let n = dot(&a, &a).sqrt();
    (n > 1e-12).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

impl Grid {
    #[inline(always)]
    fn project(&self, p: &[f64; 3]) -> [f64; 2] {
        [dot(p, &self.e1), dot(p, &self.e2)]
    }

    /// Grid cell of a projected point, clamped into the grid.
    #[inline(always)]
    fn cell_of(&self, uv: [f64; 2]) -> [i64; 2] {
        [0, 1].map(|d| {
            (((uv[d] - self.origin[d]) * self.inv).floor() as i64).clamp(0, self.dims[d] as i64 - 1)
        })
    }

    /// Visit the cells at Chebyshev distance exactly `r` from `c`.
    #[inline]
    fn ring(&self, c: [i64; 2], r: i64, mut f: impl FnMut(&[Entry])) {
        let (nx, ny) = (self.dims[0] as i64, self.dims[1] as i64);
        let x0 = (c[0] - r).max(0);
        let x1 = (c[0] + r).min(nx - 1);
        let mut row = |y: i64, xa: i64, xb: i64| {
            if y >= 0 && y < ny && xa <= xb {
                let base = (y * nx) as usize;
                let s = self.start[base + xa as usize] as usize;
                let e = self.start[base + xb as usize + 1] as usize;
                f(&self.entries[s..e]);
            }
        };
        if r == 0 {
            row(c[1], c[0], c[0]);
            return;
        }
        row(c[1] - r, x0, x1);
        row(c[1] + r, x0, x1);
        for y in (c[1] - r + 1).max(0)..=(c[1] + r - 1).min(ny - 1) {
            if c[0] - r >= 0 {
                row(y, c[0] - r, c[0] - r);
            }
            if c[0] + r < nx {
                row(y, c[0] + r, c[0] + r);
            }
        }
    }

    fn max_ring(&self) -> i64 {
        self.dims[0].max(self.dims[1]) as i64
    }
}

/// A candidate: (squared chord, insertion sequence, slot), ordered for a max-heap of the best.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cand(f64, u64, u32);

impl Eq for Cand {}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The moving-point store (pure Rust).
#[derive(Debug, Default, Clone)]
pub struct Points {
    slots: FxHashMap<Key, u32>,
    keys: Vec<Option<Key>>,
    lonlat: Vec<[f64; 2]>,
    xyz: Vec<[f64; 3]>,
    on_duty: Vec<bool>,
    category: Vec<u32>,
    seq: Vec<u64>,
    free: Vec<u32>,
    next_seq: u64,
    pub category_ids: FxHashMap<String, u32>,
    pub category_names: Vec<String>,
    grid: Option<Grid>,
}

impl Points {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn category_id(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.category_ids.get(name) {
            return c;
        }
        let c = self.category_names.len() as u32;
        self.category_names.push(name.to_owned());
        self.category_ids.insert(name.to_owned(), c);
        c
    }

    pub fn upsert(&mut self, key: Key, lon: f64, lat: f64, on_duty: bool, category: u32) {
        let slot = match self.slots.get(&key) {
            Some(&s) => s as usize,
            None => {
                let s = match self.free.pop() {
                    Some(s) => s as usize,
                    None => {
                        self.keys.push(None);
                        self.lonlat.push([0.0; 2]);
                        self.xyz.push([0.0; 3]);
                        self.on_duty.push(false);
                        self.category.push(0);
                        self.seq.push(0);
                        self.keys.len() - 1
                    }
                };
                self.keys[s] = Some(key.clone());
                self.seq[s] = self.next_seq;
                self.next_seq += 1;
                self.slots.insert(key, s as u32);
                s
            }
        };
        self.lonlat[slot] = [lon, lat];
        self.xyz[slot] = unit_vector(lon, lat);
        self.on_duty[slot] = on_duty;
        self.category[slot] = category;
        self.grid = None;
    }

    pub fn slot(&self, key: &Key) -> Option<usize> {
        self.slots.get(key).map(|&s| s as usize)
    }

    pub fn move_slot(&mut self, slot: usize, lon: f64, lat: f64) {
        self.lonlat[slot] = [lon, lat];
        self.xyz[slot] = unit_vector(lon, lat);
        self.grid = None;
    }

    pub fn remove(&mut self, key: &Key) -> bool {
        match self.slots.remove(key) {
            Some(s) => {
                self.keys[s as usize] = None;
                self.free.push(s);
                self.grid = None;
                true
            }
            None => false,
        }
    }

    fn ensure_grid(&mut self) {
        if self.grid.is_some() {
            return;
        }
        let live: Vec<u32> = (0..self.keys.len() as u32)
            .filter(|&s| self.keys[s as usize].is_some())
            .collect();
        let mut sum = [0.0; 3];
        for &s in &live {
            for (d, v) in sum.iter_mut().enumerate() {
                *v += self.xyz[s as usize][d];
            }
        }
        let centre = normalized(sum).unwrap_or([0.0, 0.0, 1.0]);
        let e1 = normalized(cross(&centre, &[0.0, 0.0, 1.0]))
            .or_else(|| normalized(cross(&centre, &[1.0, 0.0, 0.0])))
            .expect("a unit vector is not parallel to both axes");
        let e2 = cross(&centre, &e1);
        let mut grid = Grid {
            e1,
            e2,
            origin: [0.0; 2],
            inv: 1.0,
            cell: 1.0,
            dims: [1, 1],
            start: Vec::new(),
            entries: Vec::with_capacity(live.len()),
        };
        let uv: Vec<[f64; 2]> = live
            .iter()
            .map(|&s| grid.project(&self.xyz[s as usize]))
            .collect();
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &uv {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        if live.is_empty() {
            lo = [0.0; 2];
            hi = [0.0; 2];
        }
        let ext = [hi[0] - lo[0], hi[1] - lo[1]];
        let n = live.len().max(1) as f64;
        // about two points per cell
        let cell = (ext[0] * ext[1] / (n / 2.0).max(1.0))
            .sqrt()
            .max(ext[0].max(ext[1]) / 1024.0)
            .max(1e-12);
        grid.dims = [0, 1].map(|d| ((ext[d] / cell).floor() as usize + 1).min(1024));
        grid.origin = lo;
        grid.inv = 1.0 / cell;
        grid.cell = cell;
        let nx = grid.dims[0];
        let ncell = nx * grid.dims[1];
        let cells: Vec<usize> = uv
            .iter()
            .map(|&p| {
                let c = grid.cell_of(p);
                c[1] as usize * nx + c[0] as usize
            })
            .collect();
        let mut start = vec![0u32; ncell + 1];
        for &c in &cells {
            start[c + 1] += 1;
        }
        for i in 0..ncell {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let blank = Entry {
            xyz: [0.0; 3],
            seq: 0,
            slot: 0,
            category: 0,
            on_duty: false,
        };
        grid.entries = vec![blank; live.len()];
        for (&s, &c) in live.iter().zip(&cells) {
            let i = s as usize;
            grid.entries[fill[c] as usize] = Entry {
                xyz: self.xyz[i],
                seq: self.seq[i],
                slot: s,
                category: self.category[i],
                on_duty: self.on_duty[i],
            };
            fill[c] += 1;
        }
        grid.start = start;
        self.grid = Some(grid);
    }

    /// The k nearest accepted points: (squared chord, slot), nearest first.
    pub fn nearest(&mut self, lon: f64, lat: f64, k: usize, filter: &Filter) -> Vec<(f64, u32)> {
        self.ensure_grid();
        self.nearest_ready(lon, lat, k, filter)
    }

    fn nearest_ready(&self, lon: f64, lat: f64, k: usize, filter: &Filter) -> Vec<(f64, u32)> {
        let grid = self.grid.as_ref().expect("grid built");
        if k == 0 || grid.entries.is_empty() {
            return Vec::new();
        }
        let q = unit_vector(lon, lat);
        let c = grid.cell_of(grid.project(&q));
        let mut heap: BinaryHeap<Cand> = BinaryHeap::with_capacity(k + 1);
        for r in 0..=grid.max_ring() {
            grid.ring(c, r, |entries| {
                for e in entries {
                    if !filter.accepts(e.on_duty, e.category) {
                        continue;
                    }
                    let cand = Cand(chord2(&q, &e.xyz), e.seq, e.slot);
                    if heap.len() < k {
                        heap.push(cand);
                    } else if cand < *heap.peek().expect("non-empty") {
                        heap.pop();
                        heap.push(cand);
                    }
                }
            });
            if heap.len() == k {
                // every point beyond ring r is at least r * cell away
                let bound = r as f64 * grid.cell;
                if heap.peek().expect("non-empty").0 < bound * bound * (1.0 - 1e-12) {
                    break;
                }
            }
        }
        let mut out: Vec<Cand> = heap.into_vec();
        out.sort();
        out.into_iter().map(|c| (c.0, c.2)).collect()
    }

    /// Accepted points within `radius_m` metres: (squared chord, slot), nearest first.
    pub fn within(
        &mut self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        filter: &Filter,
    ) -> Vec<(f64, u32)> {
        self.ensure_grid();
        let grid = self.grid.as_ref().expect("grid built");
        let q = unit_vector(lon, lat);
        let c = grid.cell_of(grid.project(&q));
        let chord = 2.0
            * (radius_m / (2.0 * EARTH_RADIUS_M))
                .min(std::f64::consts::FRAC_PI_2)
                .sin();
        let mut out: Vec<Cand> = Vec::new();
        for r in 0..=grid.max_ring() {
            // cells of ring r are at least (r - 1) * cell away
            if (r - 1) as f64 * grid.cell > chord * (1.0 + 1e-9) + 1e-12 {
                break;
            }
            grid.ring(c, r, |entries| {
                for e in entries {
                    if !filter.accepts(e.on_duty, e.category) {
                        continue;
                    }
                    let c2 = chord2(&q, &e.xyz);
                    if chord2_to_m(c2) <= radius_m {
                        out.push(Cand(c2, e.seq, e.slot));
                    }
                }
            });
        }
        out.sort();
        out.into_iter().map(|c| (c.0, c.2)).collect()
    }
}

/// Moving points (inspectors, vehicles) by id, with on-duty and category attributes.
#[pyclass(module = "core_ext._core", subclass)]
pub struct PointIndex {
    pts: Points,
}

impl PointIndex {
    fn filter(&self, on_duty: Option<bool>, categories: Option<Vec<String>>) -> Filter {
        Filter {
            on_duty,
            categories: categories.map(|names| {
                names
                    .iter()
                    .filter_map(|n| self.pts.category_ids.get(n).copied())
                    .collect()
            }),
        }
    }

    fn results<'py>(
        &self,
        py: Python<'py>,
        found: Vec<(f64, u32)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = found
            .into_iter()
            .map(|(c2, slot)| {
                let key = self.pts.keys[slot as usize].as_ref().expect("live slot");
                PyTuple::new(
                    py,
                    [
                        key.to_py(py)?,
                        chord2_to_m(c2).into_pyobject(py)?.into_any().unbind(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

#[pymethods]
impl PointIndex {
    #[new]
    fn new() -> Self {
        PointIndex {
            pts: Points::default(),
        }
    }

    /// Insert or update a point: position (WGS-84 or GCJ-02 degrees, be consistent), on-duty
    /// flag and duty category.
    #[pyo3(signature = (id, lon, lat, *, on_duty=true, category=""))]
    fn upsert(
        &mut self,
        id: &Bound<'_, PyAny>,
        lon: f64,
        lat: f64,
        on_duty: bool,
        category: &str,
    ) -> PyResult<()> {
        let key = Key::from_py(id)?;
        require_lonlat(lon, lat)?;
        let c = self.pts.category_id(category);
        self.pts.upsert(key, lon, lat, on_duty, c);
        Ok(())
    }

    /// Insert or update many points; `on_duty` / `categories` default to True / "".
    #[pyo3(signature = (ids, lons, lats, on_duty=None, categories=None))]
    fn upsert_many(
        &mut self,
        ids: &Bound<'_, PyAny>,
        lons: PyReadonlyArray1<'_, f64>,
        lats: PyReadonlyArray1<'_, f64>,
        on_duty: Option<PyReadonlyArray1<'_, bool>>,
        categories: Option<Vec<String>>,
    ) -> PyResult<()> {
        let keys = keys_from_py(ids)?;
        let x = slice("lons", &lons)?;
        let y = slice("lats", &lats)?;
        let duty = match &on_duty {
            Some(a) => Some(slice("on_duty", a)?),
            None => None,
        };
        let mut lens = vec![keys.len(), x.len(), y.len()];
        let mut names = vec!["ids", "lons", "lats"];
        if let Some(d) = duty {
            lens.push(d.len());
            names.push("on_duty");
        }
        if let Some(c) = &categories {
            lens.push(c.len());
            names.push("categories");
        }
        same_len(&names, &lens)?;
        require_lonlats(x, y)?;
        for (i, key) in keys.into_iter().enumerate() {
            let c = match &categories {
                Some(c) => self.pts.category_id(&c[i]),
                None => self.pts.category_id(""),
            };
            self.pts
                .upsert(key, x[i], y[i], duty.is_none_or(|d| d[i]), c);
        }
        Ok(())
    }

    /// Move a known point; `KeyError` for an unknown id.
    fn r#move(&mut self, id: &Bound<'_, PyAny>, lon: f64, lat: f64) -> PyResult<()> {
        let key = Key::from_py(id)?;
        require_lonlat(lon, lat)?;
        let slot = self
            .pts
            .slot(&key)
            .ok_or_else(|| PyKeyError::new_err(format!("unknown point id {}", key.repr())))?;
        self.pts.move_slot(slot, lon, lat);
        Ok(())
    }

    /// Move many known points (all-or-nothing: `KeyError` before any move if one is unknown).
    fn move_many(
        &mut self,
        ids: &Bound<'_, PyAny>,
        lons: PyReadonlyArray1<'_, f64>,
        lats: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let keys = keys_from_py(ids)?;
        let x = slice("lons", &lons)?;
        let y = slice("lats", &lats)?;
        same_len(&["ids", "lons", "lats"], &[keys.len(), x.len(), y.len()])?;
        require_lonlats(x, y)?;
        let slots = keys
            .iter()
            .map(|k| {
                self.pts
                    .slot(k)
                    .ok_or_else(|| PyKeyError::new_err(format!("unknown point id {}", k.repr())))
            })
            .collect::<PyResult<Vec<usize>>>()?;
        for (i, s) in slots.into_iter().enumerate() {
            self.pts.move_slot(s, x[i], y[i]);
        }
        Ok(())
    }

    /// Change a known point's attributes.
    #[pyo3(signature = (id, *, on_duty=None, category=None))]
    fn set_attributes(
        &mut self,
        id: &Bound<'_, PyAny>,
        on_duty: Option<bool>,
        category: Option<&str>,
    ) -> PyResult<()> {
        let key = Key::from_py(id)?;
        let slot = self
            .pts
            .slot(&key)
            .ok_or_else(|| PyKeyError::new_err(format!("unknown point id {}", key.repr())))?;
        let [lon, lat] = self.pts.lonlat[slot];
        let duty = on_duty.unwrap_or(self.pts.on_duty[slot]);
        let c = match category {
            Some(name) => self.pts.category_id(name),
            None => self.pts.category[slot],
        };
        self.pts.upsert(key, lon, lat, duty, c);
        Ok(())
    }

    /// Remove a point; `KeyError` for an unknown id.
    fn remove(&mut self, id: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = Key::from_py(id)?;
        if !self.pts.remove(&key) {
            return Err(PyKeyError::new_err(format!(
                "unknown point id {}",
                key.repr()
            )));
        }
        Ok(())
    }

    /// (lon, lat, on_duty, category) of a point; `KeyError` for an unknown id.
    fn get(&self, id: &Bound<'_, PyAny>) -> PyResult<(f64, f64, bool, String)> {
        let key = Key::from_py(id)?;
        let slot = self
            .pts
            .slot(&key)
            .ok_or_else(|| PyKeyError::new_err(format!("unknown point id {}", key.repr())))?;
        let [lon, lat] = self.pts.lonlat[slot];
        Ok((
            lon,
            lat,
            self.pts.on_duty[slot],
            self.pts.category_names[self.pts.category[slot] as usize].clone(),
        ))
    }

    /// The `k` nearest accepted points as [(id, metres)], nearest first (ties: first inserted).
    #[pyo3(signature = (lon, lat, k=1, *, on_duty=None, categories=None))]
    fn nearest<'py>(
        &mut self,
        py: Python<'py>,
        lon: f64,
        lat: f64,
        k: usize,
        on_duty: Option<bool>,
        categories: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyList>> {
        require_lonlat(lon, lat)?;
        let f = self.filter(on_duty, categories);
        let found = self.pts.nearest(lon, lat, k, &f);
        self.results(py, found)
    }

    /// Accepted points within `radius_m` metres as [(id, metres)], nearest first.
    #[pyo3(signature = (lon, lat, radius_m, *, on_duty=None, categories=None))]
    fn within<'py>(
        &mut self,
        py: Python<'py>,
        lon: f64,
        lat: f64,
        radius_m: f64,
        on_duty: Option<bool>,
        categories: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyList>> {
        require_lonlat(lon, lat)?;
        if radius_m.is_nan() || radius_m < 0.0 || !radius_m.is_finite() {
            return Err(PyValueError::new_err(format!(
                "radius_m must be a finite non-negative number of metres, got {radius_m}"
            )));
        }
        let f = self.filter(on_duty, categories);
        let found = self.pts.within(lon, lat, radius_m, &f);
        self.results(py, found)
    }

    /// Batch `nearest` for integer ids (GIL released): (ids (n, k) int64, metres (n, k)).
    /// Where fewer than k points are accepted, the distance is inf and the id -1.
    #[pyo3(signature = (lons, lats, k=1, *, on_duty=None, categories=None))]
    #[allow(clippy::type_complexity)]
    fn nearest_many<'py>(
        &mut self,
        py: Python<'py>,
        lons: PyReadonlyArray1<'py, f64>,
        lats: PyReadonlyArray1<'py, f64>,
        k: usize,
        on_duty: Option<bool>,
        categories: Option<Vec<String>>,
    ) -> PyResult<(Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f64>>)> {
        let x = slice("lons", &lons)?;
        let y = slice("lats", &lats)?;
        let n = same_len(&["lons", "lats"], &[x.len(), y.len()])?;
        if let Some(i) = (0..n).find(|&i| crate::util::check_lonlat(x[i], y[i]).is_err()) {
            let e = crate::util::check_lonlat(x[i], y[i]).unwrap_err();
            return Err(coord_error(e, Some(i), x[i], y[i]));
        }
        let f = self.filter(on_duty, categories);
        self.pts.ensure_grid();
        let mut ids = vec![-1i64; n * k];
        for slot in self.pts.slots.values() {
            if let Some(Key::Str(s)) = &self.pts.keys[*slot as usize] {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "nearest_many needs integer ids (found {s:?}); use nearest()"
                )));
            }
        }
        let pts = &self.pts;
        let dist = py.detach(|| {
            let mut dist = vec![f64::INFINITY; n * k];
            for i in 0..n {
                for (j, (c2, slot)) in pts.nearest_ready(x[i], y[i], k, &f).into_iter().enumerate()
                {
                    dist[i * k + j] = chord2_to_m(c2);
                    if let Some(Key::Int(v)) = pts.keys[slot as usize] {
                        ids[i * k + j] = v;
                    }
                }
            }
            dist
        });
        let ids = PyArray1::from_vec(py, ids).reshape([n, k])?;
        let dist = PyArray1::from_vec(py, dist).reshape([n, k])?;
        Ok((ids, dist))
    }

    /// All ids, in insertion order of their slots.
    fn ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut live: Vec<(u64, &Key)> = self
            .pts
            .slots
            .values()
            .map(|&s| {
                (
                    self.pts.seq[s as usize],
                    self.pts.keys[s as usize].as_ref().expect("live"),
                )
            })
            .collect();
        live.sort();
        PyList::new(
            py,
            live.into_iter()
                .map(|(_, k)| k.to_py(py))
                .collect::<PyResult<Vec<_>>>()?,
        )
    }

    fn __len__(&self) -> usize {
        self.pts.len()
    }

    fn __contains__(&self, id: &Bound<'_, PyAny>) -> bool {
        Key::from_py(id).is_ok_and(|k| self.pts.slot(&k).is_some())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PointIndex>()?;
    Ok(())
}
