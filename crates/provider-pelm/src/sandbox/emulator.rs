//! The emulator's state and rules, apart from HTTP: who the clients are, which tokens, codes
//! and page sessions exist, and when they expire.

use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::time::{Duration, SystemTime};

use utilconnect::{Clock, ManualClock};
use utilconnect_sandbox::{EmulatorState, RequestLog};

/// Utilities the sandbox offers: (slug, numeric id, display name).
pub(crate) const UTILITIES: &[(&str, &str, &str)] = &[
    ("pge", "1", "Pacific Gas and Electric"),
    ("sce", "2", "Southern California Edison"),
    ("sdge", "3", "San Diego Gas & Electric"),
];

/// The documented sandbox utility login.
pub(crate) const SANDBOX_USERNAME: &str = "user@pelm.com";
/// The documented sandbox utility password.
pub(crate) const SANDBOX_PASSWORD: &str = "password";

/// Tunables of one emulator.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The client id the emulator accepts.
    pub client_id: String,
    /// The client secret the emulator accepts.
    pub client_secret: String,
    /// Connect token lifetime (Pelm: 30 minutes).
    pub token_ttl: Duration,
    /// Authorization code lifetime ("short-lived"; we use 5 minutes).
    pub code_ttl: Duration,
    /// After Connect, the data calls answer `500 data_unavailable` for this long ("a few
    /// minutes" per Pelm).
    pub data_delay: Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            client_id: "sandbox-client-id".into(),
            client_secret: "sandbox-client-secret".into(),
            token_ttl: Duration::from_secs(1800),
            code_ttl: Duration::from_secs(300),
            data_delay: Duration::from_secs(180),
        }
    }
}

#[derive(Debug)]
pub(crate) struct TokenRecord {
    pub user_id: String,
    pub utility: Option<String>,
    pub expires_at: SystemTime,
    pub consumed: bool,
}

#[derive(Debug)]
struct CodeRecord {
    user_id: String,
    expires_at: SystemTime,
    used: bool,
}

/// Where a user is in the hosted pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Terms,
    Utility,
    Credentials,
}

#[derive(Debug, Clone)]
pub(crate) struct PageSession {
    pub token: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub step: Step,
    pub utility: Option<String>,
}

/// Pelm's tables in the emulator.
#[derive(Debug, Default)]
pub struct Records {
    known_users: HashSet<String>,
    tokens: HashMap<String, TokenRecord>,
    codes: HashMap<String, CodeRecord>,
    pages: HashMap<String, PageSession>,
    /// Access tokens: the user they were issued for and when.
    access: HashMap<String, (String, SystemTime)>,
}

/// Why a code exchange was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    Unknown,
    Used,
    Expired,
}

/// Why a page could not go on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PageRefusal {
    UnknownToken,
    ExpiredToken,
    UsedToken,
    UnknownSession,
}

impl PageRefusal {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Self::UnknownToken => "This Connect link is not valid.",
            Self::ExpiredToken => "This Connect link has expired. Please start again from the app.",
            Self::UsedToken => "This Connect link has already been used.",
            Self::UnknownSession => "Your session was not found. Please start again from the app.",
        }
    }
}

/// The Pelm emulator's state and rules: the kit's emulator state over Pelm's records (tokens,
/// codes, page sessions); clones share state. Served as a [`PelmSandbox`](super::PelmSandbox).
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
        log.name_value(options.client_secret.clone(), "client_secret");
        Self(EmulatorState::new(options, clock, log))
    }

    pub(crate) fn credentials_match(&self, client_id: Option<&str>, secret: Option<&str>) -> bool {
        client_id == Some(self.options.client_id.as_str())
            && secret == Some(self.options.client_secret.as_str())
    }

    pub(crate) fn utility_by(&self, slug: Option<&str>, id: Option<&str>) -> Option<&'static str> {
        UTILITIES
            .iter()
            .find(|(s, i, _)| slug == Some(*s) || id == Some(*i))
            .map(|(s, _, _)| *s)
    }

    pub(crate) fn create_token(&self, user_id: &str, utility: Option<&str>) -> (String, Duration) {
        let token = self.issuer.secret("ct_", "connect_token");
        let mut records = self.lock();
        records.tokens.insert(
            token.clone(),
            TokenRecord {
                user_id: user_id.to_owned(),
                utility: utility.map(str::to_owned),
                expires_at: self.clock.now() + self.options.token_ttl,
                consumed: false,
            },
        );
        (token, self.options.token_ttl)
    }

    fn check_token(&self, records: &Records, token: &str) -> Result<(), PageRefusal> {
        let record = records.tokens.get(token).ok_or(PageRefusal::UnknownToken)?;
        if self.clock.now() >= record.expires_at {
            Err(PageRefusal::ExpiredToken)
        } else if record.consumed {
            Err(PageRefusal::UsedToken)
        } else {
            Ok(())
        }
    }

    /// Opens the hosted pages for a token: the first step and the page session id.
    pub(crate) fn open_pages(
        &self,
        token: &str,
        redirect_uri: &str,
        state: Option<&str>,
    ) -> Result<(String, PageSession), PageRefusal> {
        let mut records = self.lock();
        self.check_token(&records, token)?;
        let record = &records.tokens[token];
        let utility = record.utility.clone();
        let step = if !records.known_users.contains(&record.user_id) {
            Step::Terms
        } else if utility.is_none() {
            Step::Utility
        } else {
            Step::Credentials
        };
        if let Some(state) = state {
            self.issuer.name(state, "state");
        }
        let session = PageSession {
            token: token.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: state.map(str::to_owned),
            step,
            utility,
        };
        let id = self.issuer.secret("ps_", "page_session");
        records.pages.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The page session `id`, if its token is still good.
    pub(crate) fn page(&self, id: &str) -> Result<PageSession, PageRefusal> {
        let records = self.lock();
        let session = records.pages.get(id).ok_or(PageRefusal::UnknownSession)?;
        self.check_token(&records, &session.token)?;
        Ok(session.clone())
    }

    /// Moves a page session on after terms or utility selection.
    pub(crate) fn advance(
        &self,
        id: &str,
        utility: Option<&str>,
    ) -> Result<PageSession, PageRefusal> {
        let mut records = self.lock();
        let session = records
            .pages
            .get_mut(id)
            .ok_or(PageRefusal::UnknownSession)?;
        if let Some(utility) = utility {
            session.utility = Some(utility.to_owned());
        }
        session.step = match session.step {
            Step::Terms if session.utility.is_some() => Step::Credentials,
            Step::Terms => Step::Utility,
            Step::Utility | Step::Credentials => Step::Credentials,
        };
        Ok(session.clone())
    }

    /// Issues a code for a page session whose user typed the right credentials; the token
    /// is consumed.
    pub(crate) fn issue_code(&self, id: &str) -> Result<(String, PageSession), PageRefusal> {
        let mut records = self.lock();
        let session = records
            .pages
            .remove(id)
            .ok_or(PageRefusal::UnknownSession)?;
        self.check_token(&records, &session.token)?;
        let user_id = match records.tokens.get_mut(&session.token) {
            Some(token) => {
                token.consumed = true;
                token.user_id.clone()
            }
            None => return Err(PageRefusal::UnknownToken),
        };
        let code = self.issuer.secret("code_", "code");
        records.codes.insert(
            code.clone(),
            CodeRecord {
                user_id,
                expires_at: self.clock.now() + self.options.code_ttl,
                used: false,
            },
        );
        Ok((code, session))
    }

    /// Ends a page session without a code.
    pub(crate) fn exit(&self, id: &str) -> Result<PageSession, PageRefusal> {
        self.lock()
            .pages
            .remove(id)
            .ok_or(PageRefusal::UnknownSession)
    }

    /// Exchanges a code: (access token, refresh token) or why not.
    pub(crate) fn exchange(&self, code: &str) -> Result<(String, String), CodeRefusal> {
        let mut records = self.lock();
        let now = self.clock.now();
        let record = records.codes.get_mut(code).ok_or(CodeRefusal::Unknown)?;
        if record.used {
            return Err(CodeRefusal::Used);
        }
        if now >= record.expires_at {
            return Err(CodeRefusal::Expired);
        }
        record.used = true;
        let user_id = record.user_id.clone();
        records.known_users.insert(user_id.clone());
        let access = self.issuer.secret("at_", "access_token");
        let refresh = self.issuer.secret("rt_", "refresh_token");
        records.access.insert(access.clone(), (user_id, now));
        Ok((access, refresh))
    }

    /// The data a bearer may read: `Ok(user)` once the data has loaded, `Err(true)` while it
    /// is still loading, `Err(false)` for an unknown token.
    pub(crate) fn data_for(&self, bearer: &str) -> Result<String, bool> {
        let records = self.lock();
        let (user, linked_at) = records.access.get(bearer).ok_or(false)?;
        if self.clock.now() < *linked_at + self.options.data_delay {
            return Err(true);
        }
        Ok(user.clone())
    }

    /// Every token, code and page session issued so far.
    pub(crate) fn issued(&self) -> Vec<String> {
        self.issuer.secrets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulator() -> Emulator {
        Emulator::new(
            SandboxOptions::default(),
            ManualClock::new(),
            RequestLog::default(),
        )
    }

    #[test]
    fn new_user_starts_at_terms_known_user_at_utility_or_credentials() {
        let emulator = emulator();
        let (token, _) = emulator.create_token("u1", None);
        let (_, page) = emulator
            .open_pages(&token, "https://app/cb", Some("s"))
            .unwrap();
        assert_eq!(page.step, Step::Terms);

        emulator.lock().known_users.insert("u1".into());
        let (token, _) = emulator.create_token("u1", None);
        let (_, page) = emulator.open_pages(&token, "https://app/cb", None).unwrap();
        assert_eq!(page.step, Step::Utility);
        let (token, _) = emulator.create_token("u1", Some("pge"));
        let (_, page) = emulator.open_pages(&token, "https://app/cb", None).unwrap();
        assert_eq!(page.step, Step::Credentials);
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let emulator = emulator();
        let (token, _) = emulator.create_token("u1", Some("pge"));
        let (id, _) = emulator.open_pages(&token, "https://app/cb", None).unwrap();
        let (code, _) = emulator.issue_code(&id).unwrap();
        assert!(emulator.exchange(&code).is_ok());
        assert_eq!(emulator.exchange(&code), Err(CodeRefusal::Used));
        assert_eq!(emulator.exchange("nope"), Err(CodeRefusal::Unknown));

        let (token, _) = emulator.create_token("u2", Some("pge"));
        let (id, _) = emulator.open_pages(&token, "https://app/cb", None).unwrap();
        let (code, _) = emulator.issue_code(&id).unwrap();
        emulator.clock.advance(Duration::from_secs(301));
        assert_eq!(emulator.exchange(&code), Err(CodeRefusal::Expired));
    }

    #[test]
    fn tokens_expire_and_are_consumed_by_a_code() {
        let emulator = emulator();
        let (token, _) = emulator.create_token("u1", Some("pge"));
        let (id, _) = emulator.open_pages(&token, "https://app/cb", None).unwrap();
        emulator.issue_code(&id).unwrap();
        assert_eq!(
            emulator
                .open_pages(&token, "https://app/cb", None)
                .unwrap_err(),
            PageRefusal::UsedToken
        );
        let (token, _) = emulator.create_token("u1", None);
        emulator.clock.advance(Duration::from_secs(1800));
        assert_eq!(
            emulator
                .open_pages(&token, "https://app/cb", None)
                .unwrap_err(),
            PageRefusal::ExpiredToken
        );
    }
}
