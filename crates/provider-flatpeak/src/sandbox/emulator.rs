//! The emulator's state and rules, apart from HTTP: bearers, connect tokens and the progress
//! of each Connect session, on an injectable clock.

use std::collections::HashMap;
use std::ops::Deref;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use utilconnect::{Clock, ManualClock};
use utilconnect_sandbox::{EmulatorState, RequestLog, SignedRequest, WebhookFault};

use super::webhooks::{Delivery, DeliveryFault, Outgoing, RETRY_SCHEDULE};
use crate::ApiVersion;

/// Energy providers offered on the provider selection page: (id, name).
pub(crate) const ENERGY_PROVIDERS: &[(&str, &str)] = &[
    ("octopus", "Octopus Energy"),
    ("british_gas", "British Gas"),
    ("edf", "EDF Energy"),
];

/// The emulated energy provider's login (shown on its page).
pub(crate) const PROVIDER_USERNAME: &str = "customer@example.com";
/// The emulated energy provider's password.
pub(crate) const PROVIDER_PASSWORD: &str = "password";

/// Tunables of one emulator.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The account id `/login` accepts.
    pub account_id: String,
    /// The API key `/login` accepts (a test-mode key).
    pub api_key: String,
    /// Bearer lifetime (Flatpeak: 3600 s).
    pub bearer_ttl: Duration,
    /// Connect token lifetime (Flatpeak: 86400 s).
    pub token_ttl: Duration,
    /// After Save, the retrieve call answers 422 "processing" for this long.
    pub processing_delay: Duration,
    /// After processing, the tariff stays unprocessed (`is_tariff_processed`,
    /// `data_available` false) for this long.
    pub tariff_delay: Duration,
    /// Send `expires_in` as a string, as some of Flatpeak's examples do.
    pub expires_in_as_string: bool,
    /// Where events are POSTed (the app's webhook route); `None` keeps them unsent (a test
    /// still reads them with `last_webhook`).
    pub webhook_url: Option<url::Url>,
    /// How long a saved tariff lasts before `tariff.expired` is sent (on the sandbox clock).
    pub tariff_ttl: Duration,
    /// The version the provider table configures (and whose routes
    /// [`Sandbox::route`](utilconnect_sandbox::Sandbox::route) names).
    pub api_version: ApiVersion,
    /// The version a request without `Flatpeak-Version` gets: the account's dashboard default.
    pub default_version: ApiVersion,
    /// The `Flatpeak-Version` value that selects busbar. Flatpeak has not published busbar's,
    /// so this placeholder is what the emulator and the provider table agree on.
    pub busbar_version: String,
    /// The existing location busbar flows are started for (busbar requires one).
    pub location_id: String,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            account_id: "acc_sandbox0000000000000000".into(),
            api_key: "sk_test_sandbox_api_key_0000".into(),
            bearer_ttl: Duration::from_secs(3600),
            token_ttl: Duration::from_secs(86_400),
            processing_delay: Duration::ZERO,
            tariff_delay: Duration::ZERO,
            expires_in_as_string: false,
            webhook_url: None,
            tariff_ttl: Duration::from_secs(30 * 86_400),
            api_version: ApiVersion::Anode,
            default_version: ApiVersion::Anode,
            busbar_version: "busbar-unpublished".into(),
            location_id: "loc_sandbox0000000000000000".into(),
        }
    }
}

impl SandboxOptions {
    /// The `Flatpeak-Version` value of [`api_version`](Self::api_version), as the provider
    /// table configures it (webhooks carry it too).
    pub fn version_header(&self) -> &str {
        self.api_version
            .published_header()
            .unwrap_or(&self.busbar_version)
    }
}

/// Whether `code` is an ISO 3166-1 alpha-2 country code in form (two upper-case letters).
pub(crate) fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// How a session ended on the summary page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Save,
    Close,
    Disconnect,
}

impl Finish {
    fn action(self) -> &'static str {
        match self {
            Self::Save => "SAVE",
            Self::Close => "CLOSE",
            Self::Disconnect => "DISCONNECT",
        }
    }
}

/// Where a user is in the hosted pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Address,
    Provider,
    ProviderLogin,
    Summary,
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The token request, as sent (validated).
    pub request: Value,
    /// Where the user goes when the session ends (`callback_url`; 2024: `callback_uri`).
    pub callback_url: String,
    /// Where the provider login returns to (`connect_url`; 2024: the optional
    /// `connect_web_uri`, else the emulator's own pages).
    pub connect_url: Option<String>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub has_address: bool,
    /// The address the token carried or the user entered.
    pub postal_address: Option<Value>,
    pub energy_provider: Option<String>,
    pub logged_in: bool,
    pub finished: Option<(Finish, SystemTime)>,
    pub claimed: bool,
    pub customer_id: String,
    pub location_id: String,
}

impl Session {
    pub(crate) fn step(&self) -> Step {
        if !self.has_address {
            Step::Address
        } else if self.energy_provider.is_none() {
            Step::Provider
        } else if !self.logged_in {
            Step::ProviderLogin
        } else {
            Step::Summary
        }
    }

    pub(crate) fn text(&self, field: &str) -> Option<&str> {
        self.request.get(field).and_then(Value::as_str)
    }
}

/// Why a page or retrieve could not go on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Expired,
    Finished,
    Claimed,
}

impl Refusal {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Self::Unknown => "This Connect link is not valid.",
            Self::Expired => "This Connect link has expired. Please start again from the app.",
            Self::Finished => "This Connect session is already complete.",
            Self::Claimed => "This Connect session has already been claimed.",
        }
    }
}

/// Flatpeak's tables in the emulator.
#[derive(Debug, Default)]
pub struct Records {
    bearers: HashMap<String, SystemTime>,
    sessions: HashMap<String, Session>,
    /// Every event emitted, in order (bodies as sent).
    events: Vec<Vec<u8>>,
    outbox: Vec<Outgoing>,
    deliveries: Vec<Delivery>,
    delivery_faults: std::collections::VecDeque<DeliveryFault>,
    /// Where events go, once set (else `options.webhook_url`).
    webhook_url: Option<url::Url>,
    /// Saved tariffs: (customer id, location id, expires at); removed once expired.
    tariffs: Vec<(String, String, SystemTime)>,
}

/// The Flatpeak emulator's state and rules: the kit's emulator state over Flatpeak's records
/// (bearers, connect sessions); clones share state. Served as a
/// [`FlatpeakSandbox`](super::FlatpeakSandbox).
#[derive(Debug, Clone)]
pub struct Emulator(EmulatorState<SandboxOptions, Records>);

impl Deref for Emulator {
    type Target = EmulatorState<SandboxOptions, Records>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Emulator {
    pub(crate) fn new(options: SandboxOptions, clock: ManualClock, log: RequestLog) -> Self {
        log.name_value(options.api_key.clone(), "api_key");
        Self(EmulatorState::new(options, clock, log))
    }

    pub(crate) fn credentials_match(&self, account_id: &str, api_key: &str) -> bool {
        account_id == self.options.account_id && api_key == self.options.api_key
    }

    pub(crate) fn login(&self) -> (String, Duration) {
        let bearer = self.issuer.secret("eyJ", "bearer");
        self.lock()
            .bearers
            .insert(bearer.clone(), self.clock.now() + self.options.bearer_ttl);
        (bearer, self.options.bearer_ttl)
    }

    pub(crate) fn bearer_valid(&self, bearer: &str) -> bool {
        self.lock()
            .bearers
            .get(bearer)
            .is_some_and(|expiry| self.clock.now() < *expiry)
    }

    /// Opens a session for a validated create `request` in `version`'s shape.
    pub(crate) fn create_session(&self, request: Value, version: ApiVersion) -> (String, Duration) {
        let token = self.issuer.secret("cot_", "connect_token");
        let (callback_key, connect_key) = match version {
            ApiVersion::V2024_08_24 => ("callback_uri", "connect_web_uri"),
            ApiVersion::Anode | ApiVersion::Busbar => ("callback_url", "connect_url"),
        };
        let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
        let callback_url = text(callback_key).unwrap_or_default();
        let connect_url = text(connect_key);
        // Flatpeak keeps the callback's query; name our state inside it for snapshots.
        if let Some(state) = url::Url::parse(&callback_url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        }) {
            self.issuer.name(&state, "state");
        }
        let customer_id = match text("customer_id") {
            Some(id) => id,
            None => self.issuer.id("cus_", "customer_id"),
        };
        let location_id = match text("location_id") {
            Some(id) => id,
            None => self.issuer.id("loc_", "location_id"),
        };
        let postal_address = request.get("postal_address").cloned();
        let has_address = postal_address.is_some();
        let now = self.clock.now();
        self.lock().sessions.insert(
            token.clone(),
            Session {
                request,
                callback_url,
                connect_url,
                created_at: now,
                expires_at: now + self.options.token_ttl,
                has_address,
                postal_address,
                energy_provider: None,
                logged_in: false,
                finished: None,
                claimed: false,
                customer_id,
                location_id,
            },
        );
        (token, self.options.token_ttl)
    }

    /// The open session for `token`, for the hosted pages.
    pub(crate) fn open_session(&self, token: &str) -> Result<Session, Refusal> {
        let records = self.lock();
        let session = records.sessions.get(token).ok_or(Refusal::Unknown)?;
        if self.clock.now() >= session.expires_at {
            Err(Refusal::Expired)
        } else if session.finished.is_some() {
            Err(Refusal::Finished)
        } else {
            Ok(session.clone())
        }
    }

    /// Changes an open session.
    pub(crate) fn update(
        &self,
        token: &str,
        change: impl FnOnce(&mut Session),
    ) -> Result<Session, Refusal> {
        self.open_session(token)?;
        let mut records = self.lock();
        let session = records.sessions.get_mut(token).ok_or(Refusal::Unknown)?;
        change(session);
        Ok(session.clone())
    }

    /// Ends an open session with `how`; a Save sends `connect_session.complete`.
    pub(crate) fn finish(&self, token: &str, how: Finish) -> Result<Session, Refusal> {
        let now = self.clock.now();
        let session = self.update(token, |session| session.finished = Some((how, now)))?;
        if how == Finish::Save {
            let mut data = json!({
                "customer_id": session.customer_id,
                "location_id": session.location_id,
            });
            for field in ["customer_reference_id", "location_reference_id"] {
                if let Some(value) = session.text(field) {
                    data[field] = json!(value);
                }
            }
            self.lock().tariffs.push((
                session.customer_id.clone(),
                session.location_id.clone(),
                now + self.options.tariff_ttl,
            ));
            self.emit("connect_session.complete", data);
        }
        Ok(session)
    }

    /// Queues event `kind` with `data` for delivery, and starts delivering when a URL is set.
    pub(crate) fn emit(&self, kind: &str, data: Value) {
        self.queue_event(kind, data);
        if self.webhook_url().is_some() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let emulator = self.clone();
                runtime.spawn(async move {
                    emulator.deliver_due().await;
                });
            }
        }
    }

    /// Records event `kind` with `data`, due for delivery now.
    fn queue_event(&self, kind: &str, data: Value) {
        let now = self.clock.now();
        let id = self.issuer.id("evt_", "event");
        let body = json!({
            "id": id,
            "object": "event",
            "type": kind,
            "data": data,
            "time_created": utilconnect_sandbox::rfc3339(now),
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut records = self.lock();
        records.events.push(body.clone());
        records.outbox.push(Outgoing {
            body,
            attempts: 0,
            due: now,
        });
    }

    /// Sends events to `url` from now on.
    pub fn set_webhook_url(&self, url: url::Url) {
        self.lock().webhook_url = Some(url);
    }

    fn webhook_url(&self) -> Option<url::Url> {
        self.lock()
            .webhook_url
            .clone()
            .or_else(|| self.options.webhook_url.clone())
    }

    /// Spoils the next delivery with `fault`.
    pub fn fault_next_delivery(&self, fault: DeliveryFault) {
        self.lock().delivery_faults.push_back(fault);
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// The last event emitted, signed again now.
    pub(crate) fn last_event_signed(&self, fault: Option<WebhookFault>) -> Option<SignedRequest> {
        let body = self.lock().events.last().cloned()?;
        Some(super::webhooks::sign(
            &body,
            self.clock.now(),
            fault,
            self.options.version_header(),
        ))
    }

    /// Sends what is due on the sandbox clock: `tariff.expired` for tariffs past their
    /// expiry, then every event whose next attempt is due, retried on the documented
    /// schedule (move the clock to reach the next attempt). How many were acknowledged.
    pub async fn deliver_due(&self) -> usize {
        let now = self.clock.now();
        let expired: Vec<(String, String)> = {
            let mut records = self.lock();
            let (gone, kept): (Vec<_>, Vec<_>) = records
                .tariffs
                .drain(..)
                .partition(|(_, _, until)| *until <= now);
            records.tariffs = kept;
            gone.into_iter().map(|(c, l, _)| (c, l)).collect()
        };
        for (customer_id, location_id) in expired {
            let data = json!({"customer_id": customer_id, "location_id": location_id});
            self.queue_event("tariff.expired", data);
        }
        let Some(url) = self.webhook_url() else {
            return 0;
        };
        let mut due: Vec<Outgoing> = {
            let mut records = self.lock();
            let (ready, waiting): (Vec<_>, Vec<_>) =
                records.outbox.drain(..).partition(|o| o.due <= now);
            records.outbox = waiting;
            ready
        };
        let fault = if due.is_empty() {
            None
        } else {
            self.lock().delivery_faults.pop_front()
        };
        if fault == Some(DeliveryFault::OutOfOrder) && due.len() > 1 {
            let first = due.remove(0);
            due.push(first);
        }
        let client = reqwest::Client::new();
        let mut acknowledged = 0;
        for (index, mut outgoing) in due.into_iter().enumerate() {
            let sign_fault = match fault {
                Some(DeliveryFault::Sign(f)) if index == 0 => Some(f),
                _ => None,
            };
            let times = if fault == Some(DeliveryFault::Duplicate) && index == 0 {
                2
            } else {
                1
            };
            let mut ok = false;
            for _ in 0..times {
                let request = super::webhooks::sign(
                    &outgoing.body,
                    now,
                    sign_fault,
                    self.options.version_header(),
                );
                let status = super::webhooks::post(&client, &url, request).await;
                outgoing.attempts += 1;
                ok |= status.is_some_and(|s| (200..300).contains(&s));
                let event: Value = serde_json::from_slice(&outgoing.body).unwrap_or_default();
                self.lock().deliveries.push(Delivery {
                    event_id: event["id"].as_str().unwrap_or_default().to_owned(),
                    event_type: event["type"].as_str().unwrap_or_default().to_owned(),
                    attempt: outgoing.attempts,
                    status,
                });
            }
            if ok {
                acknowledged += 1;
            } else if let Some(delay) = RETRY_SCHEDULE.get(outgoing.attempts - 1) {
                outgoing.due = now + *delay;
                self.lock().outbox.push(outgoing);
            }
        }
        acknowledged
    }

    /// The retrieve call in `version`'s shape: the session object (which claims a finished
    /// session), or `Err(None)` while processing (422), or the refusal (404).
    pub(crate) fn retrieve(
        &self,
        token: &str,
        version: ApiVersion,
    ) -> Result<Value, Option<Refusal>> {
        let now = self.clock.now();
        let mut records = self.lock();
        let session = records
            .sessions
            .get_mut(token)
            .ok_or(Some(Refusal::Unknown))?;
        if session.claimed {
            return Err(Some(Refusal::Claimed));
        }
        if now >= session.expires_at {
            return Err(Some(Refusal::Expired));
        }
        if let Some((Finish::Save, saved_at)) = session.finished {
            if now < saved_at + self.options.processing_delay {
                return Err(None);
            }
        }
        let object = self.object_of(token, session, version, now);
        if session.finished.is_some() {
            session.claimed = true;
        }
        Ok(object)
    }

    /// The session of `token` as `version` shows it, without claiming it (busbar's create
    /// call answers with it).
    pub(crate) fn session_object(&self, token: &str, version: ApiVersion) -> Option<Value> {
        let now = self.clock.now();
        let records = self.lock();
        let session = records.sessions.get(token)?;
        Some(self.object_of(token, session, version, now))
    }

    /// The retrieve answer: the 2024 and anode `ConnectToken` (every required field present,
    /// `location_id` empty while no location is connected), or busbar's `connect_session`.
    fn object_of(
        &self,
        token: &str,
        session: &Session,
        version: ApiVersion,
        now: SystemTime,
    ) -> Value {
        let (action, connected) = match session.finished {
            None => (None, false),
            Some((how, _)) => (Some(how.action()), how != Finish::Close),
        };
        let ready = match session.finished {
            Some((Finish::Save, saved_at)) => {
                now >= saved_at + self.options.processing_delay + self.options.tariff_delay
            }
            _ => false,
        };
        let times = (
            utilconnect_sandbox::rfc3339(session.created_at),
            utilconnect_sandbox::rfc3339(session.expires_at),
        );
        if version == ApiVersion::Busbar {
            let mut object = json!({
                "id": token,
                "object": "connect_session",
                "location_id": session.location_id,
                "live_mode": false,
                "data_available": ready,
                "time_created": times.0,
                "time_expiry": times.1,
                "callback_url": session.callback_url,
            });
            for field in ["device_id", "provider_id", "connect_url"] {
                if let Some(value) = session.text(field) {
                    object[field] = json!(value);
                }
            }
            return object;
        }
        let mut object = json!({
            "id": token,
            "object": "connect_token",
            "live_mode": false,
            "customer_id": session.customer_id,
            "location_id": if connected { session.location_id.as_str() } else { "" },
            "location_reference_id": session.text("location_reference_id").unwrap_or_default(),
            "is_tariff_processed": ready,
            "time_created": times.0,
            "time_expiry": times.1,
        });
        if let Some(reference) = session.text("customer_reference_id") {
            object["customer_reference_id"] = json!(reference);
        }
        if let Some(action) = action {
            object["complete_action"] = json!(action);
        }
        object
    }

    /// Every secret issued so far (bearers, connect tokens).
    pub(crate) fn issued(&self) -> Vec<String> {
        self.issuer.secrets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulator(options: SandboxOptions) -> Emulator {
        Emulator::new(options, ManualClock::new(), RequestLog::default())
    }

    fn request() -> Value {
        json!({"connect_url": "http://x/", "callback_url": "http://app/cb?state=s1"})
    }

    #[test]
    fn bearers_expire() {
        let emulator = emulator(SandboxOptions::default());
        let (bearer, _) = emulator.login();
        assert!(emulator.bearer_valid(&bearer));
        emulator.clock.advance(Duration::from_secs(3600));
        assert!(!emulator.bearer_valid(&bearer));
        assert!(!emulator.bearer_valid("eyJforged"));
    }

    #[test]
    fn steps_follow_the_session() {
        let emulator = emulator(SandboxOptions::default());
        let (token, _) = emulator.create_session(request(), ApiVersion::Anode);
        assert_eq!(emulator.open_session(&token).unwrap().step(), Step::Address);
        let (with_address, _) = emulator.create_session(
            json!({
                "connect_url": "http://x/", "callback_url": "http://app/cb",
                "postal_address": {"country_code": "GB"},
            }),
            ApiVersion::Anode,
        );
        assert_eq!(
            emulator.open_session(&with_address).unwrap().step(),
            Step::Provider
        );
        let session = emulator
            .update(&with_address, |s| s.energy_provider = Some("edf".into()))
            .unwrap();
        assert_eq!(session.step(), Step::ProviderLogin);
        let session = emulator
            .update(&with_address, |s| s.logged_in = true)
            .unwrap();
        assert_eq!(session.step(), Step::Summary);
    }

    #[test]
    fn save_is_processing_then_pending_then_ready_and_claimed_once() {
        let emulator = emulator(SandboxOptions {
            processing_delay: Duration::from_secs(10),
            tariff_delay: Duration::from_secs(20),
            ..SandboxOptions::default()
        });
        let (token, _) = emulator.create_session(request(), ApiVersion::Anode);
        emulator.finish(&token, Finish::Save).unwrap();
        assert_eq!(emulator.retrieve(&token, ApiVersion::Anode), Err(None));
        emulator.clock.advance(Duration::from_secs(10));
        let object = emulator.retrieve(&token, ApiVersion::Anode).unwrap();
        assert_eq!(object["complete_action"], "SAVE");
        assert_eq!(object["is_tariff_processed"], false);
        assert!(object["location_id"].as_str().unwrap().starts_with("loc_"));
        assert_eq!(
            emulator.retrieve(&token, ApiVersion::Anode),
            Err(Some(Refusal::Claimed))
        );
        assert_eq!(
            emulator.open_session(&token).unwrap_err(),
            Refusal::Finished
        );
    }

    #[test]
    fn tokens_expire() {
        let emulator = emulator(SandboxOptions::default());
        let (token, _) = emulator.create_session(request(), ApiVersion::Anode);
        emulator.clock.advance(Duration::from_secs(86_400));
        assert_eq!(emulator.open_session(&token).unwrap_err(), Refusal::Expired);
        assert_eq!(
            emulator.retrieve(&token, ApiVersion::Anode),
            Err(Some(Refusal::Expired))
        );
        assert_eq!(
            emulator.retrieve("cot_unknown", ApiVersion::Anode),
            Err(Some(Refusal::Unknown))
        );
    }

    #[test]
    fn each_version_answers_in_its_own_shape_with_times_from_the_clock() {
        let emulator = emulator(SandboxOptions::default());
        emulator.clock.advance(Duration::from_secs(86_400));
        let created = utilconnect_sandbox::rfc3339(emulator.clock.now());
        let (token, _) = emulator.create_session(
            json!({"callback_uri": "http://app/cb", "direction": "IMPORT"}),
            ApiVersion::V2024_08_24,
        );
        let open = emulator.retrieve(&token, ApiVersion::V2024_08_24).unwrap();
        assert_eq!(open["location_id"], "", "nothing connected yet");
        assert_eq!(open["location_reference_id"], "");
        assert_eq!(open["time_created"], created.as_str());
        assert!(open.get("complete_action").is_none());
        assert_eq!(
            emulator.open_session(&token).unwrap().callback_url,
            "http://app/cb"
        );

        let (token, _) = emulator.create_session(
            json!({"location_id": "loc_9", "connect_url": "http://x/", "callback_url": "myapp://done", "device_id": "dev_1"}),
            ApiVersion::Busbar,
        );
        emulator.finish(&token, Finish::Save).unwrap();
        let object = emulator.retrieve(&token, ApiVersion::Busbar).unwrap();
        assert_eq!(object["object"], "connect_session");
        assert_eq!(object["location_id"], "loc_9");
        assert_eq!(object["device_id"], "dev_1");
        assert_eq!(object["data_available"], true);
        assert!(object.get("complete_action").is_none());
    }
}
