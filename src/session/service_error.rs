//! The library's typed errors as the wizard's [`ServiceError`]: one mapping from each error to
//! what it concerns ([`ErrorKind`]), so every call of the real [`super::wizard::LiveServices`]
//! reports the same failure the same way. The text is the library's own (it says what to do).

use crate::graph::GraphError;
use crate::profile::ProfileError;
use crate::profile::name::InvalidName;
use crate::secret::SecretError;
use crate::secret::lifecycle::LifecycleError;
use crate::tui::services::{ErrorKind, ServiceError};

use super::SessionError;
use super::rotate::RotateProblem;

impl From<ProfileError> for ServiceError {
    fn from(e: ProfileError) -> Self {
        let kind = match e {
            ProfileError::NoHome(_) => ErrorKind::File,
            _ => ErrorKind::Profile,
        };
        ServiceError::new(kind, e.to_string())
    }
}

impl From<InvalidName> for ServiceError {
    fn from(e: InvalidName) -> Self {
        ServiceError::new(ErrorKind::Profile, e.to_string())
    }
}

impl From<SecretError> for ServiceError {
    fn from(e: SecretError) -> Self {
        ServiceError::new(ErrorKind::Secret, e.to_string())
    }
}

impl From<GraphError> for ServiceError {
    fn from(e: GraphError) -> Self {
        let kind = match &e {
            GraphError::Auth(_) | GraphError::Config(_) => ErrorKind::SignIn,
            _ => ErrorKind::Graph,
        };
        ServiceError::new(kind, e.to_string())
    }
}

impl From<SessionError> for ServiceError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Endpoint(e) => ServiceError::new(ErrorKind::SignIn, e.to_string()),
            SessionError::Secret(e) => e.into(),
            SessionError::Client(e) => e.into(),
        }
    }
}

impl From<LifecycleError> for ServiceError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Profile(e) => e.into(),
            LifecycleError::History(_) | LifecycleError::State(_) => {
                ServiceError::new(ErrorKind::File, e.to_string())
            }
            LifecycleError::Schedule(_) => ServiceError::new(ErrorKind::Schedule, e.to_string()),
            e => ServiceError::new(ErrorKind::Secret, e.to_string()),
        }
    }
}

impl From<RotateProblem> for ServiceError {
    fn from(e: RotateProblem) -> Self {
        ServiceError::new(ErrorKind::Admin, e.to_string())
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> Self {
        ServiceError::new(ErrorKind::Internal, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileName;

    #[test]
    fn a_missing_profile_is_a_profile_error_in_the_librarys_words() {
        let e = ProfileError::NotFound {
            name: ProfileName::new("contoso").unwrap(),
            path: "/p/contoso.toml".into(),
        };
        let text = e.to_string();
        let s = ServiceError::from(LifecycleError::Profile(e));
        assert_eq!(s.kind, ErrorKind::Profile);
        assert_eq!(s.to_string(), text);
    }
}
