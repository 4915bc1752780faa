//! Simulated Entra tenant: token endpoint and Microsoft Graph v1.0 on loopback.
