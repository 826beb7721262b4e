//! Tokens for tests, signed by Python's standard library (`hmac`,
//! `hashlib`, `base64`), apart from ssed's own code: a test that minted
//! with ssed's HMAC would check ssed against itself.

use std::process::Command;

/// The Python that signs; its stdout is the token.
const SIGNER: &str = r#"
import base64, hashlib, hmac, sys
header, payload, key, alg = sys.argv[1].encode(), sys.argv[2].encode(), bytes.fromhex(sys.argv[3]), sys.argv[4]
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")
signing_input = b64(header) + b"." + b64(payload)
digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
signature = b64(hmac.new(key, signing_input, digest).digest()) if digest else b""
sys.stdout.write((signing_input + b"." + signature).decode())
"#;

/// Whether `python3` is here to sign; says SKIPPED when not (a failure in CI).
pub fn signer_available() -> bool {
    super::have_program("python3", "--version")
}

/// `header` and `payload` (JSON texts) signed with `key` by `alg`
/// (`HS256`, `HS384`, `HS512`, or anything else for no signature).
pub fn sign_with(header: &str, payload: &str, key: &[u8], alg: &str) -> String {
    let key_hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    let output = Command::new("python3")
        .args(["-c", SIGNER, header, payload, &key_hex, alg])
        .output()
        .expect("run python3");
    assert!(output.status.success(), "python3: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("a token")
}

/// An HS256 token with `payload` as its claims.
pub fn sign(payload: &str, key: &[u8]) -> String {
    sign_with(r#"{"alg":"HS256","typ":"JWT"}"#, payload, key, "HS256")
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs())
}
