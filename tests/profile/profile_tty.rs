//! `profile set-secret` on a real terminal: the typed secret is not echoed. Runs the binary in
//! a pseudo-terminal made by util-linux `script` (see `scripts/install-test-deps.sh`).
#![cfg(target_os = "linux")]

use std::process::Command;

const SECRET: &str = "TtyS3cret~typed.value_0123456789";

#[test]
fn typed_secret_is_not_echoed_and_is_stored() {
    let has_script = Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        has_script,
        "`script` (util-linux) is missing: run scripts/install-test-deps.sh"
    );
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (root.path().join("c"), root.path().join("d"));
    let bin = env!("CARGO_BIN_EXE_entra-extract");
    let base = |c: &mut Command| {
        c.env("ENTRA_EXTRACT_CONFIG_DIR", &config)
            .env("ENTRA_EXTRACT_DATA_DIR", &data)
            .env("ENTRA_EXTRACT_KEYRING_STORE", "none")
            .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
            .env_remove("CREDENTIALS_DIRECTORY");
    };
    let mut create = Command::new(bin);
    base(&mut create);
    let created = create
        .args([
            "profile",
            "create",
            "p",
            "--tenant",
            "contoso.example",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
        ])
        .arg("--plaintext-secret-file")
        .output()
        .unwrap();
    assert!(created.status.success());

    // The input arrives after the prompt has turned echo off (the terminal echoes on arrival).
    let mut typed = Command::new("sh");
    base(&mut typed);
    let out = typed
        .args([
            "-c",
            r#"(sleep 1; printf '%s\n' "$SECRET") | script -qec "$BIN profile set-secret p" /dev/null"#,
        ])
        .env("SECRET", SECRET)
        .env("BIN", bin)
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(transcript.contains("(input hidden)"), "{transcript}");
    assert!(
        transcript.contains("Stored the client secret"),
        "{transcript}"
    );
    assert!(
        !transcript.contains(SECRET),
        "the secret was echoed:\n{transcript}"
    );
    let stored = std::fs::read_to_string(config.join("secrets").join("p")).unwrap();
    assert_eq!(stored, SECRET);
}
