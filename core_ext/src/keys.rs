//! Ids of things the city tracks (inspectors, vehicles, tanks): Python `int` or `str`.

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};
use pyo3::IntoPyObjectExt;

/// An id: an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    /// Read an id from a Python object (int or str; bool and everything else: TypeError).
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Key> {
        if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(
                "an id must be an int or a str, got bool",
            ));
        }
        if obj.is_instance_of::<PyInt>() {
            return Ok(Key::Int(obj.extract::<i64>()?));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Key::Str(s.to_str()?.to_owned()));
        }
        if let Ok(v) = obj.extract::<i64>() {
            // numpy integer scalars
            if obj.hasattr("dtype")? {
                return Ok(Key::Int(v));
            }
        }
        Err(PyTypeError::new_err(format!(
            "an id must be an int or a str, got {}",
            obj.get_type().name()?
        )))
    }

    pub fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Key::Int(v) => v.into_py_any(py),
            Key::Str(s) => s.into_py_any(py),
        }
    }

    pub fn repr(&self) -> String {
        match self {
            Key::Int(v) => v.to_string(),
            Key::Str(s) => format!("{s:?}"),
        }
    }
}

/// Read a batch of ids: an int64 numpy array (fast path) or any sequence of int/str.
pub fn keys_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Key>> {
    if let Ok(arr) = obj.extract::<PyReadonlyArray1<'_, i64>>() {
        if let Ok(s) = arr.as_slice() {
            return Ok(s.iter().map(|&v| Key::Int(v)).collect());
        }
        let _ = arr.len();
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "ids must be a sequence of ids, not a single str",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(Key::from_py(&item?)?);
    }
    Ok(out)
}
