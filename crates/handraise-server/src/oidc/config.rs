//! The `[oidc]` table of `config.toml`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the provider sends the browser back: the path of `redirect_url`.
pub const CALLBACK_PATH: &str = "/auth/callback";

/// Which identity provider `issuer` is, for the checks only it needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Google Workspace: the `hd` claim (the Workspace domain) must be one of
    /// `allowed_domains`.
    Google,
    /// Microsoft Entra ID: the `tid` claim must be one of `allowed_tenants`;
    /// with a multi-tenant issuer (`/common`, `/organizations`) the token's
    /// issuer is the user's own tenant's, checked as such.
    Microsoft,
    /// Any other OpenID provider: the issuer is compared as it is.
    #[default]
    Generic,
}

impl Preset {
    /// The provider's name on the sign-in button.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Google => "Google",
            Preset::Microsoft => "Microsoft",
            Preset::Generic => "your district account",
        }
    }
}

/// Who may still sign in with a console password once `[oidc]` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalPasswords {
    /// Admins only: a break-glass account for when the provider is down.
    #[default]
    Admins,
    /// Everyone with a password, as without `[oidc]`.
    All,
    /// Nobody: every sign-in goes through the provider.
    None,
}

impl LocalPasswords {
    /// Whether a console password may sign in a user who is (or is not) an
    /// admin.
    pub fn allows(self, admin: bool) -> bool {
        match self {
            LocalPasswords::All => true,
            LocalPasswords::Admins => admin,
            LocalPasswords::None => false,
        }
    }
}

/// A claim that makes a user a technician, such as Entra's
/// `{ name = "roles", value = "HandRaise.Technician" }`: the claim equals
/// the value, or is a list holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMatch {
    pub name: String,
    pub value: String,
}

/// Console sign-in with OpenID Connect (`[oidc]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// `google`, `microsoft` or `generic` (the default).
    #[serde(default)]
    pub provider: Preset,
    /// The issuer URL; `/.well-known/openid-configuration` is read below it.
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret, readable by its owner only.
    pub client_secret_file: PathBuf,
    /// This server's `/auth/callback`, exactly as registered with the provider.
    pub redirect_url: String,
    /// Email domains whose accounts may sign in (and, with `google`, the
    /// Workspace domains the `hd` claim must name).
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// With `microsoft`: the directory (tenant) ids whose accounts may sign in.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Emails made admins when they first sign in.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Emails made technicians when they first sign in, whatever their domain.
    #[serde(default)]
    pub technicians: Vec<String>,
    /// When set, only accounts carrying this claim (or listed above) may sign in.
    #[serde(default)]
    pub technician_claim: Option<ClaimMatch>,
    /// Who may still use a console password: `admins` (default), `all`, `none`.
    #[serde(default)]
    pub local_passwords: LocalPasswords,
    /// Email domains whose teachers may use the web report page (`/report`);
    /// empty (the default) means `allowed_domains`. With `google`, the `hd`
    /// claim must be one of these too; with `microsoft`, `tid` one of
    /// `allowed_tenants`.
    #[serde(default)]
    pub teacher_domains: Vec<String>,
}

/// Why an `[oidc]` table cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("[oidc]: {0}")]
pub struct OidcConfigError(pub String);

impl OidcConfig {
    /// The email domains of teachers who may use the web report page.
    pub fn teacher_domains(&self) -> &[String] {
        if self.teacher_domains.is_empty() {
            &self.allowed_domains
        } else {
            &self.teacher_domains
        }
    }

    /// Checks what can be checked without the network.
    pub fn check(&self) -> Result<(), OidcConfigError> {
        let bad = |m: &str| Err(OidcConfigError(m.into()));
        for (key, url) in [
            ("issuer", &self.issuer),
            ("redirect_url", &self.redirect_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad(&format!("{key} must be an http(s) URL"));
            }
        }
        if !self.redirect_url.ends_with(CALLBACK_PATH) {
            return bad(&format!(
                "redirect_url must be this server's {CALLBACK_PATH}, as browsers reach it"
            ));
        }
        if self.client_id.trim().is_empty() {
            return bad("client_id is empty");
        }
        if self.allowed_domains.is_empty() && self.admins.is_empty() && self.technicians.is_empty()
        {
            return bad("nobody could sign in: set allowed_domains, admins or technicians");
        }
        match self.provider {
            Preset::Google if self.allowed_domains.is_empty() => {
                bad("the google preset needs allowed_domains (the Workspace domains)")
            }
            Preset::Microsoft if self.allowed_tenants.is_empty() => {
                bad("the microsoft preset needs allowed_tenants (directory ids)")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_need_their_allow_lists() {
        let text = "issuer = \"https://accounts.google.com\"\nclient_id = \"c\"\n\
                    client_secret_file = \"/etc/secret\"\n\
                    redirect_url = \"https://hr.example.org/auth/callback\"\n\
                    provider = \"google\"\nadmins = [\"it@example.org\"]\n";
        let c: OidcConfig = toml::from_str(text).expect("parses");
        assert_eq!(c.local_passwords, LocalPasswords::Admins);
        assert!(c.check().is_err_and(|e| e.0.contains("allowed_domains")));
        let c = OidcConfig {
            allowed_domains: vec!["example.org".into()],
            ..c
        };
        assert_eq!(c.check(), Ok(()));
        let elsewhere = OidcConfig {
            redirect_url: "https://hr.example.org/console/".into(),
            ..c.clone()
        };
        assert!(
            elsewhere
                .check()
                .is_err_and(|e| e.0.contains(CALLBACK_PATH))
        );
        let c = OidcConfig {
            provider: Preset::Microsoft,
            ..c
        };
        assert!(c.check().is_err_and(|e| e.0.contains("allowed_tenants")));
        let p = c.local_passwords;
        assert!(p.allows(true) && !p.allows(false) && !LocalPasswords::None.allows(true));
    }
}
