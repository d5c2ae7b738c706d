//! Mode `local` (SECURITY.md §1): the server's own Ed25519 key in `GOSPITAL_AUTH_KEY_FILE`, the tokens
//! `gospital token` signs with it, and the verifier that accepts them. Instances sharing the key file accept
//! each other's tokens.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::jwt::{self, Rules};
use super::{Invalid, Principal, Role, Roles, TokenVerifier};
use crate::domain::ids::PatientId;

/// `iss` of local tokens.
pub const ISSUER: &str = "gospital-local";
/// `aud` of local tokens.
pub const AUDIENCE: &str = "gospital";

const PEM_LABEL: &str = "PRIVATE KEY";

/// Why a key file cannot be used: one line, without the setting's name (the caller adds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyFileError(pub String);

/// An Ed25519 signing key read from (or created in) a key file.
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The same key for raw signatures (audit checkpoints).
    pair: Ed25519KeyPair,
    /// Identifies the key in each token's header: the first 16 characters of the base64url SHA-256 of the
    /// public key, so a rotated key file gives a new `kid`.
    pub kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads the key file, creating it (mode 0600) when it does not exist. A file readable by group or others,
    /// or one that is not a PKCS#8 Ed25519 key in PEM, is refused: someone else may hold a copy of the key.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        match fs::metadata(path) {
            Ok(meta) => {
                check_private(path, &meta)?;
                Self::read(path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match Self::create(path) {
                Ok(key) => Ok(key),
                // Another instance created it between our two calls: use theirs.
                Err(_) if path.exists() => Self::read(path),
                Err(e) => Err(e),
            },
            Err(e) => Err(KeyFileError(format!("cannot read {}: {e}", path.display()))),
        }
    }

    fn read(path: &Path) -> Result<Self, KeyFileError> {
        let text =
            fs::read_to_string(path).map_err(|e| KeyFileError(format!("cannot read {}: {e}", path.display())))?;
        Self::from_pem(&text, &path.display().to_string())
    }

    /// A key from PEM text (`what` names where it came from, for the error).
    pub fn from_pem(text: &str, what: &str) -> Result<Self, KeyFileError> {
        let der = pem_decode(text).ok_or_else(|| KeyFileError(format!("{what} is not a PEM \"{PEM_LABEL}\" file")))?;
        Self::from_pkcs8(&der).map_err(|why| KeyFileError(format!("{what} is not an Ed25519 private key: {why}")))
    }

    /// Writes the new key to a private temporary file, then links it into place: a concurrent reader (another
    /// instance starting at the same moment) sees either no key file or a complete one, never half of one.
    fn create(path: &Path) -> Result<Self, KeyFileError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| KeyFileError("cannot generate an Ed25519 key".into()))?;
        let der = doc.as_ref();
        let tmp = path.with_extension(format!("tmp-{}", ulid::Ulid::new()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut file| {
            file.write_all(pem_encode(der).as_bytes())?;
            file.sync_all()
        });
        let linked = written.and_then(|()| fs::hard_link(&tmp, path));
        let _ = fs::remove_file(&tmp);
        linked.map_err(|e| KeyFileError(format!("cannot create {}: {e}", path.display())))?;
        tracing::info!(path = %path.display(), "created a new signing key");
        Self::from_pkcs8(der).map_err(KeyFileError)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| e.to_string())?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(&public))[..16].to_owned();
        let x = URL_SAFE_NO_PAD.encode(&public);
        let decoding = DecodingKey::from_ed_components(&x).map_err(|e| e.to_string())?;
        Ok(Self { encoding: EncodingKey::from_ed_der(der), decoding, pair, kid })
    }

    /// A raw Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Signs an access token (SECURITY.md §1 claims). `now_ms` is the issue time in milliseconds.
    pub fn mint(&self, claims: &TokenRequest, now_ms: i64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(self.kid.clone());
        let now_secs = now_ms.div_euclid(1000);
        let exp = now_secs + i64::try_from(claims.ttl.as_secs()).map_err(|e| e.to_string())?;
        // `iat` keeps its milliseconds (a JSON number may have a fraction, RFC 7519 §2 NumericDate), so that a
        // token minted right after a revocation of its `sub` is not refused with it.
        let iat = now_ms as f64 / 1000.0;
        let mut body = json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": claims.sub,
            "roles": claims.roles.names(),
            "iat": iat,
            "exp": exp,
            "jti": ulid::Ulid::new().to_string(),
        });
        if let Some(name) = &claims.name {
            body["name"] = Value::String(name.clone());
        }
        if let Some(patient) = &claims.patient_id {
            body["patient_id"] = Value::String(patient.to_string());
        }
        jsonwebtoken::encode(&header, &body, &self.encoding).map_err(|e| e.to_string())
    }
}

/// What `gospital token` was asked for, validated.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub sub: String,
    pub roles: Roles,
    pub name: Option<String>,
    pub patient_id: Option<PatientId>,
    pub ttl: std::time::Duration,
}

impl TokenRequest {
    /// Checks the command line of `gospital token`; each error is one line naming the flag.
    pub fn new(
        roles: &str,
        sub: Option<String>,
        name: Option<String>,
        patient: Option<String>,
        ttl: &str,
    ) -> Result<Self, String> {
        let mut set = Roles::NONE;
        let mut first = None;
        for raw in roles.split(',').map(str::trim) {
            let role = Role::parse(raw).ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("--role: {raw:?} is not one of {}", names.join(", "))
            })?;
            first.get_or_insert(role);
            set.insert(role);
        }
        let first = first.ok_or("--role: give at least one role")?;
        let patient_id = match patient {
            Some(p) => Some(PatientId::parse(&p).ok_or_else(|| format!("--patient: {p:?} is not a PAT- ID"))?),
            None if set.contains(Role::Patient) => return Err("--patient: required with role patient".into()),
            None => None,
        };
        let sub = sub.unwrap_or_else(|| first.as_str().to_owned());
        if sub.is_empty() || sub.len() > 255 {
            return Err("--sub: must be 1–255 characters".into());
        }
        let ttl = parse_ttl(ttl).ok_or_else(|| format!("--ttl: {ttl:?} is not a duration like 90s, 30m or 1h"))?;
        if !(60..=86_400).contains(&ttl.as_secs()) {
            return Err(format!("--ttl: {} s is outside 1 min–24 h", ttl.as_secs()));
        }
        Ok(Self { sub, roles: set, name, patient_id, ttl })
    }
}

/// `90s`, `30m`, `1h`, `1h30m`; a bare number is seconds.
fn parse_ttl(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let n: u64 = number.parse().ok()?;
                total = total.checked_add(n.checked_mul(match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                })?)?;
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && !text.is_empty()).then(|| std::time::Duration::from_secs(total))
}

/// Verifies tokens signed with the local key.
#[derive(Debug)]
pub struct LocalVerifier {
    key: SigningKey,
    rules: Rules,
}

impl LocalVerifier {
    pub fn new(key: SigningKey) -> Self {
        let rules = Rules {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            algorithms: vec![Algorithm::EdDSA],
            roles_claim: "roles".to_owned(),
            patient_claim: "patient_id".to_owned(),
        };
        Self { key, rules }
    }
}

#[async_trait]
impl TokenVerifier for LocalVerifier {
    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Invalid> {
        let header = jwt::header(token, &self.rules)?;
        if header.kid.as_deref().is_some_and(|kid| kid != self.key.kid) {
            return Err(Invalid::UnknownKey);
        }
        jwt::verify(token, header.alg, &self.key.decoding, &self.rules).map(Arc::new)
    }
}

/// The default key file: `gospital.key` in the working directory.
pub fn default_key_file() -> PathBuf {
    PathBuf::from("gospital.key")
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError(format!(
            "{} is readable by group or others (mode {mode:03o}); chmod 600 it",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<(), KeyFileError> {
    Ok(())
}

fn pem_encode(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {PEM_LABEL}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    out
}

fn pem_decode(text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let body = text.trim().strip_prefix(&begin)?.strip_suffix(&end)?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_and_token_requests_are_checked() {
        assert_eq!(parse_ttl("1h"), Some(std::time::Duration::from_secs(3600)));
        assert_eq!(parse_ttl("1h30m"), Some(std::time::Duration::from_secs(5400)));
        assert_eq!(parse_ttl("90"), Some(std::time::Duration::from_secs(90)));
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("1d"), None);
        assert!(TokenRequest::new("doctor", None, None, None, "1h").is_ok_and(|r| r.sub == "doctor"));
        assert!(TokenRequest::new("doctor,nurse", None, None, None, "1h").is_ok_and(|r| r.roles.names().len() == 2));
        assert!(TokenRequest::new("patient", None, None, None, "1h").unwrap_err().starts_with("--patient"));
        assert!(TokenRequest::new("root", None, None, None, "1h").unwrap_err().starts_with("--role"));
        assert!(TokenRequest::new("doctor", None, None, None, "30s").unwrap_err().starts_with("--ttl"));
        assert!(TokenRequest::new("doctor", None, None, None, "25h").unwrap_err().starts_with("--ttl"));
    }

    #[tokio::test]
    async fn a_key_file_is_created_private_and_its_tokens_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = SigningKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(key.kid, again.kid, "the same file gives the same key");
        let req = TokenRequest::new("nurse", Some("n1".into()), Some("N. One".into()), None, "1h").unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        let token = key.mint(&req, now).unwrap();
        let p = LocalVerifier::new(again).verify(&token).await.unwrap();
        assert_eq!((p.sub.as_str(), p.roles.names(), p.name.as_deref()), ("n1", vec!["nurse"], Some("N. One")));
        assert_eq!(p.issued_at_ms, Some(now));
        // Another key refuses it.
        let other = SigningKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert_eq!(LocalVerifier::new(other).verify(&token).await.unwrap_err(), Invalid::UnknownKey);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_or_not_a_key_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        SigningKey::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(SigningKey::load_or_create(&path).unwrap_err().0.contains("readable by group or others"));
        fs::write(&path, "not a key").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(SigningKey::load_or_create(&path).unwrap_err().0.contains("not a PEM"));
    }
}
