//! Credentials for a SPARQL server, read from an environment variable.
//!
//! Takes: the variable's value, `basic:USER:PASSWORD`, `digest:USER:PASSWORD`
//! or `bearer:TOKEN` (a password may hold colons; the user may not). Gives:
//! the `Authorization` header of each request. Basic and Bearer are sent
//! with every request; Digest (RFC 7616, computed by `digest_auth`; what
//! Virtuoso's authenticated endpoints use) answers the server's challenge
//! and reuses it, its nonce count rising, until the server challenges again.
//! Invariants: secrets never appear in errors or in `Debug` output.

use std::fmt;
use std::sync::Mutex;

use base64::Engine;
use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};

/// The environment variable kgx reads credentials from unless told another.
pub const DEFAULT_AUTH_ENV: &str = "KGX_ENDPOINT_AUTH";

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic { user: String, password: String },
    Digest { user: String, password: String },
    Bearer(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { user, .. } => write!(f, "Basic({user}, <password>)"),
            Self::Digest { user, .. } => write!(f, "Digest({user}, <password>)"),
            Self::Bearer(_) => f.write_str("Bearer(<token>)"),
        }
    }
}

/// Why a credentials value was refused (never quoting it).
#[derive(Debug, thiserror::Error)]
#[error("{variable} must be basic:USER:PASSWORD, digest:USER:PASSWORD or bearer:TOKEN ({problem})")]
pub struct CredentialsError {
    pub variable: String,
    pub problem: &'static str,
}

impl Credentials {
    /// Reads `variable`; None when it is unset or empty.
    pub fn from_env(variable: &str) -> Result<Option<Self>, CredentialsError> {
        match std::env::var(variable) {
            Ok(value) if !value.is_empty() => {
                Self::parse(&value).map(Some).map_err(|problem| CredentialsError { variable: variable.to_string(), problem })
            }
            _ => Ok(None),
        }
    }

    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = value.split_once(':').ok_or("no scheme")?;
        let user_password = || -> Result<(String, String), &'static str> {
            let (user, password) = rest.split_once(':').ok_or("no ':' between user and password")?;
            if user.is_empty() {
                return Err("empty user");
            }
            Ok((user.to_string(), password.to_string()))
        };
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => user_password().map(|(user, password)| Self::Basic { user, password }),
            "digest" => user_password().map(|(user, password)| Self::Digest { user, password }),
            "bearer" if !rest.is_empty() => Ok(Self::Bearer(rest.to_string())),
            "bearer" => Err("empty token"),
            _ => Err("unknown scheme"),
        }
    }
}

/// The `Authorization` headers of one client: Digest's last challenge is
/// shared by its threads.
#[derive(Debug)]
pub struct Authorizer {
    credentials: Option<Credentials>,
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
}

impl Authorizer {
    pub fn new(credentials: Option<Credentials>) -> Self {
        Self { credentials, challenge: Mutex::new(None) }
    }

    /// The header for a request (`path`: the URL's path and query), if any yet:
    /// Digest has none until the server has challenged.
    pub fn header(&self, method: &str, path: &str) -> Option<String> {
        match self.credentials.as_ref()? {
            Credentials::Basic { user, password } => {
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
            }
            Credentials::Bearer(token) => Some(format!("Bearer {token}")),
            Credentials::Digest { user, password } => {
                let mut challenge = self.challenge.lock().unwrap_or_else(|p| p.into_inner());
                let prompt = challenge.as_mut()?;
                let method = HttpMethod(method.to_string().into());
                let context = AuthContext::new_with_method(user, password, path, Option::<&[u8]>::None, method);
                prompt.respond(&context).ok().map(|answer| answer.to_string())
            }
        }
    }

    /// Takes a 401's `WWW-Authenticate` value; true when the request should
    /// be sent again (Digest credentials and a Digest challenge).
    pub fn challenged(&self, www_authenticate: Option<&str>) -> bool {
        let (Some(Credentials::Digest { .. }), Some(value)) = (&self.credentials, www_authenticate) else {
            return false;
        };
        match digest_auth::parse(value) {
            Ok(prompt) => {
                *self.challenge.lock().unwrap_or_else(|p| p.into_inner()) = Some(prompt);
                true
            }
            Err(_) => false,
        }
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_by_scheme_and_passwords_keep_their_colons() {
        assert_eq!(Credentials::parse("digest:dba:a:b").unwrap(), Credentials::Digest { user: "dba".into(), password: "a:b".into() });
        assert_eq!(Credentials::parse("Bearer:t0k:en").unwrap(), Credentials::Bearer("t0k:en".into()));
        assert_eq!(Credentials::parse("basic:u:").unwrap(), Credentials::Basic { user: "u".into(), password: String::new() });
        assert!(Credentials::parse("u:p").is_err());
        assert!(Credentials::parse("basic::p").is_err());
        assert!(Credentials::parse("bearer:").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let shown = format!("{:?} {:?}", Credentials::parse("basic:u:s3cret").unwrap(), Credentials::parse("bearer:s3cret").unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn basic_is_rfc_7617_and_digest_waits_for_a_challenge() {
        let basic = Authorizer::new(Some(Credentials::parse("basic:Aladdin:open sesame").unwrap()));
        assert_eq!(basic.header("GET", "/").as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        let digest = Authorizer::new(Some(Credentials::parse("digest:Mufasa:Circle of Life").unwrap()));
        assert_eq!(digest.header("PUT", "/store"), None);
        assert!(!digest.challenged(Some("Basic realm=\"x\"")));
        let challenge =
            r#"Digest realm="http-auth@example.org", qop="auth", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v""#;
        assert!(digest.challenged(Some(challenge)));
        let first = digest.header("PUT", "/store?graph=x").unwrap();
        let second = digest.header("PUT", "/store?graph=x").unwrap();
        assert!(first.starts_with("Digest username=\"Mufasa\"") && first.contains("uri=\"/store?graph=x\""), "{first}");
        assert!(first.contains("nc=00000001") && second.contains("nc=00000002"), "{first} / {second}");
        assert!(!Authorizer::new(None).challenged(Some(challenge)));
    }
}
