//! The emulated utility's authorization pages: plain HTML forms, no JavaScript, so a person,
//! a real browser and the HTTP-only end user click through the same way.
//!
//! `GET /{custodian}/oauth2/authorize?…` checks the request (RFC 6749 §4.1.1, §4.1.2.1) and
//! shows the customer login; after it, the authorize page says in words what the app asks
//! for, with Approve and Deny. Approve returns `code` and `state` to `redirect_uri`; Deny (or
//! Cancel on the login page) returns `error=access_denied`.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use url::Url;
use utilconnect_sandbox::{Fields, escape_html, field, html_page, problem_html};

use super::emulator::{
    CUSTOMER_PASSWORD, CUSTOMER_USERNAME, Emulator, SandboxCustodian, Step, Visit,
};
use crate::scope::Scope;

/// `GET /{custodian}/oauth2/authorize`.
pub(crate) async fn authorize(
    State(emulator): State<Emulator>,
    Path(custodian): Path<String>,
    Query(query): Query<Fields>,
) -> Response {
    let Some(utility) = emulator.custodian(&custodian).cloned() else {
        return error_page(StatusCode::NOT_FOUND, "There is no such utility here.");
    };
    // Errors about the client or the redirect URI are shown, never redirected (§4.1.2.1).
    if field(&query, "client_id") != utility.client_id {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This app is not registered with this utility (unknown client_id).",
        );
    }
    let Some(redirect) = parse_redirect(field(&query, "redirect_uri")) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is missing or not a valid URL.",
        );
    };
    let state = query.get("state").cloned();
    if field(&query, "response_type") != "code" {
        return back_to_app(
            redirect,
            &[("error", "unsupported_response_type")],
            state.as_deref(),
        );
    }
    let scope = field(&query, "scope");
    if !emulator.allows_scope(&utility, scope) {
        return back_to_app(redirect, &[("error", "invalid_scope")], state.as_deref());
    }
    let visit = Visit {
        custodian: custodian.clone(),
        redirect_uri: redirect.to_string(),
        scope: scope.to_owned(),
        state,
        step: Step::Login,
    };
    let id = emulator.open_visit(visit.clone());
    render(&utility, &id, &visit, None)
}

/// `POST /{custodian}/oauth2/login`.
pub(crate) async fn login(
    State(emulator): State<Emulator>,
    Path(custodian): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    let Some((utility, id, visit)) = open_visit(&emulator, &custodian, &form) else {
        return expired_page();
    };
    if field(&form, "action") == "cancel" {
        return deny(&emulator, &id);
    }
    if visit.step != Step::Login {
        return render(&utility, &id, &visit, None);
    }
    if field(&form, "username") != CUSTOMER_USERNAME
        || field(&form, "password") != CUSTOMER_PASSWORD
    {
        return render(
            &utility,
            &id,
            &visit,
            Some("Incorrect email or password. Please try again."),
        );
    }
    match emulator.logged_in(&id) {
        Some(visit) => render(&utility, &id, &visit, None),
        None => expired_page(),
    }
}

/// `POST /{custodian}/oauth2/decision`.
pub(crate) async fn decision(
    State(emulator): State<Emulator>,
    Path(custodian): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    let Some((utility, id, visit)) = open_visit(&emulator, &custodian, &form) else {
        return expired_page();
    };
    if field(&form, "action") != "approve" {
        return deny(&emulator, &id);
    }
    if visit.step != Step::Authorize {
        return render(&utility, &id, &visit, Some("Please log in first."));
    }
    let Some(visit) = emulator.end_visit(&id) else {
        return expired_page();
    };
    let code = emulator.issue_code(&visit);
    match parse_redirect(&visit.redirect_uri) {
        Some(redirect) => back_to_app(redirect, &[("code", &code)], visit.state.as_deref()),
        None => expired_page(),
    }
}

fn open_visit(
    emulator: &Emulator,
    custodian: &str,
    form: &Fields,
) -> Option<(SandboxCustodian, String, Visit)> {
    let utility = emulator.custodian(custodian)?.clone();
    let id = field(form, "visit").to_owned();
    let visit = emulator.visit(&id).filter(|v| v.custodian == custodian)?;
    Some((utility, id, visit))
}

fn deny(emulator: &Emulator, id: &str) -> Response {
    match emulator
        .end_visit(id)
        .and_then(|v| Some((parse_redirect(&v.redirect_uri)?, v)))
    {
        Some((redirect, visit)) => back_to_app(
            redirect,
            &[("error", "access_denied")],
            visit.state.as_deref(),
        ),
        None => expired_page(),
    }
}

fn back_to_app(mut redirect: Url, params: &[(&str, &str)], state: Option<&str>) -> Response {
    {
        let mut pairs = redirect.query_pairs_mut();
        for (name, value) in params {
            pairs.append_pair(name, value);
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
    }
    Redirect::to(redirect.as_str()).into_response()
}

fn parse_redirect(uri: &str) -> Option<Url> {
    Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This authorization page has expired or was already used. Please start again from the app.",
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    utilconnect_sandbox::error_page("Green Button", status, message)
}

/// The scope in words: what a customer approves.
fn scope_in_words(scope: &str) -> String {
    let Ok(scope) = scope.parse::<Scope>() else {
        return format!("<li>{}</li>", escape_html(scope));
    };
    let blocks: Vec<String> = scope.function_blocks().map(|b| b.to_string()).collect();
    let mut items = vec![format!(
        "<li>Energy usage data sets (Green Button function blocks {})</li>",
        blocks.join(", ")
    )];
    if let Some(seconds) = scope
        .term("IntervalDuration")
        .and_then(|s| s.parse::<u64>().ok())
    {
        let every = match seconds {
            3600 => "hour".to_owned(),
            s if s % 60 == 0 => format!("{} minutes", s / 60),
            s => format!("{s} seconds"),
        };
        items.push(format!("<li>Readings for every {every}</li>"));
    }
    if let Some(block) = scope.term("BlockDuration") {
        items.push(format!("<li>Grouped {}</li>", escape_html(block)));
    }
    if let Some(history) = scope.term("HistoryLength") {
        items.push(format!(
            "<li>History: {} periods back</li>",
            escape_html(history)
        ));
    }
    items.join("\n")
}

fn render(utility: &SandboxCustodian, id: &str, visit: &Visit, problem: Option<&str>) -> Response {
    let problem = problem_html(problem);
    let name = escape_html(&utility.name);
    let custodian = escape_html(&utility.id);
    let id = escape_html(id);
    let (title, body) = match visit.step {
        Step::Login => (
            format!("{} - log in", utility.name),
            format!(
                r#"<h1>Log in to {name}</h1>
{problem}<p>An app asks to read your energy data. Log in to review its request.</p>
<p>Sandbox customer: <code>{CUSTOMER_USERNAME}</code> / <code>{CUSTOMER_PASSWORD}</code></p>
<form id="login" method="post" action="/{custodian}/oauth2/login">
  <input type="hidden" name="visit" value="{id}">
  <label>Email <input type="text" name="username"></label><br>
  <label>Password <input type="password" name="password"></label><br>
  <button type="submit" name="action" value="login">Log in</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>"#
            ),
        ),
        Step::Authorize => (
            format!("{} - share your data", utility.name),
            format!(
                r#"<h1>Share your energy data</h1>
{problem}<p>An app asks {name} for:</p>
<ul id="scope">
{}
</ul>
<form id="authorize" method="post" action="/{custodian}/oauth2/decision">
  <input type="hidden" name="visit" value="{id}">
  <button type="submit" name="action" value="approve">Approve</button>
  <button type="submit" name="action" value="deny">Deny</button>
</form>"#,
                scope_in_words(&visit.scope)
            ),
        ),
    };
    Html(html_page("Green Button", &title, &body)).into_response()
}
