//! The data calls Pelm's own sample apps make after Connect: `GET /accounts`,
//! `GET /intervals`, `GET /bills`, with the client headers and the user's bearer. Shapes are
//! small realistic fixtures (the wire reference lists the calls and their parameters, not
//! their answers: the fields here are an assumption, documented on the crate).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utilconnect_sandbox::Fields;

use super::api::{BAD_CREDENTIALS, error, has_credentials};
use super::emulator::Emulator;

/// The sandbox customer's one account at the sandbox utility.
const ACCOUNT_ID: &str = "acct_sandbox_pge_1";

/// Why a data call is refused: status, `error_code`, message.
type Refusal = (StatusCode, &'static str, &'static str);

fn refused((status, code, message): Refusal) -> Response {
    error(status, code, message)
}

/// The user behind the request's bearer, or why not.
fn reader(emulator: &Emulator, headers: &HeaderMap) -> Result<String, Refusal> {
    if !has_credentials(emulator, headers) {
        return Err(BAD_CREDENTIALS);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    emulator.data_for(bearer).map_err(|loading| match loading {
        true => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "data_unavailable",
            "Data is still being loaded for this user; try again in a few minutes",
        ),
        false => (
            StatusCode::UNAUTHORIZED,
            "token_invalid",
            "Invalid access token",
        ),
    })
}

/// The `account_id` parameter, which must name the user's account.
fn account(query: &Fields) -> Result<(), Refusal> {
    match query.get("account_id").map(String::as_str) {
        None | Some("") => Err((
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "account_id is required",
        )),
        Some(ACCOUNT_ID) => Ok(()),
        Some(_) => Err((
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "Unknown account_id",
        )),
    }
}

/// `GET /accounts`.
pub(crate) async fn accounts(State(emulator): State<Emulator>, headers: HeaderMap) -> Response {
    match reader(&emulator, &headers) {
        Ok(user) => Json(json!([{
            "id": ACCOUNT_ID,
            "user_id": user,
            "utility": "pge",
            "account_number": "0123456789-0",
            "address": "77 Beale St, San Francisco, CA 94105",
            "type": "ELECTRIC",
        }]))
        .into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// `GET /intervals?account_id=&start_date=&end_date=&type=` (dates in Unix seconds): hourly
/// kWh readings in the range, at most 31 days.
pub(crate) async fn intervals(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    if let Err(refusal) = reader(&emulator, &headers).and_then(|_| account(&query)) {
        return refused(refusal);
    }
    let date = |name: &str| query.get(name).and_then(|v| v.parse::<u64>().ok());
    let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "start_date and end_date (Unix seconds) are required",
        );
    };
    let kind = query.get("type").map_or("ELECTRIC", String::as_str);
    if !matches!(kind, "ELECTRIC" | "GAS") || end <= start || end - start > 31 * 86_400 {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "type must be ELECTRIC or GAS, and the range 1 s to 31 days",
        );
    }
    let first = start.div_ceil(3600) * 3600;
    let readings: Vec<Value> = (first..end)
        .step_by(3600)
        .map(|at| {
            let hour = (at / 3600) % 24;
            let kwh = 0.25 + f64::from(u32::try_from(hour).unwrap_or(0) % 12) * 0.05;
            json!({"start": at, "length": 3600, "value": (kwh * 1000.0).round() / 1000.0})
        })
        .collect();
    Json(json!({"account_id": ACCOUNT_ID, "type": kind, "unit": "kWh", "intervals": readings}))
        .into_response()
}

/// `GET /bills?account_id=`: the last three monthly bills.
pub(crate) async fn bills(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    if let Err(refusal) = reader(&emulator, &headers).and_then(|_| account(&query)) {
        return refused(refusal);
    }
    let bills: Vec<Value> = [("2026-09", 8412), ("2026-10", 7630), ("2026-11", 9105)]
        .iter()
        .enumerate()
        .map(|(i, (month, cents))| {
            json!({
                "id": format!("bill_sandbox_{}", i + 1),
                "account_id": ACCOUNT_ID,
                "period": month,
                "amount_due_cents": cents,
                "currency": "USD",
            })
        })
        .collect();
    Json(Value::Array(bills)).into_response()
}

/// Any route the emulator does not serve: Pelm's error body, as JSON (never an empty 404).
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "No such endpoint")
}
