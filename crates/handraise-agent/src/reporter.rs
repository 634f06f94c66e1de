//! Who reports a problem from this computer, the one home of it: the OS account of the
//! process (from its user id, not from environment variables a shell may not set), the
//! display name from the account database (the GECOS field's first part), and the email a
//! help desk writes back to.
//!
//! The email comes from district policy when the district sets `email_domain`
//! (`account@domain`: the policy wins), else from what the teacher entered once in Setup,
//! else none (the desk then gets the ticket from its integration account, the teacher's name
//! and room in the body).

use crate::config::Policy;
use handraise_wire::Reporter;

/// The agent store's preference key of the email the teacher entered in Setup.
pub const PREF_EMAIL: &str = "reporter_email";

/// An account of the OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name (`ana`).
    pub name: String,
    /// The full name from the account database, when it has one.
    pub full_name: Option<String>,
}

/// The account this process runs as, looked up by its user id in the account database
/// (`getpwuid_r`, which reads `/etc/passwd`, LDAP or SSSD as the system is set up).
#[cfg(unix)]
pub fn process_account() -> Option<Account> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::current())
        .ok()
        .flatten()?;
    let gecos = user.gecos.to_string_lossy().into_owned();
    Some(Account {
        name: user.name,
        full_name: gecos_name(&gecos),
    })
}

/// No account database lookup off Unix: the environment is all there is.
#[cfg(not(unix))]
pub fn process_account() -> Option<Account> {
    None
}

/// The first comma-separated part of a GECOS field (`Ana Smith,Room 12,,` → `Ana Smith`).
pub fn gecos_name(gecos: &str) -> Option<String> {
    let name = gecos.split(',').next()?.trim();
    Some(name.to_owned()).filter(|n| !n.is_empty())
}

/// The account named by the environment (`USER`, `USERNAME`, `LOGNAME`): the fallback when
/// the account database has no entry for this process's user id.
pub fn env_account(var: impl Fn(&str) -> Option<String>) -> Option<Account> {
    ["USER", "USERNAME", "LOGNAME"]
        .into_iter()
        .find_map(|k| {
            var(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
        .map(|name| Account {
            name,
            full_name: None,
        })
}

/// The account of this process: the database first, the environment when that fails.
pub fn current_account() -> Option<Account> {
    process_account().or_else(|| env_account(|k| std::env::var(k).ok()))
}

/// The email a desk writes back to: `account@email_domain` when the policy sets the
/// domain, else the teacher's own (`chosen`), else none.
pub fn email(policy: &Policy, account: Option<&Account>, chosen: Option<&str>) -> Option<String> {
    if let (Some(domain), Some(account)) = (policy.email_domain.as_deref(), account) {
        let address = format!("{}@{domain}", account.name.to_lowercase());
        if let Ok(ok) = handraise_wire::check_email(&address) {
            return Some(ok.to_owned());
        }
    }
    chosen
        .and_then(|c| handraise_wire::check_email(c).ok())
        .map(str::to_owned)
}

/// Whether the policy decides the email, so Setup does not offer to change it.
pub fn email_from_policy(policy: &Policy) -> bool {
    policy.email_domain.is_some()
}

/// The reporter a ticket names: `account`, its full name unless the teacher gave one
/// (`chosen_name`), and the email of [`email`].
pub fn reporter(
    policy: &Policy,
    account: Option<Account>,
    chosen_name: Option<&str>,
    chosen_email: Option<&str>,
) -> Reporter {
    let email = email(policy, account.as_ref(), chosen_email);
    let chosen_name = chosen_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let (os_user, full_name) = match account {
        Some(a) => (Some(a.name), a.full_name),
        None => (None, None),
    };
    Reporter {
        os_user,
        display_name: chosen_name.or(full_name),
        email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> Account {
        Account {
            name: "Ana".into(),
            full_name: Some("Ana Smith".into()),
        }
    }

    fn domain(d: &str) -> Policy {
        Policy {
            email_domain: Some(d.into()),
            ..Policy::default()
        }
    }

    #[test]
    fn the_account_comes_from_the_user_id_without_any_environment() {
        #[cfg(unix)]
        {
            let account = process_account().expect("this process's user is in the database");
            let uid = nix::unistd::Uid::current();
            let by_name = nix::unistd::User::from_name(&account.name)
                .expect("lookup")
                .expect("the same account by name");
            assert_eq!(by_name.uid, uid);
        }
        assert_eq!(env_account(|_| None), None);
    }

    #[test]
    fn the_environment_is_the_fallback_in_its_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let got = env_account(env(&[("LOGNAME", "b"), ("USER", " ")]));
        assert_eq!(got.map(|a| a.name).as_deref(), Some("b"));
        let got = env_account(env(&[("LOGNAME", "b"), ("USER", "a")]));
        assert_eq!(got.map(|a| a.name).as_deref(), Some("a"));
    }

    #[test]
    fn gecos_gives_the_first_part() {
        assert_eq!(
            gecos_name("Ana Smith,Room 12,,").as_deref(),
            Some("Ana Smith")
        );
        assert_eq!(gecos_name(",,,"), None);
        assert_eq!(gecos_name(""), None);
    }

    #[test]
    fn the_policy_domain_wins_over_the_teachers_email() {
        let r = reporter(
            &domain("lincoln.example"),
            Some(ana()),
            None,
            Some("ana@gmail.example"),
        );
        assert_eq!(r.email.as_deref(), Some("ana@lincoln.example"));
        assert_eq!(r.os_user.as_deref(), Some("Ana"));
        assert_eq!(r.display_name.as_deref(), Some("Ana Smith"));
        assert!(email_from_policy(&domain("lincoln.example")));
    }

    #[test]
    fn without_policy_the_teachers_email_is_used_when_it_is_valid() {
        let none = Policy::default();
        let r = reporter(
            &none,
            Some(ana()),
            Some("Ms. Smith"),
            Some(" ana@school.example "),
        );
        assert_eq!(r.email.as_deref(), Some("ana@school.example"));
        assert_eq!(r.display_name.as_deref(), Some("Ms. Smith"));
        let r = reporter(&none, Some(ana()), None, Some("not an email"));
        assert_eq!(r.email, None);
        assert!(!email_from_policy(&none));
    }

    #[test]
    fn with_no_account_the_policy_cannot_make_an_email() {
        let r = reporter(
            &domain("lincoln.example"),
            None,
            None,
            Some("ana@school.example"),
        );
        assert_eq!(r.os_user, None);
        assert_eq!(r.email.as_deref(), Some("ana@school.example"));
        let r = reporter(&domain("lincoln.example"), None, None, None);
        assert_eq!(r.email, None);
    }
}
