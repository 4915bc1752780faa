//! The wizard's live services running real extractions against the simulated tenant: the
//! hold the wizard's "cancel?" question puts on a run's commit point. While held, the run
//! replaces no file; cancelled then, it leaves the directory as it was; released, it writes.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Sim, snapshot};
use entra_extract::graph::Cloud;
use entra_extract::profile::Dirs;
use entra_extract::secret::StoreChoice;
use entra_extract::session::wizard::LiveServices;
use entra_extract::tui::services::{
    CredentialInput, CredentialsInput, ExtractionError, ExtractionHandle, ExtractionTarget, Hold,
    OutputSettings, ProfileDraft, Services,
};
use entra_sim::DemoAppKind;

/// A one-off run of the fully consented app into `out`, as "continue without saving" starts it.
fn target(sim: &Sim, out: &Path) -> ExtractionTarget {
    let app = sim.app(DemoAppKind::Full);
    ExtractionTarget::Draft(Box::new(ProfileDraft {
        name: "hold".into(),
        credentials: CredentialsInput {
            cloud: Cloud::Custom,
            authority_url: Some(sim.base()),
            graph_url: Some(sim.base()),
            tenant: sim.tenant(),
            client_id: app.client_id,
            credential: CredentialInput::Secret(app.client_secret.into()),
        },
        output: OutputSettings {
            domain_prefix: String::new(),
            directory: out.to_path_buf(),
            bom: false,
        },
        tenant: None,
        replaces: None,
        secret_given: false,
        schedule: None,
        credential_file: None,
        if_name_taken: Default::default(),
    }))
}

struct Wizard {
    services: LiveServices,
    rt: tokio::runtime::Runtime,
    _root: tempfile::TempDir,
}

impl Wizard {
    fn new() -> Wizard {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(root.path().join("config"), root.path().join("data"));
        Wizard {
            services: LiveServices::new(dirs, StoreChoice::Memory),
            rt: tokio::runtime::Runtime::new().unwrap(),
            _root: root,
        }
    }

    fn start(&self, target: ExtractionTarget) -> ExtractionHandle {
        self.rt
            .block_on(self.services.start_extraction(target))
            .expect("the run starts")
    }

    fn outcome(
        &self,
        handle: ExtractionHandle,
    ) -> Result<entra_extract::tui::services::ExtractionSummary, ExtractionError> {
        self.rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(120), handle.outcome).await
            })
            .expect("the run ends")
            .expect("the run reports its outcome")
    }
}

fn wait_at_commit_point(handle: &ExtractionHandle) {
    let start = Instant::now();
    while !handle.commit_hold.run_waits() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run never reached its commit point"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The files in `dir` other than a run's temporary files and lock.
fn finals(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_held_run_replaces_no_file_and_cancelled_there_leaves_the_previous_files() {
    let sim = Sim::small();
    let wizard = Wizard::new();
    let out = tempfile::tempdir().unwrap();
    let previous = common::seed_previous(out.path(), &sim.domain());

    let handle = wizard.start(target(&sim, out.path()));
    assert_eq!(handle.commit_hold.hold(), Hold::Held);
    wait_at_commit_point(&handle);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(finals(out.path()), previous, "nothing replaced while held");
    handle.cancel.cancel();
    assert_eq!(wizard.outcome(handle), Err(ExtractionError::Cancelled));
    assert_eq!(
        snapshot(out.path()),
        previous,
        "a cancelled run changes no file"
    );
    common::assert_private_and_clean(out.path());
}

#[test]
fn a_released_run_writes_its_files_and_a_finished_one_cannot_be_held() {
    let sim = Sim::small();
    let wizard = Wizard::new();
    let out = tempfile::tempdir().unwrap();

    let handle = wizard.start(target(&sim, out.path()));
    assert_eq!(handle.commit_hold.hold(), Hold::Held);
    wait_at_commit_point(&handle);
    assert!(finals(out.path()).is_empty(), "nothing written while held");
    handle.commit_hold.release();
    let hold = handle.commit_hold.clone();
    let summary = wizard.outcome(handle).expect("the released run writes");
    assert_eq!(summary.files.len(), 5, "{summary:?}");
    assert_eq!(finals(out.path()).len(), 5);
    assert_eq!(hold.hold(), Hold::AlreadyCommitted);

    // Without a hold the run commits on its own; asking afterwards is too late.
    let handle = wizard.start(target(&sim, out.path()));
    let hold = handle.commit_hold.clone();
    wizard.outcome(handle).expect("the run writes");
    assert_eq!(hold.hold(), Hold::AlreadyCommitted);
}

#[test]
fn a_saved_profiles_incremental_rerun_is_held_too() {
    let sim = Sim::small();
    let wizard = Wizard::new();
    let out = tempfile::tempdir().unwrap();
    let ExtractionTarget::Draft(draft) = target(&sim, out.path()) else {
        unreachable!()
    };
    wizard
        .rt
        .block_on(
            wizard
                .services
                .save_profile(*draft, entra_extract::profile::SecretStorage::Keyring),
        )
        .expect("saved");
    let saved = || ExtractionTarget::Saved("hold".into());
    wizard
        .outcome(wizard.start(saved()))
        .expect("the first run");
    let first = finals(out.path());

    let handle = wizard.start(saved());
    assert_eq!(handle.commit_hold.hold(), Hold::Held);
    wait_at_commit_point(&handle);
    handle.cancel.cancel();
    assert_eq!(wizard.outcome(handle), Err(ExtractionError::Cancelled));
    assert_eq!(finals(out.path()), first, "the held rerun changed no file");

    let handle = wizard.start(saved());
    let summary = wizard.outcome(handle).expect("the rerun");
    assert!(
        summary
            .changes
            .as_deref()
            .is_some_and(|c| c.starts_with("Read only the changes")),
        "an incremental rerun: {summary:?}"
    );
}
