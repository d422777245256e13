//! `ferrule plugin keygen` and `ferrule plugin sign`: the vendor's side of signed uploads.

use crate::catalog::signature;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

pub fn keygen(out: &Path) -> Result<ExitCode, String> {
    let secret = signature::generate_secret_key();
    let key = signature::parse_secret_key(&secret)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| {
            format!(
                "{}: {e} (an existing key is never overwritten)",
                out.display()
            )
        })?;
    file.write_all(format!("{secret}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let public = signature::encode_public_key(&key.verifying_key());
    println!(
        "{}",
        serde_json::json!({
            "public_key": public,
            "fingerprint": signature::fingerprint(key.verifying_key().as_bytes()),
            "secret_key_file": out.display().to_string(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub fn sign(file: &Path, key: &Path) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let key = signature::parse_secret_key(&text)?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    println!("{}", signature::sign(&key, &bytes));
    Ok(ExitCode::SUCCESS)
}
