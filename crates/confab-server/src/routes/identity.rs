//! Signed contact identity: a site's or app's backend proves who its
//! signed-in user is with `hex(HMAC-SHA256(inbox identity secret, external_id))`,
//! so a visitor cannot claim someone else's id (and their conversations).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The lowercase hex hash a backend sends for `external_id`.
pub fn identity_hash(secret: &str, external_id: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a hash (constant time). Only lowercase hex is accepted, as documented.
pub fn verify_identity(secret: &str, external_id: &str, hash_hex: &str) -> bool {
    if hash_hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let Ok(expected) = hex::decode(hash_hex) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(external_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_tampering() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let hash = identity_hash("Jefe", "what do ya want for nothing?");
        assert_eq!(
            hash,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_identity(
            "Jefe",
            "what do ya want for nothing?",
            &hash
        ));
        assert!(!verify_identity(
            "Jefe",
            "what do ya want for nothing!",
            &hash
        ));
        assert!(!verify_identity(
            "jefe",
            "what do ya want for nothing?",
            &hash
        ));
        assert!(!verify_identity(
            "Jefe",
            "what do ya want for nothing?",
            &hash.to_uppercase()
        ));
        assert!(!verify_identity(
            "Jefe",
            "what do ya want for nothing?",
            &hash[..62]
        ));
        assert!(!verify_identity(
            "Jefe",
            "what do ya want for nothing?",
            "zz"
        ));
        assert!(!verify_identity("Jefe", "what do ya want for nothing?", ""));
    }
}
