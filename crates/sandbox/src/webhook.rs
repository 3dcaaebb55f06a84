//! Signed webhooks as an emulator sends them, and the ways a test can spoil one.

/// A webhook request as the vendor would send it: headers and the raw body.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The request's headers (signature, timestamp, key id, …).
    pub headers: http::HeaderMap,
    /// The body, bytes as sent.
    pub body: Vec<u8>,
}

/// What a test asks an emulator to get wrong when it signs a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookFault {
    /// A signature made with the right key over other bytes.
    BadSignature,
    /// A timestamp from long ago (a replay).
    StaleTimestamp,
    /// Signed with a key the vendor's published keys do not have.
    UnknownKey,
    /// The signature scheme `none`.
    SchemeNone,
}
