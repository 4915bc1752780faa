//! The other member-capable objects: devices, organisational contacts, service principals.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::names::{FIRST, LAST, SAAS};
use super::{Ctx, uuid};
use crate::apps::{GRAPH_APP_ID, GRAPH_ROLES, MICROSOFT_SERVICES_TENANT};
use crate::model::{AppRole, Device, OrgContact, ServicePrincipal};

/// (operating system, version, trust type), in turn.
const OS: [(&str, &str, &str); 5] = [
    ("Windows", "10.0.22631.4460", "AzureAd"),
    ("Windows", "10.0.19045.5131", "ServerAd"),
    ("iOS", "18.1", "Workplace"),
    ("Android", "15.0", "Workplace"),
    ("MacMDM", "15.1", "Workplace"),
];

pub(super) fn devices(cx: &mut Ctx, count: usize) -> Vec<Device> {
    let mut devices = Vec::with_capacity(count);
    for n in 0..count {
        let (o, v, t) = OS[n % OS.len()];
        let id = uuid(&mut cx.rng);
        let device_id = uuid(&mut cx.rng);
        let created = cx.created();
        devices.push(Device {
            id,
            device_id,
            display_name: format!("DESKTOP-{:07X}", cx.rng.random_range(0..0x0FFF_FFFFu32)),
            operating_system: o,
            operating_system_version: v,
            trust_type: t,
            account_enabled: n % 17 != 5,
            created,
        });
    }
    devices
}

pub(super) fn contacts(cx: &mut Ctx, count: usize) -> Vec<OrgContact> {
    let mut contacts = Vec::with_capacity(count);
    for n in 0..count {
        let (fd, fa) = *FIRST.choose(&mut cx.rng).unwrap_or(&FIRST[0]);
        let (ld, la) = *LAST.choose(&mut cx.rng).unwrap_or(&LAST[0]);
        let mail = format!("{fa}.{la}{n}@partner.example");
        contacts.push(OrgContact {
            id: uuid(&mut cx.rng),
            display_name: format!("{ld}, {fd} (Partner)"),
            given_name: Some(fd.to_string()),
            surname: Some(ld.to_string()),
            mail: Some(mail.clone()),
            mail_nickname: format!("{fa}.{la}{n}"),
            company_name: Some("Partner Co.".to_string()),
            proxy_addresses: vec![format!("SMTP:{mail}")],
        });
    }
    contacts
}

/// Microsoft Graph's service principal (at `GRAPH_SP_IDX`), then `count` third-party SaaS apps.
pub(super) fn service_principals(cx: &mut Ctx, count: usize) -> Vec<ServicePrincipal> {
    let mut sps: Vec<ServicePrincipal> = vec![microsoft_graph(cx)];
    for n in 0..count {
        let name = if n < SAAS.len() {
            SAAS[n].to_string()
        } else {
            format!("{} {}", SAAS[n % SAAS.len()], n / SAAS.len() + 1)
        };
        let id = uuid(&mut cx.rng);
        let app_id = uuid(&mut cx.rng);
        let created = cx.created();
        sps.push(ServicePrincipal {
            id,
            app_id,
            display_name: name,
            app_owner_organization_id: Some(uuid(&mut cx.rng)),
            account_enabled: true,
            app_roles: Vec::new(),
            app_role_assignments: Vec::new(),
            created,
        });
    }
    sps
}

/// The resource the demo apps are granted roles on; it defines every Graph app role.
fn microsoft_graph(cx: &mut Ctx) -> ServicePrincipal {
    let id = uuid(&mut cx.rng);
    let created = cx.created();
    ServicePrincipal {
        id,
        app_id: GRAPH_APP_ID,
        display_name: "Microsoft Graph".to_string(),
        app_owner_organization_id: Some(MICROSOFT_SERVICES_TENANT),
        account_enabled: true,
        app_roles: GRAPH_ROLES
            .iter()
            .map(|r| AppRole {
                id: r.id,
                value: r.value,
                display_name: r.display_name,
                description: r.description,
            })
            .collect(),
        app_role_assignments: Vec::new(),
        created,
    }
}
