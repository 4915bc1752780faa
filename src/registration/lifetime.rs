//! How long a new client secret stays valid: the portal's choices, or a number of days up to
//! the two years Entra allows.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// A client secret's lifetime in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretLifetime(u32);

impl SecretLifetime {
    /// The portal's recommendation, and the default.
    pub const DEFAULT: SecretLifetime = SecretLifetime(180);
    /// Entra refuses longer secrets (24 months) unless a policy allows them.
    pub const MAX_DAYS: u32 = 730;
    /// The portal's choices: 3, 6, 12, 18 and 24 months.
    pub const PORTAL_CHOICES: [u32; 5] = [90, 180, 365, 545, 730];

    /// Days the secret stays valid.
    pub fn days(self) -> u32 {
        self.0
    }

    /// `endDateTime` for a secret added at `now` (ISO 8601, as Graph takes it).
    pub fn end_from(self, now: DateTime<Utc>) -> String {
        (now + chrono::Duration::days(i64::from(self.0)))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }
}

impl Default for SecretLifetime {
    fn default() -> Self {
        SecretLifetime::DEFAULT
    }
}

impl fmt::Display for SecretLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.0)
    }
}

impl FromStr for SecretLifetime {
    type Err = String;

    /// `180`, `180d`, `180 days`, `6m`, `6 months`, `1y`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let unit = t[digits.len()..].trim();
        let n: u32 = digits.parse().map_err(|_| usage(s))?;
        let days = match unit {
            "" | "d" | "day" | "days" => Some(n),
            "m" | "month" | "months" => match n {
                3 => Some(90),
                6 => Some(180),
                12 => Some(365),
                18 => Some(545),
                24 => Some(730),
                _ => n.checked_mul(30),
            },
            "y" | "year" | "years" => n.checked_mul(365),
            _ => None,
        }
        .ok_or_else(|| usage(s))?;
        if days == 0 || days > SecretLifetime::MAX_DAYS {
            return Err(format!(
                "a client secret lasts 1 to {} days (24 months); {s:?} is {days} days",
                SecretLifetime::MAX_DAYS
            ));
        }
        Ok(SecretLifetime(days))
    }
}

fn usage(s: &str) -> String {
    format!(
        "{s:?} is not a secret lifetime: give days (180, 180d) or months (6m, 12 months); the portal offers 90, 180 (recommended), 365, 545 and 730 days"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_choices_parse_in_days_and_months() {
        for (text, days) in [
            ("180", 180),
            ("90d", 90),
            ("6m", 180),
            ("12 months", 365),
            ("18m", 545),
            ("24 months", 730),
            ("1y", 365),
            (" 30 days ", 30),
        ] {
            assert_eq!(
                text.parse::<SecretLifetime>().unwrap().days(),
                days,
                "{text}"
            );
        }
        for bad in ["0", "731", "3y", "six months", "", "10w", "99999999999"] {
            assert!(bad.parse::<SecretLifetime>().is_err(), "{bad}");
        }
        assert!(
            "3y".parse::<SecretLifetime>()
                .unwrap_err()
                .contains("1 to 730")
        );
    }

    #[test]
    fn the_end_is_the_lifetime_after_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            SecretLifetime::DEFAULT.end_from(now),
            "2027-06-01T10:00:00Z"
        );
    }
}
