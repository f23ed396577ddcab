//! The matmul tuner: on a hardware adapter, the first run that meets a
//! product shape times every variant that can run it (random data, a few
//! dispatches each), checks each new vec4 variant once for bit-equality
//! with matmul.wgsl on that adapter, and keeps the fastest, cached in a
//! JSON file per adapter, driver, neurona version and kernel source.
//!
//! Shapes are bucketed (each of M, N, K rounded up to a power of two, as
//! CubeCL's matmul autotune keys are), so one timing serves the shapes
//! around it. Products too small for the choice to matter, software
//! adapters and the browser take the fixed rule (`variants::heuristic`).
//! Every variant gives the same bits, so tuning changes speed only.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::gpu::family::VEC4_TILES;
use crate::gpu::product::{MatmulKind, ProductShape};
use crate::gpu::shaders::kernel_sources;
use crate::gpu::variants::{MatmulVariant, heuristic};

/// Products under this many flop keep the fixed rule: their time is the
/// dispatch, whatever the kernel.
pub const MIN_TUNED_FLOP: f64 = 5e8;
/// The cache file's name, under the cache folder.
pub const CACHE_FILE: &str = "matmul-tune-v1.json";
/// What the cache file says it is.
const FORMAT: &str = "neurona matmul tuning, version 1";

/// A product shape as the tuner keys it: the kind, each size rounded up to
/// a power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductKey {
    /// Which product.
    pub kind: MatmulKind,
    /// M, N, K, each rounded up to a power of two.
    pub m: u32,
    /// See `m`.
    pub n: u32,
    /// See `m`.
    pub k: u32,
}

fn bucket(v: u32) -> u32 {
    v.checked_next_power_of_two().unwrap_or(1 << 31)
}

impl ProductKey {
    /// The key of the `kind` product of `m x n` outputs over `k`.
    pub fn of(kind: MatmulKind, m: u32, n: u32, k: u32) -> Self {
        ProductKey {
            kind,
            m: bucket(m),
            n: bucket(n),
            k: bucket(k),
        }
    }

    /// `forward 4096x4096x4096`, as the cache file writes it.
    fn id(&self) -> String {
        format!("{} {}x{}x{}", self.kind.name(), self.m, self.n, self.k)
    }

    fn parse(id: &str) -> Option<Self> {
        let (name, dims) = id.split_once(' ')?;
        let kind = *MatmulKind::ALL.iter().find(|k| k.name() == name)?;
        let mut d = dims.split('x').map(|v| v.parse::<u32>().ok());
        let (m, n, k) = (d.next()??, d.next()??, d.next()??);
        Some(ProductKey { kind, m, n, k })
    }
}

impl std::fmt::Display for ProductKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}

/// Times products and checks variants: the GPU ([`GpuContext`](crate::GpuContext)), or a
/// stand-in in tests.
pub trait ProductTimer {
    /// Seconds per dispatch of `shape` in `variant`.
    fn seconds(&mut self, shape: &ProductShape, variant: MatmulVariant) -> Result<f64>;
    /// Whether `variant` gives matmul.wgsl's bits on the `kind` product
    /// (checked once per variant and adapter).
    fn same_bits(&mut self, kind: MatmulKind, variant: MatmulVariant) -> Result<bool>;
}

/// The variants that can run `shape` within `limits`: matmul.wgsl's shape
/// for it first (the fallback), then every vec4 tile that fits.
pub fn candidates(shape: &ProductShape, limits: &wgpu::Limits) -> Vec<MatmulVariant> {
    let (m, n, _) = shape.dims();
    let mut all = vec![MatmulVariant::fallback(m as u32, n as u32)];
    if shape.vec4() {
        all.extend(
            VEC4_TILES
                .iter()
                .filter(|t| t.check_limits(shape.kind(), limits).is_ok())
                .map(|t| MatmulVariant::Vec4(*t)),
        );
    }
    all
}

/// One shape's tuning: each candidate's time, the variants that failed the
/// bit-equality check, and the winner.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    /// The shape timed.
    pub shape: ProductShape,
    /// The fastest candidate.
    pub choice: MatmulVariant,
    /// Seconds per dispatch of each candidate timed, in candidate order.
    pub seconds: Vec<(MatmulVariant, f64)>,
    /// Candidates left out because their bits differed from matmul.wgsl's.
    pub rejected: Vec<MatmulVariant>,
}

/// Time `candidates` on `shape` and pick the fastest; a vec4 variant is
/// first checked for bit-equality (once: `verified` remembers by name).
pub fn tune(
    shape: &ProductShape,
    candidates: &[MatmulVariant],
    timer: &mut dyn ProductTimer,
    verified: &mut HashMap<String, bool>,
) -> Result<Tuned> {
    let mut seconds = Vec::new();
    let mut rejected = Vec::new();
    for &v in candidates {
        if let MatmulVariant::Vec4(_) = v {
            let name = format!("{} {v}", shape.kind().name());
            let same = match verified.get(&name) {
                Some(&same) => same,
                None => {
                    let same = timer.same_bits(shape.kind(), v)?;
                    verified.insert(name, same);
                    same
                }
            };
            if !same {
                rejected.push(v);
                continue;
            }
        }
        seconds.push((v, timer.seconds(shape, v)?));
    }
    let choice = seconds
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| *v)
        .ok_or_else(|| Error::Gpu(format!("no matmul variant could run {shape}")))?;
    Ok(Tuned {
        shape: *shape,
        choice,
        seconds,
        rejected,
    })
}

/// A stable 64-bit hash (FNV-1a), as 16 hex digits.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The hash of every matmul kernel's source (matmul.wgsl and the whole
/// generated family, with the prelude and common.wgsl): a change to any of
/// them invalidates the cache.
pub fn kernels_hash() -> String {
    fnv(&kernel_sources())
}

/// Where the cache lives: `$NEURONA_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/neurona`, else `$HOME/.cache/neurona`, + [`CACHE_FILE`].
pub fn cache_path() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = var("NEURONA_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("neurona")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("neurona")))?;
    Some(dir.join(CACHE_FILE))
}

/// The day `secs` after 1970 as `YYYY-MM-DD` (Howard Hinnant's
/// civil_from_days).
fn date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}-{m:02}-{d:02}")
}

fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    date(secs)
}

/// One cached choice, as [`TuneCache::choices`] lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedChoice {
    /// The adapter it was timed on.
    pub adapter: String,
    /// Whether it was timed by this neurona's kernels (else it is stale,
    /// and ignored).
    pub current: bool,
    /// The product.
    pub key: ProductKey,
    /// The variant chosen.
    pub variant: String,
    /// Microseconds per dispatch of each candidate.
    pub micros: Vec<(String, f64)>,
    /// When it was timed.
    pub date: String,
}

/// The tuner's cache file: per adapter, the neurona version and kernel
/// hash it was timed with, the variants checked, and per product key the
/// choice with every candidate's time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TuneCache {
    path: Option<PathBuf>,
    adapters: serde_json::Map<String, Value>,
}

impl TuneCache {
    /// The cache at `path` (`None`: in memory only). A missing file is an
    /// empty cache; so is one that is unreadable or not the tuner's (it is
    /// rebuilt on the next save).
    pub fn load(path: Option<&Path>) -> Self {
        let adapters = path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .filter(|v| v["format"] == FORMAT)
            .and_then(|mut v| match v["adapters"].take() {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        TuneCache {
            path: path.map(Path::to_path_buf),
            adapters,
        }
    }

    /// Where it is saved.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The entry of `adapter`, if it was made with this neurona version and
    /// these kernels (`hash`); a stale one counts as none.
    fn entry(&self, adapter: &str, hash: &str) -> Option<&Value> {
        self.adapters
            .get(adapter)
            .filter(|e| e["neurona"] == env!("CARGO_PKG_VERSION") && e["kernels"] == hash)
    }

    /// The cached choice for `key` on `adapter` with kernels `hash`.
    pub fn get(&self, adapter: &str, hash: &str, key: &ProductKey) -> Option<MatmulVariant> {
        let name = self.entry(adapter, hash)?["products"][key.id()]["variant"].as_str()?;
        name.parse().ok()
    }

    /// What the cache says about `variant`'s bits on `adapter`, if it was
    /// checked.
    pub fn verified(&self, adapter: &str, hash: &str) -> HashMap<String, bool> {
        self.entry(adapter, hash)
            .and_then(|e| e["verified"].as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_bool()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Record `tuned` under `key` for `adapter` (replacing a stale entry),
    /// with the variants `verified` so far.
    pub fn put(
        &mut self,
        adapter: &str,
        hash: &str,
        key: &ProductKey,
        tuned: &Tuned,
        verified: &HashMap<String, bool>,
    ) {
        if self.entry(adapter, hash).is_none() {
            self.adapters.insert(
                adapter.to_string(),
                json!({
                    "neurona": env!("CARGO_PKG_VERSION"),
                    "kernels": hash,
                    "verified": {},
                    "products": {},
                }),
            );
        }
        let entry = &mut self.adapters[adapter];
        let checked: BTreeMap<&String, &bool> = verified.iter().collect();
        entry["verified"] = json!(checked);
        let micros: serde_json::Map<String, Value> = tuned
            .seconds
            .iter()
            .map(|(v, s)| (v.to_string(), json!((s * 1e7).round() / 10.0)))
            .collect();
        entry["products"][key.id()] = json!({
            "variant": tuned.choice.to_string(),
            "micros": micros,
            "date": today(),
        });
    }

    /// Write the file (atomically: a temporary file and a rename), making
    /// its folder if needed. In memory only: nothing to do.
    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Io(format!(
                    "cannot make the cache folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let all = json!({ "format": FORMAT, "adapters": self.adapters });
        let text = serde_json::to_string_pretty(&all).map_err(|e| Error::Io(e.to_string()))?;
        crate::model_file::write_atomically(path, text.as_bytes())
    }

    /// Every choice in the file, adapter by adapter; `hash` tells current
    /// entries from stale ones.
    pub fn choices(&self, hash: &str) -> Vec<CachedChoice> {
        let mut out = Vec::new();
        for (adapter, e) in &self.adapters {
            let current = e["neurona"] == env!("CARGO_PKG_VERSION") && e["kernels"] == hash;
            let Some(products) = e["products"].as_object() else {
                continue;
            };
            for (id, p) in products {
                let Some(key) = ProductKey::parse(id) else {
                    continue;
                };
                let micros = p["micros"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(CachedChoice {
                    adapter: adapter.clone(),
                    current,
                    key,
                    variant: p["variant"].as_str().unwrap_or("?").to_string(),
                    micros,
                    date: p["date"].as_str().unwrap_or("").to_string(),
                });
            }
        }
        out.sort_by(|a, b| (&a.adapter, a.key).cmp(&(&b.adapter, b.key)));
        out
    }
}

/// What a device's tuner knows: the choices made this run, the variants
/// checked, and the cache.
struct State {
    memo: HashMap<ProductKey, MatmulVariant>,
    verified: HashMap<String, bool>,
    cache: TuneCache,
}

/// A hardware device's tuner (`GpuContext` has one when it chooses
/// variants itself on a hardware adapter).
pub(crate) struct Tuner {
    /// The adapter's identity in the cache: name, ids, API, driver.
    adapter: String,
    hash: String,
    state: Mutex<State>,
}

impl Tuner {
    pub(crate) fn new(adapter: String, cache: TuneCache) -> Self {
        let hash = kernels_hash();
        let verified = cache.verified(&adapter, &hash);
        Tuner {
            adapter,
            hash,
            state: Mutex::new(State {
                memo: HashMap::new(),
                verified,
                cache,
            }),
        }
    }

    /// The variant for the `kind` product of `m x n` over `k` on an
    /// adapter with `limits`: remembered, cached, or tuned now with `timer`
    /// (and cached). Small or odd products, and a failed timing, take the
    /// fixed rule.
    pub(crate) fn choose(
        &self,
        timer: &mut dyn ProductTimer,
        limits: &wgpu::Limits,
        (kind, m, n, k): (MatmulKind, u32, u32, u32),
        vec4: bool,
    ) -> MatmulVariant {
        let shape = ProductShape::of_dims(kind, m as usize, n as usize, k as usize);
        if !vec4 || shape.flop() < MIN_TUNED_FLOP {
            return heuristic(kind, (m, n, k), vec4, false, limits);
        }
        let key = ProductKey::of(kind, m, n, k);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = state.memo.get(&key) {
            return *v;
        }
        let cached = state
            .cache
            .get(&self.adapter, &self.hash, &key)
            .filter(|v| v.fits(kind, limits));
        let choice = match cached {
            Some(v) => v,
            // A cache that cannot be written costs a retune next run,
            // nothing else.
            None => match self.tune_locked(&mut state, &shape, limits, timer, false) {
                Ok(tuned) => tuned.choice,
                Err(_) => heuristic(kind, (m, n, k), vec4, false, limits),
            },
        };
        state.memo.insert(key, choice);
        choice
    }

    /// Tune `shape` now, whatever is cached, and cache the result (an
    /// error if the cache cannot be written: `neurona tune` says so).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn tune(
        &self,
        shape: &ProductShape,
        limits: &wgpu::Limits,
        timer: &mut dyn ProductTimer,
    ) -> Result<Tuned> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.tune_locked(&mut state, shape, limits, timer, true)
    }

    fn tune_locked(
        &self,
        state: &mut State,
        shape: &ProductShape,
        limits: &wgpu::Limits,
        timer: &mut dyn ProductTimer,
        must_save: bool,
    ) -> Result<Tuned> {
        let State {
            memo,
            verified,
            cache,
        } = state;
        let tuned = tune(shape, &candidates(shape, limits), timer, verified)?;
        let (m, n, k) = shape.dims();
        let key = ProductKey::of(shape.kind(), m as u32, n as u32, k as u32);
        cache.put(&self.adapter, &self.hash, &key, &tuned, verified);
        memo.insert(key, tuned.choice);
        let saved = cache.save();
        if must_save {
            saved?;
        }
        Ok(tuned)
    }
}

/// The adapter's identity in the cache file.
pub(crate) fn adapter_id(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} [{:04x}:{:04x}] {:?} {} {}",
        info.name, info.vendor, info.device, info.backend, info.driver, info.driver_info
    )
    .trim()
    .to_string()
}

/// The same values bit for bit, except that +0 equals −0 (a different
/// count of zero padding may flip a zero's sign).
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    let key = |v: &f32| if *v == 0.0 { 0 } else { v.to_bits() };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timer whose times are a table, counting its calls.
    struct Fake {
        times: HashMap<String, f64>,
        bad_bits: Vec<String>,
        timed: usize,
        checked: usize,
    }

    impl ProductTimer for Fake {
        fn seconds(&mut self, _: &ProductShape, v: MatmulVariant) -> Result<f64> {
            self.timed += 1;
            Ok(*self.times.get(&v.to_string()).unwrap_or(&1.0))
        }
        fn same_bits(&mut self, _: MatmulKind, v: MatmulVariant) -> Result<bool> {
            self.checked += 1;
            Ok(!self.bad_bits.contains(&v.to_string()))
        }
    }

    fn fake(times: &[(&str, f64)], bad: &[&str]) -> Fake {
        Fake {
            times: times.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            bad_bits: bad.iter().map(|s| s.to_string()).collect(),
            timed: 0,
            checked: 0,
        }
    }

    fn roomy() -> wgpu::Limits {
        wgpu::Limits {
            max_compute_workgroup_storage_size: 49_152,
            ..wgpu::Limits::default()
        }
    }

    #[test]
    fn the_fastest_variant_that_gives_the_same_bits_wins() {
        let shape = ProductShape::forward(4096, 4096, 4096, true);
        let all = candidates(&shape, &roomy());
        assert_eq!(all.len(), 1 + VEC4_TILES.len());
        let mut timer = fake(
            &[
                ("t128x128x8_r8x8_s2", 0.5),
                ("t128x128x16_r8x8_s2", 0.2),
                ("t64x64x8_r8x8_s2", 0.3),
            ],
            &["t128x128x16_r8x8_s2"],
        );
        let mut verified = HashMap::new();
        let tuned = tune(&shape, &all, &mut timer, &mut verified).unwrap();
        assert_eq!(tuned.choice.to_string(), "t64x64x8_r8x8_s2");
        assert_eq!(tuned.rejected.len(), 1);
        assert_eq!(tuned.seconds.len(), all.len() - 1);
        assert_eq!(timer.checked, VEC4_TILES.len());
        // Checked once per variant: a second shape checks nothing again.
        let other = ProductShape::forward(2048, 4096, 4096, true);
        tune(&other, &all, &mut timer, &mut verified).unwrap();
        assert_eq!(timer.checked, VEC4_TILES.len());
    }

    #[test]
    fn candidates_keep_to_eligibility_and_limits() {
        let odd = ProductShape::forward(4096, 4095, 4096, true);
        assert_eq!(
            candidates(&odd, &roomy()),
            vec![MatmulVariant::fallback(4096, 4095)]
        );
        let small = wgpu::Limits::default(); // 16 KiB
        let fits = candidates(&ProductShape::hidden_delta(512, 512, 512), &small);
        assert!(fits.len() > 1);
        for v in &fits {
            if let MatmulVariant::Vec4(t) = v {
                assert!(t.workgroup_bytes(MatmulKind::HiddenDelta) <= 16_384, "{v}");
            }
        }
        assert!(
            fits.len() < candidates(&ProductShape::hidden_delta(512, 512, 512), &roomy()).len()
        );
        // The weight products' M is n_in plus the bias row.
        let update = ProductShape::of_dims(MatmulKind::SgdUpdate, 257, 64, 32);
        assert_eq!(update, ProductShape::sgd_update(32, 256, 64, true));
        assert_eq!(update.dims(), (257, 64, 32));
        assert!(update.vec4());
    }

    #[test]
    fn keys_round_up_to_powers_of_two() {
        let k = ProductKey::of(MatmulKind::Forward, 1000, 4096, 3);
        assert_eq!((k.m, k.n, k.k), (1024, 4096, 4));
        assert_eq!(ProductKey::parse(&k.id()), Some(k));
        assert_eq!(
            ProductKey::of(MatmulKind::Forward, u32::MAX, 1, 1).m,
            1 << 31
        );
    }

    #[test]
    fn the_cache_round_trips_and_forgets_other_kernels() {
        let dir = std::env::temp_dir().join(format!("neurona-tune-test-{}", std::process::id()));
        let path = dir.join("sub").join(CACHE_FILE);
        let shape = ProductShape::forward(4096, 4096, 4096, true);
        let key = ProductKey::of(MatmulKind::Forward, 4096, 4096, 4096);
        let mut timer = fake(&[("t128x128x8_r8x8_s2", 0.1)], &[]);
        let mut verified = HashMap::new();
        let tuned = tune(
            &shape,
            &candidates(&shape, &roomy()),
            &mut timer,
            &mut verified,
        )
        .unwrap();
        let mut cache = TuneCache::load(Some(&path));
        assert_eq!(cache.get("gpu A", "h1", &key), None);
        cache.put("gpu A", "h1", &key, &tuned, &verified);
        cache.save().unwrap();

        let again = TuneCache::load(Some(&path));
        assert_eq!(again, cache);
        let want = "t128x128x8_r8x8_s2".parse().ok();
        assert_eq!(again.get("gpu A", "h1", &key), want);
        assert_eq!(again.verified("gpu A", "h1").len(), VEC4_TILES.len());
        // Another adapter, or changed kernels: nothing cached.
        assert_eq!(again.get("gpu B", "h1", &key), None);
        assert_eq!(again.get("gpu A", "h2", &key), None);
        let listed = again.choices("h2");
        assert_eq!(listed.len(), 1);
        assert!(!listed[0].current);
        assert_eq!(listed[0].micros.len(), candidates(&shape, &roomy()).len());
        // Tuning with the new kernels replaces the stale entry.
        let mut updated = again.clone();
        updated.put("gpu A", "h2", &key, &tuned, &verified);
        assert!(updated.choices("h2").iter().all(|c| c.current));
        // A file that is not the tuner's is an empty cache, not an error.
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(TuneCache::load(Some(&path)).choices("h1"), vec![]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_796_083_200), "2026-12-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn zero_signs_do_not_count_as_other_bits() {
        assert!(same_bits(&[0.0, 1.5], &[-0.0, 1.5]));
        assert!(!same_bits(&[1.0], &[f32::from_bits(1.0f32.to_bits() + 1)]));
        assert!(!same_bits(&[1.0], &[1.0, 2.0]));
    }
}
