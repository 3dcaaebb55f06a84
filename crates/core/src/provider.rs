//! The plug-in seam: what a vendor crate implements.
//!
//! The trait is deliberately small; everything two providers would both write (state, session
//! storage, expiry checks, callback parsing) lives in [`Connector`](crate::Connector).

use std::fmt;

use async_trait::async_trait;
use url::Url;

use crate::callback::Callback;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::flow::{ConnectToken, Connection, PendingSession, TokenRequest};
use crate::registry::ProviderDescriptor;
use crate::webhook::Event;

/// Something a provider can or cannot do; the conformance suite skips cases by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `complete` returns [`AccessCredentials`](crate::AccessCredentials) (Pelm does,
    /// Flatpeak does not).
    AccessCredentials,
    /// `complete` may report [`DataStatus::Pending`](crate::DataStatus::Pending) or fail with
    /// [`ErrorKind::Pending`](crate::ErrorKind::Pending) while the vendor loads data.
    DataPending,
    /// The hosted page lets the user leave without connecting.
    UserCancel,
    /// The hosted page lets the user retry after wrong utility credentials.
    CredentialRetry,
    /// The hosted page lets the user remove an existing link.
    Disconnect,
    /// `create_token` makes no vendor call: the flow starts at the vendor's authorization
    /// page (an OAuth 2.0 authorization code grant), so the connect URL carries the state but
    /// no vendor-issued token, and there is no token call to fail.
    LocalToken,
    /// An optional operation: [`ConnectProvider::refresh`] renews expired credentials.
    Refresh,
    /// An optional operation: [`ConnectProvider::revoke`] ends the app's access.
    Revoke,
    /// An optional operation: [`ConnectProvider::verify_webhook`] checks and reads the
    /// vendor's signed webhooks.
    Webhooks,
}

impl Capability {
    /// The optional operation this capability offers, if it is one.
    pub fn operation(self) -> Option<Operation> {
        match self {
            Self::Refresh => Some(Operation::Refresh),
            Self::Revoke => Some(Operation::Revoke),
            Self::Webhooks => Some(Operation::Webhook),
            _ => None,
        }
    }
}

/// One vendor's Connect flow.
///
/// Implementations hold only wire details: request shapes, error mapping, authentication.
/// They are called by [`Connector`](crate::Connector), which has already generated the
/// state, will store the [`PendingSession`] and will check the callback's state and the
/// session's expiry before calling [`complete`](Self::complete).
///
/// The trait is object-safe; apps hold an `Arc<dyn ConnectProvider>` chosen by config.
///
/// ```
/// use async_trait::async_trait;
/// use url::Url;
/// use utilconnect::*;
///
/// #[derive(Debug)]
/// struct Echo;
///
/// fn build(_: &ProviderConfig, _: &BuildContext) -> Result<std::sync::Arc<dyn ConnectProvider>> {
///     Ok(std::sync::Arc::new(Echo))
/// }
/// const ECHO: ProviderDescriptor =
///     ProviderDescriptor::new("echo", "returns what it is given", &[], build, module_path!());
///
/// #[async_trait]
/// impl ConnectProvider for Echo {
///     fn descriptor(&self) -> &'static ProviderDescriptor {
///         &ECHO
///     }
///     async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
///         let lifetime = std::time::Duration::from_secs(60);
///         Ok(ConnectToken::new("tok".into(), lifetime))
///     }
///     fn connect_url(&self, request: &TokenRequest, _: &ConnectToken) -> Result<Url> {
///         let mut url = request.callback_url().clone();
///         url.query_pairs_mut().append_pair("state", request.state().as_str());
///         Ok(url)
///     }
///     async fn complete(&self, session: &PendingSession, _: &Callback) -> Result<Connection> {
///         Ok(Connection::new("echo", session.user_id.clone()))
///     }
/// }
/// let provider: std::sync::Arc<dyn ConnectProvider> = std::sync::Arc::new(Echo);
/// assert_eq!(provider.descriptor().name(), "echo");
/// ```
#[async_trait]
pub trait ConnectProvider: Send + Sync + fmt::Debug {
    /// The provider's static facts: the same `const` its crate registers.
    fn descriptor(&self) -> &'static ProviderDescriptor;

    /// Asks the vendor for a short-lived connect token for `request`.
    ///
    /// Providers validate [`TokenRequest::options`] before sending anything.
    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken>;

    /// The URL of the vendor's hosted page for the flow `request` started and `token`
    /// answered, where the app sends the user.
    ///
    /// The request carries the callback URL and state, so vendors that take them in the page
    /// URL (Pelm) and vendors that fixed them at token creation (Flatpeak) fit the same call.
    fn connect_url(&self, request: &TokenRequest, token: &ConnectToken) -> Result<Url>;

    /// Checks, without calling the vendor, that `callback` carries what this provider's
    /// success callback carries (a code, the flow's own token), before the
    /// [`Connector`](crate::Connector) consumes the session.
    ///
    /// A callback that fails here leaves the session in place, so a forged or mangled callback
    /// that carries a real state cannot burn the real flow. The default accepts everything.
    fn check_callback(&self, session: &PendingSession, callback: &Callback) -> Result<()> {
        let _ = (session, callback);
        Ok(())
    }

    /// Verifies the vendor-specific parts of `callback` against `session` and finishes the
    /// link with the vendor.
    ///
    /// The state has already been checked. An `error` on the callback, or missing success
    /// parameters, must give [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled).
    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection>;

    // Optional operations: a provider that offers one declares its capability in its
    // descriptor and overrides the method; the Connector checks the capability first, so the
    // defaults are reached only by a provider that declares what it does not implement.

    /// Renews the credentials of `connection` (e.g. an OAuth refresh grant): the same link
    /// with new credentials, and a new refresh token when the vendor rotates it. The whole
    /// connection is given because renewing may need what the link was made with (which
    /// utility, which scope), not only its tokens. Offered with [`Capability::Refresh`].
    ///
    /// A grant the vendor no longer honours must fail with
    /// [`ErrorKind::ReauthorizationRequired`](crate::ErrorKind::ReauthorizationRequired).
    async fn refresh(&self, connection: &Connection) -> Result<Connection> {
        let _ = connection;
        Err(unsupported(self.descriptor(), Operation::Refresh))
    }

    /// Ends the app's access through `connection` at the vendor. Offered with
    /// [`Capability::Revoke`].
    async fn revoke(&self, connection: &Connection) -> Result<()> {
        let _ = connection;
        Err(unsupported(self.descriptor(), Operation::Revoke))
    }

    /// Checks that a webhook request (its headers and raw body, bytes as received) was sent
    /// and signed by the vendor, and reads it into an [`Event`]. Every failed check is an
    /// [`Error::webhook`] naming it. Offered with [`Capability::Webhooks`].
    async fn verify_webhook(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<Event> {
        let _ = (headers, body);
        Err(unsupported(self.descriptor(), Operation::Webhook))
    }
}

/// The typed error for an optional operation `provider` does not offer.
///
/// ```
/// # fn build(_: &utilconnect::ProviderConfig, _: &utilconnect::BuildContext) -> utilconnect::Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> { unimplemented!() }
/// const ACME: utilconnect::ProviderDescriptor =
///     utilconnect::ProviderDescriptor::new("acme", "", &[], build, "doc");
/// let err = utilconnect::unsupported(&ACME, utilconnect::Operation::Refresh);
/// assert_eq!(err.kind(), utilconnect::ErrorKind::Unsupported);
/// assert_eq!(err.to_string(), "acme refresh: unsupported: acme does not offer refresh");
/// ```
pub fn unsupported(provider: &ProviderDescriptor, operation: Operation) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        operation,
        format!("{} does not offer {operation}", provider.name()),
    )
    .with_provider(provider.name())
}
