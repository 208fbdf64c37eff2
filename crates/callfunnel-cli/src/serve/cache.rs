//! The analytics answers kept in memory, for a dashboard that polls the same
//! few requests: each answer is kept under its [`AnswerKey`] (the validated
//! request and the version of the data it was computed from), at most
//! [`CacheLimits::entries`] answers and [`CacheLimits::bytes`] bytes, the
//! least recently used dropped first. Requests that find the same answer
//! being computed wait for it rather than compute it again. A reload of the
//! data makes a new version (no answer of the old data is found again) and
//! empties the cache.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use callfunnel::Request;
use tokio::sync::OnceCell;

/// How much the cache may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Answers kept at most; 0 turns the cache off.
    pub entries: usize,
    /// Bytes kept at most: the answers and their keys. An answer larger
    /// than this is computed every time.
    pub bytes: usize,
}

impl CacheLimits {
    /// Answers kept at most unless told otherwise.
    pub const DEFAULT_ENTRIES: usize = 256;
    /// MiB kept at most unless told otherwise.
    pub const DEFAULT_MIB: u64 = 64;

    /// At most `entries` answers in at most `mib` MiB.
    pub fn new(entries: usize, mib: u64) -> Self {
        CacheLimits {
            entries,
            bytes: usize::try_from(mib << 20).unwrap_or(usize::MAX),
        }
    }

    /// Whether nothing may be kept.
    fn is_off(&self) -> bool {
        self.entries == 0 || self.bytes == 0
    }
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits::new(Self::DEFAULT_ENTRIES, Self::DEFAULT_MIB)
    }
}

/// What an answer depends on: the version of the data and the validated
/// request, every field of it (two bodies that mean the same request, their
/// fields in another order, a default spelled out or left out, tags in
/// another case or repeated, validate to the same request and share a key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    version: u64,
    request: Box<str>,
}

impl AnswerKey {
    /// The key of `request` on the data of `version`.
    pub fn new(version: u64, request: &Request) -> Self {
        // The derived `Debug` writes out every field, nested ones too, so a
        // field added to `Request` is in the key without a change here.
        AnswerKey {
            version,
            request: format!("{request:?}").into(),
        }
    }

    fn bytes(&self) -> usize {
        self.request.len()
    }
}

/// The cache: see the module's documentation.
pub struct AnswerCache {
    limits: CacheLimits,
    slots: Mutex<Slots>,
    /// Answers read from the cache.
    hits: AtomicU64,
    /// Answers that waited for the same answer computed for another request.
    shared: AtomicU64,
    /// Answers computed (every answer, when the cache is off).
    computed: AtomicU64,
}

impl AnswerCache {
    /// An empty cache within `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        AnswerCache {
            limits,
            slots: Mutex::new(Slots::default()),
            hits: AtomicU64::new(0),
            shared: AtomicU64::new(0),
            computed: AtomicU64::new(0),
        }
    }

    /// The answer kept under `key`, or the one being computed for it, or
    /// else `compute`'s (kept when it succeeds; a failure is not kept). When
    /// the request computing an answer is dropped (its client hung up), a
    /// request waiting for the same answer computes it.
    pub async fn answer<E, Compute, Computing>(
        &self,
        key: AnswerKey,
        compute: Compute,
    ) -> Result<Bytes, E>
    where
        Compute: FnOnce() -> Computing,
        Computing: Future<Output = Result<Bytes, E>>,
    {
        let key = Arc::new(key);
        let slot = if self.limits.is_off() || key.bytes() > self.limits.bytes {
            None
        } else {
            self.lock().slot(&key, self.limits)
        };
        let Some(slot) = slot else {
            self.computed.fetch_add(1, Ordering::Relaxed);
            return compute().await;
        };
        let was_ready = slot.initialized();
        let mut ran = false;
        let answer = slot
            .get_or_try_init(|| {
                ran = true;
                compute()
            })
            .await?
            .clone();
        let counter = match (ran, was_ready) {
            (true, _) => {
                self.lock().settle(&key, &slot, answer.len(), self.limits);
                &self.computed
            }
            (false, true) => &self.hits,
            (false, false) => &self.shared,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(answer)
    }

    /// Drops every answer kept, and from now on keeps none computed from
    /// data older than `version` (an answer of the previous data still being
    /// computed is given to the requests waiting for it, and no further).
    pub fn keep_from(&self, version: u64) {
        let mut slots = self.lock();
        let dropped = slots.by_key.len() as u64;
        *slots = Slots {
            oldest_version: version,
            evicted: slots.evicted,
            cleared: slots.cleared + dropped,
            ..Slots::default()
        };
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How the cache did: `answer cache: …`, one line for the log.
impl fmt::Display for AnswerCache {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let computed = self.computed.load(Ordering::Relaxed);
        if self.limits.is_off() {
            return write!(
                out,
                "answer cache: off; {computed} analytics answers computed"
            );
        }
        let (hits, shared) = (
            self.hits.load(Ordering::Relaxed),
            self.shared.load(Ordering::Relaxed),
        );
        let answers = hits + shared + computed;
        let share = |count: u64| 100.0 * count as f64 / answers.max(1) as f64;
        let slots = self.lock();
        write!(
            out,
            "answer cache: {answers} analytics answers, {hits} from the cache ({:.1} %), \
             {shared} shared with a request computing the same ({:.1} %), {computed} computed; \
             {} answers held in {:.1} KiB (limits: {} answers, {:.1} MiB); \
             {} dropped as least recently used, {} by reloads",
            share(hits),
            share(shared),
            slots.by_key.len(),
            slots.bytes as f64 / 1024.0,
            self.limits.entries,
            self.limits.bytes as f64 / f64::from(1 << 20),
            slots.evicted,
            slots.cleared,
        )
    }
}

/// The cell of one answer, filled once.
type Answer = Arc<OnceCell<Bytes>>;

/// One kept answer (or one being computed).
struct Slot {
    answer: Answer,
    /// When it was last asked for, on [`Slots::clock`].
    used: u64,
    /// Its key's bytes, and its answer's once computed.
    bytes: usize,
}

/// The answers, by key and by last use.
#[derive(Default)]
struct Slots {
    /// The oldest data version whose answers are kept.
    oldest_version: u64,
    by_key: HashMap<Arc<AnswerKey>, Slot>,
    /// The keys, least recently used first.
    by_use: BTreeMap<u64, Arc<AnswerKey>>,
    /// Counts the lookups.
    clock: u64,
    /// The bytes of every slot.
    bytes: usize,
    /// Slots dropped to stay within the limits.
    evicted: u64,
    /// Slots dropped by [`AnswerCache::keep_from`].
    cleared: u64,
}

impl Slots {
    /// The answer cell of `key`, now the most recently used; a new, empty
    /// one when there is none; `None` when the key's data is older than
    /// the answers kept.
    fn slot(&mut self, key: &Arc<AnswerKey>, limits: CacheLimits) -> Option<Answer> {
        if key.version < self.oldest_version {
            return None;
        }
        self.clock += 1;
        if let Some(slot) = self.by_key.get_mut(key) {
            self.by_use.remove(&slot.used);
            slot.used = self.clock;
            self.by_use.insert(self.clock, Arc::clone(key));
            return Some(Arc::clone(&slot.answer));
        }
        let answer = Answer::default();
        let bytes = key.bytes();
        self.by_key.insert(
            Arc::clone(key),
            Slot {
                answer: Arc::clone(&answer),
                used: self.clock,
                bytes,
            },
        );
        self.by_use.insert(self.clock, Arc::clone(key));
        self.bytes += bytes;
        self.shrink_to(limits);
        Some(answer)
    }

    /// Counts the `bytes` of the answer just computed into `answer`, if
    /// its slot is still held, and drops what no longer fits (that answer
    /// itself first when it alone is over the limit).
    fn settle(&mut self, key: &AnswerKey, answer: &Answer, bytes: usize, limits: CacheLimits) {
        let Some(slot) = self.by_key.get_mut(key) else {
            return;
        };
        if !Arc::ptr_eq(&slot.answer, answer) {
            return;
        }
        slot.bytes += bytes;
        self.bytes += bytes;
        if slot.bytes > limits.bytes {
            let used = slot.used;
            self.remove(used);
        }
        self.shrink_to(limits);
    }

    /// Drops the least recently used slots until within `limits`.
    fn shrink_to(&mut self, limits: CacheLimits) {
        while self.by_key.len() > limits.entries || self.bytes > limits.bytes {
            let Some((&used, _)) = self.by_use.first_key_value() else {
                return;
            };
            self.remove(used);
        }
    }

    /// Drops the slot last used at `used`.
    fn remove(&mut self, used: u64) {
        if let Some(key) = self.by_use.remove(&used) {
            if let Some(slot) = self.by_key.remove(&key) {
                self.bytes -= slot.bytes;
                self.evicted += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn request(body: &str) -> Request {
        Request::from_json_str(body).unwrap()
    }

    fn key(version: u64, body: &str) -> AnswerKey {
        AnswerKey::new(version, &request(body))
    }

    const WEEK: &str = r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}}"#;

    #[test]
    fn bodies_that_mean_the_same_request_share_a_key() {
        let spelled_out = r#"{"granularity": "DAY", "tags": ["Demo", "demo", " DEMO "],
            "compare_date": {"to": "2024-03-03", "from": "2024-02-26"},
            "timezone": "UTC", "date": {"to": "2024-03-10", "from": "2024-03-04"}}"#;
        let short = r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "tags": ["demo"]}"#;
        assert_eq!(key(1, spelled_out), key(1, short));
    }

    #[test]
    fn every_field_that_changes_the_answer_changes_the_key() {
        let changed = [
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-11"}}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "compare_date": {"from": "2024-01-01", "to": "2024-01-07"}}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "timezone": "Europe/Paris"}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "conversation_threshold_seconds": 90}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "granularity": "WEEK"}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "tags": ["demo"]}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "user_ids": ["usr-1"]}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "allo_numbers": ["+33100000000"]}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "extend": "items", "stage": "DIAL"}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "extend": "items", "stage": "DIAL", "page": 2}"#,
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "extend": "items", "stage": "CONNECTED"}"#,
        ];
        let mut keys: Vec<AnswerKey> = changed.iter().map(|body| key(1, body)).collect();
        keys.push(key(1, WEEK));
        keys.push(key(2, WEEK));
        for (index, one) in keys.iter().enumerate() {
            for other in &keys[index + 1..] {
                assert_ne!(one, other);
            }
        }
    }

    fn answer_of(text: &'static str) -> impl Future<Output = Result<Bytes, ()>> {
        std::future::ready(Ok(Bytes::from_static(text.as_bytes())))
    }

    fn counts(cache: &AnswerCache) -> [u64; 3] {
        [&cache.hits, &cache.shared, &cache.computed].map(|count| count.load(Ordering::Relaxed))
    }

    #[tokio::test]
    async fn a_kept_answer_is_given_again_and_a_new_version_computes_anew() {
        let cache = AnswerCache::new(CacheLimits::default());
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("one")).await,
            Ok("one".into())
        );
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("two")).await,
            Ok("one".into())
        );
        assert_eq!(
            cache.answer(key(2, WEEK), || answer_of("two")).await,
            Ok("two".into())
        );
        assert_eq!(counts(&cache), [1, 0, 2]);
        let log = cache.to_string();
        assert!(
            log.contains("3 analytics answers, 1 from the cache (33.3 %)"),
            "{log}"
        );
        assert!(log.contains("2 answers held"), "{log}");
    }

    #[tokio::test]
    async fn a_failure_is_not_kept() {
        let cache = AnswerCache::new(CacheLimits::default());
        let failed = cache
            .answer(key(1, WEEK), || std::future::ready(Err::<Bytes, _>("no")))
            .await;
        assert_eq!(failed, Err("no"));
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("one")).await,
            Ok("one".into())
        );
    }

    #[tokio::test]
    async fn the_least_recently_used_answer_goes_first() {
        let cache = AnswerCache::new(CacheLimits {
            entries: 2,
            bytes: 1 << 20,
        });
        let days = |day: u32| {
            key(
                1,
                &format!(r#"{{"date": {{"from": "2024-03-{day:02}", "to": "2024-03-{day:02}"}}}}"#),
            )
        };
        cache.answer(days(1), || answer_of("1")).await.unwrap();
        cache.answer(days(2), || answer_of("2")).await.unwrap();
        cache.answer(days(1), || answer_of("x")).await.unwrap();
        cache.answer(days(3), || answer_of("3")).await.unwrap();
        // Day 2 was the least recently used: dropped, computed again.
        assert_eq!(
            cache.answer(days(2), || answer_of("2 again")).await,
            Ok("2 again".into())
        );
        assert_eq!(
            cache.answer(days(3), || answer_of("x")).await,
            Ok("3".into())
        );
        assert!(cache
            .to_string()
            .contains("2 dropped as least recently used"));
    }

    #[tokio::test]
    async fn bytes_are_bounded_and_an_answer_over_the_bound_is_not_kept() {
        let week = key(1, WEEK);
        let limit = week.bytes() + 10;
        let cache = AnswerCache::new(CacheLimits {
            entries: 10,
            bytes: limit,
        });
        cache
            .answer(week.clone(), || answer_of("0123456789A"))
            .await
            .unwrap();
        assert_eq!(cache.lock().bytes, 0);
        cache
            .answer(week.clone(), || answer_of("0123456789"))
            .await
            .unwrap();
        assert_eq!(cache.lock().bytes, limit);
        assert_eq!(
            cache.answer(week, || answer_of("x")).await,
            Ok("0123456789".into())
        );
    }

    #[tokio::test]
    async fn a_cache_of_size_zero_always_computes() {
        let cache = AnswerCache::new(CacheLimits {
            entries: 0,
            bytes: 1 << 20,
        });
        cache
            .answer(key(1, WEEK), || answer_of("one"))
            .await
            .unwrap();
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("two")).await,
            Ok("two".into())
        );
        assert_eq!(
            cache.to_string(),
            "answer cache: off; 2 analytics answers computed"
        );
    }

    #[tokio::test]
    async fn after_a_reload_no_answer_of_the_old_data_is_kept_or_given() {
        let cache = AnswerCache::new(CacheLimits::default());
        cache
            .answer(key(1, WEEK), || answer_of("one"))
            .await
            .unwrap();
        cache.keep_from(2);
        assert!(cache.to_string().contains("1 by reloads"));
        // A request that read the old data before the reload computes, and
        // its answer is not kept.
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("two")).await,
            Ok("two".into())
        );
        assert_eq!(
            cache.answer(key(1, WEEK), || answer_of("three")).await,
            Ok("three".into())
        );
        assert_eq!(cache.lock().by_key.len(), 0);
        assert_eq!(
            cache.answer(key(2, WEEK), || answer_of("new")).await,
            Ok("new".into())
        );
        assert_eq!(
            cache.answer(key(2, WEEK), || answer_of("x")).await,
            Ok("new".into())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn identical_concurrent_misses_compute_once() {
        let cache = Arc::new(AnswerCache::new(CacheLimits::default()));
        let runs = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..64)
            .map(|_| {
                let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
                tokio::spawn(async move {
                    cache
                        .answer(key(1, WEEK), || async move {
                            runs.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Ok::<_, ()>(Bytes::from_static(b"answer"))
                        })
                        .await
                })
            })
            .collect();
        for client in clients {
            assert_eq!(client.await.unwrap(), Ok("answer".into()));
        }
        assert_eq!(runs.load(Ordering::Relaxed), 1);
        let [hits, shared, computed] = counts(&cache);
        assert_eq!((hits + shared, computed), (63, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_computing_request_is_dropped_a_waiting_one_computes() {
        let cache = Arc::new(AnswerCache::new(CacheLimits::default()));
        let first = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .answer(key(1, WEEK), std::future::pending::<Result<Bytes, ()>>)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.answer(key(1, WEEK), || answer_of("second")).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.abort();
        assert_eq!(second.await.unwrap(), Ok("second".into()));
    }
}
