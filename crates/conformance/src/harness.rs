//! [`Harness`]: one provider and its running sandbox, plus what every case needs on top.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use utilconnect::{
    BuildContext, ConnectProvider, Connection, Connector, ProviderConfig, ProviderDescriptor,
    Started, Url,
};
use utilconnect_sandbox::{Sandbox, UserAction};

use crate::outcome::{Failure, check};

/// The app callback every case uses; its own query must survive the round trip.
pub const CALLBACK: &str = "https://app.example/utility/callback?tenant=a%26b&lang=en";

/// A provider under test and its sandbox: what the suite's cases use, and what a provider
/// crate's own tests use with its typed sandbox (`Harness<MyVendorSandbox>`) to reach the
/// emulator's options.
///
/// ```no_run
/// # async fn run() -> Result<(), utilconnect_conformance::Failure> {
/// use utilconnect_conformance::Harness;
/// ///
/// let h = Harness::start("myvendor").await?;
/// let connector = h.connector(None)?;
/// let connection = h.connect(&connector, "user-1").await?;
/// assert!(!h.paths().is_empty(), "the flow reached the emulator");
/// # Ok(()) }
/// ```
pub struct Harness<S: Sandbox + ?Sized = dyn Sandbox> {
    descriptor: &'static ProviderDescriptor,
    sandbox: Box<S>,
    flows: AtomicUsize,
    callback: String,
}

impl<S: Sandbox> Harness<S> {
    /// A harness for the registered provider `S` emulates, on a sandbox you started
    /// yourself (e.g. with options of your own).
    pub fn with_sandbox(sandbox: S) -> Result<Self, Failure> {
        let descriptor = utilconnect::provider(sandbox.provider_name()).map_err(Failure::from)?;
        Ok(Self {
            descriptor,
            sandbox: Box::new(sandbox),
            flows: AtomicUsize::new(0),
            callback: CALLBACK.to_owned(),
        })
    }
}

impl Harness {
    /// Starts the registered sandbox of the registered provider `name`.
    pub async fn start(name: &str) -> Result<Self, Failure> {
        Self::start_variant(name, None).await
    }

    /// Starts the registered sandbox of provider `name` in its registered configuration
    /// `variant` (`None`: the default one).
    pub async fn start_variant(name: &str, variant: Option<&str>) -> Result<Self, Failure> {
        let descriptor = utilconnect::provider(name).map_err(Failure::from)?;
        let sandbox_descriptor = utilconnect_sandbox::sandbox(name).map_err(Failure::from)?;
        let sandbox = match variant {
            None => sandbox_descriptor.start().await,
            Some(variant) => {
                let found = sandbox_descriptor
                    .variants()
                    .iter()
                    .find(|v| v.name() == variant)
                    .ok_or_else(|| {
                        Failure::new(format!("{name} has no sandbox variant `{variant}`"))
                    })?;
                found.start().await
            }
        }
        .map_err(Failure::from)?;
        Ok(Self::new(descriptor, sandbox))
    }

    /// A harness for a provider and a sandbox you started yourself.
    pub fn new(descriptor: &'static ProviderDescriptor, sandbox: Box<dyn Sandbox>) -> Self {
        Self {
            descriptor,
            sandbox,
            flows: AtomicUsize::new(0),
            callback: CALLBACK.to_owned(),
        }
    }

    /// HTTP settings that make slow-response cases quick (same policy, shorter waits).
    pub fn fast_http() -> Value {
        json!({"http": {
            "request_timeout": "300ms",
            "total_deadline": "1s",
            "initial_backoff": "10ms",
            "max_backoff": "50ms",
        }})
    }
}

impl<S: Sandbox + ?Sized> Harness<S> {
    /// Flows started by [`start_flow`](Self::start_flow) return to `callback` instead of
    /// [`CALLBACK`].
    pub fn with_callback(mut self, callback: &str) -> Self {
        callback.clone_into(&mut self.callback);
        self
    }

    /// The app callback flows return to.
    pub fn callback(&self) -> &str {
        &self.callback
    }

    /// The provider's registry entry.
    pub fn descriptor(&self) -> &'static ProviderDescriptor {
        self.descriptor
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &S {
        &self.sandbox
    }

    /// The provider's name.
    pub fn name(&self) -> &'static str {
        self.descriptor.name()
    }

    /// Builds the provider from the sandbox's table, with `overlay` merged over it.
    pub fn build(&self, overlay: Option<Value>) -> Result<Arc<dyn ConnectProvider>, Failure> {
        let mut table: ProviderConfig = self.sandbox.provider_config();
        if let Some(overlay) = overlay {
            table = table.merged(overlay);
        }
        let context = BuildContext::new(Arc::new(self.sandbox.clock().clone()));
        self.descriptor
            .build_with(&table, &context)
            .map_err(Failure::from)
    }

    /// A connector on the sandbox's clock.
    pub fn connector(&self, overlay: Option<Value>) -> Result<Connector, Failure> {
        Ok(Connector::builder(self.build(overlay)?)
            .clock(Arc::new(self.sandbox.clock().clone()))
            .build())
    }

    /// `start` for `user`; the flow's state is named `[state#n]` in the request log, so
    /// snapshots do not depend on the emulator naming it.
    pub async fn start_flow(&self, connector: &Connector, user: &str) -> Result<Started, Failure> {
        let started = connector
            .start_with(user, &self.callback, self.sandbox.flow_options())
            .await
            .map_err(Failure::from)?;
        let n = self.flows.fetch_add(1, Ordering::SeqCst) + 1;
        self.sandbox
            .requests()
            .name_value(started.state.as_str(), &format!("state#{n}"));
        Ok(started)
    }

    /// The end user does `action` on the hosted pages; the callback URL they land on.
    pub async fn act(&self, started: &Started, action: UserAction) -> Result<Url, Failure> {
        self.sandbox
            .act(started.connect_url.expose(), action)
            .await
            .map_err(Failure::from)
    }

    /// start → approve → the callback, ready to finish.
    pub async fn approved_callback(
        &self,
        connector: &Connector,
        user: &str,
    ) -> Result<Url, Failure> {
        let started = self.start_flow(connector, user).await?;
        self.act(&started, UserAction::Approve).await
    }

    /// A whole approved flow for `user`.
    pub async fn connect(&self, connector: &Connector, user: &str) -> Result<Connection, Failure> {
        let callback = self.approved_callback(connector, user).await?;
        let connection = connector
            .finish(callback.as_str())
            .await
            .map_err(Failure::from)?;
        check(
            connection.user_id() == user,
            format!(
                "connection is for `{}`, expected `{user}`",
                connection.user_id()
            ),
        )?;
        Ok(connection)
    }

    /// How many requests the sandbox has recorded.
    pub fn request_count(&self) -> usize {
        self.sandbox.requests().len()
    }

    /// The recorded requests as `METHOD /path`, in order.
    pub fn paths(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .all()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// How many `method path` requests the sandbox has recorded.
    pub fn count(&self, method: &str, path: &str) -> usize {
        let requests = self.sandbox.requests().to_path(path);
        requests.iter().filter(|r| r.method == method).count()
    }

    /// The recorded requests, normalised, as JSON.
    pub fn requests_snapshot(&self) -> Value {
        serde_json::to_value(self.sandbox.requests().all()).unwrap_or(Value::Null)
    }

    /// A connection as a snapshot: ids replaced by the sandbox's labels, secrets only as
    /// "present".
    pub fn connection_snapshot(&self, connection: &Connection) -> Value {
        let log = self.sandbox.requests();
        let ids: serde_json::Map<String, Value> = connection
            .vendor_ids()
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(log.normalise_text(v))))
            .collect();
        json!({
            "provider": connection.provider(),
            "user_id": connection.user_id(),
            "vendor_ids": ids,
            "data_status": connection.data_status(),
            "mode": connection.mode(),
            "has_credentials": connection.credentials().is_some(),
        })
    }
}

impl<S: Sandbox + ?Sized> std::fmt::Debug for Harness<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("provider", &self.descriptor.name())
            .field("sandbox", &self.sandbox.base_url().as_str())
            .finish()
    }
}
