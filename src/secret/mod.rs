//! Client secret storage and resolution: environment, systemd credential, OS keyring.
