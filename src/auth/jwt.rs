//! The checks every access token passes whoever signed it (SECURITY.md §2): algorithm, `typ`, signature, `iss`,
//! `aud`, `exp`/`nbf` with 30 s leeway, `sub`; then the principal is read from its claims. JOSE itself is the
//! `jsonwebtoken` crate's; this module only chooses its settings and reads our claims.

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, errors::ErrorKind};
use serde_json::{Map, Value};

use super::{Invalid, Principal, Role, Roles};
use crate::domain::ids::PatientId;

/// Clock leeway for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Longest token read at all: real access tokens are a few KiB; anything larger is refused before decoding, so
/// a 64 KiB header costs nothing but the length check.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a token must say, and where its roles and patient are.
#[derive(Debug, Clone)]
pub struct Rules {
    pub issuer: String,
    pub audience: String,
    /// Asymmetric algorithms only: `none` cannot be named, HMAC is refused when the rules are built.
    pub algorithms: Vec<Algorithm>,
    /// Dotted path to the roles (`realm_access.roles`); a key containing dots is tried whole first.
    pub roles_claim: String,
    pub patient_claim: String,
}

/// The header of a token whose algorithm and `typ` are acceptable, before its signature is checked.
pub fn header(token: &str, rules: &Rules) -> Result<Header, Invalid> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Invalid::Malformed);
    }
    // `alg: none` and unknown algorithms fail here: `Algorithm` has no such variant.
    let header = jsonwebtoken::decode_header(token).map_err(|_| Invalid::Malformed)?;
    if !rules.algorithms.contains(&header.alg) {
        return Err(Invalid::Algorithm);
    }
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if !matches!(typ.as_str(), "at+jwt" | "application/at+jwt" | "jwt") {
            return Err(Invalid::Type);
        }
    }
    Ok(header)
}

/// Checks the signature with `key` and the registered claims against `rules`, then reads the principal.
pub fn verify(token: &str, alg: Algorithm, key: &DecodingKey, rules: &Rules) -> Result<Principal, Invalid> {
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[rules.issuer.as_str()]);
    validation.set_audience(&[rules.audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => Invalid::Signature,
        ErrorKind::ExpiredSignature => Invalid::Expired,
        ErrorKind::ImmatureSignature => Invalid::NotYetValid,
        ErrorKind::InvalidIssuer => Invalid::Issuer,
        ErrorKind::InvalidAudience => Invalid::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Invalid::Algorithm,
        ErrorKind::MissingRequiredClaim(_) => Invalid::Claim("exp, iss, aud or sub"),
        _ => Invalid::Malformed,
    })?;
    principal(&data.claims, rules)
}

/// The principal named by verified claims. Unknown role names are ignored; a `patient` role without a valid
/// patient claim is dropped (it could own nothing).
pub fn principal(claims: &Map<String, Value>, rules: &Rules) -> Result<Principal, Invalid> {
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Invalid::Claim("sub")),
    };
    let mut roles = match claim_at(claims, &rules.roles_claim) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).filter_map(Role::parse).collect(),
        Some(Value::String(s)) => s.split_whitespace().filter_map(Role::parse).collect(),
        _ => Roles::NONE,
    };
    let patient_id = claim_at(claims, &rules.patient_claim).and_then(Value::as_str).and_then(PatientId::parse);
    if patient_id.is_none() {
        roles.remove(Role::Patient);
    }
    let name = claims.get("name").and_then(Value::as_str).map(|n| n.chars().take(200).collect());
    // `iat` may carry a fraction (our local tokens do), so a revocation and a token issued within the same
    // second are told apart.
    let issued_at_ms = claims.get("iat").and_then(Value::as_f64).map(|s| (s * 1000.0).round() as i64);
    let expires_at = claims.get("exp").and_then(Value::as_f64).map(|s| s as i64);
    Ok(Principal { sub, roles, name, patient_id, issued_at_ms, expires_at })
}

/// The claim at a dotted path: `realm_access.roles` is `claims.realm_access.roles`. A key that itself contains
/// dots (`https://example.org/roles`) is looked up whole first.
fn claim_at<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut at = claims.get(parts.next()?)?;
    for part in parts {
        at = at.as_object()?.get(part)?;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(roles_claim: &str) -> Rules {
        Rules {
            issuer: "i".into(),
            audience: "a".into(),
            algorithms: vec![Algorithm::EdDSA],
            roles_claim: roles_claim.into(),
            patient_claim: "patient_id".into(),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn roles_come_from_a_dotted_path_an_array_or_a_space_separated_string() {
        let c = claims(json!({"sub": "s", "realm_access": {"roles": ["doctor", "offline_access", "nurse"]}}));
        let p = principal(&c, &rules("realm_access.roles")).unwrap();
        assert_eq!(p.roles.names(), ["doctor", "nurse"]);
        let c = claims(json!({"sub": "s", "scope_roles": "billing auditor x"}));
        assert_eq!(principal(&c, &rules("scope_roles")).unwrap().roles.names(), ["billing", "auditor"]);
        let c = claims(json!({"sub": "s", "cognito:groups": ["admin"]}));
        assert_eq!(principal(&c, &rules("cognito:groups")).unwrap().roles.names(), ["admin"]);
        let c = claims(json!({"sub": "s", "https://example.org/roles": ["admin"]}));
        assert_eq!(principal(&c, &rules("https://example.org/roles")).unwrap().roles.names(), ["admin"]);
    }

    #[test]
    fn a_patient_role_needs_a_patient_claim_and_sub_is_required() {
        let c = claims(json!({"sub": "s", "roles": ["patient"]}));
        assert!(principal(&c, &rules("roles")).unwrap().roles.is_empty());
        let c = claims(json!({"sub": "s", "roles": ["patient"], "patient_id": "PAT-01J9Z8Q5X7W6V5T4S3R2Q1P0NM"}));
        let p = principal(&c, &rules("roles")).unwrap();
        assert!(p.roles.contains(Role::Patient));
        assert!(p.patient_id.is_some());
        assert_eq!(principal(&claims(json!({"roles": []})), &rules("roles")), Err(Invalid::Claim("sub")));
        assert_eq!(principal(&claims(json!({"sub": ""})), &rules("roles")), Err(Invalid::Claim("sub")));
    }

    #[test]
    fn oversized_and_unsigned_tokens_fail_at_the_header() {
        let r = rules("roles");
        assert_eq!(header(&"a".repeat(MAX_TOKEN_BYTES + 1), &r).unwrap_err(), Invalid::Malformed);
        // {"alg":"none","typ":"JWT"}
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert_eq!(header(none, &r).unwrap_err(), Invalid::Malformed);
    }
}
