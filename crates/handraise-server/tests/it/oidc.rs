//! Console sign-in with OpenID Connect against a small provider served by the test itself
//! (discovery, keys, a token endpoint that checks the client's secret and PKCE), with
//! locally generated ES256 keys: the cases that need a token the provider would never
//! issue (expired, for another client, from another issuer, with another nonce, signed by
//! an unknown key) and key rotation. The browser's part (`/auth/start`, the provider's
//! redirect, `/auth/callback`) is played by the test. The end-to-end sign-in against a
//! certified provider in Chromium is in `tests/console/oidc.test.mjs`.

use super::R;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{self, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use handraise_server::Config;
use handraise_server::oidc::{LocalPasswords, OidcConfig, Preset};
use handraise_server::store::{AccountStore, Role, now_utc};
use handraise_testkit::router::{App, Auth, Reply, request};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "handraise-console";
const CLIENT_SECRET: &str = "the client secret";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";

/// A signing key: its `kid`, private key and public JWK.
#[derive(Clone)]
struct Key {
    kid: String,
    private: EncodingKey,
    public: Jwk,
}

fn new_key(kid: &str) -> R<Key> {
    let pair = rcgen::KeyPair::generate()?;
    let private = EncodingKey::from_ec_der(&pair.serialize_der());
    let mut public = Jwk::from_encoding_key(&private, Algorithm::ES256)?;
    public.common.key_id = Some(kid.into());
    Ok(Key {
        kid: kid.into(),
        private,
        public,
    })
}

/// A code the provider handed out: the PKCE challenge it was bound to and the ID token
/// it is traded for.
struct Grant {
    challenge: String,
    id_token: String,
}

#[derive(Default)]
struct IdpState {
    /// The keys the provider publishes.
    published: Vec<Key>,
    jwks_fetches: usize,
    /// Discovery answers 503.
    down: bool,
    codes: HashMap<String, Grant>,
    /// The issuer its discovery names (`{tenantid}` for a Microsoft-like one).
    issuer: String,
}

/// The provider: its base URL and state.
#[derive(Clone)]
struct Idp {
    base: String,
    state: Arc<Mutex<IdpState>>,
}

impl Idp {
    fn with<T>(&self, f: impl FnOnce(&mut IdpState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A code for `id_token`, bound to `challenge`.
    fn authorize(&self, challenge: &str, id_token: String) -> String {
        let code = handraise_server::secret::new_secret();
        let grant = Grant {
            challenge: challenge.into(),
            id_token,
        };
        self.with(|s| s.codes.insert(code.clone(), grant));
        code
    }
}

async fn discovery(State(idp): State<Idp>) -> Response {
    let (down, issuer) = idp.with(|s| (s.down, s.issuer.clone()));
    if down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", idp.base),
        "token_endpoint": format!("{}/token", idp.base),
        "jwks_uri": format!("{}/jwks", idp.base),
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }))
    .into_response()
}

async fn jwks(State(idp): State<Idp>) -> Json<JwkSet> {
    Json(idp.with(|s| {
        s.jwks_fetches += 1;
        JwkSet {
            keys: s.published.iter().map(|k| k.public.clone()).collect(),
        }
    }))
}

/// The token endpoint: the client's secret, a code used once, PKCE.
async fn token(
    State(idp): State<Idp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refuse = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{}", CLIENT_SECRET.replace(' ', "+")))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&basic)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = idp.with(|s| s.codes.remove(&code)) else {
        return refuse("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return refuse("invalid_grant");
    }
    Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": grant.id_token}))
        .into_response()
}

/// Serves a provider whose discovery is at `path` (under the base) and names `issuer`
/// (`{base}` replaced), publishing `keys`.
async fn idp(path: &str, issuer: &str, keys: Vec<Key>) -> R<Idp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let idp = Idp {
        base: base.clone(),
        state: Arc::new(Mutex::new(IdpState {
            published: keys,
            issuer: issuer.replace("{base}", &base),
            ..IdpState::default()
        })),
    };
    let app = Router::new()
        .route(
            &format!("{path}/.well-known/openid-configuration"),
            routing::get(discovery),
        )
        .route("/jwks", routing::get(jwks))
        .route("/token", post(token))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(idp)
}

/// The `[oidc]` table for a provider at `issuer`, its secret in a file of `dir`.
fn oidc_config(dir: &std::path::Path, issuer: &str) -> R<OidcConfig> {
    let secret = dir.join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(OidcConfig {
        provider: Preset::Generic,
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret_file: secret,
        redirect_url: "http://hr.test/auth/callback".into(),
        allowed_domains: vec!["district.example".into()],
        allowed_tenants: Vec::new(),
        admins: vec!["it@district.example".into()],
        technicians: Vec::new(),
        technician_claim: None,
        local_passwords: LocalPasswords::Admins,
        teacher_domains: Vec::new(),
    })
}

fn app_with(oidc: OidcConfig) -> App {
    App::with_config(Config {
        oidc: Some(oidc),
        ..Config::default()
    })
}

/// A provider publishing one key (`k1`), and the router signing in with it (the client
/// secret's file in the directory kept alive by the caller).
async fn setup() -> R<(Key, Idp, tempfile::TempDir, App)> {
    let key = new_key("k1")?;
    let idp = idp("", "{base}", vec![key.clone()]).await?;
    let dir = tempfile::tempdir()?;
    let app = app_with(oidc_config(dir.path(), &idp.base)?);
    Ok((key, idp, dir, app))
}

/// A sign-in begun in a browser: what `/auth/start` sent it to the provider with.
#[derive(Debug)]
struct Begun {
    state: String,
    nonce: String,
    challenge: String,
    /// The `hr_oidc=...` cookie.
    cookie: String,
}

async fn get(app: &App, uri: &str, cookie: Option<&str>) -> R<Reply> {
    let auth = cookie.map_or(Auth::None, Auth::Cookie);
    Ok(app
        .send(request(Method::GET, uri, auth, None, Vec::new())?)
        .await)
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

async fn begin(app: &App, idp: &Idp) -> R<Begun> {
    let r = get(app, "/auth/start", None).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let location = r.header(header::LOCATION).ok_or("no Location")?;
    let (to, query) = location.split_once('?').ok_or("no query")?;
    assert_eq!(to, format!("{}/authorize", idp.base));
    let q: HashMap<String, String> = serde_urlencoded::from_str(query)?;
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let set = r.header(header::SET_COOKIE).ok_or("no cookie")?;
    let cookie = set.split(';').next().ok_or("cookie")?.to_owned();
    assert!(cookie.starts_with("hr_oidc=") && set.contains("HttpOnly"));
    Ok(Begun {
        state: q["state"].clone(),
        nonce: q["nonce"].clone(),
        challenge: q["code_challenge"].clone(),
        cookie,
    })
}

/// ID token claims as the provider would issue them for `email`.
fn claims(idp: &Idp, begun: &Begun, email: &str) -> Value {
    let now = now_utc().unix_timestamp();
    json!({
        "iss": idp.with(|s| s.issuer.clone()),
        "aud": CLIENT_ID,
        "sub": format!("sub-{}", email.to_lowercase()),
        "iat": now,
        "exp": now + 300,
        "nonce": begun.nonce,
        "email": email,
        "email_verified": true,
        "name": "Ana Ruiz",
    })
}

fn sign(key: &Key, claims: &Value) -> R<String> {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    Ok(jsonwebtoken::encode(&header, claims, &key.private)?)
}

async fn callback(app: &App, code: &str, state: &str, cookie: Option<&str>) -> R<Reply> {
    let query = serde_urlencoded::to_string([("code", code), ("state", state)])?;
    get(app, &format!("/auth/callback?{query}"), cookie).await
}

/// A whole sign-in with these claims (edited by `edit`), signed by `key`.
async fn sign_in_with(
    app: &App,
    idp: &Idp,
    key: &Key,
    email: &str,
    edit: impl FnOnce(&mut Value),
) -> R<Reply> {
    let begun = begin(app, idp).await?;
    let mut c = claims(idp, &begun, email);
    edit(&mut c);
    let code = idp.authorize(&begun.challenge, sign(key, &c)?);
    callback(app, &code, &begun.state, Some(&begun.cookie)).await
}

/// The session cookie a successful callback set.
fn session_cookie(r: &Reply) -> R<String> {
    let found = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hr_session="))
        .ok_or("no session cookie")?;
    Ok(found.split(';').next().ok_or("cookie")?.to_owned())
}

#[tokio::test]
async fn a_first_sign_in_creates_the_user_with_the_mapped_role_and_a_session() -> R {
    let (key, idp, _dir, app) = setup().await?;

    let page = get(&app, "/console/sign-in", None).await?;
    let html = text(&page);
    assert!(
        html.contains("href=\"/auth/start\"") && html.contains("Sign in with"),
        "{html}"
    );

    let r = sign_in_with(&app, &idp, &key, "Ana@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(r.header(header::LOCATION), Some("/console/queue"));
    let session = session_cookie(&r)?;
    let queue = get(&app, "/console/queue", Some(&session)).await?;
    assert_eq!(queue.status, StatusCode::OK);
    let (ana, _) = app
        .store
        .user_by_email("ana@district.example")?
        .ok_or("ana was not created")?;
    assert_eq!(
        (ana.role, ana.technician_name.as_str()),
        (Role::Technician, "Ana Ruiz")
    );

    let r = sign_in_with(&app, &idp, &key, "it@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let (it, _) = app
        .store
        .user_by_email("it@district.example")?
        .ok_or("it")?;
    assert_eq!(it.role, Role::Admin);

    // Signing in again finds the same user.
    let r = sign_in_with(&app, &idp, &key, "ana@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(app.store.list_users()?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_wrong_domain_and_a_disabled_user_are_refused_with_a_clear_page() -> R {
    let (key, idp, _dir, app) = setup().await?;

    let r = sign_in_with(&app, &idp, &key, "eve@elsewhere.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        text(&r).contains("is not an account of this district"),
        "{}",
        text(&r)
    );
    assert!(session_cookie(&r).is_err());
    let r = sign_in_with(&app, &idp, &key, "ana@district.example", |c| {
        c["email_verified"] = json!(false);
    })
    .await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.store.list_users()?.is_empty(), "nobody was created");

    let r = sign_in_with(&app, &idp, &key, "ana@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (ana, _) = app
        .store
        .user_by_email("ana@district.example")?
        .ok_or("ana")?;
    app.store.set_user_disabled(ana.id, true, now_utc())?;
    let r = sign_in_with(&app, &idp, &key, "ana@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(text(&r).contains("is disabled"), "{}", text(&r));
    assert!(session_cookie(&r).is_err());
    Ok(())
}

#[tokio::test]
async fn a_tampered_state_a_replayed_callback_and_a_code_moved_to_another_sign_in_are_refused() -> R
{
    let (key, idp, _dir, app) = setup().await?;
    let email = "ana@district.example";

    let begun = begin(&app, &idp).await?;
    let code = idp.authorize(&begun.challenge, sign(&key, &claims(&idp, &begun, email))?);
    let tampered = format!("{}0", begun.state);
    let r = callback(&app, &code, &tampered, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        text(&r).contains("This sign-in has expired"),
        "{}",
        text(&r)
    );
    // Without the browser's cookie, or with another browser's, the state is spent.
    let r = callback(&app, &code, &begun.state, Some("hr_oidc=someone-else")).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = callback(&app, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a state is used once");

    let begun = begin(&app, &idp).await?;
    let code = idp.authorize(&begun.challenge, sign(&key, &claims(&idp, &begun, email))?);
    let r = callback(&app, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let r = callback(&app, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a replayed callback");
    assert!(session_cookie(&r).is_err());

    // A code stolen from one sign-in and brought to another: PKCE fails at the provider.
    let victim = begin(&app, &idp).await?;
    let code = idp.authorize(
        &victim.challenge,
        sign(&key, &claims(&idp, &victim, email))?,
    );
    let attacker = begin(&app, &idp).await?;
    let r = callback(&app, &code, &attacker.state, Some(&attacker.cookie)).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", text(&r));
    assert!(session_cookie(&r).is_err());
    Ok(())
}

/// A change made to an ID token's claims.
type Edit = Box<dyn FnOnce(&mut Value)>;

#[tokio::test]
async fn an_id_token_that_fails_a_check_signs_nobody_in() -> R {
    let (key, idp, _dir, app) = setup().await?;
    let stranger = new_key("k1")?;
    let email = "ana@district.example";
    let now = now_utc().unix_timestamp();

    let cases: Vec<(&str, Edit)> = vec![
        ("expired", Box::new(move |c| c["exp"] = json!(now - 3600))),
        (
            "not yet valid",
            Box::new(move |c| c["nbf"] = json!(now + 3600)),
        ),
        (
            "wrong audience",
            Box::new(|c| c["aud"] = json!("another-app")),
        ),
        (
            "wrong issuer",
            Box::new(|c| c["iss"] = json!("https://evil.example")),
        ),
        ("wrong nonce", Box::new(|c| c["nonce"] = json!("guessed"))),
        (
            "no nonce",
            Box::new(|c| drop(c.as_object_mut().map(|o| o.remove("nonce")))),
        ),
        (
            "another party",
            Box::new(|c| c["azp"] = json!("another-app")),
        ),
    ];
    for (case, edit) in cases {
        let r = sign_in_with(&app, &idp, &key, email, edit).await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{case}: {}", text(&r));
        assert!(text(&r).contains("was not accepted"), "{case}");
        assert!(session_cookie(&r).is_err(), "{case}");
    }
    // Signed by a key of the same kid that the issuer never published.
    let r = sign_in_with(&app, &idp, &stranger, email, |_| {}).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "forged: {}", text(&r));
    // An unsigned token (`alg: none`).
    let begun = begin(&app, &idp).await?;
    let body = URL_SAFE_NO_PAD.encode(claims(&idp, &begun, email).to_string());
    let unsigned = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    let code = idp.authorize(&begun.challenge, unsigned);
    let r = callback(&app, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "alg none: {}", text(&r));
    assert!(app.store.list_users()?.is_empty());
    // The same sign-in with a good token works.
    let r = sign_in_with(&app, &idp, &key, email, |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    Ok(())
}

/// Signs in with `old`; the provider replaces it with `new`, and signing in with it works
/// after one more read of the keys; `forged` (unpublished) is refused three times without
/// another read.
async fn rotate(old: Key, new: Key, forged: Key) -> R {
    let idp = idp("", "{base}", vec![old.clone()]).await?;
    let dir = tempfile::tempdir()?;
    let app = app_with(oidc_config(dir.path(), &idp.base)?);
    let email = "ana@district.example";
    for _ in 0..2 {
        let r = sign_in_with(&app, &idp, &old, email, |_| {}).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    }
    assert_eq!(idp.with(|s| s.jwks_fetches), 1, "keys are cached");
    idp.with(|s| s.published = vec![new.clone()]);
    let r = sign_in_with(&app, &idp, &new, email, |_| {}).await?;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "after rotation: {}",
        text(&r)
    );
    assert_eq!(idp.with(|s| s.jwks_fetches), 2, "the new key was fetched");
    for _ in 0..3 {
        let r = sign_in_with(&app, &idp, &forged, email, |_| {}).await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", text(&r));
    }
    assert_eq!(
        idp.with(|s| s.jwks_fetches),
        2,
        "read again at most once a minute"
    );
    Ok(())
}

#[tokio::test]
async fn rotated_keys_are_fetched_once_and_unknown_keys_do_not_refetch_again() -> R {
    rotate(new_key("old")?, new_key("new")?, new_key("unknown")?).await
}

#[tokio::test]
async fn a_new_key_under_a_kid_used_before_is_fetched_once_a_bad_signature_under_it_is_not() -> R {
    rotate(new_key("k1")?, new_key("k1")?, new_key("k1")?).await
}

#[tokio::test]
async fn a_provider_that_is_down_gives_a_clear_page_and_sign_in_works_once_it_is_back() -> R {
    let key = new_key("k1")?;
    let idp = idp("", "{base}", vec![key.clone()]).await?;
    let dir = tempfile::tempdir()?;

    // Nothing listens at all.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let nobody = format!("http://{}", closed.local_addr()?);
    drop(closed);
    let app = app_with(oidc_config(dir.path(), &nobody)?);
    let r = get(&app, "/auth/start", None).await?;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text(&r).contains("cannot be reached"), "{}", text(&r));
    // The password form is still there for the break-glass admin.
    assert!(text(&get(&app, "/console/sign-in", None).await?).contains("name=\"password\""));

    // Up, but failing; then back.
    idp.with(|s| s.down = true);
    let app = app_with(oidc_config(dir.path(), &idp.base)?);
    let r = get(&app, "/auth/start", None).await?;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    idp.with(|s| s.down = false);
    let r = sign_in_with(&app, &idp, &key, "ana@district.example", |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    Ok(())
}

#[tokio::test]
async fn microsoft_tokens_name_the_users_tenant_which_must_be_allowed() -> R {
    let key = new_key("k1")?;
    let idp = idp("/common/v2.0", "{base}/{tenantid}/v2.0", vec![key.clone()]).await?;
    let dir = tempfile::tempdir()?;
    let mut config = oidc_config(dir.path(), &format!("{}/common/v2.0", idp.base))?;
    config.provider = Preset::Microsoft;
    config.allowed_tenants = vec![TENANT.into()];
    let app = app_with(config);
    let email = "ana@district.example";
    let tenant_issuer = |tid: &str| format!("{}/{tid}/v2.0", idp.base);

    let ours = tenant_issuer(TENANT);
    let r = sign_in_with(&app, &idp, &key, email, |c| {
        c["iss"] = json!(ours);
        c["tid"] = json!(TENANT);
        c.as_object_mut().map(|o| o.remove("email_verified"));
    })
    .await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));

    let other = "99999999-2222-3333-4444-555555555555";
    let theirs = tenant_issuer(other);
    let r = sign_in_with(&app, &idp, &key, email, |c| {
        c["iss"] = json!(theirs);
        c["tid"] = json!(other);
    })
    .await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", text(&r));
    assert!(text(&r).contains("tenant"), "{}", text(&r));

    // A token whose issuer names another tenant than its `tid`.
    let theirs = tenant_issuer(other);
    let r = sign_in_with(&app, &idp, &key, email, |c| {
        c["iss"] = json!(theirs);
        c["tid"] = json!(TENANT);
    })
    .await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", text(&r));
    Ok(())
}

#[tokio::test]
async fn with_oidc_local_passwords_are_for_admins_only_or_nobody() -> R {
    let dir = tempfile::tempdir()?;
    let password = "a long enough password";
    let app_of = |local_passwords| -> R<App> {
        let mut config = oidc_config(dir.path(), "http://127.0.0.1:9")?;
        config.local_passwords = local_passwords;
        let app = app_with(config);
        for (email, role) in [
            ("it@district.example", Role::Admin),
            ("ana@district.example", Role::Technician),
        ] {
            let input = handraise_server::service::accounts::UserInput {
                email,
                name: None,
                role,
                password,
            };
            handraise_server::service::accounts::create_user(
                app.store.as_ref(),
                &input,
                now_utc(),
            )?;
        }
        Ok(app)
    };
    async fn sign_in(app: &App, email: &str, password: &str) -> R<StatusCode> {
        Ok(super::signin::sign_in(app, email, password).await.status)
    }
    let app = app_of(LocalPasswords::Admins)?;
    assert_eq!(
        sign_in(&app, "it@district.example", password).await?,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sign_in(&app, "ana@district.example", password).await?,
        StatusCode::UNAUTHORIZED
    );
    let app = app_of(LocalPasswords::All)?;
    assert_eq!(
        sign_in(&app, "ana@district.example", password).await?,
        StatusCode::SEE_OTHER
    );
    let app = app_of(LocalPasswords::None)?;
    assert_eq!(
        sign_in(&app, "it@district.example", password).await?,
        StatusCode::UNAUTHORIZED
    );
    let page = text(&get(&app, "/console/sign-in", None).await?);
    assert!(
        !page.contains("name=\"password\"") && page.contains("/auth/start"),
        "{page}"
    );
    Ok(())
}

#[tokio::test]
async fn an_address_given_to_another_account_is_refused_until_an_admin_unlinks_it() -> R {
    let (key, idp, _dir, app) = setup().await?;
    let email = "ana@district.example";
    // A technician called "Ana Ruiz" exists already (a script's): the display name does not
    // take it over.
    app.tech("Ana Ruiz");

    let r = sign_in_with(&app, &idp, &key, email, |_| {}).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let (ana, _) = app.store.user_by_email(email)?.ok_or("ana")?;
    assert_eq!(ana.technician_name, email);

    let newcomer = |c: &mut Value| c["sub"] = json!("a-new-account");
    let r = sign_in_with(&app, &idp, &key, email, newcomer).await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        text(&r).contains("belongs to another sign-in account"),
        "{}",
        text(&r)
    );
    assert!(session_cookie(&r).is_err());

    handraise_server::service::oidc::unlink(app.store.as_ref(), email)?;
    let r = sign_in_with(&app, &idp, &key, email, newcomer).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let r = sign_in_with(&app, &idp, &key, email, |_| {}).await?;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "the first account is now the other one"
    );
    Ok(())
}

#[tokio::test]
async fn one_address_cannot_begin_sign_ins_without_end() -> R {
    let (_, idp, _dir, app) = setup().await?;
    for _ in 0..handraise_server::oidc::STARTS_PER_MINUTE_PER_IP {
        begin(&app, &idp).await?;
    }
    let r = get(&app, "/auth/start", None).await?;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", text(&r));
    assert!(r.header(header::RETRY_AFTER).is_some());
    Ok(())
}

#[cfg(unix)]
#[test]
fn serve_refuses_a_client_secret_others_may_read_and_an_unusable_table() -> R {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let server = env!("CARGO_BIN_EXE_handraise-server");
    let data = dir.path().to_str().ok_or("path")?;
    let init = std::process::Command::new(server)
        .args(["init", "--data-dir", data])
        .output()?;
    assert!(init.status.success(), "{init:?}");
    std::fs::write(dir.path().join("client-secret"), CLIENT_SECRET)?;
    let secret = dir.path().join("client-secret");
    let serve = |table: &str| -> R<String> {
        std::fs::write(dir.path().join("config.toml"), table)?;
        let out = std::process::Command::new(server)
            .args(["serve", "--data-dir", data, "--listen", "127.0.0.1:0"])
            .output()?;
        assert!(!out.status.success(), "serve started: {out:?}");
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let table = "[oidc]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"c\"\n\
                 client_secret_file = \"client-secret\"\n\
                 redirect_url = \"http://127.0.0.1:8080/auth/callback\"\n\
                 allowed_domains = [\"district.example\"]\n";
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644))?;
    let err = serve(table)?;
    assert!(err.contains("may be read by other users"), "{err}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    let err = serve(&format!("{table}provider = \"microsoft\"\n"))?;
    assert!(err.contains("allowed_tenants"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_sign_in_begun_on_one_node_ends_on_another_once_and_its_session_works_on_both() -> R {
    let (key, idp, _dir, a) = setup().await?;
    let b = a.another_node();
    let email = "ana@district.example";
    let begun = begin(&a, &idp).await?;
    let code = idp.authorize(&begun.challenge, sign(&key, &claims(&idp, &begun, email))?);
    // The provider sends the browser back through the load balancer to the other node.
    let r = callback(&b, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let session = session_cookie(&r)?;
    for node in [&a, &b] {
        let queue = get(node, "/console/queue", Some(&session)).await?;
        assert_eq!(queue.status, StatusCode::OK);
    }
    let r = callback(&a, &code, &begun.state, Some(&begun.cookie)).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "taken once, on any node");
    Ok(())
}
