//! Risk scoring: the smoke index over firms x dimensions with explanations, and tank-reading
//! alarm evaluation in batches. Both release the GIL.

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use rustc_hash::FxHashMap;

use crate::keys::{keys_from_py, Key};
use crate::util::{same_len, slice};

/// Per-dimension transform of a raw value into [0, 1].
#[derive(Debug, Clone, Copy)]
enum Transform {
    /// clamp((x - lo) * scale, 0, 1), scale = 1 / (hi - lo)
    Linear { lo: f64, scale: f64 },
    /// clamp(ln(1 + max(x, 0)) * scale, 0, 1), scale = 1 / ln(1 + hi)
    Log { scale: f64 },
    /// 1 / (1 + exp((mid - x) * scale)), scale = 1 / width
    Sigmoid { mid: f64, scale: f64 },
}

impl Transform {
    fn new(kind: i64, p1: f64, p2: f64, dim: usize) -> PyResult<Transform> {
        let bad = |msg: String| Err(PyValueError::new_err(format!("dimension {dim}: {msg}")));
        if !p1.is_finite() || !p2.is_finite() {
            return bad("transform parameters must be finite".into());
        }
        match kind {
            0 if p2 > p1 => Ok(Transform::Linear {
                lo: p1,
                scale: 1.0 / (p2 - p1),
            }),
            0 => bad(format!(
                "linear transform needs hi > lo, got lo={p1}, hi={p2}"
            )),
            1 if p1 > 0.0 => Ok(Transform::Log {
                scale: 1.0 / p1.ln_1p(),
            }),
            1 => bad(format!("log transform needs hi > 0, got {p1}")),
            2 if p2 > 0.0 => Ok(Transform::Sigmoid {
                mid: p1,
                scale: 1.0 / p2,
            }),
            2 => bad(format!("sigmoid transform needs width > 0, got {p2}")),
            _ => bad(format!(
                "unknown transform kind {kind} (0 linear, 1 log, 2 sigmoid)"
            )),
        }
    }

    #[inline(always)]
    fn apply(&self, x: f64) -> f64 {
        match *self {
            Transform::Linear { lo, scale } => ((x - lo) * scale).clamp(0.0, 1.0),
            Transform::Log { scale } => (log1p_pos(x.max(0.0)) * scale).clamp(0.0, 1.0),
            Transform::Sigmoid { mid, scale } => 1.0 / (1.0 + ((mid - x) * scale).exp()),
        }
    }
}

/// `ln(1 + x)` for finite `x >= 0`, branch-free so that loops over it vectorise (fdlibm's
/// `log` kernel with the `log1p` rounding correction; error below 1 ulp, like glibc's).
#[inline(always)]
fn log1p_pos(x: f64) -> f64 {
    const LN2_HI: f64 = f64::from_bits(0x3fe62e42fee00000);
    const LN2_LO: f64 = f64::from_bits(0x3dea39ef35793c76);
    const LG1: f64 = f64::from_bits(0x3fe5555555555593);
    const LG2: f64 = f64::from_bits(0x3fd999999997fa04);
    const LG3: f64 = f64::from_bits(0x3fd2492494229359);
    const LG4: f64 = f64::from_bits(0x3fcc71c51d8e78af);
    const LG5: f64 = f64::from_bits(0x3fc7466496cb03de);
    const LG6: f64 = f64::from_bits(0x3fc39a09d078c69f);
    const LG7: f64 = f64::from_bits(0x3fc2f112df3e5244);
    let u = 1.0 + x;
    let bits = u.to_bits();
    let mut k = ((bits >> 52) as i64 - 1023) as f64;
    // mantissa in [1, 2), then into [sqrt(2)/2, sqrt(2))
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    k = if big { k + 1.0 } else { k };
    // rounding error of 1 + x, relative to u
    let c = if k > 0.0 {
        (1.0 - (u - x)) / u
    } else {
        (x - (u - 1.0)) / u
    };
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + (k * LN2_LO + c))) - f)
}

const ROWS: usize = 256;

/// Score every firm: transforms, contributions, scores, levels; column by column over chunks
/// of rows so the transforms vectorise.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn score_chunks(
    x: &[f64],
    m: usize,
    transforms: &[Transform],
    factor: &[f64],
    bands: &[f64],
    scores: &mut [f64],
    levels: &mut [i32],
    contrib: &mut [f64],
) -> bool {
    let n = scores.len();
    let mut finite = true;
    let mut col = [0.0f64; ROWS];
    let mut r0 = 0;
    while r0 < n {
        let len = ROWS.min(n - r0);
        let score = &mut scores[r0..r0 + len];
        score.fill(0.0);
        for d in 0..m {
            let col = &mut col[..len];
            for (j, v) in col.iter_mut().enumerate() {
                *v = x[(r0 + j) * m + d];
                finite &= v.is_finite();
            }
            match transforms[d] {
                Transform::Linear { lo, scale } => {
                    for v in col.iter_mut() {
                        *v = ((*v - lo) * scale).clamp(0.0, 1.0);
                    }
                }
                Transform::Log { scale } => {
                    for v in col.iter_mut() {
                        *v = (log1p_pos(v.max(0.0)) * scale).clamp(0.0, 1.0);
                    }
                }
                t @ Transform::Sigmoid { .. } => {
                    for v in col.iter_mut() {
                        *v = t.apply(*v);
                    }
                }
            }
            let fd = factor[d];
            for (j, (v, s)) in col.iter().zip(score.iter_mut()).enumerate() {
                let c = v * fd;
                contrib[(r0 + j) * m + d] = c;
                *s += c;
            }
        }
        for (l, &s) in levels[r0..r0 + len].iter_mut().zip(score.iter()) {
            *l = bands.iter().map(|&b| (s > b) as i32).sum();
        }
        r0 += len;
    }
    finite
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn score_chunks_avx2(
    x: &[f64],
    m: usize,
    transforms: &[Transform],
    factor: &[f64],
    bands: &[f64],
    scores: &mut [f64],
    levels: &mut [i32],
    contrib: &mut [f64],
) -> bool {
    score_chunks(x, m, transforms, factor, bands, scores, levels, contrib)
}

#[allow(clippy::too_many_arguments)]
fn score_all(
    x: &[f64],
    m: usize,
    transforms: &[Transform],
    factor: &[f64],
    bands: &[f64],
    scores: &mut [f64],
    levels: &mut [i32],
    contrib: &mut [f64],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe {
            score_chunks_avx2(x, m, transforms, factor, bands, scores, levels, contrib)
        };
    }
    score_chunks(x, m, transforms, factor, bands, scores, levels, contrib)
}

type SmokeResult<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i32>>,
    Bound<'py, PyArray2<f64>>,
);

/// Smoke index of `n` firms over `m` dimensions: `features` (n, m) raw values, `weights` (m),
/// per-dimension transform `kinds` (0 linear(p1=lo, p2=hi), 1 log(p1=hi), 2 sigmoid(p1=mid,
/// p2=width)), level `bands` (ascending). Returns (scores 0-100, levels = number of bands the
/// score is strictly above, contributions (n, m) summing to the score).
#[pyfunction]
#[pyo3(signature = (features, weights, kinds, p1, p2, bands))]
#[allow(clippy::too_many_arguments)]
pub fn smoke_index<'py>(
    py: Python<'py>,
    features: PyReadonlyArray2<'py, f64>,
    weights: PyReadonlyArray1<'py, f64>,
    kinds: PyReadonlyArray1<'py, i64>,
    p1: PyReadonlyArray1<'py, f64>,
    p2: PyReadonlyArray1<'py, f64>,
    bands: PyReadonlyArray1<'py, f64>,
) -> PyResult<SmokeResult<'py>> {
    let shape = features.shape();
    let (n, m) = (shape[0], shape[1]);
    let x = features
        .as_slice()
        .map_err(|_| PyValueError::new_err("features must be a C-contiguous (n, m) array"))?;
    let w = slice("weights", &weights)?;
    let kinds = slice("kinds", &kinds)?;
    let p1 = slice("p1", &p1)?;
    let p2 = slice("p2", &p2)?;
    let bands = slice("bands", &bands)?;
    same_len(
        &["feature columns", "weights", "kinds", "p1", "p2"],
        &[m, w.len(), kinds.len(), p1.len(), p2.len()],
    )?;
    if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(PyValueError::new_err(
            "weights must be finite and non-negative",
        ));
    }
    let wsum: f64 = w.iter().sum();
    if wsum <= 0.0 {
        return Err(PyValueError::new_err("weights must not all be zero"));
    }
    if bands.iter().any(|b| !b.is_finite()) || bands.windows(2).any(|p| p[0] >= p[1]) {
        return Err(PyValueError::new_err(
            "bands must be finite and strictly ascending",
        ));
    }
    let transforms = (0..m)
        .map(|d| Transform::new(kinds[d], p1[d], p2[d], d))
        .collect::<PyResult<Vec<_>>>()?;
    let factor: Vec<f64> = w.iter().map(|&wd| 100.0 * wd / wsum).collect();
    let scores = PyArray1::<f64>::zeros(py, n, false);
    let levels = PyArray1::<i32>::zeros(py, n, false);
    let contrib = PyArray2::<f64>::zeros(py, [n, m], false);
    {
        let mut s_guard = scores.readwrite();
        let mut l_guard = levels.readwrite();
        let mut c_guard = contrib.readwrite();
        let s = s_guard.as_slice_mut()?;
        let l = l_guard.as_slice_mut()?;
        let c = c_guard.as_slice_mut()?;
        let finite = py.detach(|| score_all(x, m, &transforms, &factor, bands, s, l, c));
        if !finite {
            let i = x.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(PyValueError::new_err(format!(
                "features must be finite: firm {}, dimension {} is {}",
                i / m.max(1),
                i % m.max(1),
                x[i]
            )));
        }
    }
    Ok((scores, levels, contrib))
}

/// Alarm flags of a tank reading.
pub const HIGH: i32 = 1;
pub const HIGH_HIGH: i32 = 2;
pub const LOW: i32 = 4;
pub const RATE: i32 = 8;
pub const STALE: i32 = 16;

/// Tank alarm evaluation with per-tank limits and memory of each tank's last reading.
#[pyclass(module = "core_ext._core", subclass)]
pub struct TankMonitor {
    index: FxHashMap<Key, usize>,
    keys: Vec<Key>,
    high: Vec<f64>,
    high_high: Vec<f64>,
    low: Vec<f64>,
    max_rate: Vec<f64>,
    stale_after: Vec<f64>,
    last_value: Vec<f64>,
    last_time: Vec<f64>,
}

#[pymethods]
impl TankMonitor {
    /// Limits per tank (NaN disables one): `high`, `high_high`, `low` (value units),
    /// `max_rate_per_min` (absolute change per minute), `stale_after_s` (seconds of silence).
    #[new]
    #[pyo3(signature = (ids, high, high_high, low, max_rate_per_min, stale_after_s))]
    fn new(
        ids: &Bound<'_, PyAny>,
        high: PyReadonlyArray1<'_, f64>,
        high_high: PyReadonlyArray1<'_, f64>,
        low: PyReadonlyArray1<'_, f64>,
        max_rate_per_min: PyReadonlyArray1<'_, f64>,
        stale_after_s: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<Self> {
        let keys = keys_from_py(ids)?;
        let cols = [
            slice("high", &high)?,
            slice("high_high", &high_high)?,
            slice("low", &low)?,
            slice("max_rate_per_min", &max_rate_per_min)?,
            slice("stale_after_s", &stale_after_s)?,
        ];
        same_len(
            &[
                "ids",
                "high",
                "high_high",
                "low",
                "max_rate_per_min",
                "stale_after_s",
            ],
            &[
                keys.len(),
                cols[0].len(),
                cols[1].len(),
                cols[2].len(),
                cols[3].len(),
                cols[4].len(),
            ],
        )?;
        for (name, col) in [
            "high",
            "high_high",
            "low",
            "max_rate_per_min",
            "stale_after_s",
        ]
        .iter()
        .zip(&cols)
        {
            if let Some(i) = col.iter().position(|v| v.is_infinite()) {
                return Err(PyValueError::new_err(format!(
                    "{name} of tank {} is infinite; use NaN to disable a limit",
                    keys[i].repr()
                )));
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if cols[3][i] < 0.0 || cols[4][i] < 0.0 {
                return Err(PyValueError::new_err(format!(
                    "max_rate_per_min and stale_after_s of tank {} must be >= 0",
                    k.repr()
                )));
            }
            if cols[1][i] < cols[0][i] {
                return Err(PyValueError::new_err(format!(
                    "tank {}: high_high ({}) is below high ({})",
                    k.repr(),
                    cols[1][i],
                    cols[0][i]
                )));
            }
        }
        let mut index = FxHashMap::default();
        for (i, k) in keys.iter().enumerate() {
            if index.insert(k.clone(), i).is_some() {
                return Err(PyValueError::new_err(format!(
                    "duplicate tank id {}",
                    k.repr()
                )));
            }
        }
        let n = keys.len();
        Ok(TankMonitor {
            index,
            keys,
            high: cols[0].to_vec(),
            high_high: cols[1].to_vec(),
            low: cols[2].to_vec(),
            max_rate: cols[3].to_vec(),
            stale_after: cols[4].to_vec(),
            last_value: vec![f64::NAN; n],
            last_time: vec![f64::NAN; n],
        })
    }

    /// Evaluate readings in order: returns (flags int32, rate per minute float64) per reading
    /// and remembers each tank's last reading. Readings of one tank must not go back in time.
    /// All-or-nothing: on `KeyError` / `ValueError` no state changes.
    #[allow(clippy::type_complexity)]
    fn evaluate<'py>(
        &mut self,
        py: Python<'py>,
        tank_ids: &Bound<'py, PyAny>,
        values: PyReadonlyArray1<'py, f64>,
        times: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f64>>)> {
        let keys = keys_from_py(tank_ids)?;
        let v = slice("values", &values)?;
        let t = slice("times", &times)?;
        let n = same_len(
            &["tank_ids", "values", "times"],
            &[keys.len(), v.len(), t.len()],
        )?;
        let mut rows = Vec::with_capacity(n);
        for (i, k) in keys.iter().enumerate() {
            match self.index.get(k) {
                Some(&r) => rows.push(r),
                None => {
                    return Err(PyKeyError::new_err(format!(
                        "unknown tank id {} at index {i}",
                        k.repr()
                    )))
                }
            }
            if !v[i].is_finite() || !t[i].is_finite() {
                return Err(PyValueError::new_err(format!(
                    "reading {i} of tank {}: value and time must be finite, got {} at {}",
                    k.repr(),
                    v[i],
                    t[i]
                )));
            }
        }
        let mut last_v = self.last_value.clone();
        let mut last_t = self.last_time.clone();
        let mut flags = vec![0i32; n];
        let mut rates = vec![f64::NAN; n];
        let me = &*self;
        let res = py.detach(|| {
            for i in 0..n {
                let r = rows[i];
                let (value, time) = (v[i], t[i]);
                let mut f = 0;
                if value >= me.high[r] {
                    f |= HIGH;
                }
                if value >= me.high_high[r] {
                    f |= HIGH_HIGH;
                }
                if value <= me.low[r] {
                    f |= LOW;
                }
                if !last_t[r].is_nan() {
                    let dt = time - last_t[r];
                    if dt < 0.0 {
                        return Err(i);
                    }
                    if dt > me.stale_after[r] {
                        f |= STALE;
                    }
                    if dt > 0.0 {
                        let rate = (value - last_v[r]) / (dt / 60.0);
                        rates[i] = rate;
                        if rate.abs() > me.max_rate[r] {
                            f |= RATE;
                        }
                    }
                }
                flags[i] = f;
                last_v[r] = value;
                last_t[r] = time;
            }
            Ok(())
        });
        if let Err(i) = res {
            return Err(PyValueError::new_err(format!(
                "reading {i} of tank {} goes back in time ({} before {})",
                keys[i].repr(),
                t[i],
                last_t[rows[i]]
            )));
        }
        self.last_value = last_v;
        self.last_time = last_t;
        Ok((PyArray1::from_vec(py, flags), PyArray1::from_vec(py, rates)))
    }

    /// Ids of tanks silent for longer than their `stale_after_s` at `now` (never read: stale).
    fn stale<'py>(&self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        if !now.is_finite() {
            return Err(PyValueError::new_err("now must be finite"));
        }
        let ids = (0..self.keys.len())
            .filter(|&r| {
                self.last_time[r].is_nan() || now - self.last_time[r] > self.stale_after[r]
            })
            .map(|r| self.keys[r].to_py(py))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, ids)
    }

    /// (value, time) of a tank's last reading, or None; `KeyError` for an unknown id.
    fn last_reading(&self, id: &Bound<'_, PyAny>) -> PyResult<Option<(f64, f64)>> {
        let key = Key::from_py(id)?;
        let r = *self
            .index
            .get(&key)
            .ok_or_else(|| PyKeyError::new_err(format!("unknown tank id {}", key.repr())))?;
        Ok((!self.last_time[r].is_nan()).then(|| (self.last_value[r], self.last_time[r])))
    }

    fn __len__(&self) -> usize {
        self.keys.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(smoke_index, m)?)?;
    m.add_class::<TankMonitor>()?;
    m.add("TANK_HIGH", HIGH)?;
    m.add("TANK_HIGH_HIGH", HIGH_HIGH)?;
    m.add("TANK_LOW", LOW)?;
    m.add("TANK_RATE", RATE)?;
    m.add("TANK_STALE", STALE)?;
    Ok(())
}
