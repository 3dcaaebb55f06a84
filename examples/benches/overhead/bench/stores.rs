//! The session store's share of a flow: the same flows through one provider with the
//! in-memory store and with a Redis store on a real `redis-server` on loopback, side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use utilconnect::Connector;
use utilconnect_redis::testing::RedisServer;
use utilconnect_redis::{RedisSessionStore, RedisStoreConfig};

use super::{Bench, join_all};
use crate::measure::{median_ratio, ms};

/// How many flows run at once.
const CONCURRENCY: usize = 64;

impl Bench {
    /// Flows/s at 64 concurrent with Redis against the in-memory store (paired rounds,
    /// interleaved), and p50/p99 of one flow with each.
    pub(crate) async fn store_comparison(&self, flows: usize, rounds: usize, iterations: usize) {
        let server = RedisServer::start()
            .await
            .expect("redis-server (apt-get install redis-server)");
        let store =
            RedisSessionStore::new(RedisStoreConfig::new(server.url().into())).expect("store");
        store.connect().await.expect("Redis answers");
        let provider = self.connector.provider().clone();
        let memory = Connector::new(provider.clone());
        let redis = Connector::builder(provider).store(Arc::new(store)).build();
        for connector in [&memory, &redis] {
            self.flows_on(connector, CONCURRENCY * 2, "warm").await;
        }

        let per_round = flows / rounds;
        let (mut memory_time, mut redis_time) = (0.0, 0.0);
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (mut m, mut r) = (0.0, 0.0);
            for on_redis in [round % 2 == 0, round % 2 == 1] {
                let connector = if on_redis { &redis } else { &memory };
                let took = self
                    .flows_on(connector, per_round, &format!("r{round}"))
                    .await;
                if on_redis {
                    (r, redis_time) = (took, redis_time + took);
                } else {
                    (m, memory_time) = (took, memory_time + took);
                }
            }
            // Redis flows/s over in-memory flows/s, for the same number of flows.
            ratios.push(m / r);
        }
        let ratio = median_ratio(&mut ratios);
        let measured = (per_round * rounds) as f64;
        println!(
            "session store, {CONCURRENCY} concurrent flows, {} per side: in-memory {:.0} flows/s, Redis {:.0} flows/s, ratio {ratio:.3} (median of {rounds} paired rounds, {:.2} to {:.2}; goal >= 0.85)",
            per_round * rounds,
            measured / memory_time,
            measured / redis_time,
            ratios[0],
            ratios[rounds - 1],
        );

        let (mut on_memory, mut on_redis) = (Vec::new(), Vec::new());
        for i in 0..iterations {
            if i % 2 == 0 {
                on_memory.push(self.flow_on(&memory, &format!("lat-m-{i}")).await);
                on_redis.push(self.flow_on(&redis, &format!("lat-r-{i}")).await);
            } else {
                on_redis.push(self.flow_on(&redis, &format!("lat-r-{i}")).await);
                on_memory.push(self.flow_on(&memory, &format!("lat-m-{i}")).await);
            }
        }
        let (m50, m99) = percentiles(&mut on_memory);
        let (r50, r99) = percentiles(&mut on_redis);
        println!(
            "session store, one flow ({iterations} each, interleaved): in-memory p50 {:.3} ms p99 {:.3} ms; Redis p50 {:.3} ms p99 {:.3} ms",
            ms(m50),
            ms(m99),
            ms(r50),
            ms(r99),
        );
    }

    /// `flows` flows through `connector`, `CONCURRENCY` at a time; the seconds they took.
    async fn flows_on(&self, connector: &Connector, flows: usize, label: &str) -> f64 {
        let started = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let worker = || async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= flows {
                    break;
                }
                self.flow_on(connector, &format!("store-{label}-{i}")).await;
            }
        };
        join_all((0..CONCURRENCY).map(|_| worker()).collect()).await;
        started.elapsed().as_secs_f64()
    }
}

/// p50 and p99 of `samples`.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}
