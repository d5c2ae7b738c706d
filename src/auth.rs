//! Who is calling and what they may do ([auth], SECURITY.md §1–4): roles, the principal a token proves, the
//! verifier port with its `local` and `oidc` implementations, the role × route matrix, revocations and the
//! per-principal rate limit. The edge middleware that applies them is `crate::middleware::auth`.

pub mod cache;
pub mod jwt;
pub mod local;
pub mod matrix;
pub mod oidc;
pub mod rate;
pub mod revocations;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::ids::PatientId;

/// A role of SECURITY.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Doctor,
    Nurse,
    Receptionist,
    Billing,
    Auditor,
    Patient,
}

impl Role {
    /// Every role, in the order of the matrix's columns.
    pub const ALL: [Role; 7] =
        [Role::Admin, Role::Doctor, Role::Nurse, Role::Receptionist, Role::Billing, Role::Auditor, Role::Patient];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Receptionist => "receptionist",
            Role::Billing => "billing",
            Role::Auditor => "auditor",
            Role::Patient => "patient",
        }
    }

    /// The role of a name, exactly as spelled in §3; anything else is no role.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles (a token's, or those a route grants). A bit set: checked on every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    pub const NONE: Roles = Roles(0);

    pub const fn of(roles: &[Role]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= 1 << (roles[i] as u8);
            i += 1;
        }
        Roles(bits)
    }

    /// Every role but `patient`: the principal of mode `off`.
    pub fn staff() -> Roles {
        Roles::of(&[Role::Admin, Role::Doctor, Role::Nurse, Role::Receptionist, Role::Billing, Role::Auditor])
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn remove(&mut self, role: Role) {
        self.0 &= !role.bit();
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn intersects(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any role other than `patient` is held (the `staff` traffic class).
    pub fn has_staff_role(self) -> bool {
        self.intersects(Roles::staff())
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The names, in matrix order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Role::as_str).collect()
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut roles = Roles::NONE;
        for r in iter {
            roles.insert(r);
        }
        roles
    }
}

/// How callers are identified (SECURITY.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Tokens signed by the server's own Ed25519 key.
    Local,
    /// Tokens of the hospital's OpenID Connect provider.
    Oidc,
    /// No authentication, loopback only: every request is `anonymous` with every role but `patient`.
    Off,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Local => "local",
            AuthMode::Oidc => "oidc",
            AuthMode::Off => "off",
        }
    }
}

/// Who a verified token (or mode `off`) says is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    /// Known roles only; unknown names were dropped.
    pub roles: Roles,
    pub name: Option<String>,
    /// The patient a `patient`-role token belongs to. A `patient` role without it is dropped from `roles`.
    pub patient_id: Option<PatientId>,
    /// `iat` in milliseconds since the epoch (revocation compares against it); `None` when the token has none.
    pub issued_at_ms: Option<i64>,
    /// `exp` in seconds since the epoch; `None` in mode `off`.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// The principal of mode `off`, and of requests before authentication.
    pub fn anonymous() -> Self {
        Self {
            sub: "anonymous".to_owned(),
            roles: Roles::staff(),
            name: None,
            patient_id: None,
            issued_at_ms: None,
            expires_at: None,
        }
    }
}

/// Why a token was refused. Never sent to the client (the 401 body says nothing of it); logged and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("typ is not at+jwt or JWT")]
    Type,
    #[error("no signing key with this kid")]
    UnknownKey,
    #[error("signature does not verify")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("a required claim is missing or malformed: {0}")]
    Claim(&'static str),
    #[error("revoked")]
    Revoked,
    /// `oidc` before the first key set has loaded: 503, not 401.
    #[error("signing keys not loaded yet")]
    KeysUnavailable,
}

/// Whether the verifier can verify tokens now (`checks.auth` of `/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Up,
    Down,
}

/// Verifies a bearer token and says who it names. Implementations never call a store (SECURITY.md §2). The
/// principal is shared so that a cached one reaches the request without being copied.
#[async_trait]
pub trait TokenVerifier: Send + Sync + fmt::Debug {
    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Invalid>;

    /// The principal of a token this verifier has already verified and still trusts, without checking anything
    /// now (overload priority asks this before authentication); `None` when it keeps no such memory.
    fn known(&self, _token: &str) -> Option<Arc<Principal>> {
        None
    }

    fn readiness(&self) -> Readiness {
        Readiness::Up
    }
}

/// Everything the auth middleware needs, shared by every request.
#[derive(Debug, Clone)]
pub struct Auth {
    pub mode: AuthMode,
    /// `None` in mode `off`.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
    pub revocations: Arc<revocations::Revocations>,
    /// `None` in mode `off` and when the rate is 0.
    pub limiter: Option<Arc<rate::PrincipalLimiter>>,
}

impl Auth {
    /// Mode `off`: nobody is authenticated, nothing is limited.
    pub fn off() -> Self {
        Self { mode: AuthMode::Off, verifier: None, revocations: Arc::default(), limiter: None }
    }

    pub fn readiness(&self) -> Readiness {
        self.verifier.as_ref().map_or(Readiness::Up, |v| v.readiness())
    }
}

/// What the matrix grants a principal on one route, decided before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Access {
    /// Every row and member.
    #[default]
    Full,
    /// Only the rows of this patient (SECURITY.md §3 "own"), with the route's field rules for the patient role.
    OwnPatient(PatientId),
    /// A nurse amending a record: vital signs only (note 4).
    VitalsOnly,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sets_hold_exactly_what_was_put_in() {
        let r = Roles::of(&[Role::Doctor, Role::Patient]);
        assert!(r.contains(Role::Doctor) && r.contains(Role::Patient) && !r.contains(Role::Nurse));
        assert!(r.has_staff_role());
        assert!(!Roles::of(&[Role::Patient]).has_staff_role());
        assert_eq!(r.names(), ["doctor", "patient"]);
        assert_eq!(Roles::staff().names().len(), 6);
        assert!(!Roles::staff().contains(Role::Patient));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None, "role names are case-sensitive");
    }
}
