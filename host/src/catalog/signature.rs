//! Signed uploads: a vendor signs the component bytes with an Ed25519 key whose public half it
//! registered; the signature travels base64-encoded in the `x-ferrule-signature` header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The upload header that carries the signature.
pub const HEADER: &str = "x-ferrule-signature";

/// Base64 text of exactly `N` bytes; errors say what `what` should have been.
fn decode<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("{what}: not base64: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{what} is {N} bytes; this is {} bytes", b.len()))
}

/// A public key as sent to the API (base64 of 32 bytes), parsed.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = decode::<32>(text, "an Ed25519 public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_owned())
}

/// A signature as sent in the header (base64 of 64 bytes), parsed.
pub fn parse_signature(text: &str) -> Result<Signature, String> {
    Ok(Signature::from_bytes(&decode::<64>(
        text,
        "an Ed25519 signature",
    )?))
}

/// Whether `signature` over `bytes` was made with the key of `public_key` (32 raw bytes).
pub fn verifies(public_key: &[u8], bytes: &[u8], signature: &Signature) -> bool {
    let Ok(key) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    VerifyingKey::from_bytes(&key).is_ok_and(|k| k.verify(bytes, signature).is_ok())
}

/// Base64 text of a public key.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}

/// A short fingerprint of a public key: the first 16 hex digits of its SHA-256.
pub fn fingerprint(public_key: &[u8]) -> String {
    crate::runtime::sha256_hex(public_key)[..16].to_owned()
}

/// A new signing key, as the text `ferrule plugin keygen` writes (base64 of the 32-byte seed).
pub fn generate_secret_key() -> String {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source");
    STANDARD.encode(seed)
}

/// A signing key from its text form.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, String> {
    Ok(SigningKey::from_bytes(&decode::<32>(
        text,
        "the secret key file (an Ed25519 seed)",
    )?))
}

/// The header value signing `bytes` with `key`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> String {
    STANDARD.encode(key.sign(bytes).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_bytes_and_key() {
        let key = parse_secret_key(&generate_secret_key()).unwrap();
        let other = parse_secret_key(&generate_secret_key()).unwrap();
        let public = key.verifying_key();
        let sig = parse_signature(&sign(&key, b"component")).unwrap();
        assert!(verifies(public.as_bytes(), b"component", &sig));
        assert!(!verifies(public.as_bytes(), b"componenT", &sig));
        assert!(!verifies(
            other.verifying_key().as_bytes(),
            b"component",
            &sig
        ));
        let round = parse_public_key(&encode_public_key(&public)).unwrap();
        assert_eq!(round, public);
    }

    #[test]
    fn malformed_keys_and_signatures_are_explained() {
        assert!(
            parse_public_key("not base64!")
                .unwrap_err()
                .contains("base64")
        );
        assert!(parse_public_key("AAAA").unwrap_err().contains("32 bytes"));
        assert!(parse_signature("AAAA").unwrap_err().contains("64 bytes"));
        assert!(parse_secret_key("AAAA").is_err());
    }
}
