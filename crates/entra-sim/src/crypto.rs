//! RSA keys and compact JWS (RS256) signing and verification for issued tokens and client
//! assertions. Uses aws-lc-rs directly: no JWT library, so nothing is shared with the client.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha1::Digest as _;

/// The simulator's token-signing key, published at the jwks_uri.
pub struct SigningKey {
    key: RsaKeyPair,
    rng: SystemRandom,
    /// Key id (also the `x5t` header, as Entra sets both).
    pub kid: String,
    /// PKCS#1 RSAPublicKey DER.
    pub public_der: Vec<u8>,
    pub n_b64: String,
    pub e_b64: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// Generates a fresh 2048-bit key.
    pub fn generate() -> Result<SigningKey, String> {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| "RSA key generation failed".to_string())?;
        Ok(Self::from_key(key))
    }

    fn from_key(key: RsaKeyPair) -> SigningKey {
        let public = key.public_key();
        let public_der = public.as_ref().to_vec();
        let kid = URL_SAFE_NO_PAD.encode(&sha1::Sha1::digest(&public_der)[..]);
        let n_b64 = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e_b64 = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        SigningKey {
            key,
            rng: SystemRandom::new(),
            kid,
            public_der,
            n_b64,
            e_b64,
        }
    }

    /// Signs `header.claims` (both JSON) as a compact RS256 JWS.
    pub fn sign_jwt(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        // Signing with a valid key and a right-sized buffer only fails on internal errors;
        // an unsigned token is then rejected by our own verifier, which is the honest outcome.
        let _ = self.key.sign(
            &signature::RSA_PKCS1_SHA256,
            &self.rng,
            token.as_bytes(),
            &mut sig,
        );
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(sig));
        token
    }
}

/// A JWT split and decoded, signature not yet checked.
#[derive(Debug)]
pub struct ParsedJwt {
    pub header: serde_json::Value,
    pub claims: serde_json::Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl ParsedJwt {
    /// Splits and base64/JSON-decodes a compact JWS; `None` if it isn't one.
    pub fn parse(token: &str) -> Option<ParsedJwt> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
        Some(ParsedJwt {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature,
        })
    }

    /// True if the RS256 signature verifies against a PKCS#1 RSA public key.
    pub fn verify_rs256(&self, public_pkcs1_der: &[u8]) -> bool {
        let alg = self.header.get("alg").and_then(|a| a.as_str());
        let scheme: &dyn signature::VerificationAlgorithm = match alg {
            Some("RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
            Some("PS256") => &signature::RSA_PSS_2048_8192_SHA256,
            _ => return false,
        };
        UnparsedPublicKey::new(scheme, public_pkcs1_der)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(|v| v.as_str())
    }

    /// A numeric claim (seconds). NumericDate may be fractional (RFC 7519 §2; MSAL Python
    /// sends `time.time() + 600`), so floats are floored.
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_detects_tampering() {
        let k = SigningKey::generate().expect("keygen");
        let t = k.sign_jwt(
            &serde_json::json!({"alg":"RS256","typ":"JWT"}),
            &serde_json::json!({"tid":"x","exp":1}),
        );
        let p = ParsedJwt::parse(&t).expect("parse");
        assert!(p.verify_rs256(&k.public_der));
        assert_eq!(p.claim_str("tid"), Some("x"));
        let other = SigningKey::generate().expect("keygen");
        assert!(!p.verify_rs256(&other.public_der));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"tid":"y","exp":1}"#);
        parts[1] = &forged;
        let f = ParsedJwt::parse(&parts.join(".")).expect("parse");
        assert!(!f.verify_rs256(&k.public_der));
    }
}
