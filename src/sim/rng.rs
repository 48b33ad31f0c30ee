//! Seeded random streams and the few distributions the simulator draws from.
//!
//! Every stream is a ChaCha8 generator whose seed is SHA-256 of the scenario seed and a label
//! (`"arrivals:deploys"`, `"lifecycle:deploys"`, `"scripts"`, `"api"`), so adding a domain or a
//! workload never shifts the draws of another workload's streams. Transcendental functions come
//! from `libm` (a pure-Rust port of musl's), so a draw is the same on every platform.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::scenario::Dist;

/// One independent random stream.
pub type Stream = ChaCha8Rng;

/// The stream named `label` under `seed`.
pub fn stream(seed: u64, label: &str) -> Stream {
    let mut hash = Sha256::new();
    hash.update(b"cdnsim stream v1\0");
    hash.update(seed.to_le_bytes());
    hash.update(label.as_bytes());
    ChaCha8Rng::from_seed(hash.finalize().into())
}

/// Uniform in `[0, 1)`.
pub fn unit(rng: &mut Stream) -> f64 {
    rng.random::<f64>()
}

/// Uniform integer in `min..=max`.
pub fn between(rng: &mut Stream, min: u32, max: u32) -> u32 {
    if min >= max {
        min
    } else {
        rng.random_range(min..=max)
    }
}

/// An exponential gap with mean `mean` (any unit).
pub fn exponential(rng: &mut Stream, mean: f64) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    -libm::log(1.0 - unit(rng)) * mean
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Stream) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// z-score of the 95th percentile of a standard normal.
const Z95: f64 = 1.644_853_626_951_472_2;

/// A duration from `dist`, in whole milliseconds (never negative).
pub fn duration_ms(rng: &mut Stream, dist: &Dist) -> i64 {
    match *dist {
        Dist::Fixed(ms) => ms,
        Dist::Uniform { min_ms, max_ms } => {
            if min_ms >= max_ms {
                min_ms
            } else {
                rng.random_range(min_ms..=max_ms)
            }
        }
        Dist::LogNormal { median_ms, p95_ms } => {
            let mu = libm::log(median_ms as f64);
            let sigma = libm::log(p95_ms as f64 / median_ms as f64) / Z95;
            let x = libm::exp(mu + sigma * normal(rng));
            (x.round() as i64).clamp(0, p95_ms.saturating_mul(4))
        }
    }
}

/// Zipf-distributed ranks `0..n` (rank 0 most popular): P(k) ∝ 1 / (k + 1)^s, drawn by
/// binary search in a cumulative table (8 bytes per rank). A guide table (Chen and Asau's
/// indexed search) first narrows the search to the ranks one bucket of probability covers, so
/// that a draw touches a few neighbouring cache lines instead of a path through 8 MB; the rank
/// drawn is exactly the one the plain search finds.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
    /// `guide[j]`: the first rank whose cumulative weight exceeds `j / GUIDE_LEN` of the total.
    guide: Vec<u32>,
}

/// Buckets of the guide table.
const GUIDE_LEN: usize = 1 << 18;

impl Zipf {
    /// The distribution over `n >= 1` ranks with exponent `s >= 0`.
    pub fn new(n: u32, s: f64) -> Zipf {
        let mut total = 0.0;
        let cdf: Vec<f64> = (1..=n.max(1))
            .map(|k| {
                total += 1.0 / libm::pow(f64::from(k), s);
                total
            })
            .collect();
        // Bucket bounds rise with j, so one walk along the table finds them all: the rank it
        // stops at is `cdf.partition_point(|&c| c <= x)`.
        let mut rank = 0;
        let guide = (0..=GUIDE_LEN)
            .map(|j| {
                let x = j as f64 / GUIDE_LEN as f64 * total;
                while rank < cdf.len() && cdf[rank] <= x {
                    rank += 1;
                }
                rank as u32
            })
            .collect();
        Zipf { cdf, guide }
    }

    /// One rank.
    pub fn sample(&self, rng: &mut Stream) -> u32 {
        let mut rank = [0];
        self.fill(rng, &mut rank);
        rank[0]
    }

    /// One rank per element of `ranks`, in order: the same ranks, from the same draws, as
    /// calling [`Zipf::sample`] for each. Each draw reads one guide entry and one stretch of
    /// the table, both usually cache misses; doing each stage for a chunk of draws before the
    /// next lets the processor wait for those misses side by side rather than one by one.
    pub fn fill(&self, rng: &mut Stream, ranks: &mut [u32]) {
        let total = self.cdf.last().copied().unwrap_or(1.0);
        for chunk in ranks.chunks_mut(FILL_CHUNK) {
            let mut xs = [0.0; FILL_CHUNK];
            let mut bounds = [(0, 0); FILL_CHUNK];
            for (x, bound) in xs.iter_mut().zip(&mut bounds).take(chunk.len()) {
                *x = unit(rng) * total;
                // x lies in bucket j, so its rank lies between the bucket's bounds (inclusive).
                let j = ((*x / total * GUIDE_LEN as f64) as usize).min(GUIDE_LEN - 1);
                let lo = self.guide[j].saturating_sub(1) as usize;
                let hi = (self.guide[j + 1] as usize + 1).min(self.cdf.len());
                *bound = (lo, hi);
            }
            let mut edges = [(0.0, 0.0); FILL_CHUNK];
            for (edge, &(lo, hi)) in edges.iter_mut().zip(&bounds).take(chunk.len()) {
                let below = if lo == 0 { f64::MIN } else { self.cdf[lo - 1] };
                *edge = (below, self.cdf[hi - 1]);
            }
            for (i, rank) in chunk.iter_mut().enumerate() {
                *rank = self.search(xs[i], bounds[i], edges[i]);
            }
        }
    }

    /// The rank of `x`, given the bounds of its guide bucket and the table's values at
    /// `lo - 1` and `hi - 1`.
    fn search(&self, x: f64, (lo, hi): (usize, usize), (below, top): (f64, f64)) -> u32 {
        let k = if below <= x && top > x {
            lo + self.cdf[lo..hi].partition_point(|&c| c <= x)
        } else {
            // Rounding put x outside its bucket's bounds: search everything.
            self.cdf.partition_point(|&c| c <= x)
        };
        k.min(self.cdf.len() - 1) as u32
    }
}

/// Draws [`Zipf::fill`] takes through each stage together.
const FILL_CHUNK: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let draws = |seed, label| {
            let mut rng = stream(seed, label);
            (0..4).map(|_| unit(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draws(1, "a"), draws(1, "a"));
        assert_ne!(draws(1, "a"), draws(1, "b"));
        assert_ne!(draws(1, "a"), draws(2, "a"));
    }

    #[test]
    fn zipf_prefers_low_ranks_and_stays_in_range() {
        let zipf = Zipf::new(100, 1.2);
        let mut rng = stream(7, "zipf");
        let mut counts = [0u32; 100];
        for _ in 0..50_000 {
            counts[zipf.sample(&mut rng) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
        // P(rank 0) = 1 / H(100, 1.2) ≈ 0.2775; 5 standard deviations ≈ 0.01.
        let p0 = f64::from(counts[0]) / 50_000.0;
        assert!((p0 - 0.2775).abs() < 0.01, "p0 = {p0}");
    }

    #[test]
    fn the_guide_table_finds_the_plain_binary_search_rank() {
        let zipf = Zipf::new(1_000_000, 0.9);
        let total = zipf.cdf.last().copied().unwrap_or(1.0);
        let plain = |x: f64| {
            zipf.cdf
                .partition_point(|&c| c <= x)
                .min(zipf.cdf.len() - 1)
        };
        let mut a = stream(11, "guide");
        let mut b = stream(11, "guide");
        for _ in 0..100_000 {
            let x = unit(&mut a) * total;
            assert_eq!(zipf.sample(&mut b) as usize, plain(x));
        }
    }

    #[test]
    fn fill_draws_the_ranks_sample_draws() {
        let zipf = Zipf::new(1_000_000, 0.9);
        let mut a = stream(12, "fill");
        let mut b = stream(12, "fill");
        for len in [
            0,
            1,
            5,
            FILL_CHUNK - 1,
            FILL_CHUNK,
            FILL_CHUNK + 1,
            3 * FILL_CHUNK + 7,
        ] {
            let mut ranks = vec![u32::MAX; len];
            zipf.fill(&mut a, &mut ranks);
            let one_by_one: Vec<u32> = (0..len).map(|_| zipf.sample(&mut b)).collect();
            assert_eq!(ranks, one_by_one, "{len} draws");
        }
        assert_eq!(
            unit(&mut a),
            unit(&mut b),
            "both streams used the same number of draws"
        );
    }

    #[test]
    fn the_guide_is_the_plain_search_of_each_bucket_edge() {
        for (n, s) in [(1, 0.0), (4, 0.0), (7, 0.0), (1000, 1.1), (100_000, 0.9)] {
            let zipf = Zipf::new(n, s);
            let total = zipf.cdf.last().copied().unwrap_or(1.0);
            for (j, &g) in zipf.guide.iter().enumerate() {
                let x = j as f64 / GUIDE_LEN as f64 * total;
                assert_eq!(
                    g as usize,
                    zipf.cdf.partition_point(|&c| c <= x),
                    "n {n} bucket {j}"
                );
            }
        }
    }

    #[test]
    fn durations_follow_their_distribution() {
        let mut rng = stream(3, "d");
        let uniform = Dist::Uniform {
            min_ms: 300_000,
            max_ms: 360_000,
        };
        assert!((0..1000).all(|_| (300_000..=360_000).contains(&duration_ms(&mut rng, &uniform))));
        let lognormal = Dist::LogNormal {
            median_ms: 600_000,
            p95_ms: 1_500_000,
        };
        let mut xs: Vec<i64> = (0..20_001)
            .map(|_| duration_ms(&mut rng, &lognormal))
            .collect();
        xs.sort_unstable();
        let (median, p95) = (xs[10_000], xs[19_000]);
        assert!((median - 600_000).abs() < 30_000, "median {median}");
        assert!((p95 - 1_500_000).abs() < 120_000, "p95 {p95}");
        let mean: f64 = (0..20_000)
            .map(|_| exponential(&mut rng, 10.0))
            .sum::<f64>()
            / 20_000.0;
        assert!((mean - 10.0).abs() < 0.3, "mean {mean}");
    }
}
