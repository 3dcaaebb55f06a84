//! The store suite against the in-memory store.

use std::sync::Arc;

use utilconnect::{InMemorySessionStore, SessionStore};
use utilconnect_conformance::stores::{StoreUnderTest, run_store_suite};

struct Memory(Arc<InMemorySessionStore>);

#[async_trait::async_trait]
impl StoreUnderTest for Memory {
    async fn open(&self) -> Arc<dyn SessionStore> {
        self.0.clone()
    }

    fn shared(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn the_in_memory_store_passes_the_store_suite() {
    let failures = run_store_suite(&Memory(Arc::new(InMemorySessionStore::new()))).await;
    assert!(failures.is_empty(), "{failures:#?}");
}
