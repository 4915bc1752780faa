//! One module per screen: its state, its key handling and its pure render function.

pub mod demo;
pub mod extract;
pub mod home;
pub mod output;
pub mod permissions;
pub mod save;
pub mod setup;
