//! What the user has typed into the wizard, shared by the setup steps, the output and save
//! steps and the editing of a saved profile: the fields, which one has the keyboard, and
//! the draft built from them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tui_input::Input;

use crate::graph::cloud::Cloud;
use crate::tui::app::DemoChoice;
use crate::tui::services::{
    CredentialInput, CredentialsInput, Field, IfNameTaken, OutputSettings, ProfileDraft, TenantInfo,
};
use crate::tui::validate::FormatError;
use crate::tui::widgets::{FieldMessage, SecretField, Severity};

/// The clouds in the order the picker lists them.
pub const CLOUDS: [Cloud; 5] = [
    Cloud::Global,
    Cloud::UsGov,
    Cloud::UsGovDod,
    Cloud::China,
    Cloud::Custom,
];

/// Which part of the cloud step has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudFocus {
    List,
    Authority,
    Graph,
}

/// Secret or certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Secret,
    Certificate,
}

/// Which output field has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFocus {
    Prefix,
    Directory,
    Bom,
}

/// Everything typed into the wizard.
#[derive(Debug)]
pub struct Form {
    pub cloud: Cloud,
    pub cloud_focus: CloudFocus,
    pub authority_url: Input,
    pub graph_url: Input,
    pub tenant: Input,
    pub client_id: Input,
    pub credential_kind: CredentialKind,
    pub secret: SecretField,
    pub certificate_path: Input,
    /// Errors and warnings shown under the field they concern.
    pub messages: HashMap<Field, FieldMessage>,
    /// The user saw the "looks like a Secret ID" warning and pressed Enter again.
    pub secret_id_confirmed: bool,
    pub validated: Option<TenantInfo>,
    pub domain_prefix: Input,
    pub output_dir: Input,
    pub bom: bool,
    pub output_focus: OutputFocus,
    pub prefix_message: Option<FieldMessage>,
    pub dir_message: Option<FieldMessage>,
    /// Name of the saved profile being edited.
    pub editing: Option<String>,
    /// Label of the demo app the form was filled from.
    pub demo_label: Option<String>,
}

impl Form {
    /// An empty form.
    pub fn new(default_output_dir: &Path) -> Self {
        Form {
            cloud: Cloud::Global,
            cloud_focus: CloudFocus::List,
            authority_url: Input::default(),
            graph_url: Input::default(),
            tenant: Input::default(),
            client_id: Input::default(),
            credential_kind: CredentialKind::Secret,
            secret: SecretField::default(),
            certificate_path: Input::default(),
            messages: HashMap::new(),
            secret_id_confirmed: false,
            validated: None,
            domain_prefix: Input::default(),
            output_dir: Input::new(default_output_dir.display().to_string()),
            bom: false,
            output_focus: OutputFocus::Prefix,
            prefix_message: None,
            dir_message: None,
            editing: None,
            demo_label: None,
        }
    }

    /// The demo's form for an app registration of the user's own: on the simulated tenant
    /// (its cloud, endpoints and tenant), the app's identifiers to type.
    pub fn on_simulated_tenant(default_output_dir: &Path, tenant: &DemoChoice) -> Self {
        let mut form = Form::new(default_output_dir);
        form.pin_to(tenant);
        form.tenant = Input::new(tenant.tenant.clone());
        form.demo_label = Some("your own app registration".into());
        form
    }

    /// The form filled from a demo app.
    pub fn for_demo_app(default_output_dir: &Path, choice: &DemoChoice) -> Self {
        use secrecy::ExposeSecret;
        let mut form = Form::on_simulated_tenant(default_output_dir, choice);
        form.client_id = Input::new(choice.client_id.clone());
        form.credential_kind = CredentialKind::Secret;
        form.secret = SecretField::with_value(choice.secret.expose_secret());
        form.demo_label = Some(choice.label.clone());
        form
    }

    /// Sets the cloud and endpoints to the demo's simulated tenant (the tenant field is the
    /// user's: another one is refused there, by the simulator).
    pub fn pin_to(&mut self, tenant: &DemoChoice) {
        self.cloud = Cloud::Custom;
        self.cloud_focus = CloudFocus::List;
        self.authority_url = Input::new(tenant.authority_url.clone());
        self.graph_url = Input::new(tenant.graph_url.clone());
    }

    /// A form filled from a saved profile, for editing it.
    pub fn from_draft(draft: &ProfileDraft) -> Self {
        use secrecy::ExposeSecret;
        let c = &draft.credentials;
        let mut form = Form::new(&draft.output.directory);
        form.cloud = c.cloud;
        form.authority_url = Input::new(c.authority_url.clone().unwrap_or_default());
        form.graph_url = Input::new(c.graph_url.clone().unwrap_or_default());
        form.tenant = Input::new(c.tenant.clone());
        form.client_id = Input::new(c.client_id.clone());
        match &c.credential {
            CredentialInput::Secret(s) => {
                form.credential_kind = CredentialKind::Secret;
                form.secret = SecretField::with_value(s.expose_secret());
            }
            CredentialInput::Certificate { path } => {
                form.credential_kind = CredentialKind::Certificate;
                form.certificate_path = Input::new(path.display().to_string());
            }
        }
        form.domain_prefix = Input::new(draft.output.domain_prefix.clone());
        form.bom = draft.output.bom;
        form.validated = draft.tenant.clone();
        form.editing = Some(draft.name.clone());
        form
    }

    /// The credentials as typed (trimmed).
    pub fn credentials_input(&self) -> CredentialsInput {
        let custom = self.cloud == Cloud::Custom;
        let url = |i: &Input| Some(i.value().trim().to_owned()).filter(|v| custom && !v.is_empty());
        CredentialsInput {
            cloud: self.cloud,
            authority_url: url(&self.authority_url),
            graph_url: url(&self.graph_url),
            tenant: self.tenant.value().trim().to_owned(),
            client_id: self.client_id.value().trim().to_owned(),
            credential: match self.credential_kind {
                CredentialKind::Secret => CredentialInput::Secret(self.secret.to_secret()),
                CredentialKind::Certificate => CredentialInput::Certificate {
                    path: PathBuf::from(self.certificate_path.value().trim()),
                },
            },
        }
    }

    /// The profile the form describes, under `name`.
    pub fn draft(&self, name: &str) -> ProfileDraft {
        ProfileDraft {
            name: name.to_owned(),
            credentials: self.credentials_input(),
            output: OutputSettings {
                domain_prefix: self.domain_prefix.value().trim().to_owned(),
                directory: PathBuf::from(self.output_dir.value().trim()),
                bom: self.bom,
            },
            tenant: self.validated.clone(),
            replaces: self.editing.clone(),
            secret_given: self.credential_kind == CredentialKind::Secret
                && self.secret.typed_by_user(),
            schedule: None,
            credential_file: None,
            if_name_taken: IfNameTaken::Refuse,
        }
    }

    pub(crate) fn set_error(&mut self, field: Field, e: FormatError) {
        self.messages.insert(field, error_message(e));
    }
}

/// A format error as a field message.
pub fn error_message(e: FormatError) -> FieldMessage {
    FieldMessage {
        severity: Severity::Error,
        message: e.message,
        remedy: e.remedy,
    }
}
