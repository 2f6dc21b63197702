//! Input checking shared by every binding: contiguous slices, equal lengths, finite values.

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Borrow a one-dimensional float64 numpy array as a contiguous slice, or raise `ValueError`.
pub fn slice<'a, T: numpy::Element>(
    name: &str,
    arr: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be a C-contiguous 1-D array (got strides {:?}); pass numpy.ascontiguousarray(...)",
            arr.strides()
        ))
    })
}

/// Raise `ValueError` unless all lengths are equal.
pub fn same_len(names: &[&str], lens: &[usize]) -> PyResult<usize> {
    let n = lens.first().copied().unwrap_or(0);
    if lens.iter().any(|&l| l != n) {
        let parts: Vec<String> = names
            .iter()
            .zip(lens)
            .map(|(name, l)| format!("{name} has {l}"))
            .collect();
        return Err(PyValueError::new_err(format!(
            "arrays must have the same length: {}",
            parts.join(", ")
        )));
    }
    Ok(n)
}

/// Why a coordinate pair was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoordError {
    NotFinite,
    LonRange,
    LatRange,
}

/// Check one geographic coordinate (degrees): finite, lon in [-180, 180], lat in [-90, 90].
#[inline]
pub fn check_lonlat(lon: f64, lat: f64) -> Result<(), CoordError> {
    if !lon.is_finite() || !lat.is_finite() {
        Err(CoordError::NotFinite)
    } else if !(-180.0..=180.0).contains(&lon) {
        Err(CoordError::LonRange)
    } else if !(-90.0..=90.0).contains(&lat) {
        Err(CoordError::LatRange)
    } else {
        Ok(())
    }
}

/// The `ValueError` for a refused coordinate at `index` (None for a scalar call).
pub fn coord_error(err: CoordError, index: Option<usize>, lon: f64, lat: f64) -> PyErr {
    let at = match index {
        Some(i) => format!(" at index {i}"),
        None => String::new(),
    };
    let why = match err {
        CoordError::NotFinite => "coordinates must be finite (no NaN or infinity)",
        CoordError::LonRange => "longitude must be within [-180, 180] degrees",
        CoordError::LatRange => "latitude must be within [-90, 90] degrees",
    };
    PyValueError::new_err(format!("{why}: got lon={lon}, lat={lat}{at}"))
}

/// Check a scalar geographic coordinate, raising `ValueError`.
pub fn require_lonlat(lon: f64, lat: f64) -> PyResult<()> {
    check_lonlat(lon, lat).map_err(|e| coord_error(e, None, lon, lat))
}

/// First refused coordinate in two slices of equal length.
pub fn first_bad_lonlat(lons: &[f64], lats: &[f64]) -> Option<(usize, CoordError)> {
    lons.iter()
        .zip(lats)
        .enumerate()
        .find_map(|(i, (&x, &y))| check_lonlat(x, y).err().map(|e| (i, e)))
}

/// Check two slices of geographic coordinates, raising `ValueError` naming the first bad index.
pub fn require_lonlats(lons: &[f64], lats: &[f64]) -> PyResult<()> {
    match first_bad_lonlat(lons, lats) {
        Some((i, e)) => Err(coord_error(e, Some(i), lons[i], lats[i])),
        None => Ok(()),
    }
}
