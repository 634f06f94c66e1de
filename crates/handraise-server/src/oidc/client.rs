//! The relying party: discovery (lazy, cached), the authorization URL with
//! PKCE, `state` and `nonce`, the code exchange, and the ID token check
//! against the issuer's keys (cached; an unknown `kid` refetches them, at most
//! once a minute).

use super::config::{OidcConfig, Preset};
use super::pending::Purpose;
use crate::secret::{new_secret, read_secret_file, same_secret};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An unknown `kid` refetches the issuer's keys at most this often.
pub const KEY_REFETCH_EVERY: Duration = Duration::from_secs(60);
/// Discovery and keys are read again after this long even when all is well.
const REFRESH_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Time allowed for any one request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 60;
/// Signature algorithms accepted (public-key ones only: never `none` or HMAC).
const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Why a sign-in through the provider did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("the sign-in provider cannot be reached: {0}")]
    Unreachable(String),
    /// The `state` is unknown, spent, expired or from another browser.
    #[error("this sign-in is unknown, expired, already used or was begun in another browser")]
    UnknownState,
    /// The provider said no (the user cancelled, or the code was refused).
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
    /// The ID token failed a check.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
    /// The client secret file cannot be used.
    #[error("{0}")]
    Secret(#[from] crate::secret::SecretFileError),
}

/// What the provider's discovery document says.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct Cache {
    discovery: Option<(Discovery, Instant)>,
    keys: Option<(JwkSet, Instant)>,
    /// When an unknown `kid` last refetched the keys.
    last_refetch: Option<Instant>,
}

/// The verified claims of an ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdClaims(pub Map<String, Value>);

impl IdClaims {
    /// Claim `name` when it is a string.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// Whether claim `name` is `value`, or a list holding it.
    pub fn has(&self, name: &str, value: &str) -> bool {
        match self.0.get(name) {
            Some(Value::String(s)) => s == value,
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(value)),
            _ => false,
        }
    }
}

/// Where to send the browser, the cookie that binds the sign-in to it, and
/// what the caller keeps until the provider sends the browser back.
#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub browser: String,
    pub state: String,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
}

/// The OpenID Connect client of one `[oidc]` configuration.
#[derive(Debug)]
pub struct OidcClient {
    config: OidcConfig,
    http: reqwest::Client,
    cache: Mutex<Cache>,
    /// Serialises fetches, so a burst of sign-ins reads discovery once.
    fetching: tokio::sync::Mutex<()>,
}

impl OidcClient {
    pub fn new(config: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            config,
            http,
            cache: Mutex::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// GETs `url` as JSON.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let unreachable = |e: String| OidcError::Unreachable(format!("{url}: {e}"));
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("HTTP {}", response.status())));
        }
        let body = read_capped(response).await.map_err(unreachable)?;
        serde_json::from_slice(&body).map_err(|e| unreachable(e.to_string()))
    }

    /// The discovery document, read on first use and once a day after.
    async fn discovery(&self) -> Result<Discovery, OidcError> {
        let fresh = |c: &Cache| {
            c.discovery
                .as_ref()
                .filter(|(_, at)| at.elapsed() < REFRESH_EVERY)
                .map(|(d, _)| d.clone())
        };
        if let Some(d) = fresh(&self.cache()) {
            return Ok(d);
        }
        let _one = self.fetching.lock().await;
        if let Some(d) = fresh(&self.cache()) {
            return Ok(d);
        }
        let base = self.config.issuer.trim_end_matches('/');
        let url = format!("{base}/.well-known/openid-configuration");
        let d: Discovery = self.get_json(&url).await?;
        let templated = d.issuer.contains("{tenantid}");
        if !templated && d.issuer.trim_end_matches('/') != base {
            return Err(OidcError::Unreachable(format!(
                "the provider names its issuer {:?}, not the configured {:?}",
                d.issuer, self.config.issuer
            )));
        }
        self.cache().discovery = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// Begins a sign-in: discovery (which may fail: the provider is down),
    /// then a new `state`, `nonce` and PKCE verifier, for the caller to keep
    /// server-side (`service::oidc::begin`).
    pub async fn start(&self, purpose: Purpose) -> Result<Started, OidcError> {
        let d = self.discovery().await?;
        let (state, nonce, verifier, browser) =
            (new_secret(), new_secret(), new_secret(), new_secret());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("scope", "openid email profile"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if self.config.provider != Preset::Generic {
            // On a shared computer, the account to use is chosen, not assumed.
            query.push(("prompt", "select_account"));
        }
        let domains = match purpose {
            Purpose::Console => self.config.allowed_domains.as_slice(),
            Purpose::Report => self.config.teacher_domains(),
        };
        if self.config.provider == Preset::Google
            && let [domain] = domains
        {
            // Only a hint for the account chooser; the `hd` claim is checked.
            query.push(("hd", domain.as_str()));
        }
        let query = serde_urlencoded::to_string(&query)
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}{query}", d.authorization_endpoint);
        Ok(Started {
            url,
            browser,
            state,
            nonce,
            verifier,
        })
    }

    /// Ends a sign-in begun with `nonce` and the PKCE `verifier` (taken back
    /// by the caller): exchanges `code` and checks the ID token.
    pub async fn finish(
        &self,
        nonce: &str,
        verifier: &str,
        code: &str,
    ) -> Result<IdClaims, OidcError> {
        let d = self.discovery().await?;
        let id_token = self.exchange(&d, code, verifier).await?;
        let claims = self.verify(&d, &id_token).await?;
        match claims.text("nonce") {
            Some(n) if same_secret(n, nonce) => Ok(claims),
            _ => Err(OidcError::InvalidToken("the nonce does not match".into())),
        }
    }

    /// Trades `code` for the ID token at the token endpoint.
    async fn exchange(
        &self,
        d: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let secret = read_secret_file(&self.config.client_secret_file)?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("code_verifier", verifier),
        ];
        // `client_secret_basic` is the default of the standard; a provider
        // that lists only `client_secret_post` gets the secret in the form.
        let post_only = d
            .token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|m| !m.iter().any(|m| m == "client_secret_basic"));
        let mut request = self.http.post(&d.token_endpoint);
        if post_only {
            form.push(("client_id", self.config.client_id.as_str()));
            form.push(("client_secret", secret.as_str()));
        } else {
            let enc = |s: &str| form_urlencode(s);
            request = request.basic_auth(enc(&self.config.client_id), Some(enc(&secret)));
        }
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let unreachable = |e: String| OidcError::Unreachable(format!("{}: {e}", d.token_endpoint));
        let response = request
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let body = read_capped(response).await.map_err(unreachable)?;
        let answer: Map<String, Value> = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            let error = answer.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(OidcError::Refused(format!(
                "the code was refused ({status} {error})"
            )));
        }
        answer
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| OidcError::Refused("the provider sent no ID token".into()))
    }

    /// The issuer's keys, read on first use and once a day after; with
    /// `refetch`, read again unless an unknown `kid` did so within
    /// [`KEY_REFETCH_EVERY`] (`None`: not read again).
    async fn keys(&self, d: &Discovery, refetch: bool) -> Result<Option<JwkSet>, OidcError> {
        let cached = |c: &Cache| {
            c.keys
                .as_ref()
                .filter(|(_, at)| at.elapsed() < REFRESH_EVERY)
                .map(|(k, _)| k.clone())
        };
        if !refetch && let Some(k) = cached(&self.cache()) {
            return Ok(Some(k));
        }
        let _one = self.fetching.lock().await;
        {
            let mut c = self.cache();
            if refetch {
                if c.last_refetch
                    .is_some_and(|at| at.elapsed() < KEY_REFETCH_EVERY)
                {
                    return Ok(None);
                }
                c.last_refetch = Some(Instant::now());
            } else if let Some(k) = cached(&c) {
                return Ok(Some(k));
            }
        }
        let keys: JwkSet = self.get_json(&d.jwks_uri).await?;
        self.cache().keys = Some((keys.clone(), Instant::now()));
        Ok(Some(keys))
    }

    /// The key that signed a token with this `kid`, refetching the keys once
    /// when it is unknown (the issuer rotated them).
    async fn key_for(&self, d: &Discovery, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        let pick = |set: &JwkSet| pick(set, kid);
        let mut found = self.keys(d, false).await?.as_ref().and_then(pick);
        if found.is_none() {
            found = self.keys(d, true).await?.as_ref().and_then(pick);
        }
        let jwk = found.ok_or_else(|| {
            OidcError::InvalidToken(format!("no key {kid:?} among the issuer's keys"))
        })?;
        DecodingKey::from_jwk(&jwk).map_err(|e| OidcError::InvalidToken(e.to_string()))
    }

    /// Checks the signature (by the issuer's key), issuer, audience and
    /// expiry of `token`; the nonce is the caller's.
    async fn verify(&self, d: &Discovery, token: &str) -> Result<IdClaims, OidcError> {
        let invalid = |e: jsonwebtoken::errors::Error| OidcError::InvalidToken(e.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::InvalidToken(format!(
                "the algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header.kid.as_deref();
        let key = self.key_for(d, kid).await?;
        let mut v = Validation::new(header.alg);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_audience(&[&self.config.client_id]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let decode = |key: &DecodingKey| jsonwebtoken::decode::<Map<String, Value>>(token, key, &v);
        let data = match decode(&key) {
            // The issuer may have put a new key under a `kid` it used before:
            // its keys are read again (no more than an unknown `kid` may).
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                let again = self.keys(d, true).await?;
                match again.as_ref().and_then(|set| pick(set, kid)) {
                    Some(jwk) => decode(&DecodingKey::from_jwk(&jwk).map_err(invalid)?),
                    None => Err(e),
                }
            }
            other => other,
        }
        .map_err(invalid)?;
        let claims = IdClaims(data.claims);
        self.check_issuer(d, &claims)?;
        // With several audiences, the party it was issued to must be us.
        if let Some(azp) = claims.text("azp")
            && azp != self.config.client_id
        {
            return Err(OidcError::InvalidToken(
                "issued to another client (azp)".into(),
            ));
        }
        Ok(claims)
    }

    /// The token's `iss` is the discovered issuer; for a multi-tenant
    /// Microsoft issuer, the one of the token's own tenant (`tid`).
    fn check_issuer(&self, d: &Discovery, claims: &IdClaims) -> Result<(), OidcError> {
        let iss = claims.text("iss").unwrap_or("");
        let expected = if d.issuer.contains("{tenantid}") {
            let tid = claims.text("tid").unwrap_or("");
            if tid.is_empty() || !tid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                return Err(OidcError::InvalidToken("no valid tenant (tid)".into()));
            }
            d.issuer.replace("{tenantid}", tid)
        } else {
            d.issuer.clone()
        };
        // Google's older tokens name the issuer without the scheme.
        let google_alias =
            self.config.provider == Preset::Google && format!("https://{iss}") == expected;
        if iss == expected || google_alias {
            Ok(())
        } else {
            Err(OidcError::InvalidToken(format!(
                "issued by {iss:?}, not {expected:?}"
            )))
        }
    }
}

/// The key of `kid` in `set`; without a `kid`, the set's only key.
fn pick(set: &JwkSet, kid: Option<&str>) -> Option<jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(kid) => set.find(kid).cloned(),
        None => match set.keys.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

/// The form encoding of HTTP Basic credentials (RFC 6749, 2.3.1).
fn form_urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The body of `response`, refused beyond [`MAX_ANSWER_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err("the answer is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_match_strings_and_lists() {
        let claims = IdClaims(
            serde_json::from_str(r#"{"roles":["a","HandRaise.Technician"],"hd":"x.org"}"#)
                .unwrap_or_default(),
        );
        assert!(claims.has("roles", "HandRaise.Technician"));
        assert!(claims.has("hd", "x.org"));
        assert!(!claims.has("roles", "b") && !claims.has("groups", "a"));
        assert_eq!(form_urlencode("a b:c"), "a+b%3Ac");
    }
}
