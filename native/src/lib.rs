//! Native core for the enforcer's per-record path (`signal_factory_native`).
//!
//! Two deterministic pieces, each byte-identical to its Python reference (which stays the default when
//! this module is absent, see `src/signal_factory/native.py`):
//!
//! * `keyed_ulid(ts_ms, key)` and `kafka_ids(...)`: `model/ids.py::keyed_ulid` (BLAKE2b-80 of the key, time
//!   part `ts_ms`, Crockford base32), one call per batch for Kafka-keyed records.
//! * `pii_clear(obj)`: walks a decoded payload (dicts, lists, strings, ints) and answers True only when
//!   no string leaf passes `privacy/pii_detectors.py`'s pre-screen (`detect`'s first test, then
//!   `_candidates`). When True, `PiiGate.run` can return its clean result without calling Python's
//!   detectors at all; when False (a candidate, or anything this walk is unsure of) the Python path runs
//!   unchanged. The screen is conservative by construction: it may say "candidate" where Python would
//!   not (the IBAN length table is not checked here), never the reverse.

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;
use memchr::memmem;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};
use std::collections::HashSet;
use std::sync::OnceLock;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn encode_ulid(ts_ms: u64, randomness: u128) -> String {
    // 48-bit time + 80-bit randomness = 128 bits, written as 26 Crockford chars (first holds 3 bits);
    // the same digits as base32 of the value padded to 160 bits with the first 6 chars dropped.
    let ts = ts_ms & ((1u64 << 48) - 1);
    let value: u128 = ((ts as u128) << 80) | (randomness & ((1u128 << 80) - 1));
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (25 - i);
        *slot = CROCKFORD[((value >> shift) & 31) as usize];
    }
    // SAFETY-free: every byte comes from the ASCII alphabet above.
    String::from_utf8(out.to_vec()).expect("ascii")
}

fn keyed(ts_ms: i64, key: &[u8]) -> String {
    let mut hasher = Blake2bVar::new(10).expect("10 is a valid BLAKE2b digest size");
    hasher.update(key);
    let mut digest = [0u8; 10];
    hasher.finalize_variable(&mut digest).expect("digest size matches");
    let mut r: u128 = 0;
    for b in digest {
        r = (r << 8) | b as u128;
    }
    encode_ulid(ts_ms.max(0) as u64, r)
}

/// `model.ids.keyed_ulid`: a deterministic ULID keyed by `key` (time part below 2**48 ms, year 10889).
#[pyfunction]
fn keyed_ulid(timestamp_ms: i64, key: &[u8]) -> PyResult<String> {
    if timestamp_ms >= 1i64 << 48 {
        return Err(pyo3::exceptions::PyValueError::new_err("timestamp_ms does not fit a ULID's 48 bits"));
    }
    Ok(keyed(timestamp_ms, key))
}

const MIN_EPOCH_MS: i64 = -62_104_060_800_000;
const MAX_EPOCH_MS: i64 = 253_370_764_799_999;

/// One Kafka-keyed id, or None when the record needs Python's `record_id` (no offset, or a field whose
/// type is not the usual one: those are rare and keyed the reference way).
fn kafka_id(rec: &Bound<'_, PyAny>, now_ms: i64, key: &mut Vec<u8>) -> Option<String> {
    let offset = rec.getattr("offset").ok()?;
    if offset.is_none() || !offset.is_exact_instance_of::<PyInt>() {
        return None;
    }
    let offset: i64 = offset.extract().ok()?;
    let topic = rec.getattr("topic").ok()?;
    let partition = rec.getattr("partition").ok()?;
    let ts_obj = rec.getattr("timestamp_ms").ok()?;
    let ts = if ts_obj.is_none() {
        now_ms
    } else if ts_obj.is_exact_instance_of::<PyInt>() {
        match ts_obj.extract::<i64>() {
            Ok(t) if (MIN_EPOCH_MS..=MAX_EPOCH_MS).contains(&t) => t,
            Ok(_) => now_ms,
            Err(_) => return None,
        }
    } else {
        return None;
    };
    key.clear();
    if topic.is_none() {
        key.extend_from_slice(b"None");
    } else {
        key.extend_from_slice(topic.downcast::<PyString>().ok()?.to_str().ok()?.as_bytes());
    }
    key.push(0);
    if partition.is_none() {
        key.extend_from_slice(b"None");
    } else if partition.is_exact_instance_of::<PyInt>() {
        key.extend_from_slice(partition.extract::<i64>().ok()?.to_string().as_bytes());
    } else {
        return None;
    }
    key.push(0);
    key.extend_from_slice(offset.to_string().as_bytes());
    Some(keyed(ts, key))
}

/// `enforcer.pipeline.record_id` for a batch, for records keyed by Kafka coordinates
/// (`f"{topic}\0{partition}\0{offset}"`); None where the caller must use the Python function.
#[pyfunction]
fn kafka_ids(records: &Bound<'_, PyAny>, now_ms: i64) -> PyResult<Vec<Option<String>>> {
    let mut key = Vec::with_capacity(64);
    let mut out = Vec::new();
    for rec in records.try_iter()? {
        out.push(kafka_id(&rec?, now_ms, &mut key));
    }
    Ok(out)
}

// ---- PII pre-screen: a port of pii_detectors.detect's screen + _candidates (non-empty or not) ----

fn class_of(b: u8) -> u8 {
    match b {
        b'.' | b'+' | b')' | b':' | b'@' => b,
        b' ' | b'-' => b'-',
        b'0'..=b'9' => b'0',
        b'A'..=b'Z' | b'a'..=b'z' | b'_' => b'A',
        _ => b'~',
    }
}

fn run_of(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() || b == b' ' {
        b'a'
    } else {
        b'.'
    }
}

fn zero_start_of(b: u8) -> u8 {
    if b == b'0' {
        b'0'
    } else if b < 128 && (b.is_ascii_alphanumeric() || b"_-./+:)".contains(&b)) {
        b'a'
    } else {
        b' '
    }
}

fn timestamp_shapes() -> &'static HashSet<Vec<u8>> {
    static SHAPES: OnceLock<HashSet<Vec<u8>>> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let mut set = HashSet::new();
        let zones = ["", "A", "+00:00", "-00:00", "+0000", "-0000", "+00", "-00"];
        for sep in ["A", "-"] {
            for time in ["00:00", "00:00:00"] {
                let mut fractions = vec![String::new()];
                for n in 1..10 {
                    fractions.push(format!(".{}", "0".repeat(n)));
                }
                for fraction in &fractions {
                    for zone in zones {
                        set.insert(format!("0000-00-00{sep}{time}{fraction}{zone}").into_bytes());
                    }
                }
            }
        }
        set.insert(b"0000-00-00".to_vec());
        set
    })
}

#[inline]
fn has(hay: &[u8], needle: &[u8]) -> bool {
    memmem::find(hay, needle).is_some()
}

fn count(hay: &[u8], b: u8) -> usize {
    memchr::memchr_iter(b, hay).count()
}

fn iban_at_token_start(shape: &[u8], raw: &[u8]) -> bool {
    for i in memmem::find_iter(shape, b"AA00") {
        if i == 0 || (shape[i - 1] != b'A' && shape[i - 1] != b'0') {
            let end = (i + 15).min(raw.len());
            if memchr::memchr(b'-', &raw[i..end]).is_none() {
                return true;
            }
        }
    }
    false
}

/// True when Python's `detect(text)` would run at least one validator on `raw` (the text's UTF-8).
fn may_be_pii(raw: &[u8]) -> bool {
    // len(text) < 7 in code points: count the bytes that start a character.
    let chars = raw.iter().filter(|&&b| b & 0xC0 != 0x80).count();
    if chars < 7 {
        return false;
    }
    let nd = raw.iter().filter(|b| b.is_ascii_digit()).count();
    let has_at = memchr::memchr(b'@', raw).is_some();
    let has_colon = memchr::memchr(b':', raw).is_some();
    let dots = count(raw, b'.');
    if nd < 8 && !has_at && !has_colon && (dots == 0 || nd < 4 || dots < 3) {
        return false;
    }
    let shape: Vec<u8> = raw.iter().map(|&b| class_of(b)).collect();
    if nd >= 8 {
        if raw[0] != b'0' && timestamp_shapes().contains(&shape) {
            return false;
        }
        if shape.iter().all(|&c| c == b'A' || c == b'0') {
            // one token of letters and digits: a card (13 digits in a row) or an IBAN (checked by Python
            // against the registry's lengths; here any "AA00" start is a candidate)
            return (nd >= 13 && has(&shape, b"0000000000000")) || shape.starts_with(b"AA00");
        }
        if memchr::memchr(b' ', raw).is_none()
            && memchr::memchr(b'A', &shape).is_some()
            && shape[0] != b'-'
            && shape[shape.len() - 1] != b'-'
            && !has(&shape, b"--")
            && shape.iter().all(|&c| c == b'A' || c == b'0' || c == b'-')
        {
            return false;
        }
        let dashed = has(&shape, b"0-0000");
        if nd >= 9 && ((dashed && has(&shape, b"000-00-0000")) || has(&shape, b"000.00.0000")) {
            return true;
        }
        if nd >= 13
            && (has(&shape, b"0000000000000")
                || (dashed && (has(&shape, b"0000-0000-0000-0") || has(&shape, b"0000-000000-0000")))
                || (has(&shape, b"0.0000")
                    && (has(&shape, b"0000.0000.0000.0") || has(&shape, b"0000.000000.0000"))))
        {
            return true;
        }
        if has(&shape, b"AA00") && chars >= 15 {
            let run: Vec<u8> = raw.iter().map(|&b| run_of(b)).collect();
            if has(&run, b"aaaaaaaaaaaaaaa") && iban_at_token_start(&shape, raw) {
                return true;
            }
        }
        if has_at {
            return true;
        }
        if memchr::memchr(b'+', &shape).is_some() {
            return true;
        }
        if nd >= 10 {
            let nanp = (dashed && has(&shape, b"000-000-0000")) || has(&shape, b"000.000.0000") || has(&shape, b"000)");
            if nanp {
                return true;
            }
            let groups = has(&shape, b"0-0") || has(&shape, b"0.0") || has(&shape, b"0)0");
            if groups {
                let zero_start = raw[0] == b'0'
                    || has(raw, b" 0")
                    || (has(&shape, b"~0") && {
                        let z: Vec<u8> = raw.iter().map(|&b| zero_start_of(b)).collect();
                        has(&z, b" 0")
                    });
                if zero_start {
                    return true;
                }
            }
        }
    } else if has_at {
        return true;
    }
    nd > 0
        && ((nd >= 4 && count(&shape, b'.') >= 3 && has(&shape, b"0.0"))
            || (has_colon && (has(&shape, b"::") || count(&shape, b':') >= 6)))
}

const CARD_MIN: i64 = 1_000_000_000_000;
const MAX_WALK_DEPTH: usize = 256;

/// False as soon as a leaf may be PII (or the walk is unsure); True when every leaf is clean.
/// `path` is the leaf's field path as `gates/pii.py` builds it (`a.b`, `a[]`); a field whose path is in
/// `classified` is skipped, as the Python walk skips it.
fn clear(obj: &Bound<'_, PyAny>, depth: usize, classified: &HashSet<String>, path: &mut String) -> bool {
    if depth > MAX_WALK_DEPTH {
        return false;
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return match s.to_str() {
            Ok(text) => !may_be_pii(text.as_bytes()),
            Err(_) => false, // lone surrogates: let Python decide
        };
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        let base = path.len();
        for (k, v) in d.iter() {
            if !classified.is_empty() {
                if let Some(key) = k.downcast::<PyString>().ok().and_then(|k| k.to_str().ok()) {
                    if base > 0 {
                        path.push('.');
                    }
                    path.push_str(key);
                    let skip = classified.contains(path.as_str());
                    let ok = skip || clear(&v, depth + 1, classified, path);
                    path.truncate(base);
                    if !ok {
                        return false;
                    }
                    continue;
                }
                return false; // a key that is not plain text: let Python build its path
            }
            if !clear(&v, depth + 1, classified, path) {
                return false;
            }
        }
        return true;
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        let base = path.len();
        path.push_str("[]");
        let skip = !classified.is_empty() && classified.contains(path.as_str());
        let ok = skip || l.iter().all(|v| clear(&v, depth + 1, classified, path));
        path.truncate(base);
        return ok;
    }
    if obj.is_instance_of::<PyBool>() {
        return true;
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(v) => v < CARD_MIN,
            Err(_) => false, // beyond 64 bits: let Python decide
        };
    }
    // floats, None and anything else: Python's scan ignores them (int subclasses such as bool too)
    true
}

/// The PII pre-screen for one contract's classified field paths (built once per contract).
#[pyclass(frozen)]
struct PiiScreen {
    classified: HashSet<String>,
}

#[pymethods]
impl PiiScreen {
    #[new]
    fn new(classified: HashSet<String>) -> Self {
        PiiScreen { classified }
    }

    /// True when no string or integer leaf of `obj` outside the classified fields could be PII by
    /// `detect`'s pre-screen: Python's walk would find nothing.
    fn clear(&self, obj: &Bound<'_, PyAny>) -> bool {
        let mut path = String::new();
        clear(obj, 0, &self.classified, &mut path)
    }
}

/// `PiiScreen(frozenset()).clear(obj)`: no field skipped.
#[pyfunction]
fn pii_clear(obj: &Bound<'_, PyAny>) -> bool {
    let mut path = String::new();
    clear(obj, 0, &HashSet::new(), &mut path)
}

/// The pre-screen of one string: would `detect(text)` run a validator on it?
#[pyfunction]
fn pii_candidate(text: &Bound<'_, PyString>) -> bool {
    match text.to_str() {
        Ok(t) => may_be_pii(t.as_bytes()),
        Err(_) => true,
    }
}

#[pymodule]
fn signal_factory_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(keyed_ulid, m)?)?;
    m.add_function(wrap_pyfunction!(kafka_ids, m)?)?;
    m.add_function(wrap_pyfunction!(pii_clear, m)?)?;
    m.add_class::<PiiScreen>()?;
    m.add_function(wrap_pyfunction!(pii_candidate, m)?)?;
    Ok(())
}
