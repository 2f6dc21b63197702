//! Geofences: polygons with rules, checked against batches of vehicle positions.
//!
//! Rules: a *forbidden zone* (being inside while the zone is active is a violation) and an
//! *allowed corridor* for the vehicles bound to it (muck trucks): inside one of its time
//! windows a bound vehicle must be inside the corridor ("off_corridor" otherwise); outside
//! every window it must not be inside ("outside_window"). Zones without windows are always
//! active. Containment uses the exact `PolygonIndex` (same on-edge rule as `GridIndex`).
//! Each vehicle's last state (zones inside, violations in progress, last time) is kept, so
//! `check` reports transitions: enter, exit, and a violation when it begins.

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use rustc_hash::FxHashMap;

use crate::keys::{keys_from_py, Key};
use crate::polygon::build_polygon_set;
use crate::polyindex::PolygonIndex;
use crate::util::{same_len, slice};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Forbidden,
    Corridor,
}

#[derive(Debug)]
struct Fence {
    key: Key,
    index: PolygonIndex,
    bbox: (f64, f64, f64, f64),
    kind: Kind,
    /// [start, end) minutes of the local day; start > end wraps past midnight
    windows: Vec<(u32, u32)>,
}

impl Fence {
    #[inline]
    fn contains(&self, x: f64, y: f64) -> bool {
        let (x0, y0, x1, y1) = self.bbox;
        x >= x0 && x <= x1 && y >= y0 && y <= y1 && self.index.locate(x, y) >= 0
    }

    fn active(&self, minute: u32) -> bool {
        self.windows.is_empty()
            || self.windows.iter().any(|&(s, e)| {
                if s <= e {
                    s <= minute && minute < e
                } else {
                    minute >= s || minute < e
                }
            })
    }
}

#[derive(Debug, Clone, Default)]
struct VehicleState {
    inside: Vec<u32>,
    violating: Vec<u32>,
    last_time: Option<f64>,
}

/// A set of geofences with rules, remembering each vehicle's last state.
#[pyclass(module = "core_ext._core", subclass)]
pub struct GeofenceSet {
    fences: Vec<Option<Fence>>,
    by_key: FxHashMap<Key, u32>,
    /// corridor bindings: vehicle -> fences
    bindings: FxHashMap<Key, Vec<u32>>,
    vehicles: FxHashMap<Key, VehicleState>,
    utc_offset_s: f64,
}

impl GeofenceSet {
    fn fence_slot(&self, key: &Key) -> PyResult<u32> {
        self.by_key
            .get(key)
            .copied()
            .ok_or_else(|| PyKeyError::new_err(format!("unknown geofence id {}", key.repr())))
    }

    fn minute_of_day(&self, t: f64) -> u32 {
        ((t + self.utc_offset_s).rem_euclid(86_400.0) / 60.0).floor() as u32 % 1440
    }
}

#[pymethods]
impl GeofenceSet {
    #[new]
    #[pyo3(signature = (utc_offset_hours=8.0))]
    fn new(utc_offset_hours: f64) -> PyResult<Self> {
        if !utc_offset_hours.is_finite() || utc_offset_hours.abs() > 14.0 {
            return Err(PyValueError::new_err(
                "utc_offset_hours must be within [-14, 14]",
            ));
        }
        Ok(GeofenceSet {
            fences: Vec::new(),
            by_key: FxHashMap::default(),
            bindings: FxHashMap::default(),
            vehicles: FxHashMap::default(),
            utc_offset_s: utc_offset_hours * 3600.0,
        })
    }

    /// Add a zone from flat rings (see `GridIndex`): `kind` "forbidden" or "corridor",
    /// `windows` [(start_minute, end_minute)] of the local day (empty: always active).
    #[pyo3(signature = (fence_id, xy, ring_offsets, kind, windows))]
    fn _add_zone(
        &mut self,
        py: Python<'_>,
        fence_id: &Bound<'_, PyAny>,
        xy: PyReadonlyArray2<'_, f64>,
        ring_offsets: PyReadonlyArray1<'_, i64>,
        kind: &str,
        windows: Vec<(i64, i64)>,
    ) -> PyResult<()> {
        let key = Key::from_py(fence_id)?;
        if self.by_key.contains_key(&key) {
            return Err(PyValueError::new_err(format!(
                "geofence {} already exists",
                key.repr()
            )));
        }
        let kind = match kind {
            "forbidden" => Kind::Forbidden,
            "corridor" => Kind::Corridor,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown zone kind {other:?} (forbidden or corridor)"
                )))
            }
        };
        let mut wins = Vec::with_capacity(windows.len());
        for (s, e) in windows {
            if !(0..=1440).contains(&s) || !(0..=1440).contains(&e) || s == e {
                return Err(PyValueError::new_err(format!(
                    "a time window is (start, end) minutes of the day in 0..=1440 with start != end, got ({s}, {e})"
                )));
            }
            wins.push((s as u32, e as u32));
        }
        if xy.shape()[1] != 2 {
            return Err(PyValueError::new_err("xy must have shape (n, 2)"));
        }
        let flat = xy
            .as_slice()
            .map_err(|_| PyValueError::new_err("xy must be C-contiguous"))?;
        let offsets = slice("ring_offsets", &ring_offsets)?;
        let owners = vec![0i64; offsets.len().saturating_sub(1)];
        let index = py
            .detach(|| {
                build_polygon_set(flat, offsets, &owners, 1)
                    .map(|set| PolygonIndex::build(&set, Some(1024)))
            })
            .map_err(|e| PyValueError::new_err(format!("geofence {}: {e}", key.repr())))?;
        if offsets.len() < 2 {
            return Err(PyValueError::new_err(format!(
                "geofence {} has no rings",
                key.repr()
            )));
        }
        let bbox = index.bounds();
        let slot = self.fences.len() as u32;
        self.fences.push(Some(Fence {
            key: key.clone(),
            index,
            bbox,
            kind,
            windows: wins,
        }));
        self.by_key.insert(key, slot);
        Ok(())
    }

    /// Bind a vehicle to a corridor (it must keep to the corridor during its windows).
    fn bind(
        &mut self,
        vehicle_id: &Bound<'_, PyAny>,
        corridor_id: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let v = Key::from_py(vehicle_id)?;
        let f = self.fence_slot(&Key::from_py(corridor_id)?)?;
        if self.fences[f as usize].as_ref().map(|x| x.kind) != Some(Kind::Corridor) {
            return Err(PyValueError::new_err(
                "vehicles can only be bound to corridors",
            ));
        }
        let list = self.bindings.entry(v).or_default();
        if !list.contains(&f) {
            list.push(f);
            list.sort_unstable();
        }
        Ok(())
    }

    /// Remove a zone (its bindings and the vehicles' state about it go too).
    fn remove_zone(&mut self, fence_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = Key::from_py(fence_id)?;
        let f = self.fence_slot(&key)?;
        self.by_key.remove(&key);
        self.fences[f as usize] = None;
        for list in self.bindings.values_mut() {
            list.retain(|&x| x != f);
        }
        for st in self.vehicles.values_mut() {
            st.inside.retain(|&x| x != f);
            st.violating.retain(|&x| x != f);
        }
        Ok(())
    }

    /// Ids of the zones a vehicle was inside at its last fix; `KeyError` if never seen.
    fn state<'py>(
        &self,
        py: Python<'py>,
        vehicle_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let v = Key::from_py(vehicle_id)?;
        let st = self
            .vehicles
            .get(&v)
            .ok_or_else(|| PyKeyError::new_err(format!("unknown vehicle id {}", v.repr())))?;
        let ids = st
            .inside
            .iter()
            .filter_map(|&f| self.fences[f as usize].as_ref())
            .map(|f| f.key.to_py(py))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, ids)
    }

    /// Forget a vehicle's state; `KeyError` if never seen.
    fn forget(&mut self, vehicle_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = Key::from_py(vehicle_id)?;
        self.vehicles
            .remove(&v)
            .map(|_| ())
            .ok_or_else(|| PyKeyError::new_err(format!("unknown vehicle id {}", v.repr())))
    }

    /// Check fixes in order. Returns events as tuples
    /// (index, kind, vehicle_id, fence_id, reason) with kind "exit" / "enter" / "violation".
    /// All-or-nothing: NaN/out-of-range coordinates, unequal lengths or a vehicle's time going
    /// backwards raise `ValueError` before any state changes.
    fn check<'py>(
        &mut self,
        py: Python<'py>,
        vehicle_ids: &Bound<'py, PyAny>,
        lons: PyReadonlyArray1<'py, f64>,
        lats: PyReadonlyArray1<'py, f64>,
        times: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let keys = keys_from_py(vehicle_ids)?;
        let x = slice("lons", &lons)?;
        let y = slice("lats", &lats)?;
        let t = slice("times", &times)?;
        let n = same_len(
            &["vehicle_ids", "lons", "lats", "times"],
            &[keys.len(), x.len(), y.len(), t.len()],
        )?;
        crate::util::require_lonlats(x, y)?;
        if let Some(i) = t.iter().position(|v| !v.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "times must be finite: index {i} is {}",
                t[i]
            )));
        }
        {
            let mut last: FxHashMap<&Key, f64> = FxHashMap::default();
            for (i, k) in keys.iter().enumerate() {
                let prev = last
                    .get(k)
                    .copied()
                    .or_else(|| self.vehicles.get(k).and_then(|s| s.last_time));
                if let Some(p) = prev {
                    if t[i] < p {
                        return Err(PyValueError::new_err(format!(
                            "fix {i} of vehicle {} goes back in time ({} before {p})",
                            k.repr(),
                            t[i]
                        )));
                    }
                }
                last.insert(k, t[i]);
            }
        }
        // containment, GIL released: zones containing each fix (flattened)
        let fences = &self.fences;
        let (offsets, inside) = py.detach(|| {
            let mut offsets = Vec::with_capacity(n + 1);
            let mut inside: Vec<u32> = Vec::new();
            offsets.push(0usize);
            for i in 0..n {
                for (f, fence) in fences.iter().enumerate() {
                    if let Some(fence) = fence {
                        if fence.contains(x[i], y[i]) {
                            inside.push(f as u32);
                        }
                    }
                }
                offsets.push(inside.len());
            }
            (offsets, inside)
        });
        let mut events: Vec<Bound<'py, PyTuple>> = Vec::new();
        let mut emit =
            |i: usize, kind: &str, v: &Key, f: &Fence, reason: Option<&str>| -> PyResult<()> {
                events.push(PyTuple::new(
                    py,
                    [
                        i.into_pyobject(py)?.into_any(),
                        kind.into_pyobject(py)?.into_any(),
                        v.to_py(py)?.into_bound(py),
                        f.key.to_py(py)?.into_bound(py),
                        reason.into_pyobject(py)?.into_any(),
                    ],
                )?);
                Ok(())
            };
        let no_bindings: Vec<u32> = Vec::new();
        for i in 0..n {
            let v = &keys[i];
            let now_inside = &inside[offsets[i]..offsets[i + 1]];
            let minute = self.minute_of_day(t[i]);
            let bound = self.bindings.get(v).unwrap_or(&no_bindings);
            let st = self.vehicles.entry(v.clone()).or_default();
            for &f in &st.inside {
                if !now_inside.contains(&f) {
                    emit(
                        i,
                        "exit",
                        v,
                        self.fences[f as usize].as_ref().expect("live"),
                        None,
                    )?;
                }
            }
            for &f in now_inside {
                if !st.inside.contains(&f) {
                    emit(
                        i,
                        "enter",
                        v,
                        self.fences[f as usize].as_ref().expect("live"),
                        None,
                    )?;
                }
            }
            // violations now: forbidden zones inside and active; bound corridors
            let mut violating: Vec<(u32, &str)> = Vec::new();
            for &f in now_inside {
                let fence = self.fences[f as usize].as_ref().expect("live");
                if fence.kind == Kind::Forbidden && fence.active(minute) {
                    violating.push((f, "in_forbidden_zone"));
                }
            }
            for &f in bound {
                let fence = self.fences[f as usize].as_ref().expect("live");
                let is_in = now_inside.contains(&f);
                if fence.active(minute) && !is_in {
                    violating.push((f, "off_corridor"));
                } else if !fence.active(minute) && is_in {
                    violating.push((f, "outside_window"));
                }
            }
            violating.sort_unstable_by_key(|p| p.0);
            for &(f, reason) in &violating {
                if !st.violating.contains(&f) {
                    emit(
                        i,
                        "violation",
                        v,
                        self.fences[f as usize].as_ref().expect("live"),
                        Some(reason),
                    )?;
                }
            }
            st.violating = violating.iter().map(|p| p.0).collect();
            st.inside = now_inside.to_vec();
            st.last_time = Some(t[i]);
        }
        PyList::new(py, events)
    }

    /// Number of zones.
    fn __len__(&self) -> usize {
        self.by_key.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<GeofenceSet>()?;
    Ok(())
}
