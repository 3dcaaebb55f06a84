//! The Connect JSON API: the one endpoint Flatpeak's own Connect web app talks to, used as a
//! conversation. The app POSTs `{"route", "type": "submit", "connect_token", "action"?,
//! "data"?}` and gets back the next page to show, `{"type": "render", "route",
//! "connect_token", "live_mode", "direction", "data", "actions"}`, or an error body.
//!
//! Shapes follow the web app's own types (`src/features/connect/lib/types.ts` in
//! flat-peak/flatpeak-connect-web): the routes `postal_address_capture`, `provider_select`,
//! `tariff_summary`, `session_redirect` (`data.redirect_url`, where the app sends the
//! browser) and `complete_tariff`; the actions `BACK`, `CLOSE`, `ADDRESS_CHANGE`, `EDIT`,
//! `DISCONNECT`; errors as its `ActionException`. What the server does on each submit is not
//! in that repository, so these are our assumptions, the most conservative we could read:
//!
//! - `session_start` answers the page for the session's step (a session whose token carried
//!   an address starts at provider selection); when the user is due at the energy
//!   provider's login, it answers `session_redirect` there;
//! - choosing a provider answers `session_redirect` to that provider's login page, which
//!   returns to the token's `connect_url`, where the app starts the conversation again;
//! - `SAVE` on `tariff_summary` (the documented final-page action) saves and answers
//!   `complete_tariff` with `data.callback_url` (the web app's `RenderSessionComplete`);
//! - every page offers `BACK` and `CLOSE` (the anode release notes); `CLOSE`, `DISCONNECT` on
//!   the summary, and `BACK` with no page before end the session and answer
//!   `session_redirect` to `callback_url?fp_cot=…` ("CLOSE returns callback_url");
//! - a submit must name the page the session is on and one of its actions; anything else,
//!   and bad data, answers HTTP 400 with the error body (the web app reads the body either
//!   way).
//!
//! The hosted HTML pages ([`super::pages`]) are a thin skin over this same conversation.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::emulator::{
    ENERGY_PROVIDERS, Emulator, Finish, Refusal, Session, Step, is_country_code,
};

/// The query parameter that carries the token on every URL of the flow.
pub(crate) const TOKEN: &str = "fp_cot";

/// One submit from the Connect web app.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Submit {
    pub route: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub connect_token: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

impl Submit {
    /// A submit of `route` for `token`, as the hosted pages make them.
    pub(crate) fn new(route: &str, token: &str) -> Self {
        Self {
            route: route.to_owned(),
            kind: "submit".to_owned(),
            connect_token: Some(token.to_owned()),
            action: None,
            data: None,
        }
    }

    /// This submit with `action`.
    pub(crate) fn action(mut self, action: &str) -> Self {
        self.action = Some(action.to_owned());
        self
    }

    /// This submit with `data`.
    pub(crate) fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// The answer to a submit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// The next page (`type: "render"`).
    Render(Value),
    /// An error body (the web app's `ActionException`), with its HTTP status.
    Refused(StatusCode, Value),
}

/// Where the browser goes outside Connect: absolute URLs, since the web app may be served
/// from another origin than this API.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    /// The emulator's own origin, e.g. `http://127.0.0.1:4000` (empty: relative links, for
    /// the emulator's own pages).
    pub origin: String,
}

/// Answers one submit.
pub(crate) fn submit(emulator: &Emulator, submit: &Submit, links: &Links) -> Answer {
    let token = submit.connect_token.as_deref().unwrap_or_default();
    if submit.kind != "submit" {
        return refused(token, "parameter_invalid", "type must be \"submit\"");
    }
    let session = match emulator.open_session(token) {
        Ok(session) => session,
        Err(refusal) => return refusal_answer(token, &refusal),
    };
    let action = submit.action.as_deref().unwrap_or_default();
    if submit.route == "session_start" {
        return match action {
            "" => page_for(emulator, token, &session, links),
            _ => refused(token, "action_invalid", "session_start takes no action"),
        };
    }
    let current = current_route(&session);
    if submit.route != current {
        return refused(
            token,
            "route_invalid",
            &format!(
                "this page is out of date: the session is on {current}, not on {}",
                shown(&submit.route)
            ),
        );
    }
    if !action.is_empty() && !actions_of(current).contains(&action) {
        return refused(
            token,
            "action_invalid",
            &format!("action {} is not available on {current}", shown(action)),
        );
    }
    match (current, action) {
        (_, "CLOSE") => leave(emulator, token, &session, Finish::Close),
        (_, "BACK") => back(emulator, token, &session, links),
        ("tariff_summary", "DISCONNECT") => leave(emulator, token, &session, Finish::Disconnect),
        ("tariff_summary", "SAVE") => save(emulator, token, &session),
        ("tariff_summary", "EDIT") => to_provider_select(emulator, token, links),
        ("provider_select", "ADDRESS_CHANGE") => to_address(emulator, token, links),
        ("postal_address_capture", _) => address(emulator, token, submit.data.as_ref(), links),
        ("provider_select", _) => provider(emulator, token, submit.data.as_ref(), links),
        _ => refused(
            token,
            "action_invalid",
            &format!(
                "{current} needs one of its actions: {}",
                actions_of(current).join(", ")
            ),
        ),
    }
}

/// The route the session is on: submits are accepted for it only.
fn current_route(session: &Session) -> &'static str {
    match session.step() {
        Step::Address => "postal_address_capture",
        Step::Provider => "provider_select",
        Step::ProviderLogin => "session_redirect",
        Step::Summary => "tariff_summary",
    }
}

/// The actions a page offers (every anode page offers `BACK` and `CLOSE`).
fn actions_of(route: &str) -> &'static [&'static str] {
    match route {
        "postal_address_capture" => &["BACK", "CLOSE"],
        "provider_select" => &["ADDRESS_CHANGE", "BACK", "CLOSE"],
        "tariff_summary" => &["SAVE", "EDIT", "DISCONNECT", "BACK", "CLOSE"],
        _ => &[],
    }
}

/// The page for where the session is.
fn page_for(emulator: &Emulator, token: &str, session: &Session, links: &Links) -> Answer {
    let provider = provider_summary(session);
    match session.step() {
        Step::Address => render(
            token,
            session,
            "postal_address_capture",
            json!({"postal_address": session.postal_address.clone().unwrap_or_else(|| json!({}))}),
            actions_of("postal_address_capture"),
        ),
        Step::Provider => {
            let providers: Vec<Value> = ENERGY_PROVIDERS
                .iter()
                .map(|(id, name)| json!({"id": id, "display_name": name, "logo_url": ""}))
                .collect();
            render(
                token,
                session,
                "provider_select",
                json!({
                    "providers": providers,
                    "postal_address": session.postal_address.clone().unwrap_or_else(|| json!({})),
                }),
                actions_of("provider_select"),
            )
        }
        Step::ProviderLogin => render(
            token,
            session,
            "session_redirect",
            json!({"redirect_url": format!("{}/provider-login/?{TOKEN}={token}", links.origin)}),
            &[],
        ),
        Step::Summary => render(
            token,
            session,
            "tariff_summary",
            json!({
                "provider": provider,
                "currency_code": "GBP",
                "market_rates_source": false,
                "tariff": {"name": "Sandbox Flexible", "structure_type": "FIXED", "tiered": false},
                "rates": rates(emulator),
            }),
            actions_of("tariff_summary"),
        ),
    }
}

/// `postal_address_capture` submitted: the address must have a first line, a post code and
/// an ISO country code.
fn address(emulator: &Emulator, token: &str, data: Option<&Value>, links: &Links) -> Answer {
    let address = data.and_then(|d| d.get("postal_address"));
    let text = |field: &str| {
        address
            .and_then(|a| a.get(field))
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
    };
    if let Some(missing) = ["address_line1", "post_code", "country_code"]
        .into_iter()
        .find(|f| text(f).is_empty())
    {
        return refused(
            token,
            "parameter_missing",
            &format!("postal_address.{missing} is required"),
        );
    }
    let country = text("country_code");
    if !is_country_code(country) {
        return refused(
            token,
            "parameter_invalid",
            "postal_address.country_code must be an ISO 3166-1 alpha-2 code",
        );
    }
    let kept = address.cloned();
    change(emulator, token, links, move |s| {
        s.has_address = true;
        s.postal_address = kept;
    })
}

/// `provider_select` submitted: one of the offered providers, by id.
fn provider(emulator: &Emulator, token: &str, data: Option<&Value>, links: &Links) -> Answer {
    let chosen = data
        .and_then(|d| d.pointer("/provider/id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ENERGY_PROVIDERS.iter().any(|(id, _)| *id == chosen) {
        return refused(
            token,
            "parameter_invalid",
            "provider.id must be one of the providers offered",
        );
    }
    let chosen = chosen.to_owned();
    change(emulator, token, links, move |s| {
        s.energy_provider = Some(chosen);
        s.logged_in = false;
    })
}

/// `BACK`: the page before, or the callback when there is none.
fn back(emulator: &Emulator, token: &str, session: &Session, links: &Links) -> Answer {
    match session.step() {
        Step::Address => leave(emulator, token, session, Finish::Close),
        Step::Provider => to_address(emulator, token, links),
        Step::ProviderLogin | Step::Summary => to_provider_select(emulator, token, links),
    }
}

/// Back to the address page (`ADDRESS_CHANGE`, or `BACK` from provider selection).
fn to_address(emulator: &Emulator, token: &str, links: &Links) -> Answer {
    change(emulator, token, links, |s| s.has_address = false)
}

/// Back to provider selection (`EDIT`, or `BACK` from the summary).
fn to_provider_select(emulator: &Emulator, token: &str, links: &Links) -> Answer {
    change(emulator, token, links, |s| {
        s.energy_provider = None;
        s.logged_in = false;
    })
}

/// Changes the session and answers its next page.
fn change(
    emulator: &Emulator,
    token: &str,
    links: &Links,
    how: impl FnOnce(&mut Session),
) -> Answer {
    match emulator.update(token, how) {
        Ok(session) => page_for(emulator, token, &session, links),
        Err(refusal) => refusal_answer(token, &refusal),
    }
}

/// Ends the session with `how` and sends the browser to the callback.
fn leave(emulator: &Emulator, token: &str, session: &Session, how: Finish) -> Answer {
    let Some(callback) = with_token(&session.callback_url, token) else {
        return no_callback(token);
    };
    match emulator.finish(token, how) {
        Ok(session) => render(
            token,
            &session,
            "session_redirect",
            json!({"redirect_url": callback}),
            &[],
        ),
        Err(refusal) => refusal_answer(token, &refusal),
    }
}

/// `SAVE` on the summary: saves the tariff and completes, naming the callback.
fn save(emulator: &Emulator, token: &str, session: &Session) -> Answer {
    let Some(callback) = with_token(&session.callback_url, token) else {
        return no_callback(token);
    };
    match emulator.finish(token, Finish::Save) {
        Ok(session) => render(
            token,
            &session,
            "complete_tariff",
            json!({"callback_url": callback}),
            &[],
        ),
        Err(refusal) => refusal_answer(token, &refusal),
    }
}

fn no_callback(token: &str) -> Answer {
    refused(
        token,
        "callback_invalid",
        "the session's callback URL is not a valid URL",
    )
}

/// `url` with the token added, as Flatpeak returns users to the callback; `None` when `url`
/// is not a URL (the create call does not check it).
pub(crate) fn with_token(url: &str, token: &str) -> Option<String> {
    let mut url = url::Url::parse(url).ok()?;
    url.query_pairs_mut().append_pair(TOKEN, token);
    Some(url.into())
}

fn provider_summary(session: &Session) -> Value {
    let id = session.energy_provider.as_deref().unwrap_or_default();
    let name = ENERGY_PROVIDERS
        .iter()
        .find(|(p, _)| *p == id)
        .map_or("", |(_, name)| name);
    json!({"id": id, "display_name": name, "logo_url": ""})
}

/// A flat rate for yesterday, today and tomorrow on the sandbox clock.
fn rates(emulator: &Emulator) -> Value {
    use std::time::{Duration, UNIX_EPOCH};

    use utilconnect::Clock as _;
    const DAY: u64 = 86_400;
    let now = emulator.clock.now();
    let today = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / DAY * DAY);
    let day = |offset: i64| {
        let start = today.saturating_add_signed(offset * DAY as i64);
        let at = |secs: u64| utilconnect_sandbox::rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        json!([{
            "tariff": {"confidence": 1, "cost": 0.245},
            "valid_from": at(start),
            "valid_to": at(start + DAY),
        }])
    };
    json!({"yesterday": day(-1), "today": day(0), "tomorrow": day(1)})
}

fn render(token: &str, session: &Session, route: &str, data: Value, actions: &[&str]) -> Answer {
    let direction = session
        .text("tariff_direction")
        .or(session.text("direction"))
        .unwrap_or("IMPORT");
    Answer::Render(json!({
        "type": "render",
        "route": route,
        "connect_token": token,
        "live_mode": false,
        "direction": direction,
        "data": data,
        "actions": actions,
    }))
}

fn refusal_answer(token: &str, refusal: &Refusal) -> Answer {
    let code = match refusal {
        Refusal::Unknown => "connect_token_invalid",
        Refusal::Expired => "connect_token_expired",
        Refusal::Finished | Refusal::Claimed => "session_complete",
    };
    refused(token, code, refusal.message())
}

fn refused(token: &str, code: &str, message: &str) -> Answer {
    Answer::Refused(
        StatusCode::BAD_REQUEST,
        json!({
            "object": "error",
            "type": "invalid_request",
            "code": code,
            "message": message,
            "live_mode": false,
            "connect_token": bounded(token),
        }),
    )
}

/// A value from the request, bounded and escaped before it is echoed.
pub(crate) fn bounded(text: &str) -> String {
    utilconnect::redact::sanitize(text, 64)
}

fn shown(text: &str) -> String {
    format!("`{}`", bounded(text))
}
