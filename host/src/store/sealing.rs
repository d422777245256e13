//! Secrets at rest: sealed with ChaCha20-Poly1305 under the server's secret key, which lives
//! outside the database (an environment variable or a key file beside it), so a copy of the
//! database alone reveals no secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const NONCE_BYTES: usize = 12;

/// The server's secret key (32 bytes).
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// A sealed value could not be opened: the key changed or the row was altered.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be opened with this server's secret key")]
pub struct Unseal;

impl Sealer {
    /// From 32 key bytes.
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// From 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Sealer, String> {
        let bytes = hex::decode(text.trim()).map_err(|e| format!("not hex: {e}"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "give 64 hex characters (32 bytes)".to_owned())?;
        Ok(Sealer::new(key))
    }

    /// A fresh random key, as hex.
    pub fn generate_hex() -> String {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        hex::encode(key)
    }

    /// Seal `plain`; `context` (e.g. tenant, plugin and name) is bound to the result, so a
    /// sealed value copied to another row does not open there.
    pub fn seal(&self, plain: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 sealing does not fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    /// Open what [`Sealer::seal`] made with the same context.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, Unseal> {
        if sealed.len() < NONCE_BYTES {
            return Err(Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let a = Sealer::new([7; 32]);
        let sealed = a.seal(b"sk-123", "1/ai-reply/api_key");
        assert!(!sealed.windows(6).any(|w| w == b"sk-123"), "no clear text");
        assert_eq!(a.open(&sealed, "1/ai-reply/api_key").unwrap(), b"sk-123");
        assert!(a.open(&sealed, "2/ai-reply/api_key").is_err());
        assert!(
            Sealer::new([8; 32])
                .open(&sealed, "1/ai-reply/api_key")
                .is_err()
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(a.open(&tampered, "1/ai-reply/api_key").is_err());
        assert!(a.open(b"short", "x").is_err());
    }

    #[test]
    fn the_same_secret_seals_differently_each_time() {
        let a = Sealer::new([7; 32]);
        assert_ne!(a.seal(b"x", "c"), a.seal(b"x", "c"));
    }

    #[test]
    fn hex_keys_must_be_32_bytes() {
        assert!(Sealer::from_hex(&Sealer::generate_hex()).is_ok());
        assert!(Sealer::from_hex("abcd").is_err());
        assert!(Sealer::from_hex("zz").is_err());
    }
}
