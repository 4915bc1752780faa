//! Microsoft Graph client: endpoints, authentication, the one retry and pacing policy,
//! paging, batching and typed errors.

pub mod cloud;
