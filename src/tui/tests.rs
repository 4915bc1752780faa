//! Snapshot tests of every screen and state, driven by key events and background results
//! through `App::update` with the scripted fake services, at 80×24 and 60×20.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::action::Action;
use super::app::{App, DemoChoice, NoticeKind, WizardOptions};
use super::screens::setup::{CLOUDS, Form, Step};
use super::screens::{Screen, ScreenKind};
use super::services::*;
use super::testing::{FakeServices, Script, flat};
use crate::extract::progress::{Phase, ProgressSnapshot, Warning, WarningKind};
use crate::graph::RequestStats;
use crate::graph::cloud::Cloud;
use crate::permissions::report::{
    DIRECTORY_READ_ALL, GrantCommand, GrantState, MEMBER_READ_HIDDEN, PermissionReport,
    PermissionStatus, SecretExpiry,
};

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "Abc8Q~secret.value_0123";

struct Harness {
    app: App,
    rx: UnboundedReceiver<Action>,
    fake: Arc<FakeServices>,
    terminal: Terminal<TestBackend>,
}

impl Harness {
    /// Home with the saved profiles, Enter pressed: the first profile is extracting.
    async fn extracting_saved_profile() -> Self {
        let mut h = Harness::with(Script {
            profiles: profiles(),
            ..happy()
        })
        .await;
        h.press(KeyCode::Enter);
        h.settle().await;
        h
    }

    /// [`Harness::extracting_saved_profile`], the run past its commit point (replacing the
    /// files, too late to cancel).
    async fn extracting_past_the_commit_point() -> Self {
        let h = Harness::extracting_saved_profile().await;
        assert!(
            h.fake.commit_extraction(),
            "the run passes its commit point"
        );
        h
    }

    /// Home with the saved profiles, c pressed: the first profile's check shows `report`.
    async fn checking_saved_profile(report: PermissionReport) -> Self {
        let mut h = Harness::with(Script {
            profiles: profiles(),
            reports: [Ok(report)].into(),
            ..Script::default()
        })
        .await;
        h.press(KeyCode::Char('c'));
        h.settle().await;
        h
    }

    async fn new(script: Script, options: WizardOptions) -> Self {
        let fake = FakeServices::new(script);
        let (tx, rx) = mpsc::unbounded_channel();
        let app = App::new(fake.clone(), options, tx);
        let mut h = Harness {
            app,
            rx,
            fake,
            terminal: Terminal::new(TestBackend::new(80, 24)).expect("test terminal"),
        };
        h.settle().await;
        h
    }

    async fn with(script: Script) -> Self {
        Self::new(script, options()).await
    }

    /// The demo with one app on its simulated tenant: the picker shows.
    async fn in_demo(script: Script, app: &DemoChoice) -> Self {
        let options = WizardOptions {
            demo_apps: vec![app.clone()],
            ..options()
        };
        Self::new(script, options).await
    }

    fn size(&mut self, w: u16, h: u16) -> &mut Self {
        self.terminal.backend_mut().resize(w, h);
        self.app.update(Action::Resize(w, h));
        self
    }

    fn press(&mut self, code: KeyCode) -> &mut Self {
        self.app.update(Action::key(code));
        self
    }

    fn typ(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
        self
    }

    /// Let spawned service calls finish and apply their results.
    async fn settle(&mut self) {
        for _ in 0..20 {
            tokio::task::yield_now().await;
            while let Ok(action) = self.rx.try_recv() {
                self.app.update(action);
            }
        }
    }

    /// Wait for exactly one background result and apply it.
    async fn apply_next(&mut self) {
        let action = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a background result")
            .expect("the channel is open");
        self.app.update(action);
    }

    /// What the setup screen showing has typed so far.
    fn form(&self) -> &Form {
        match self.app.current() {
            Screen::Setup(setup) => &setup.form,
            _ => panic!("not on a setup step: {:?}", self.app.screen()),
        }
    }

    /// The profile name typed on the save step.
    fn form_name(&self) -> String {
        match self.app.current() {
            Screen::Setup(setup) => setup.save.name.value().to_owned(),
            _ => panic!("not on a setup step: {:?}", self.app.screen()),
        }
    }

    /// The running extraction on the progress screen.
    fn extraction(&self) -> &super::screens::extract::ExtractionView {
        match self.app.current() {
            Screen::Extracting(e) => e.view.as_ref().expect("the run has started"),
            _ => panic!("not extracting: {:?}", self.app.screen()),
        }
    }

    fn screen(&mut self) -> String {
        self.terminal
            .draw(|f| super::ui::render(f, &self.app))
            .expect("draw");
        self.terminal.backend().to_string()
    }

    /// Walk from home through cloud, tenant, client id and secret to the live check.
    async fn walk_to_validation(&mut self) {
        self.press(KeyCode::Char('n'))
            .press(KeyCode::Enter)
            .typ(TENANT)
            .press(KeyCode::Enter)
            .typ(CLIENT)
            .press(KeyCode::Enter);
        self.app.update(Action::Paste(format!("{SECRET}\n")));
        self.press(KeyCode::Enter);
    }

    /// Through validation and permission check to the output step.
    async fn walk_to_output(&mut self) {
        self.walk_to_validation().await;
        self.settle().await;
        self.press(KeyCode::Enter);
    }
}

/// A token endpoint refusal as Entra words it, mapped the way the live services map it.
fn refused(status: u16, error: &str, code: u32, description: &str) -> CredentialProblem {
    let body = serde_json::json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-27 00:00:00Z"),
        "error_codes": [code],
    });
    CredentialProblem::from(&crate::graph::AuthError::from_body(
        status,
        body.to_string().as_bytes(),
    ))
}

fn options() -> WizardOptions {
    WizardOptions {
        default_output_dir: PathBuf::from("/data/exports"),
        ..WizardOptions::default()
    }
}

fn tenant() -> TenantInfo {
    TenantInfo {
        tenant_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
        default_domain: TENANT.into(),
        display_name: "Contoso Ltd".into(),
    }
}

fn perm(name: &str, id: &str, state: GrantState) -> PermissionStatus {
    PermissionStatus {
        name: name.into(),
        app_role_id: id.into(),
        evidence: match state {
            GrantState::Granted => "in the token's roles and assigned to the service principal",
            _ => "not in the token's roles and not assigned to the service principal",
        }
        .into(),
        state,
    }
}

fn granted() -> PermissionReport {
    PermissionReport {
        required: vec![
            perm(
                "Directory.Read.All",
                DIRECTORY_READ_ALL,
                GrantState::Granted,
            ),
            perm(
                "Member.Read.Hidden",
                MEMBER_READ_HIDDEN,
                GrantState::Granted,
            ),
        ],
        over_privileged: vec![],
        secret_expiry: vec![SecretExpiry {
            hint: Some("Abc".into()),
            end_date_time: "2027-06-01T00:00:00Z".into(),
            days_left: 186,
        }],
        remediation: vec![],
        grant_commands: vec![],
        secret_in_use: None,
    }
}

fn hidden_missing() -> PermissionReport {
    PermissionReport {
        required: vec![
            perm(
                "Directory.Read.All",
                DIRECTORY_READ_ALL,
                GrantState::Granted,
            ),
            perm(
                "Member.Read.Hidden",
                MEMBER_READ_HIDDEN,
                GrantState::Missing,
            ),
        ],
        over_privileged: vec!["Directory.ReadWrite.All".into()],
        secret_expiry: vec![SecretExpiry {
            hint: Some("Abc".into()),
            end_date_time: "2026-12-05T00:00:00Z".into(),
            days_left: 8,
        }],
        remediation: vec![
            "Entra admin center > App registrations > your app > API permissions".into(),
            "Add a permission > Microsoft Graph > Application > Member.Read.Hidden".into(),
            "Grant admin consent for the tenant".into(),
        ],
        grant_commands: vec![GrantCommand {
            tool: "Azure CLI".into(),
            command: format!(
                "az ad app permission add --id {CLIENT} --api 00000003-0000-0000-c000-000000000000 --api-permissions {MEMBER_READ_HIDDEN}=Role && az ad app permission admin-consent --id {CLIENT}"
            ),
        }],
        secret_in_use: None,
    }
}

fn nothing_granted() -> PermissionReport {
    PermissionReport {
        required: vec![
            perm(
                "Directory.Read.All",
                DIRECTORY_READ_ALL,
                GrantState::Missing,
            ),
            perm(
                "Member.Read.Hidden",
                MEMBER_READ_HIDDEN,
                GrantState::Missing,
            ),
        ],
        over_privileged: vec![],
        secret_expiry: vec![],
        remediation: vec!["Grant Directory.Read.All and Member.Read.Hidden".into()],
        grant_commands: vec![],
        secret_in_use: None,
    }
}

fn happy() -> Script {
    Script {
        validations: [Ok(tenant())].into(),
        reports: [Ok(granted())].into(),
        ru_budget_per_10s: Some(5000),
        ..Script::default()
    }
}

fn profiles() -> Vec<ProfileSummary> {
    vec![
        ProfileSummary {
            name: "contoso".into(),
            tenant: TENANT.into(),
            cloud: Cloud::Global,
            last_run: Some(RunRecord {
                started: Utc.with_ymd_and_hms(2026, 11, 20, 14, 3, 0).unwrap(),
                duration_secs: 133.0,
                outcome: RunOutcome::Warnings,
                users: 5000,
                groups: 812,
                member_edges: 48211,
                owner_edges: 1377,
                warnings: 3,
                output_dir: PathBuf::from("/exports"),
                mode: None,
                changes: None,
            }),
        },
        ProfileSummary {
            name: "fabrikam-gov".into(),
            tenant: "22222222-3333-4444-5555-666666666666".into(),
            cloud: Cloud::UsGov,
            last_run: None,
        },
    ]
}

fn progress() -> ProgressSnapshot {
    ProgressSnapshot {
        users_done: 5000,
        users_total: Some(5000),
        groups_done: 812,
        groups_total: Some(812),
        member_lists_done: 406,
        member_edges: 24110,
        owner_lists_done: 390,
        owner_edges: 702,
        stats: RequestStats {
            requests: 1290,
            retries: 4,
            throttled: 3,
            resource_units: 3120,
            ..RequestStats::default()
        },
        elapsed: Duration::from_secs(83),
        warnings: vec![
            Warning {
                kind: WarningKind::HiddenMembershipUnreadable,
                group_id: Some("g-1".into()),
                group_name: Some("Board (hidden)".into()),
                detail: "Member.Read.Hidden is not granted".into(),
            },
            Warning {
                kind: WarningKind::GroupDeleted,
                group_id: Some("g-2".into()),
                group_name: None,
                detail: "deleted during the run".into(),
            },
        ],
        phase: Phase::Memberships,
    }
}

fn summary() -> ExtractionSummary {
    let dir = PathBuf::from("/data/exports");
    ExtractionSummary {
        files: vec![
            (dir.join("contoso_users.csv"), Some(5000)),
            (dir.join("contoso_groups.csv"), Some(812)),
            (dir.join("contoso_groups_members.csv"), Some(48211)),
            (dir.join("contoso_groups_owners.csv"), Some(1377)),
            (dir.join("contoso_manifest.json"), None),
        ],
        duration: Duration::from_secs(133),
        counts: ExtractionCounts {
            users: 5000,
            groups: 812,
            member_edges: 48211,
            owner_edges: 1377,
            ..ExtractionCounts::default()
        },
        warnings: progress().warnings,
        notes: Vec::new(),
        changes: Some(
            "Read only the changes since the previous run: 2 joiners, 1 leaver, 4 updates, 0 groups created, 0 groups deleted, members +7 -3, owners +0 -0."
                .into(),
        ),
    }
}

/// Snapshot with volatile values (temporary directories) filtered out.
macro_rules! snap {
    ($name:expr, $screen:expr) => {{
        let tmp = regex_escape(&std::env::temp_dir().display().to_string());
        insta::with_settings!({filters => vec![(tmp.as_str(), "[TMP]")]}, {
            insta::assert_snapshot!($name, $screen);
        });
    }};
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

#[tokio::test]
async fn home_empty_and_with_profiles() {
    let mut h = Harness::with(Script::default()).await;
    snap!("home_empty", h.screen());
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..Script::default()
    })
    .await;
    snap!("home_profiles", h.screen());
    h.press(KeyCode::Down);
    snap!("home_profiles_second_selected", h.screen());
    snap!("home_profiles_60x20", h.size(60, 20).screen());
}

#[tokio::test]
async fn home_loading_spinner_before_the_list_arrives() {
    let fake = FakeServices::new(Script::default());
    let (tx, _rx) = mpsc::unbounded_channel();
    let app = App::new(fake, options(), tx);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| super::ui::render(f, &app)).unwrap();
    snap!("home_loading", terminal.backend().to_string());
}

#[tokio::test]
async fn home_delete_asks_then_deletes() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('d'));
    snap!("home_confirm_delete", h.screen());
    h.press(KeyCode::Char('n'));
    assert!(!h.fake.calls().iter().any(|c| c.starts_with("delete")));
    h.press(KeyCode::Char('d')).press(KeyCode::Char('y'));
    h.settle().await;
    assert!(h.fake.calls().contains(&"delete contoso".to_string()));
    assert_eq!(h.app.profiles().len(), 1);
    snap!("home_after_delete", h.screen());
}

#[tokio::test]
async fn setup_steps_render_and_reject_bad_formats_on_their_field() {
    let mut h = Harness::with(happy()).await;
    h.press(KeyCode::Char('n'));
    snap!("step1_cloud", h.screen());
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Tenant));
    h.typ("contoso").press(KeyCode::Enter);
    assert_eq!(
        h.app.screen(),
        ScreenKind::Setup(Step::Tenant),
        "bad tenant must stay"
    );
    snap!("step2_tenant_not_guid_or_domain", h.screen());
    h.typ(".onmicrosoft.com").press(KeyCode::Enter);
    h.typ("not-a-guid").press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::ClientId));
    snap!("step3_client_id_not_guid", h.screen());
    snap!("step3_client_id_not_guid_60x20", h.size(60, 20).screen());
    h.size(80, 24);
    for _ in 0.."not-a-guid".len() {
        h.press(KeyCode::Backspace);
    }
    h.typ(CLIENT).press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Credential));
    h.press(KeyCode::Enter);
    snap!("step4_secret_empty", h.screen());
    h.typ(SECRET);
    let screen = h.screen();
    assert!(!screen.contains(SECRET), "the secret must be masked");
    snap!("step4_secret_masked", screen);
    assert!(h.fake.calls().iter().all(|c| !c.starts_with("validate")));
}

#[tokio::test]
async fn secret_id_is_warned_about_and_can_be_tried_anyway() {
    let mut h = Harness::with(happy()).await;
    h.press(KeyCode::Char('n'))
        .press(KeyCode::Enter)
        .typ(TENANT)
        .press(KeyCode::Enter)
        .typ(CLIENT)
        .press(KeyCode::Enter)
        .typ("99999999-8888-7777-6666-555555555555")
        .press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Credential));
    snap!("step4_secret_looks_like_secret_id", h.screen());
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Validating));
}

#[tokio::test]
async fn certificate_path_must_exist() {
    let mut h = Harness::with(happy()).await;
    h.press(KeyCode::Char('n'))
        .press(KeyCode::Enter)
        .typ(TENANT)
        .press(KeyCode::Enter)
        .typ(CLIENT)
        .press(KeyCode::Enter)
        .press(KeyCode::Tab)
        .typ("/nonexistent/app.pem")
        .press(KeyCode::Enter);
    snap!("step4_certificate_missing", h.screen());
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(&pem, "-----BEGIN CERTIFICATE-----").unwrap();
    for _ in 0.."/nonexistent/app.pem".len() {
        h.press(KeyCode::Backspace);
    }
    h.app.update(Action::Paste(pem.display().to_string()));
    h.press(KeyCode::Enter);
    h.settle().await;
    let calls = h.fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.contains(&format!("certificate={}", pem.display()))),
        "{calls:?}"
    );
}

#[tokio::test]
async fn custom_cloud_urls_are_checked() {
    let mut h = Harness::with(happy()).await;
    h.press(KeyCode::Char('n'));
    for _ in 0..4 {
        h.press(KeyCode::Down);
    }
    h.press(KeyCode::Tab).typ("http://10.0.0.5/login");
    h.press(KeyCode::Tab).typ("https://graph.example");
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Cloud));
    snap!("step1_custom_cloud_insecure_http", h.screen());
}

#[tokio::test]
async fn validation_spinner_then_errors_land_on_their_field() {
    let mut h = Harness::with(Script {
        validations: [
            Err(refused(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")),
            Err(refused(400, "invalid_tenant", 90002, "Tenant 'contoso.example' not found. Check to make sure you have the correct tenant ID.")),
            Ok(tenant()),
        ]
        .into(),
        reports: [Ok(granted())].into(),
        ..Script::default()
    })
    .await;
    h.fake.close_gate();
    h.walk_to_validation().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Validating));
    snap!("step4_validating", h.screen());
    h.fake.open_gate();
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Credential));
    snap!("step4_secret_rejected_aadsts7000215", h.screen());
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Tenant));
    snap!("step2_tenant_not_found_aadsts90002", h.screen());
    let calls = h.fake.calls();
    assert!(calls.iter().all(|c| !c.contains(SECRET)), "{calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains(&format!("secret=({} chars)", SECRET.len())))
    );
}

#[tokio::test]
async fn stale_validation_results_are_dropped() {
    let mut h = Harness::with(Script {
        validations: [
            Err(refused(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")),
            Ok(tenant()),
        ]
        .into(),
        reports: [Ok(granted())].into(),
        ..Script::default()
    })
    .await;
    h.fake.close_gate();
    h.walk_to_validation().await;
    h.press(KeyCode::Esc);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Credential));
    h.press(KeyCode::Enter); // second attempt
    h.fake.open_gate();
    h.settle().await;
    // The first attempt's rejection arrived too, but only the second attempt counts.
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Permissions));
    assert!(h.form().messages.is_empty(), "{:?}", h.form().messages);
    assert!(!h.screen().contains("rejected"));
}

#[tokio::test]
async fn permission_screens_and_recheck_after_consent() {
    let mut h = Harness::with(Script {
        validations: [Ok(tenant())].into(),
        reports: [Ok(nothing_granted()), Ok(hidden_missing()), Ok(granted())].into(),
        ..Script::default()
    })
    .await;
    h.fake.close_gate();
    h.walk_to_validation().await;
    h.fake.open_gate();
    h.settle().await;
    let screen = h.screen();
    assert!(
        !screen.contains("Enter next"),
        "Enter is refused here, the help must not offer it: {screen}"
    );
    snap!("step5_nothing_granted", screen);
    h.press(KeyCode::Enter);
    assert_eq!(
        h.app.screen(),
        ScreenKind::Setup(Step::Permissions),
        "cannot extract yet"
    );
    snap!("step5_nothing_granted_enter_refused", h.screen());
    h.press(KeyCode::Char('r'));
    h.settle().await;
    snap!("step5_hidden_missing_with_warnings", h.screen());
    snap!("step5_hidden_missing_60x20", h.size(60, 20).screen());
    h.size(80, 24).press(KeyCode::Char('r'));
    h.settle().await;
    let screen = h.screen();
    // A secret valid for 186 more days is no warning (run warns within 30 days).
    assert!(!screen.contains("Warnings"), "{screen}");
    assert!(
        screen.contains("Secret Abc… expires in 186 days"),
        "{screen}"
    );
    snap!("step5_all_granted", screen);
    let checks = h
        .fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("check"))
        .count();
    assert_eq!(checks, 3);
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Output));
}

#[tokio::test]
async fn permission_check_failure_offers_retry() {
    let mut h = Harness::with(Script {
        validations: [Ok(tenant())].into(),
        reports: [Err(ServiceError::new(
            ErrorKind::Graph,
            "Graph answered 503 Service Unavailable;",
        )
        .with_remedy("try again in a minute."))]
        .into(),
        ..Script::default()
    })
    .await;
    h.walk_to_validation().await;
    h.settle().await;
    snap!("step5_check_failed", h.screen());
}

#[tokio::test]
async fn output_step_defaults_prefix_and_checks_fields() {
    let mut h = Harness::with(happy()).await;
    h.walk_to_output().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Output));
    snap!("step6_output_defaults", h.screen());
    for _ in 0.."contoso.onmicrosoft.com".len() {
        h.press(KeyCode::Backspace);
    }
    h.typ("bad/prefix").press(KeyCode::Enter);
    snap!("step6_output_bad_prefix", h.screen());
    snap!("step6_output_bad_prefix_60x20", h.size(60, 20).screen());
}

#[tokio::test]
async fn save_then_extract_then_summary() {
    let mut h = Harness::with(happy()).await;
    h.walk_to_output().await;
    h.press(KeyCode::Tab)
        .press(KeyCode::Tab)
        .press(KeyCode::Char(' ')); // BOM on
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Save));
    snap!("step7_save", h.screen());
    // Tab goes to the schedule; a bad one is refused at the field, nothing is saved.
    h.press(KeyCode::Tab).typ("monthly").press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Save));
    assert!(!h.fake.calls().iter().any(|c| c.starts_with("save ")));
    snap!("step7_bad_schedule", h.screen());
    for _ in 0.."monthly".len() {
        h.press(KeyCode::Backspace);
    }
    h.typ("Daily at 6:30");
    // The timer's secret file is the next field.
    h.press(KeyCode::Tab).typ("/etc/entra/secret");
    h.fake.set_progress(progress());
    h.press(KeyCode::Enter);
    h.settle().await;
    assert!(
        h.fake.calls().contains(
            &"save contoso storage=Keyring prefix=contoso.onmicrosoft.com dir=/data/exports bom=true schedule=daily 06:30 file=/etc/entra/secret".into()
        ),
        "{:?}",
        h.fake.calls()
    );
    // The run right after saving is the saved profile's, with the secret just typed,
    // whatever the storage.
    assert!(
        h.fake
            .calls()
            .iter()
            .any(|c| c.starts_with("extract just saved contoso") && c.contains("secret=(")),
        "{:?}",
        h.fake.calls()
    );
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let screen = h.screen();
    assert!(screen.contains("Reruns daily at 06:30"), "{screen}");
    snap!("extract_progress", h.screen());
    snap!("extract_progress_60x20", h.size(60, 20).screen());
    h.size(80, 24);
    // Rates come from two samples 2 s apart.
    let mut later = progress();
    later.elapsed += Duration::from_secs(2);
    later.stats.requests += 40;
    later.stats.resource_units += 100;
    h.fake.set_progress(later);
    h.app.update(Action::Tick);
    let screen = h.screen();
    assert!(screen.contains("(20.0/s)"), "{screen}");
    assert!(
        screen.contains("RU/s 50.0 · 500 of 5,000 per 10 s (10%)"),
        "{screen}"
    );
    assert!(h.fake.finish_extraction(Ok(summary())));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Finished);
    snap!("summary", h.screen());
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Home);
}

#[tokio::test]
async fn save_without_keyring_offers_alternatives() {
    let mut script = happy();
    script.saves = [
        Err(SaveProblem {
            kind: SaveProblemKind::StorageUnreachable,
            message: "No OS keyring is reachable (no D-Bus Secret Service on this machine).".into(),
            alternatives: vec![
                SecretStorage::Environment,
                SecretStorage::SystemdCredential,
                SecretStorage::PlaintextFile,
            ],
        }),
        Ok(SaveOutcome {
            secret_stored_in:
                "the secret is not stored: set ENTRA_EXTRACT_CLIENT_SECRET before each later run"
                    .into(),
            schedule: None,
        }),
    ]
    .into();
    let mut h = Harness::with(script).await;
    h.walk_to_output().await;
    h.press(KeyCode::Enter).press(KeyCode::Enter);
    h.settle().await;
    snap!("step7_no_keyring_alternatives", h.screen());
    snap!(
        "step7_no_keyring_alternatives_60x20",
        h.size(60, 20).screen()
    );
    h.size(80, 24);
    h.press(KeyCode::Down)
        .press(KeyCode::Down)
        .press(KeyCode::Enter);
    snap!("step7_plaintext_confirm", h.screen());
    h.press(KeyCode::Char('n'));
    assert!(!h.fake.calls().iter().any(|c| c.contains("PlaintextFile")));
    h.press(KeyCode::Up)
        .press(KeyCode::Up)
        .press(KeyCode::Enter);
    h.settle().await;
    assert!(
        h.fake
            .calls()
            .iter()
            .any(|c| c.contains("storage=Environment"))
    );
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    snap!("extract_starting_with_saved_notice", h.screen());
}

/// A new profile's save step with the save started and held by the fake.
async fn saving_held() -> Harness {
    saving_held_answering(happy()).await
}

/// [`saving_held`], the save answering from `script`.
async fn saving_held_answering(script: Script) -> Harness {
    let mut h = Harness::with(script).await;
    h.walk_to_output().await;
    h.press(KeyCode::Enter);
    h.fake.close_gate();
    h.press(KeyCode::Enter);
    h.settle().await;
    assert!(h.app.is_waiting());
    h
}

/// `stop` (Ctrl-C or an interrupt) while the fake holds a save, move or delete: the wizard
/// waits for the work, and says so. Returns the screen.
fn stop_while_held(h: &mut Harness, stop: Action) -> String {
    h.app.update(stop);
    assert!(!h.app.should_quit(), "the work was left half done");
    flat(&h.screen())
}

/// The held work ends: the wizard quits. Returns what it says once the terminal is
/// restored, one line each (errors with "error: ", as the event loop prints them).
async fn finish_held(h: &mut Harness) -> Vec<String> {
    h.fake.open_gate();
    said_after_quitting(h).await
}

/// Once the work on screen has ended, the wizard has quit: what it says once the terminal
/// is restored, one line each (errors with "error: ", as the event loop prints them).
async fn said_after_quitting(h: &mut Harness) -> Vec<String> {
    h.settle().await;
    assert!(h.app.should_quit());
    h.app
        .exit_notices()
        .iter()
        .map(|n| match n.kind {
            NoticeKind::Info => n.text.clone(),
            NoticeKind::Error => format!("error: {}", n.text),
        })
        .collect()
}

/// A save runs to its end once started (it may be replacing another profile): Esc does not
/// walk away from it, and Ctrl-C quits only once it is done, so nothing is left half done;
/// what came of it is said after the wizard quits.
#[tokio::test]
async fn a_save_in_progress_is_waited_for_not_abandoned() {
    let mut h = saving_held().await;
    h.press(KeyCode::Esc);
    h.settle().await;
    assert!(h.app.is_waiting(), "Esc abandoned the save");
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Save));
    h.fake.open_gate();
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let screen = flat(&h.screen());
    assert!(screen.contains("Profile contoso saved"), "{screen}");
    assert!(h.app.exit_notices().is_empty(), "all was shown");

    let mut h = saving_held().await;
    let screen = stop_while_held(&mut h, Action::ctrl('c'));
    assert!(screen.contains("quits once"), "{screen}");
    assert_eq!(
        finish_held(&mut h).await,
        ["Profile contoso saved; secret stored in OS keyring."]
    );
}

/// A save that ends after Ctrl-C, failed or with a warning, is not dropped: the wizard
/// quits and says what came of it once the terminal is restored.
#[tokio::test]
async fn what_a_save_ends_with_after_ctrl_c_is_said_once_the_wizard_has_quit() {
    let failed = SaveProblem::failed(
        "the profile file could not be written: No space left on device (os error 28); nothing was changed",
    );
    let mut h = saving_held_answering(Script {
        saves: [Err(failed)].into(),
        ..happy()
    })
    .await;
    stop_while_held(&mut h, Action::ctrl('c'));
    assert_eq!(
        finish_held(&mut h).await,
        [
            "error: the profile contoso was not saved: the profile file could not be written: No space left on device (os error 28); nothing was changed"
        ]
    );

    let warned = SaveOutcome {
        secret_stored_in: "secret stored in the OS keyring".into(),
        schedule: Some("The replaced profile's systemd timer could not be removed; delete ~/.config/systemd/user/entra-extract-contoso.timer yourself.".into()),
    };
    let mut h = saving_held_answering(Script {
        saves: [Ok(warned)].into(),
        ..happy()
    })
    .await;
    stop_while_held(&mut h, Action::Interrupt);
    assert_eq!(
        finish_held(&mut h).await,
        [
            "Profile contoso saved; secret stored in the OS keyring. The replaced profile's systemd timer could not be removed; delete ~/.config/systemd/user/entra-extract-contoso.timer yourself."
        ]
    );
    assert!(
        !h.fake.calls().iter().any(|c| c.starts_with("extract")),
        "quitting starts no run: {:?}",
        h.fake.calls()
    );
}

/// Home with the first profile's delete started (d, y) and held by the fake, which answers
/// `answer`.
async fn deleting_held(answer: Result<String, ServiceError>) -> Harness {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        deletions: [answer].into(),
        ..Script::default()
    })
    .await;
    h.fake.close_gate();
    h.press(KeyCode::Char('d')).press(KeyCode::Char('y'));
    h.settle().await;
    assert!(h.app.is_waiting());
    h
}

/// A delete runs to its end once started, as a save does: Esc does not walk away from it
/// (its result is shown), and Ctrl-C quits once it is done, saying what came of it.
#[tokio::test]
async fn a_delete_in_progress_is_waited_for_and_what_came_of_it_is_said() {
    let refused = "Deleted profile contoso (deleted its run history), but its secret could not be deleted from the OS keyring: the keyring is locked; delete it with `entra-extract profile remove contoso`.";
    let mut h = deleting_held(Err(ServiceError::new(ErrorKind::Partial, refused))).await;
    h.press(KeyCode::Esc);
    h.settle().await;
    assert!(h.app.is_waiting(), "Esc abandoned the delete");
    h.fake.open_gate();
    h.settle().await;
    let screen = flat(&h.screen());
    assert!(
        screen.contains("but its secret could not be deleted"),
        "{screen}"
    );

    let mut h = deleting_held(Err(ServiceError::new(ErrorKind::Partial, refused))).await;
    let screen = stop_while_held(&mut h, Action::ctrl('c'));
    assert!(
        screen.contains("The wizard quits once profile contoso is deleted."),
        "{screen}"
    );
    assert_eq!(finish_held(&mut h).await, [format!("error: {refused}")]);

    let mut h = deleting_held(Ok("deleted its run history".into())).await;
    stop_while_held(&mut h, Action::Interrupt);
    assert_eq!(
        finish_held(&mut h).await,
        ["Deleted profile contoso (deleted its run history)."]
    );
}

#[tokio::test]
async fn continue_without_saving_extracts_the_draft() {
    let mut h = Harness::with(happy()).await;
    h.walk_to_output().await;
    h.press(KeyCode::Enter)
        .press(KeyCode::Down)
        .press(KeyCode::Enter);
    h.settle().await;
    let calls = h.fake.calls();
    assert!(!calls.iter().any(|c| c.starts_with("save")), "{calls:?}");
    assert!(
        calls.iter().any(|c| c.starts_with("extract draft")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn cancel_asks_for_confirmation_and_reports_no_partial_files() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..happy()
    })
    .await;
    h.fake.set_progress(progress());
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    h.press(KeyCode::Esc);
    snap!("extract_confirm_cancel", h.screen());
    // While the question is open the run waits before replacing any file.
    assert!(h.fake.commit_held());
    assert!(!h.fake.commit_extraction(), "no commit while asking");
    h.press(KeyCode::Char('n'));
    assert!(!h.fake.extraction_cancelled());
    assert!(!h.fake.commit_held(), "continuing releases the run");
    h.press(KeyCode::Esc);
    assert!(!h.fake.finish_extraction(Ok(summary())), "held again");
    h.press(KeyCode::Char('y'));
    assert!(h.fake.extraction_cancelled());
    assert!(h.fake.commit_held(), "a cancelled run never commits");
    snap!("extract_cancelling", h.screen());
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Finished);
    assert_eq!(h.app.last_error(), Some(&ExtractionError::Cancelled));
    snap!("summary_cancelled", h.screen());
    // A cancelled run can be started again from the summary.
    h.press(KeyCode::Char('r'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let runs = h
        .fake
        .calls()
        .iter()
        .filter(|c| *c == "extract saved contoso")
        .count();
    assert_eq!(runs, 2);
}

#[tokio::test]
async fn cancelling_after_the_files_were_written_says_so_instead_of_asking() {
    let mut h = Harness::extracting_past_the_commit_point().await;
    h.press(KeyCode::Esc);
    let screen = h.screen();
    assert!(!screen.contains("Cancel the extraction?"), "{screen}");
    assert!(
        screen.contains("Too late to cancel: the run has already replaced the files"),
        "{screen}"
    );
    assert!(!h.fake.extraction_cancelled());
    snap!("extract_cancel_too_late", screen);
    // Ctrl-C then only waits for the run to finish, and quits.
    h.app.update(Action::ctrl('c'));
    assert!(!h.fake.extraction_cancelled() && !h.app.should_quit());
    assert!(h.fake.finish_extraction(Ok(summary())));
    h.settle().await;
    assert!(h.app.should_quit());
}

#[tokio::test]
async fn ctrl_c_during_extraction_asks_then_cancels_then_quits() {
    let mut h = Harness::extracting_saved_profile().await;
    h.app.update(Action::ctrl('c'));
    assert!(
        !h.fake.extraction_cancelled(),
        "a stray Ctrl-C must only ask"
    );
    let screen = h.screen();
    assert!(
        screen.contains("Cancel the extraction and quit?"),
        "{screen}"
    );
    snap!("extract_confirm_ctrl_c", screen);
    h.press(KeyCode::Char('y'));
    assert!(h.fake.extraction_cancelled());
    assert!(!h.app.should_quit(), "must wait for the clean-up");
    h.settle().await;
    assert!(h.app.should_quit());
}

#[tokio::test]
async fn ctrl_c_then_another_key_keeps_extracting() {
    let mut h = Harness::extracting_saved_profile().await;
    h.app.update(Action::ctrl('c'));
    h.press(KeyCode::Char('n'));
    assert!(!h.fake.extraction_cancelled());
    assert!(!h.app.should_quit());
    // Esc's question afterwards is the plain cancel, not cancel-and-quit.
    h.press(KeyCode::Esc);
    h.press(KeyCode::Char('y'));
    assert!(h.fake.extraction_cancelled());
    h.settle().await;
    assert!(
        !h.app.should_quit(),
        "Esc then y cancels but stays in the wizard"
    );
}

#[tokio::test]
async fn repeated_ctrl_c_confirms_then_quits_without_waiting() {
    let mut h = Harness::extracting_saved_profile().await;
    h.app.update(Action::ctrl('c'));
    h.app.update(Action::ctrl('c'));
    assert!(h.fake.extraction_cancelled(), "the second Ctrl-C confirms");
    assert!(!h.app.should_quit());
    h.app.update(Action::ctrl('c'));
    assert!(h.app.should_quit());
}

#[tokio::test]
async fn interrupt_cancels_without_asking() {
    let mut h = Harness::extracting_saved_profile().await;
    h.app.update(Action::Interrupt);
    assert!(h.fake.extraction_cancelled());
    assert!(!h.app.should_quit(), "must wait for the clean-up");
    let said = said_after_quitting(&mut h).await;
    assert!(
        said.len() == 1 && said[0].contains("was cancelled; no files were left behind"),
        "{said:?}"
    );
}

/// An interrupt (a SIGINT, SIGTERM or SIGHUP from outside: the event loop makes each one
/// an `Action::Interrupt`, tests/wizard/demo_tui.rs sends them to the real binary) after the run
/// passed its commit point cancels nothing: the run is
/// replacing the files and completes, the screen says so instead of "Cancelling", and the
/// wizard quits once it has finished.
#[tokio::test]
async fn an_interrupt_after_the_commit_point_lets_the_run_complete_and_says_so() {
    let mut h = Harness::extracting_past_the_commit_point().await;
    h.app.update(Action::Interrupt);
    assert!(!h.fake.extraction_cancelled(), "a committing run completes");
    let screen = flat(&h.screen());
    assert!(!screen.contains("Cancelling"), "{screen}");
    assert!(
        screen.contains("Too late to cancel: the run has already replaced the files"),
        "{screen}"
    );
    assert!(!h.app.should_quit(), "it waits for the run to finish");
    // A second interrupt does not cut the run short either: it is recording its state and
    // history, without which the next run would read everything.
    h.app.update(Action::Interrupt);
    assert!(!h.app.should_quit(), "quit while the run was committing");
    let screen = flat(&h.screen());
    assert!(screen.contains("quits as soon as it is done"), "{screen}");
    assert!(h.fake.finish_extraction(Ok(summary())));
    // The summary screen was never seen: what the run came to is said after quitting.
    let said = said_after_quitting(&mut h).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("completed"), "{said:?}");
}

/// A terminal that has gone away (its window closed, its SSH session hung up): every frame
/// fails to reach it, as writing to a hung-up terminal does.
struct GoneTerminal(TestBackend);

impl ratatui::backend::Backend for GoneTerminal {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.0.draw(content).map_err(|e| match e {})
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        self.0.hide_cursor().map_err(|e| match e {})
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        self.0.show_cursor().map_err(|e| match e {})
    }
    fn get_cursor_position(&mut self) -> std::io::Result<ratatui::layout::Position> {
        self.0.get_cursor_position().map_err(|e| match e {})
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> std::io::Result<()> {
        self.0.set_cursor_position(position).map_err(|e| match e {})
    }
    fn clear(&mut self) -> std::io::Result<()> {
        self.0.clear().map_err(|e| match e {})
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> std::io::Result<()> {
        self.0.clear_region(clear_type).map_err(|e| match e {})
    }
    fn size(&self) -> std::io::Result<ratatui::layout::Size> {
        self.0.size().map_err(|e| match e {})
    }
    fn window_size(&mut self) -> std::io::Result<ratatui::backend::WindowSize> {
        self.0.window_size().map_err(|e| match e {})
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("the terminal is gone (hung up)"))
    }
}

/// Runs the event loop on `h`'s wizard with a terminal that is gone and input that ends:
/// returns the loop's result once the wizard quits (within 10 s).
async fn run_without_a_terminal(h: &mut Harness) -> color_eyre::Result<()> {
    let (_, closed) = mpsc::unbounded_channel();
    let actions = std::mem::replace(&mut h.rx, closed);
    let mut terminal = Terminal::new(GoneTerminal(TestBackend::new(80, 24))).expect("terminal");
    let ran = super::run_loop(&mut terminal, &mut h.app, futures::stream::empty(), actions);
    tokio::time::timeout(Duration::from_secs(10), ran)
        .await
        .expect("the wizard quits")
}

/// The terminal closing during a save (nothing can be drawn, no key read, a SIGHUP) stops
/// the wizard as an interrupt does, once: the save runs to its end first, and what came of
/// it is kept for stderr; the drawing error is returned after that.
#[tokio::test]
async fn a_save_runs_to_its_end_when_the_terminal_goes_away() {
    let mut h = saving_held().await;
    h.fake.open_gate();
    let ran = run_without_a_terminal(&mut h).await;
    assert!(ran.is_err_and(|e| e.to_string().contains("the terminal is gone")));
    assert!(h.app.should_quit());
    assert_eq!(
        h.app
            .exit_notices()
            .iter()
            .map(|n| &n.text)
            .collect::<Vec<_>>(),
        ["Profile contoso saved; secret stored in OS keyring."]
    );
}

/// A terminal that is gone (frames fail and input ends) is one interrupt, not two (which
/// would quit at once): the run is cancelled and its clean-up waited for.
#[tokio::test]
async fn a_run_is_cancelled_and_cleaned_up_when_the_terminal_goes_away() {
    let mut h = Harness::extracting_saved_profile().await;
    let ran = run_without_a_terminal(&mut h).await;
    assert!(ran.is_err());
    assert!(h.fake.extraction_cancelled());
    assert_eq!(h.app.screen(), ScreenKind::Finished, "the clean-up ended");
    assert_eq!(h.app.last_error(), Some(&ExtractionError::Cancelled));
}

#[tokio::test]
async fn long_profile_lists_scroll_to_the_selection() {
    let many: Vec<ProfileSummary> = (0..30)
        .map(|i| ProfileSummary {
            name: format!("tenant-{i:02}"),
            tenant: format!("t{i}.onmicrosoft.com"),
            cloud: Cloud::Global,
            last_run: None,
        })
        .collect();
    let mut h = Harness::with(Script {
        profiles: many,
        ..Script::default()
    })
    .await;
    for _ in 0..25 {
        h.press(KeyCode::Down);
    }
    let screen = h.screen();
    assert!(
        screen.contains("tenant-25 · t25.onmicrosoft.com"),
        "{screen}"
    );
    assert!(
        screen.contains(" tenant-25 "),
        "selected row must be visible: {screen}"
    );
    assert!(!screen.contains(" tenant-00 "), "{screen}");
}

#[tokio::test]
async fn leftover_custom_urls_do_not_block_a_known_cloud() {
    let mut h = Harness::with(happy()).await;
    h.press(KeyCode::Char('n'));
    for _ in 0..4 {
        h.press(KeyCode::Down);
    }
    h.press(KeyCode::Tab)
        .typ("not a url")
        .press(KeyCode::BackTab);
    for _ in 0..4 {
        h.press(KeyCode::Up);
    }
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Tenant));
}

/// A run whose plan fell back to plainer reads lists the manifest's notes on its summary,
/// as `run`'s summary does, with its warnings still below them.
#[tokio::test]
async fn the_summary_lists_the_runs_notes() {
    let mut h = Harness::extracting_saved_profile().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let notes = vec![
        "groups/delta failed (Microsoft Graph answered 404 Request_ResourceNotFound); the members and owners of the groups not read yet were read group by group instead".to_string(),
        "the users read in parts by prefix failed 8 times; the rest were read in one more listing".to_string(),
    ];
    assert!(
        h.fake
            .finish_extraction(Ok(ExtractionSummary { notes, ..summary() }))
    );
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Finished);
    let screen = h.screen();
    assert!(
        flat(&screen).contains("read group by group instead"),
        "{screen}"
    );
    snap!("summary_with_notes", screen);
    snap!("summary_with_notes_100x30", h.size(100, 30).screen());
}

#[tokio::test]
async fn failed_start_and_failed_run_are_reported() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        start_error: Some(ServiceError::new(
            ErrorKind::Secret,
            "The secret for contoso is not in the OS keyring; edit the profile and enter it again.",
        )),
        ..happy()
    })
    .await;
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Finished);
    snap!("summary_failed_to_start", h.screen());
}

#[tokio::test]
async fn edit_loads_the_profile_into_the_wizard() {
    let draft = ProfileDraft {
        name: "contoso".into(),
        credentials: CredentialsInput {
            cloud: Cloud::UsGov,
            authority_url: None,
            graph_url: None,
            tenant: TENANT.into(),
            client_id: CLIENT.into(),
            credential: CredentialInput::Secret(SECRET.into()),
        },
        output: OutputSettings {
            domain_prefix: "contoso".into(),
            directory: PathBuf::from("/data/exports"),
            bom: true,
        },
        tenant: Some(tenant()),
        replaces: None,
        secret_given: false,
        schedule: None,
        credential_file: None,
        if_name_taken: Default::default(),
    };
    let mut h = Harness::with(Script {
        profiles: profiles(),
        drafts: [("contoso".to_string(), draft)].into(),
        ..happy()
    })
    .await;
    h.press(KeyCode::Char('e'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Cloud));
    snap!("edit_step1_cloud", h.screen());
    h.press(KeyCode::Enter)
        .press(KeyCode::Enter)
        .press(KeyCode::Enter);
    snap!("edit_step4_secret_kept", h.screen());
    // Saved under its own name, the edited profile is simply saved: it is no new profile.
    h.press(KeyCode::Enter);
    h.settle().await;
    h.press(KeyCode::Enter)
        .press(KeyCode::Enter)
        .press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting, "{}", h.screen());
    assert!(
        h.fake
            .calls()
            .iter()
            .any(|c| c.starts_with("save contoso storage=Keyring") && !c.ends_with("replace")),
        "{:?}",
        h.fake.calls()
    );
}

#[tokio::test]
async fn saving_a_new_profile_under_a_taken_name_asks_before_replacing_it() {
    let saves = |h: &Harness| -> Vec<String> {
        h.fake
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("save "))
            .collect()
    };
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..happy()
    })
    .await;
    h.walk_to_output().await;
    h.press(KeyCode::Enter);
    assert_eq!(h.form_name(), "contoso", "the name proposed is taken");
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Save));
    let screen = h.screen();
    assert!(
        screen.contains("A saved profile is named contoso already")
            && screen.contains("Replace it?"),
        "{screen}"
    );
    snap!("step7_name_taken", screen);
    snap!("step7_name_taken_60x20", h.size(60, 20).screen());
    h.size(80, 24);
    assert!(!h.fake.calls().iter().any(|c| c.starts_with("extract")));
    // Any other key: choose another name, typed into the name field.
    h.press(KeyCode::Char('n'));
    assert_eq!(
        h.form_name(),
        "contoso",
        "the answer is not typed into the name"
    );
    h.typ("-eu").press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let saves = saves(&h);
    assert_eq!(saves.len(), 2, "{saves:?}");
    assert!(saves[1].starts_with("save contoso-eu "), "{saves:?}");
    assert!(!saves.iter().any(|c| c.ends_with(" replace")), "{saves:?}");

    // y: replace it, with the storage chosen before.
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..happy()
    })
    .await;
    h.walk_to_output().await;
    h.press(KeyCode::Enter).press(KeyCode::Enter);
    h.settle().await;
    h.press(KeyCode::Char('y'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    let calls = h.fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("save contoso storage=Keyring") && c.ends_with(" replace")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn check_from_home_shows_the_report_and_returns_home() {
    let mut h = Harness::checking_saved_profile(hidden_missing()).await;
    assert!(h.fake.calls().contains(&"check saved contoso".into()));
    snap!("home_check_saved_profile", h.screen());
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Home);
}

/// A demo app of a simulated tenant on loopback (its secret is [`SECRET`]).
fn demo(label: &str, description: &str, client: &str) -> DemoChoice {
    DemoChoice {
        label: label.into(),
        description: description.into(),
        tenant: "demo.onmicrosoft.com".into(),
        client_id: client.into(),
        secret: SECRET.into(),
        authority_url: "http://127.0.0.1:8400".into(),
        graph_url: "http://127.0.0.1:8400".into(),
    }
}

#[tokio::test]
async fn demo_picker_prefills_the_wizard() {
    let options = WizardOptions {
        demo_apps: vec![
            demo(
                "Reader app",
                "All permissions granted: the happy path.",
                CLIENT,
            ),
            demo(
                "No hidden members",
                "Member.Read.Hidden missing: hidden memberships become warnings.",
                "22222222-2222-3333-4444-555555555555",
            ),
            demo(
                "No grants",
                "Nothing consented: the permission check fails.",
                "33333333-2222-3333-4444-555555555555",
            ),
            demo(
                "Expired secret",
                "The secret expired: sign-in fails with AADSTS7000222.",
                "44444444-2222-3333-4444-555555555555",
            ),
        ],
        ..options()
    };
    let mut h = Harness::new(happy(), options).await;
    assert_eq!(h.app.screen(), ScreenKind::DemoPicker);
    snap!("demo_picker", h.screen());
    h.press(KeyCode::Down).press(KeyCode::Enter);
    snap!("demo_step1_custom_cloud_prefilled", h.screen());
    h.press(KeyCode::Enter)
        .press(KeyCode::Enter)
        .press(KeyCode::Enter)
        .press(KeyCode::Enter);
    h.settle().await;
    let calls = h.fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c
                .starts_with("validate cloud=Custom tenant=demo.onmicrosoft.com client=22222222")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn tiny_terminal_asks_for_more_room() {
    let mut h = Harness::with(Script::default()).await;
    snap!("too_small", h.size(30, 8).screen());
}

/// Every cell of the current frame: (fg, bg).
fn colours(h: &mut Harness) -> Vec<(ratatui::style::Color, ratatui::style::Color)> {
    h.screen();
    h.terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| (c.fg, c.bg))
        .collect()
}

#[tokio::test]
async fn no_color_draws_without_colours_and_no_screen_sets_a_background() {
    use ratatui::style::Color;
    for no_color in [true, false] {
        let mut script = happy();
        script.reports = [Ok(hidden_missing())].into();
        let mut h = Harness::new(
            script,
            WizardOptions {
                no_color,
                ..options()
            },
        )
        .await;
        let mut seen = Vec::new();
        h.press(KeyCode::Char('n'))
            .press(KeyCode::Enter)
            .typ("bad")
            .press(KeyCode::Enter);
        seen.extend(colours(&mut h)); // tenant error
        for _ in 0..3 {
            h.press(KeyCode::Backspace);
        }
        h.typ(TENANT)
            .press(KeyCode::Enter)
            .typ(CLIENT)
            .press(KeyCode::Enter);
        h.typ(SECRET).press(KeyCode::Enter);
        h.settle().await;
        seen.extend(colours(&mut h)); // permission report with errors and warnings
        h.fake.set_progress(progress());
        h.press(KeyCode::Enter)
            .press(KeyCode::Enter)
            .press(KeyCode::Enter);
        h.settle().await;
        assert_eq!(h.app.screen(), ScreenKind::Extracting);
        seen.extend(colours(&mut h));
        assert!(
            seen.iter().all(|(_, bg)| *bg == Color::Reset),
            "a background colour was set"
        );
        let coloured = seen.iter().any(|(fg, _)| *fg != Color::Reset);
        assert_eq!(coloured, !no_color, "no_color={no_color}");
    }
}

#[tokio::test]
async fn an_older_profile_list_does_not_overwrite_a_newer_one() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('d')).press(KeyCode::Char('y'));
    h.settle().await;
    assert_eq!(h.app.profiles().len(), 1);
    // The initial load (generation 1) answering late must not bring the deleted one back.
    h.app.update(Action::ProfilesLoaded(1, Ok(profiles())));
    assert_eq!(h.app.profiles().len(), 1, "a stale list must be dropped");
}

#[tokio::test]
async fn remaining_states_render() {
    // Home: the profile list could not be read.
    let fake = FakeServices::new(Script::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let mut h = Harness {
        app: App::new(fake.clone(), options(), tx),
        rx,
        fake,
        terminal: Terminal::new(TestBackend::new(80, 24)).unwrap(),
    };
    h.settle().await;
    h.app.update(Action::ProfilesLoaded(1, Err(ServiceError::new(
        ErrorKind::Profile,
        "The profile file ~/.config/entra-extract/profiles.toml is not valid TOML (line 3); fix or delete it.",
    ))));
    snap!("home_profiles_unreadable", h.screen());

    // Credential: a problem not tied to one field, and a certificate problem from sign-in.
    let mut h = Harness::with(Script {
        validations: [Err(CredentialProblem {
            field: Field::None,
            message: "The token endpoint could not be reached: connection refused.".into(),
            remedy: "Check the network or proxy (HTTPS_PROXY), then press Enter to try again."
                .into(),
        })]
        .into(),
        ..Script::default()
    })
    .await;
    h.walk_to_validation().await;
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Credential));
    snap!("step4_network_problem", h.screen());

    // Permissions: still checking, then an expired secret.
    let mut expired = granted();
    expired.secret_expiry[0].days_left = -3;
    expired.secret_expiry[0].end_date_time = "2026-11-24T00:00:00Z".into();
    let mut h = Harness::with(Script {
        validations: [Ok(tenant())].into(),
        reports: [Ok(expired)].into(),
        ..Script::default()
    })
    .await;
    h.walk_to_validation().await;
    h.apply_next().await; // only the validation result: the check is still running
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Permissions));
    snap!("step5_checking", h.screen());
    h.settle().await;
    snap!("step5_secret_expired", h.screen());

    // Output with the BOM toggle focused and on; then saving in progress.
    h.press(KeyCode::Enter)
        .press(KeyCode::Up)
        .press(KeyCode::Char(' '));
    assert!(h.form().bom);
    snap!("step6_bom_focused_on", h.screen());
    h.press(KeyCode::Enter);
    h.app.update(Action::key(KeyCode::Enter));
    assert!(h.app.is_waiting());
    snap!("step7_saving", h.screen());

    // Extraction before the run reports its handle, and with many warnings.
    let mut h = Harness::with(Script {
        profiles: profiles(),
        ..happy()
    })
    .await;
    h.press(KeyCode::Enter);
    snap!("extract_starting", h.screen());
    let mut busy = progress();
    busy.warnings = (1..=12)
        .map(|i| Warning {
            kind: WarningKind::HiddenMembershipUnreadable,
            group_id: Some(format!("g-{i}")),
            group_name: Some(format!("Hidden group {i}")),
            detail: "Member.Read.Hidden is not granted".into(),
        })
        .collect();
    h.fake.set_progress(busy);
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Hidden group 12"),
        "newest warning shown: {screen}"
    );
    snap!("extract_many_warnings", screen);

    // The summary lists warnings from the first and scrolls.
    let mut done = summary();
    done.warnings = h.extraction().snapshot.warnings.clone();
    assert!(h.fake.finish_extraction(Ok(done)));
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("Hidden group 1 "), "{screen}");
    assert!(screen.contains("↓ more"), "{screen}");
    snap!("summary_many_warnings", screen);
    for _ in 0..20 {
        h.press(KeyCode::Down);
    }
    let screen = h.screen();
    assert!(screen.contains("Hidden group 12"), "{screen}");
    assert!(!screen.contains("Hidden group 1 "), "{screen}");
    assert!(!screen.contains("↓ more"), "{screen}");
}

const NEW_CLIENT: &str = "99999999-aaaa-bbbb-cccc-dddddddddddd";

fn created(profile: &str) -> CreatedApp {
    CreatedApp {
        profile: profile.into(),
        client_id: NEW_CLIENT.into(),
        secret_valid_until: "2027-05-26T10:00:00Z".into(),
    }
}

fn sign_in_code() -> NewAppUpdate {
    NewAppUpdate::SignIn {
        url: "https://microsoft.com/devicelogin".into(),
        code: "GDKJ4JQKZ".into(),
        expires: Duration::from_secs(900),
    }
}

#[tokio::test]
async fn creating_an_app_registration_from_home_to_extraction() {
    let mut h = Harness::with(Script {
        new_apps: [(
            vec![
                sign_in_code(),
                NewAppUpdate::Line("Signed in as admin@contoso.com.".into()),
                NewAppUpdate::Line("Creating the app registration…".into()),
            ],
            Ok(created("contoso-new")),
        )]
        .into(),
        ..happy()
    })
    .await;
    h.press(KeyCode::Char('a'));
    assert_eq!(h.app.screen(), ScreenKind::NewApp);
    snap!("new_app_form", h.screen());
    // No tenant: the hint names where to find it; there is no app (or its page) yet.
    h.press(KeyCode::Enter);
    let screen = h.screen();
    assert!(screen.contains("Enter the tenant."), "{screen}");
    assert!(!screen.contains("app's Overview"), "{screen}");
    assert!(flat(&screen).contains("(Entra ID > Overview)"), "{screen}");
    // A bad tenant is refused on its field before anything is sent.
    h.typ("not a tenant").press(KeyCode::Enter);
    assert!(h.fake.calls().iter().all(|c| !c.starts_with("create_app")));
    snap!("new_app_bad_tenant", h.screen());
    for _ in 0.."not a tenant".len() {
        h.press(KeyCode::Backspace);
    }
    h.typ(TENANT).press(KeyCode::Tab);
    for _ in 0.."entra-extract".len() {
        h.press(KeyCode::Backspace);
    }
    h.typ("contoso-new");
    h.fake.close_gate();
    h.press(KeyCode::Enter);
    h.settle().await;
    // The code shows while the administrator signs in; Ctrl-C does not abandon it.
    snap!("new_app_signing_in", h.screen());
    h.app.update(Action::ctrl('c'));
    assert!(
        !h.app.should_quit(),
        "a half-done creation is not abandoned"
    );
    assert!(h.fake.task_cancelled(), "Ctrl-C stops it at its next step");
    h.fake.open_gate();
    h.settle().await;
    assert!(
        h.fake
            .calls()
            .contains(&"create_app profile=contoso-new tenant=contoso.onmicrosoft.com cloud=Global dir=/data/exports".to_string()),
        "{:?}",
        h.fake.calls()
    );
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Application (client) id: {NEW_CLIENT}")),
        "the new app's client id is shown, as the CLI prints it: {screen}"
    );
    snap!("new_app_ready", screen);
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Extracting);
    assert!(
        h.fake
            .calls()
            .iter()
            .any(|c| c == "extract saved contoso-new"),
        "{:?}",
        h.fake.calls()
    );
}

#[tokio::test]
async fn a_failed_creation_lists_what_exists_and_deletes_it_on_request() {
    let failure = NewAppFailure {
        message: "Granting admin consent for Directory.Read.All failed: access denied".into(),
        created: vec![
            "the app registration 1234 (object id 5678)".into(),
            "its service principal (object id 9abc)".into(),
        ],
        removable: true,
        app_id: Some("1234".into()),
        saved_profile: None,
    };
    let mut h = Harness::with(Script {
        new_apps: [(vec![sign_in_code()], Err(failure))].into(),
        removals: [Ok(
            "Deleted the app registration 1234 and everything it came with.".into(),
        )]
        .into(),
        ..happy()
    })
    .await;
    h.press(KeyCode::Char('a'))
        .typ(TENANT)
        .press(KeyCode::Enter);
    h.settle().await;
    snap!("new_app_failed", h.screen());
    // Kept: the screen says how to delete it later; Enter starts over.
    h.press(KeyCode::Char('k'));
    let screen = h.screen();
    assert!(
        screen.contains("app delete --app-id 1234 --tenant") && screen.contains(TENANT),
        "{screen}"
    );
    h.press(KeyCode::Enter).press(KeyCode::Enter);
    h.settle().await;
    h.press(KeyCode::Char('d'));
    h.settle().await;
    assert!(h.fake.calls().contains(&"remove_created_app".to_string()));
    let screen = h.screen();
    assert!(
        screen.contains("Deleted the app registration 1234"),
        "{screen}"
    );
}

#[tokio::test]
async fn the_demo_offers_creating_an_app_registration_on_its_simulated_tenant() {
    let demo = demo("Reader app", "All permissions granted.", CLIENT);
    // From the picker, and from the home screen: never the global cloud in the demo.
    for from_home in [false, true] {
        let script = Script {
            new_apps: [(vec![], Ok(created("demo-created")))].into(),
            ..happy()
        };
        let mut h = Harness::in_demo(script, &demo).await;
        if from_home {
            h.press(KeyCode::Esc);
            assert_eq!(h.app.screen(), ScreenKind::Home);
        }
        h.press(KeyCode::Char('a'));
        assert_eq!(h.app.screen(), ScreenKind::NewApp);
        h.press(KeyCode::Enter);
        h.settle().await;
        assert!(
            h.fake.calls().iter().any(|c| c
                == "create_app profile=demo-created tenant=demo.onmicrosoft.com cloud=Custom dir=/data/exports"),
            "from_home={from_home}: {:?}",
            h.fake.calls()
        );
    }
}

/// In the demo every form signs in on the simulated tenant: "Enter my own app registration"
/// opens on its cloud and endpoints with its tenant filled in, and the cloud step of any
/// demo form cannot switch to Microsoft's clouds or other URLs.
#[tokio::test]
async fn in_the_demo_every_form_stays_on_the_simulated_tenant() {
    let demo = demo("Reader app", "All permissions granted.", CLIENT);
    let simulated = "cloud=Custom tenant=demo.onmicrosoft.com client=11111111-2222-3333-4444-555555555555 secret=(23 chars) authority=http://127.0.0.1:8400 graph=http://127.0.0.1:8400";
    // The demo app, then "Enter my own app registration" below it.
    for own in [false, true] {
        let mut h = Harness::in_demo(happy(), &demo).await;
        if own {
            h.press(KeyCode::Down);
        }
        h.press(KeyCode::Enter);
        assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Cloud));
        // Up to the global cloud, Tab into the URL fields and type: nothing moves.
        for _ in 0..CLOUDS.len() {
            h.press(KeyCode::Up);
        }
        h.press(KeyCode::Tab)
            .typ("https://login.microsoftonline.com");
        if own {
            snap!("demo_own_app_step1_simulated_tenant", h.screen());
        }
        h.press(KeyCode::Enter);
        assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Tenant));
        h.press(KeyCode::Enter);
        assert_eq!(
            h.app.screen(),
            ScreenKind::Setup(Step::ClientId),
            "own={own}"
        );
        if own {
            h.typ(CLIENT).press(KeyCode::Enter).typ(SECRET);
        } else {
            h.press(KeyCode::Enter);
        }
        h.press(KeyCode::Enter);
        h.settle().await;
        let calls = h.fake.calls();
        let signed_in = calls
            .iter()
            .find_map(|c| c.strip_prefix("validate "))
            .unwrap_or_default();
        assert_eq!(signed_in, simulated, "own={own}: {calls:?}");
    }
}

#[tokio::test]
async fn a_secret_close_to_expiry_is_rotated_from_the_saved_check() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        // hidden_missing's secret ends in 8 days; granted's in 186.
        reports: [Ok(hidden_missing())].into(),
        rotations: [Ok("Profile contoso now uses a new secret (valid until 2027-06-01T00:00:00Z). The old secret was removed.".into())].into(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('c'));
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("s rotate the secret now"), "{screen}");
    h.press(KeyCode::Char('s'));
    assert_eq!(h.app.screen(), ScreenKind::NewApp);
    h.settle().await;
    assert!(
        h.fake
            .calls()
            .contains(&"rotate_secret contoso".to_string())
    );
    snap!("rotated_from_saved_check", h.screen());
    h.press(KeyCode::Enter);
    assert_eq!(h.app.screen(), ScreenKind::Home);

    // A secret far from expiry offers no rotation; nor does an expiring one not in use
    // (rotating would replace the secret in use and leave that one).
    let not_in_use = PermissionReport {
        secret_in_use: Some("Xyz".into()),
        ..hidden_missing()
    };
    for report in [granted(), not_in_use] {
        let mut h = Harness::checking_saved_profile(report).await;
        h.press(KeyCode::Char('s'));
        assert_eq!(h.app.screen(), ScreenKind::Check);
        assert!(
            !h.fake
                .calls()
                .iter()
                .any(|c| c.starts_with("rotate_secret"))
        );
    }
}

/// Text a user needs is wrapped by words and never cut: a notice that ends with advice, the
/// remedy at the end of a warning, file paths longer than the screen (no word broken in
/// two, a path only after a `/`), at 80×24 and at 100×30.
#[tokio::test]
async fn long_text_wraps_by_words_and_is_never_cut() {
    let demo_schedule = "The demo installs no schedule: its profiles are deleted when it ends (`entra-extract schedule add` schedules a real profile).";
    let hidden = Warning::hidden_membership_unreadable("g-1", "Board of directors (hidden)");
    let dir = PathBuf::from(
        "/home/someone/projects/identity-analytics/quarterly-reviews/entra-extract-demo",
    );
    let domain = "contoso-corporation-worldwide.onmicrosoft.com";
    let files: Vec<(PathBuf, Option<u64>)> =
        ["_users.csv", "_groups_members.csv", "_manifest.json"]
            .iter()
            .map(|s| (dir.join(format!("{domain}{s}")), Some(10)))
            .collect();
    for (w, hgt) in [(80, 24), (100, 30)] {
        let mut script = happy();
        script.saves =
            [Ok(SaveOutcome {
                secret_stored_in:
                    "secret stored in the OS keyring (in-memory demo keyring, forgotten on exit)"
                        .into(),
                schedule: Some(demo_schedule.into()),
            })]
            .into();
        let mut h = Harness::with(script).await;
        h.size(w, hgt);
        h.walk_to_output().await;
        h.press(KeyCode::Enter)
            .press(KeyCode::Tab)
            .typ("daily 02:00");
        h.fake.set_progress(ProgressSnapshot {
            warnings: vec![hidden.clone()],
            ..progress()
        });
        h.press(KeyCode::Enter);
        h.settle().await;
        let screen = h.screen();
        assert!(
            flat(&screen).contains(demo_schedule),
            "{w}×{hgt}: the notice is cut:\n{screen}"
        );
        assert!(
            flat(&screen).contains("with admin consent and run again"),
            "{w}×{hgt}: the warning's remedy is cut:\n{screen}"
        );
        assert!(h.fake.finish_extraction(Ok(ExtractionSummary {
            files: files.clone(),
            warnings: vec![hidden.clone()],
            ..summary()
        })));
        h.settle().await;
        let screen = h.screen();
        assert!(
            flat(&screen).contains("with admin consent and run again"),
            "{w}×{hgt}: the summary's warning is cut:\n{screen}"
        );
        for (path, _) in &files {
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(
                screen.contains(name.as_ref()),
                "{w}×{hgt}: {name} is broken across lines:\n{screen}"
            );
        }
        // The directory, rejoined from the rows it wraps over: whole, broken only after `/`.
        let text = flat(&screen);
        let words: Vec<&str> = text
            .split_whitespace()
            .skip_while(|w| !w.starts_with("/home/"))
            .collect();
        let whole = format!("{}:", dir.display());
        let mut joined = String::new();
        for (i, word) in words.iter().enumerate() {
            joined.push_str(word);
            if joined.len() >= whole.len() {
                break;
            }
            assert!(
                word.ends_with('/'),
                "{w}×{hgt}: the directory breaks mid-word at {i}:\n{screen}"
            );
        }
        assert_eq!(joined, whole, "{w}×{hgt}:\n{screen}");
        if (w, hgt) == (80, 24) {
            snap!("summary_long_paths_and_warning", screen);
        }
    }
}

/// A grant command wraps on screen, so copying it from the terminal would break it: its
/// letter copies it whole, to the clipboard and into a file whose path is shown.
#[tokio::test]
async fn a_grant_command_is_copied_whole_by_its_letter() {
    let command = hidden_missing().grant_commands[0].command.clone();
    let copied = |h: &mut Harness, file: &str| {
        assert_eq!(h.app.take_clipboard().as_deref(), Some(command.as_str()));
        let call = format!("save_copy {file} {command}");
        assert!(h.fake.calls().contains(&call), "{:?}", h.fake.calls());
    };
    let mut h = Harness::with(Script {
        validations: [Ok(tenant())].into(),
        reports: [Ok(hidden_missing())].into(),
        ..Script::default()
    })
    .await;
    h.walk_to_validation().await;
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Setup(Step::Permissions));
    h.press(KeyCode::Char('a'));
    h.settle().await;
    let file = format!("grant-{CLIENT}-azure-cli.txt");
    copied(&mut h, &file);
    let screen = h.screen();
    assert!(
        flat(&screen).contains(&format!("/data/copied/{file}")),
        "the file is named: {screen}"
    );
    snap!("step5_grant_command_copied", screen);
    // A letter without a command copies nothing.
    h.press(KeyCode::Char('b'));
    assert_eq!(h.app.take_clipboard(), None);

    // From home's check of a saved profile, the file is named after the profile.
    let mut h = Harness::checking_saved_profile(hidden_missing()).await;
    h.press(KeyCode::Char('a'));
    h.settle().await;
    copied(&mut h, "grant-contoso-azure-cli.txt");
}

#[tokio::test]
async fn s_on_home_moves_the_secret_and_asks_for_it_when_it_cannot_be_read() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        storage_changes: [
            Err(StorageProblem {
                message: "The secret of contoso cannot be read where it is kept now (no OS keyring is reachable: no D-Bus session).".into(),
                needs_secret: true,
            }),
            Ok("Profile contoso now keeps its secret in the plaintext file /home/u/.config/entra-extract/secrets/contoso.".into()),
        ]
        .into(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('s'));
    assert_eq!(h.app.screen(), ScreenKind::SecretStorage);
    snap!("secret_storage_choose", h.screen());
    // The plain-text file, last: asked first.
    h.press(KeyCode::Down)
        .press(KeyCode::Down)
        .press(KeyCode::Down)
        .press(KeyCode::Enter);
    snap!("secret_storage_plaintext_confirm", h.screen());
    h.press(KeyCode::Char('y'));
    h.settle().await;
    snap!("secret_storage_needs_the_secret", h.screen());
    h.app.update(Action::Paste(format!("{SECRET}\n")));
    h.press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Home);
    let screen = h.screen();
    assert!(
        screen.contains("Profile contoso now keeps its secret in the plaintext file"),
        "{screen}"
    );
    assert_eq!(
        h.fake
            .calls()
            .iter()
            .filter(|c| c.starts_with("change_secret_storage"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "change_secret_storage contoso storage=PlaintextFile secret=none".to_string(),
            format!(
                "change_secret_storage contoso storage=PlaintextFile secret=({} chars)",
                SECRET.len()
            ),
        ]
    );
}

/// What the fake's move to the keyring says.
const MOVED: &str = "Profile contoso now keeps its secret in the OS keyring. The old copy was deleted from the plaintext file /home/u/.config/entra-extract/secrets/contoso.";

/// The secret-storage screen of the first profile with a move to the keyring started and
/// held by the fake.
async fn moving_held() -> Harness {
    moving_held_answering(Ok(MOVED.to_string())).await
}

/// [`moving_held`], the move answering `answer`.
async fn moving_held_answering(answer: Result<String, StorageProblem>) -> Harness {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        storage_changes: [answer].into(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('s'));
    h.fake.close_gate();
    h.press(KeyCode::Enter);
    h.settle().await;
    assert!(h.app.is_waiting());
    h
}

/// A move of the secret runs to its end once started (it deletes the old copy last): Esc
/// does not walk away from it, so no second move of the same profile can start beside it,
/// and what came of it is said; Ctrl-C quits only once it is done, and says it then.
#[tokio::test]
async fn a_move_of_the_secret_in_progress_is_waited_for_not_abandoned() {
    let mut h = moving_held().await;
    h.press(KeyCode::Esc);
    h.settle().await;
    assert!(h.app.is_waiting(), "Esc abandoned the move");
    assert_eq!(h.app.screen(), ScreenKind::SecretStorage);
    h.press(KeyCode::Enter);
    h.fake.open_gate();
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::Home);
    let screen = flat(&h.screen());
    assert!(screen.contains("The old copy was deleted"), "{screen}");
    let moves = h
        .fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("change_secret_storage"))
        .count();
    assert_eq!(moves, 1, "{:?}", h.fake.calls());

    let mut h = moving_held().await;
    let screen = stop_while_held(&mut h, Action::ctrl('c'));
    assert!(screen.contains("quits once"), "{screen}");
    assert_eq!(finish_held(&mut h).await, [MOVED]);

    let mut h = moving_held_answering(Err(StorageProblem {
        message: "the OS keyring refused the secret: the collection is locked; nothing was moved"
            .into(),
        needs_secret: false,
    }))
    .await;
    stop_while_held(&mut h, Action::Interrupt);
    assert_eq!(
        finish_held(&mut h).await,
        [
            "error: the secret of profile contoso was not moved: the OS keyring refused the secret: the collection is locked; nothing was moved"
        ]
    );
}

#[tokio::test]
async fn a_refused_move_of_the_secret_is_shown_and_another_place_can_be_chosen() {
    let mut h = Harness::with(Script {
        profiles: profiles(),
        storage_changes: [Err(StorageProblem {
            message: "profile \"contoso\" keeps its secret in the OS keyring already; to replace the secret itself, use `entra-extract profile set-secret contoso` without --storage".into(),
            needs_secret: false,
        })]
        .into(),
        ..Script::default()
    })
    .await;
    h.press(KeyCode::Char('s')).press(KeyCode::Enter);
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenKind::SecretStorage);
    snap!("secret_storage_refused", h.size(60, 20).screen());
    h.press(KeyCode::Esc);
    assert_eq!(h.app.screen(), ScreenKind::Home);
}
