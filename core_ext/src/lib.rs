//! `core_ext._core`: cityhub's compiled core (PyO3).
//!
//! Index structures and numeric batch kernels for the city brain's hot paths. Every batch
//! kernel releases the GIL while it runs. The Python facade is the `core_ext` package.

use pyo3::prelude::*;

mod geodesy;
mod geofence;
mod grid;
mod keys;
mod pii;
mod points;
mod polygon;
mod polyindex;
mod risk;
mod util;

/// cityhub's compiled core: datums and distances, grid-cell lookup, moving-point index,
/// geofences, risk scoring and personal data in free text. Use it through the typed `core_ext` facade.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    geodesy::register(m)?;
    grid::register(m)?;
    geofence::register(m)?;
    points::register(m)?;
    risk::register(m)?;
    pii::register(m)?;
    Ok(())
}
