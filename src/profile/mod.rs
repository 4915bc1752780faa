//! Saved profiles (TOML in the OS config directory) and run history. Never the secret.
