//! WGS-84 <-> GCJ-02 datum conversion (the public "eviltransform" algorithm) and
//! great-circle (haversine) distance, scalar and vectorised.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::util::{require_lonlat, require_lonlats, same_len, slice};

/// Krasovsky 1940 semi-major axis used by GCJ-02.
const KRASOVSKY_A: f64 = 6378245.0;
/// Krasovsky 1940 first eccentricity squared used by GCJ-02.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Reverse conversion stops when the forward image is this close (degrees).
const REVERSE_TOLERANCE_DEG: f64 = 1e-12;
const REVERSE_MAX_ITER: usize = 40;

/// True when (lon, lat) is outside China's bounding box, where GCJ-02 equals WGS-84.
#[inline]
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

#[inline]
fn transform(x: f64, y: f64) -> (f64, f64) {
    let pi = std::f64::consts::PI;
    let xy = x * y;
    let abs_x = x.abs().sqrt();
    let x_pi = x * pi;
    let y_pi = y * pi;
    let d = 20.0 * (6.0 * x_pi).sin() + 20.0 * (2.0 * x_pi).sin();
    let mut lat = d;
    let mut lon = d;
    lat += 20.0 * y_pi.sin() + 40.0 * (y_pi / 3.0).sin();
    lon += 20.0 * x_pi.sin() + 40.0 * (x_pi / 3.0).sin();
    lat += 160.0 * (y_pi / 12.0).sin() + 320.0 * (y_pi / 30.0).sin();
    lon += 150.0 * (x_pi / 12.0).sin() + 300.0 * (x_pi / 30.0).sin();
    lat *= 2.0 / 3.0;
    lon *= 2.0 / 3.0;
    lat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * abs_x;
    lon += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * abs_x;
    (lat, lon)
}

#[inline]
fn delta(lon: f64, lat: f64) -> (f64, f64) {
    let pi = std::f64::consts::PI;
    let (mut dlat, mut dlon) = transform(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * pi;
    let mut magic = rad_lat.sin();
    magic = 1.0 - KRASOVSKY_EE * magic * magic;
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * pi);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * pi);
    (dlon, dlat)
}

/// WGS-84 -> GCJ-02 (degrees). Outside China's bounding box the input is returned unchanged.
#[inline]
pub fn wgs_to_gcj(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = delta(lon, lat);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 -> WGS-84 by fixed-point iteration of the forward transform.
#[inline]
pub fn gcj_to_wgs(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..REVERSE_MAX_ITER {
        let (glon, glat) = wgs_to_gcj(wlon, wlat);
        let (dlon, dlat) = (glon - lon, glat - lat);
        if dlon.abs() < REVERSE_TOLERANCE_DEG && dlat.abs() < REVERSE_TOLERANCE_DEG {
            break;
        }
        wlon -= dlon;
        wlat -= dlat;
    }
    (wlon, wlat)
}

/// Great-circle distance in metres between two (lon, lat) points in degrees.
#[inline]
pub fn haversine(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let p1 = lat1.to_radians();
    let p2 = lat2.to_radians();
    let s_lat = ((lat2 - lat1).to_radians() / 2.0).sin();
    let s_lon = ((lon2 - lon1).to_radians() / 2.0).sin();
    let a = s_lat * s_lat + p1.cos() * p2.cos() * s_lon * s_lon;
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

type ArrayPair<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

fn convert_many<'py>(
    py: Python<'py>,
    lons: PyReadonlyArray1<'py, f64>,
    lats: PyReadonlyArray1<'py, f64>,
    f: fn(f64, f64) -> (f64, f64),
) -> PyResult<ArrayPair<'py>> {
    let xs = slice("lons", &lons)?;
    let ys = slice("lats", &lats)?;
    same_len(&["lons", "lats"], &[xs.len(), ys.len()])?;
    require_lonlats(xs, ys)?;
    let (ox, oy) = py.detach(|| {
        let mut ox = Vec::with_capacity(xs.len());
        let mut oy = Vec::with_capacity(xs.len());
        for (&x, &y) in xs.iter().zip(ys) {
            let (a, b) = f(x, y);
            ox.push(a);
            oy.push(b);
        }
        (ox, oy)
    });
    Ok((PyArray1::from_vec(py, ox), PyArray1::from_vec(py, oy)))
}

/// Convert one WGS-84 (lon, lat) to GCJ-02; unchanged outside China.
#[pyfunction]
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> PyResult<(f64, f64)> {
    require_lonlat(lon, lat)?;
    Ok(wgs_to_gcj(lon, lat))
}

/// Convert one GCJ-02 (lon, lat) back to WGS-84 (iterative, error < 1e-9 degree).
#[pyfunction]
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> PyResult<(f64, f64)> {
    require_lonlat(lon, lat)?;
    Ok(gcj_to_wgs(lon, lat))
}

/// Vectorised WGS-84 -> GCJ-02 over float64 arrays; returns (lons, lats).
#[pyfunction]
pub fn wgs84_to_gcj02_many<'py>(
    py: Python<'py>,
    lons: PyReadonlyArray1<'py, f64>,
    lats: PyReadonlyArray1<'py, f64>,
) -> PyResult<ArrayPair<'py>> {
    convert_many(py, lons, lats, wgs_to_gcj)
}

/// Vectorised GCJ-02 -> WGS-84 over float64 arrays; returns (lons, lats).
#[pyfunction]
pub fn gcj02_to_wgs84_many<'py>(
    py: Python<'py>,
    lons: PyReadonlyArray1<'py, f64>,
    lats: PyReadonlyArray1<'py, f64>,
) -> PyResult<ArrayPair<'py>> {
    convert_many(py, lons, lats, gcj_to_wgs)
}

/// Great-circle distance in metres between (lon1, lat1) and (lon2, lat2), degrees.
#[pyfunction]
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> PyResult<f64> {
    require_lonlat(lon1, lat1)?;
    require_lonlat(lon2, lat2)?;
    Ok(haversine(lon1, lat1, lon2, lat2))
}

/// Element-wise great-circle distances in metres over four float64 arrays of equal length.
#[pyfunction]
pub fn haversine_m_many<'py>(
    py: Python<'py>,
    lons1: PyReadonlyArray1<'py, f64>,
    lats1: PyReadonlyArray1<'py, f64>,
    lons2: PyReadonlyArray1<'py, f64>,
    lats2: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x1 = slice("lons1", &lons1)?;
    let y1 = slice("lats1", &lats1)?;
    let x2 = slice("lons2", &lons2)?;
    let y2 = slice("lats2", &lats2)?;
    same_len(
        &["lons1", "lats1", "lons2", "lats2"],
        &[x1.len(), y1.len(), x2.len(), y2.len()],
    )?;
    require_lonlats(x1, y1)?;
    require_lonlats(x2, y2)?;
    let out = py.detach(|| {
        (0..x1.len())
            .map(|i| haversine(x1[i], y1[i], x2[i], y2[i]))
            .collect::<Vec<f64>>()
    });
    Ok(PyArray1::from_vec(py, out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EARTH_RADIUS_M", EARTH_RADIUS_M)?;
    m.add_function(wrap_pyfunction!(wgs84_to_gcj02, m)?)?;
    m.add_function(wrap_pyfunction!(gcj02_to_wgs84, m)?)?;
    m.add_function(wrap_pyfunction!(wgs84_to_gcj02_many, m)?)?;
    m.add_function(wrap_pyfunction!(gcj02_to_wgs84_many, m)?)?;
    m.add_function(wrap_pyfunction!(haversine_m, m)?)?;
    m.add_function(wrap_pyfunction!(haversine_m_many, m)?)?;
    Ok(())
}
