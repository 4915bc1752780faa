//! A saved profile's schedule, installed or removed and then recorded in the profile: the one
//! sequence `schedule add` / `schedule remove` and the wizard's save share. Each caller says
//! what came of it in its own words.

use crate::profile::{Profile, ProfileError, ProfileStore};
use crate::schedule::{self, Backend, Installed, Job, Schedule, ScheduleError};

/// A change to the timer, and whether the profile file records it (the timer stays changed
/// either way).
#[derive(Debug)]
pub struct Applied<T> {
    /// What was done to the timer, task or agent.
    pub done: T,
    /// Whether the profile file then saved what it names (a failure is reported, the
    /// timer's change stands).
    pub recorded: Result<(), ProfileError>,
}

/// Installs `job` (the schedule `when` of `profile`) with `backend`, then records `when` in
/// the saved profile. Nothing changes when the install fails.
pub fn install(
    store: &ProfileStore,
    profile: &mut Profile,
    when: Schedule,
    job: &Job,
    backend: Backend,
) -> Result<Applied<Installed>, ScheduleError> {
    let installed = schedule::install(job, backend, store.dirs())?;
    profile.schedule = Some(when);
    Ok(Applied {
        done: installed,
        recorded: store.save(profile),
    })
}

/// What [`remove`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// A timer (task, agent) was installed and is deleted.
    pub had_timer: bool,
    /// The profile named a schedule, now cleared.
    pub had_schedule: bool,
}

/// Deletes the saved `profile`'s timer, then clears the schedule the profile names (the file
/// is saved only when it named one). Nothing changes when the timer cannot be deleted.
pub fn remove(
    store: &ProfileStore,
    profile: &mut Profile,
) -> Result<Applied<Removed>, ScheduleError> {
    let had_timer = schedule::remove(store.dirs(), &profile.name)?;
    let had_schedule = profile.schedule.take().is_some();
    let recorded = match had_schedule {
        true => store.save(profile),
        false => Ok(()),
    };
    Ok(Applied {
        done: Removed {
            had_timer,
            had_schedule,
        },
        recorded,
    })
}
