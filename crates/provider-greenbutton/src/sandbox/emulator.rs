//! The Data Custodian emulator's state and rules, apart from HTTP: its utilities and their
//! registered clients, the customer's page visits, codes, grants and tokens, and when each
//! expires.

use std::collections::HashMap;
use std::ops::Deref;
use std::time::{Duration, SystemTime};

use utilconnect::{Clock, ManualClock};
use utilconnect_sandbox::{EmulatorState, RequestLog};

use crate::scope::Scope;

/// The sandbox customer's login at every emulated utility.
pub(crate) const CUSTOMER_USERNAME: &str = "customer@greenbutton.example";
/// The sandbox customer's password.
pub(crate) const CUSTOMER_PASSWORD: &str = "green-button";

/// One emulated utility and the app's registration there.
#[derive(Debug, Clone)]
pub struct SandboxCustodian {
    /// The id in paths and in the provider table (`custodians.<id>`).
    pub id: String,
    /// The utility's name on its pages.
    pub name: String,
    /// The client id it accepts.
    pub client_id: String,
    /// The client secret it accepts.
    pub client_secret: String,
    /// The widest scope the client is registered for.
    pub scope: String,
}

/// Tunables of one emulator.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The utilities (two by default, to prove the multi-utility config).
    pub custodians: Vec<SandboxCustodian>,
    /// Authorization code lifetime (RFC 6749 §4.1.2: short, at most 10 minutes advised).
    pub code_ttl: Duration,
    /// Access token lifetime (`expires_in`).
    pub access_ttl: Duration,
    /// Whether a refresh issues a new refresh token (and retires the old one).
    pub rotate_refresh_tokens: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        let custodian = |id: &str, name: &str, scope: &str| SandboxCustodian {
            id: id.to_owned(),
            name: name.to_owned(),
            client_id: format!("sandbox-client-{id}"),
            client_secret: format!("sandbox-secret-{id}"),
            scope: scope.to_owned(),
        };
        Self {
            custodians: vec![
                custodian(
                    "utility-a",
                    "Sandbox Electric",
                    "FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
                ),
                custodian(
                    "utility-b",
                    "Sandbox Gas & Electric",
                    "FB=4_5;IntervalDuration=900;BlockDuration=daily;HistoryLength=24",
                ),
            ],
            code_ttl: Duration::from_secs(60),
            access_ttl: Duration::from_secs(3600),
            rotate_refresh_tokens: true,
        }
    }
}

/// Where a customer is on a utility's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Login,
    Authorize,
}

/// A customer's visit to the authorization pages.
#[derive(Debug, Clone)]
pub(crate) struct Visit {
    pub custodian: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub step: Step,
}

#[derive(Debug)]
struct CodeRecord {
    custodian: String,
    redirect_uri: String,
    scope: String,
    expires_at: SystemTime,
    /// The grant the code made, once exchanged.
    exchanged_into: Option<String>,
}

/// A grant: what the customer authorized, and its current tokens.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub custodian: String,
    pub scope: String,
    pub revoked: bool,
    pub subscription_id: String,
    pub refresh_token: String,
}

#[derive(Debug)]
struct AccessRecord {
    grant: String,
    expires_at: SystemTime,
}

/// The utilities' tables in the emulator.
#[derive(Debug, Default)]
pub struct Records {
    visits: HashMap<String, Visit>,
    codes: HashMap<String, CodeRecord>,
    grants: HashMap<String, Grant>,
    access: HashMap<String, AccessRecord>,
}

/// An RFC 6749 §5.2 error from the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OAuthError {
    InvalidRequest,
    InvalidGrant,
}

impl OAuthError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidGrant => "invalid_grant",
        }
    }
}

/// Tokens the token endpoint hands out.
#[derive(Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub scope: String,
    pub grant_id: String,
    pub subscription_id: String,
}

/// What a bearer token opened.
#[derive(Debug)]
pub(crate) struct Opened {
    pub scope: String,
    pub subscription_id: String,
}

/// Why a bearer token does not open a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerRefusal {
    /// Unknown, expired, or its grant revoked: 401 `invalid_token`.
    InvalidToken,
    /// A valid token for another grant or utility: 403 `insufficient_scope`.
    NotYours,
}

/// The Data Custodian emulator's state and rules: the kit's emulator state over the
/// utilities' records; clones share state. Served as a
/// [`GreenButtonSandbox`](super::GreenButtonSandbox).
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
        for custodian in &options.custodians {
            log.name_value(
                custodian.client_secret.clone(),
                &format!("client_secret:{}", custodian.id),
            );
        }
        Self(EmulatorState::new(options, clock, log))
    }

    /// The utility `id`.
    pub(crate) fn custodian(&self, id: &str) -> Option<&SandboxCustodian> {
        self.options.custodians.iter().find(|c| c.id == id)
    }

    /// Every token, code and page id issued so far.
    pub(crate) fn issued(&self) -> Vec<String> {
        self.issuer.secrets()
    }

    /// Starts a customer's visit; the page id.
    pub(crate) fn open_visit(&self, visit: Visit) -> String {
        if let Some(state) = &visit.state {
            self.issuer.name(state, "state");
        }
        let id = self.issuer.secret("pv_", "page_visit");
        self.lock().visits.insert(id.clone(), visit);
        id
    }

    /// The visit `id`, if it is still open.
    pub(crate) fn visit(&self, id: &str) -> Option<Visit> {
        self.lock().visits.get(id).cloned()
    }

    /// The customer logged in on visit `id`: on to the authorize step.
    pub(crate) fn logged_in(&self, id: &str) -> Option<Visit> {
        let mut records = self.lock();
        let visit = records.visits.get_mut(id)?;
        visit.step = Step::Authorize;
        Some(visit.clone())
    }

    /// Ends visit `id` (approved or denied), so its page cannot be posted again.
    pub(crate) fn end_visit(&self, id: &str) -> Option<Visit> {
        self.lock().visits.remove(id)
    }

    /// A code for an approved visit, bound to its utility (and so its client), redirect
    /// URI and scope.
    pub(crate) fn issue_code(&self, visit: &Visit) -> String {
        let code = self.issuer.secret("gbc_", "code");
        let record = CodeRecord {
            custodian: visit.custodian.clone(),
            redirect_uri: visit.redirect_uri.clone(),
            scope: visit.scope.clone(),
            expires_at: self.clock.now() + self.options.code_ttl,
            exchanged_into: None,
        };
        self.lock().codes.insert(code.clone(), record);
        code
    }

    /// The authorization code grant at utility `custodian` (its client already
    /// authenticated). A code used twice also revokes the grant it made (RFC 6749 §4.1.2).
    pub(crate) fn exchange_code(
        &self,
        custodian: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Issued, OAuthError> {
        let now = self.clock.now();
        let mut records = self.lock();
        let record = records
            .codes
            .get_mut(code)
            .ok_or(OAuthError::InvalidGrant)?;
        if let Some(grant) = record.exchanged_into.clone() {
            if let Some(grant) = records.grants.get_mut(&grant) {
                grant.revoked = true;
            }
            return Err(OAuthError::InvalidGrant);
        }
        let bound = record.custodian == custodian && record.redirect_uri == redirect_uri;
        if !bound || now >= record.expires_at {
            return Err(OAuthError::InvalidGrant);
        }
        let grant_id = self.issuer.id("auth-", "authorization");
        record.exchanged_into = Some(grant_id.clone());
        let scope = record.scope.clone();
        let grant = Grant {
            custodian: custodian.to_owned(),
            scope: scope.clone(),
            revoked: false,
            subscription_id: self.issuer.id("sub-", "subscription"),
            refresh_token: self.issuer.secret("gbr_", "refresh_token"),
        };
        let issued = self.issue_access(&mut records, &grant_id, &grant);
        records.grants.insert(grant_id, grant);
        Ok(issued)
    }

    /// The refresh grant at utility `custodian`.
    pub(crate) fn refresh(
        &self,
        custodian: &str,
        refresh_token: &str,
    ) -> Result<Issued, OAuthError> {
        let mut records = self.lock();
        let grant_id = records
            .grants
            .iter()
            .find(|(_, g)| g.refresh_token == refresh_token && g.custodian == custodian)
            .map(|(id, _)| id.clone())
            .ok_or(OAuthError::InvalidGrant)?;
        if records.grants[&grant_id].revoked {
            return Err(OAuthError::InvalidGrant);
        }
        if self.options.rotate_refresh_tokens {
            let rotated = self.issuer.secret("gbr_", "refresh_token");
            if let Some(grant) = records.grants.get_mut(&grant_id) {
                grant.refresh_token = rotated;
            }
        }
        let grant = records.grants[&grant_id].clone();
        Ok(self.issue_access(&mut records, &grant_id, &grant))
    }

    fn issue_access(&self, records: &mut Records, grant_id: &str, grant: &Grant) -> Issued {
        Issued {
            access_token: self.new_access_token(records, grant_id),
            refresh_token: grant.refresh_token.clone(),
            scope: grant.scope.clone(),
            grant_id: grant_id.to_owned(),
            subscription_id: grant.subscription_id.clone(),
        }
    }

    fn new_access_token(&self, records: &mut Records, grant_id: &str) -> String {
        let token = self.issuer.secret("gba_", "access_token");
        records.access.insert(
            token.clone(),
            AccessRecord {
                grant: grant_id.to_owned(),
                expires_at: self.clock.now() + self.options.access_ttl,
            },
        );
        token
    }

    /// The grant a bearer token opens at `custodian`, if `wanted(grant_id, grant)` says the
    /// resource asked for is that grant's.
    pub(crate) fn bearer(
        &self,
        custodian: &str,
        token: &str,
        wanted: impl Fn(&str, &Grant) -> bool,
    ) -> Result<Opened, BearerRefusal> {
        let records = self.lock();
        let access = records
            .access
            .get(token)
            .ok_or(BearerRefusal::InvalidToken)?;
        let grant = records
            .grants
            .get(&access.grant)
            .ok_or(BearerRefusal::InvalidToken)?;
        if self.clock.now() >= access.expires_at || grant.revoked {
            return Err(BearerRefusal::InvalidToken);
        }
        if grant.custodian != custodian || !wanted(&access.grant, grant) {
            return Err(BearerRefusal::NotYours);
        }
        Ok(Opened {
            scope: grant.scope.clone(),
            subscription_id: grant.subscription_id.clone(),
        })
    }

    /// Revokes the grant with `authorization_id` (the last segment of its
    /// `authorizationURI`), as a customer does on the utility's website: its tokens stop
    /// working and its refresh token is refused with `invalid_grant`. False if unknown.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let sandbox = utilconnect_greenbutton::sandbox::GreenButtonSandbox::start().await?;
    /// assert!(!sandbox.emulator().revoke("auth-unknown"));
    /// # Ok::<(), utilconnect::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn revoke(&self, authorization_id: &str) -> bool {
        let id = authorization_id.rsplit('/').next().unwrap_or_default();
        match self.lock().grants.get_mut(id) {
            Some(grant) => {
                grant.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Whether `scope` is a scope the client of `custodian` may ask for.
    pub(crate) fn allows_scope(&self, custodian: &SandboxCustodian, scope: &str) -> bool {
        match (scope.parse::<Scope>(), custodian.scope.parse::<Scope>()) {
            (Ok(asked), Ok(registered)) => asked.narrows(&registered),
            _ => false,
        }
    }
}
