//! `GridIndex`: the Python class over `PolygonIndex`.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::polygon::build_polygon_set;
use crate::polyindex::PolygonIndex;
use crate::util::{same_len, slice};

/// Point -> grid-cell index over polygons (exact; see the module docs for the on-edge rule).
#[pyclass(module = "core_ext._core", frozen, subclass)]
pub struct GridIndex {
    index: PolygonIndex,
}

#[pymethods]
impl GridIndex {
    /// Build from flat arrays: `xy` (n, 2) vertices, ring `r` = `xy[ring_offsets[r]:ring_offsets[r+1]]`
    /// belonging to cell `ring_cells[r]`; `n_cells` cells. Use `core_ext.GridIndex(cells)`.
    #[new]
    #[pyo3(signature = (xy, ring_offsets, ring_cells, n_cells, max_buckets=None))]
    fn new(
        py: Python<'_>,
        xy: PyReadonlyArray2<'_, f64>,
        ring_offsets: PyReadonlyArray1<'_, i64>,
        ring_cells: PyReadonlyArray1<'_, i64>,
        n_cells: usize,
        max_buckets: Option<usize>,
    ) -> PyResult<Self> {
        if xy.shape()[1] != 2 {
            return Err(PyValueError::new_err(format!(
                "xy must have shape (n, 2), got {:?}",
                xy.shape()
            )));
        }
        let flat = xy
            .as_slice()
            .map_err(|_| PyValueError::new_err("xy must be C-contiguous"))?;
        let offsets = slice("ring_offsets", &ring_offsets)?;
        let cells = slice("ring_cells", &ring_cells)?;
        if max_buckets == Some(0) {
            return Err(PyValueError::new_err("max_buckets must be positive"));
        }
        let index = py.detach(|| {
            build_polygon_set(flat, offsets, cells, n_cells)
                .map(|set| PolygonIndex::build(&set, max_buckets))
        });
        index
            .map(|index| GridIndex { index })
            .map_err(PyValueError::new_err)
    }

    /// Index of the cell containing (x, y), or -1 outside every cell.
    fn locate(&self, x: f64, y: f64) -> PyResult<i32> {
        let r = self.index.locate(x, y);
        if r < 0 && !(x.is_finite() && y.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "coordinates must be finite (no NaN or infinity): got ({x}, {y})"
            )));
        }
        Ok(r)
    }

    /// Vectorised `locate` over two float64 arrays of equal length -> int32 array (GIL released).
    fn locate_many<'py>(
        &self,
        py: Python<'py>,
        xs: PyReadonlyArray1<'py, f64>,
        ys: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let x = slice("lons", &xs)?;
        let y = slice("lats", &ys)?;
        let n = same_len(&["lons", "lats"], &[x.len(), y.len()])?;
        let out = PyArray1::<i32>::zeros(py, n, false);
        let res = {
            let mut guard = out.readwrite();
            let o = guard.as_slice_mut()?;
            let index = &self.index;
            py.detach(|| index.locate_into(x, y, o))
        };
        match res {
            Ok(()) => Ok(out),
            Err(i) => Err(PyValueError::new_err(format!(
                "coordinates must be finite (no NaN or infinity): got ({}, {}) at index {i}",
                x[i], y[i]
            ))),
        }
    }

    /// Raw bucket-table entries for points (>= -1 answered directly, <= -2 needs edge tests);
    /// for tests and tuning.
    fn _probe_many<'py>(
        &self,
        py: Python<'py>,
        xs: PyReadonlyArray1<'py, f64>,
        ys: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let x = slice("lons", &xs)?;
        let y = slice("lats", &ys)?;
        let n = same_len(&["lons", "lats"], &[x.len(), y.len()])?;
        let index = &self.index;
        let out = py.detach(|| {
            (0..n)
                .map(|i| index.probe(x[i], y[i]))
                .collect::<Vec<i32>>()
        });
        Ok(PyArray1::from_vec(py, out))
    }

    /// Number of cells.
    #[getter]
    fn n_cells(&self) -> usize {
        self.index.n_cells()
    }

    /// (minx, miny, maxx, maxy) of all cells.
    #[getter]
    fn bounds(&self) -> (f64, f64, f64, f64) {
        self.index.bounds()
    }

    /// Build statistics: coarse buckets, refined coarse buckets, fine buckets with edge
    /// records, candidate cells and stored edges in them, bytes held.
    fn stats(&self) -> std::collections::HashMap<&'static str, usize> {
        let i = &self.index;
        [
            ("buckets_x", i.nx),
            ("buckets_y", i.ny),
            ("refined_buckets", i.stats.coarse_mixed),
            ("record_buckets", i.stats.fine_mixed),
            ("candidates", i.stats.candidates),
            ("local_edges", i.stats.local_edges),
            ("breakpoints", i.stats.breakpoints),
            ("edges", i.n_edges),
            ("bytes", i.bytes()),
        ]
        .into_iter()
        .collect()
    }

    fn __len__(&self) -> usize {
        self.index.n_cells()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<GridIndex>()?;
    Ok(())
}
