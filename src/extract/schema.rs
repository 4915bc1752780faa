//! The CSV schema: fixed column lists, the `$select` strings that fetch them, extra
//! attributes, and how a Graph JSON value becomes a CSV cell.
//!
//! Everything here works on Graph objects exactly as Microsoft Graph v1.0 returns them
//! (explicit nulls, arrays never null, `@odata.type` on members), read through
//! [`GraphObject`] (a `serde_json::Value` or a listing's [`Listed`](super::listed::Listed)),
//! so it does not depend on the Graph client's types. The column lists are part of the public interface
//! (docs/csv.md): append, never reorder.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;

use super::listed::GraphObject;
use super::rows::Row;

/// Fixed columns of `<domain>_users.csv`, in file order. All are Graph `user` properties.
pub const USER_COLUMNS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "externalUserState",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesUserPrincipalName",
    "onPremisesDomainName",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
    "proxyAddresses",
];

/// Fixed columns of `<domain>_groups.csv`, in file order. The last [`GROUP_COMPUTED_COLUMNS`]
/// are computed by the extraction, the others are Graph `group` properties.
pub const GROUP_COLUMNS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mail",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "visibility",
    "isAssignableToRole",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "membersReadable",
    "memberCount",
    "ownerCount",
];

/// Group columns that are not Graph properties: never selected, filled from the member and
/// owner lists.
pub const GROUP_COMPUTED_COLUMNS: &[&str] = &["membersReadable", "memberCount", "ownerCount"];

/// Columns of `<domain>_groups_members.csv`.
pub const MEMBER_COLUMNS: &[&str] = &[
    "groupId",
    "groupDisplayName",
    "memberId",
    "memberType",
    "memberDisplayName",
    "memberUserPrincipalName",
];

/// Columns of `<domain>_groups_owners.csv`.
pub const OWNER_COLUMNS: &[&str] = &[
    "groupId",
    "groupDisplayName",
    "ownerId",
    "ownerType",
    "ownerDisplayName",
    "ownerUserPrincipalName",
];

/// Columns of `<domain>_changes.csv`: one row per change since the previous run. `object`
/// is user, group, member or owner; `change` added, removed or updated; `id`, `type` and
/// `displayName` are the user or group (for an edge, the member or owner); `attributes`
/// names the columns whose values changed, `|`-separated.
pub const CHANGE_COLUMNS: &[&str] = &[
    "object",
    "change",
    "id",
    "type",
    "displayName",
    "groupId",
    "groupDisplayName",
    "attributes",
];

/// Properties `$select`ed on `/groups/{id}/members` and `/owners`: enough for an edge row
/// (`@odata.type` is always returned).
pub const EDGE_SELECT: &str = "id,displayName,userPrincipalName";

/// Separator for multi-valued cells (`proxyAddresses`, `groupTypes`, array extras).
pub const MULTI_VALUE_SEPARATOR: &str = "|";

/// Longest accepted extra attribute name; Graph's own names are far shorter.
const MAX_ATTRIBUTE_LEN: usize = 200;

/// The type written for a member or owner without `@odata.type` (the base type of every
/// directory object), so such a row is kept rather than skipped.
pub const UNKNOWN_OBJECT_TYPE: &str = "directoryObject";

/// Which object an extra attribute belongs to, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    User,
    Group,
}

impl ObjectKind {
    fn noun(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
        }
    }

    fn fixed_columns(self) -> &'static [&'static str] {
        match self {
            ObjectKind::User => USER_COLUMNS,
            ObjectKind::Group => GROUP_COLUMNS,
        }
    }
}

/// Why an extra attribute name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("an extra {} attribute name is empty; give a Graph property name such as `employeeType`", .kind.noun())]
    Empty { kind: ObjectKind },
    #[error("extra {} attribute `{name}` is too long ({len} characters, at most {MAX_ATTRIBUTE_LEN}); check for a pasted value instead of a name", .kind.noun())]
    TooLong {
        kind: ObjectKind,
        name: String,
        len: usize,
    },
    #[error("extra {} attribute `{name}` is not a Graph property name: it must start with a letter and contain only letters, digits and `_`", .kind.noun())]
    InvalidName { kind: ObjectKind, name: String },
    #[error("extra {} attribute `{name}` is not a valid extension attribute: the form is `extension_<app id without dashes, 32 hex digits>_<name>`, e.g. `extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter`", .kind.noun())]
    InvalidExtension { kind: ObjectKind, name: String },
    #[error("extra {} attribute `{name}` is already a fixed column (`{column}`); remove it from the extra attributes", .kind.noun())]
    FixedColumn {
        kind: ObjectKind,
        name: String,
        column: &'static str,
    },
    #[error("extra {} attribute `{name}` is given twice; list each attribute once", .kind.noun())]
    Duplicate { kind: ObjectKind, name: String },
}

/// Checks one extra attribute name and returns it trimmed.
///
/// Accepts Graph property names (`[A-Za-z][A-Za-z0-9_]*`) and directory extension
/// attributes (`extension_<32 hex digits>_<name>`); refuses the fixed columns of `kind`
/// (compared case-insensitively, as Graph compares property names).
pub fn validate_extra_attribute(kind: ObjectKind, name: &str) -> Result<String, SchemaError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SchemaError::Empty { kind });
    }
    let len = name.chars().count();
    if len > MAX_ATTRIBUTE_LEN {
        return Err(SchemaError::TooLong {
            kind,
            name: name.to_owned(),
            len,
        });
    }
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(SchemaError::InvalidName {
            kind,
            name: name.to_owned(),
        });
    }
    if name
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("extension_"))
        && !is_extension_attribute(name)
    {
        return Err(SchemaError::InvalidExtension {
            kind,
            name: name.to_owned(),
        });
    }
    if let Some(column) = kind
        .fixed_columns()
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
    {
        return Err(SchemaError::FixedColumn {
            kind,
            name: name.to_owned(),
            column,
        });
    }
    Ok(name.to_owned())
}

/// `extension_<appid>_<name>`: the app id of the owning application without dashes.
fn is_extension_attribute(name: &str) -> bool {
    let Some(rest) = name.get(10..) else {
        return false;
    };
    let Some((app_id, attr)) = rest.split_at_checked(32) else {
        return false;
    };
    app_id.chars().all(|c| c.is_ascii_hexdigit())
        && attr.len() > 1
        && attr.starts_with('_')
        && attr[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The full column layout of one extraction: fixed columns plus validated extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    user_extras: Vec<String>,
    group_extras: Vec<String>,
}

impl Schema {
    /// Validates the extra user and group attributes (in the order given, which is their
    /// column order).
    pub fn new<U, G>(user_extras: U, group_extras: G) -> Result<Self, SchemaError>
    where
        U: IntoIterator,
        U::Item: AsRef<str>,
        G: IntoIterator,
        G::Item: AsRef<str>,
    {
        Ok(Self {
            user_extras: validate_list(ObjectKind::User, user_extras)?,
            group_extras: validate_list(ObjectKind::Group, group_extras)?,
        })
    }

    /// Extra user attributes, in column order.
    pub fn user_extras(&self) -> &[String] {
        &self.user_extras
    }

    /// Extra group attributes, in column order.
    pub fn group_extras(&self) -> &[String] {
        &self.group_extras
    }

    /// Header of the users file.
    pub fn user_columns(&self) -> Vec<&str> {
        with_extras(USER_COLUMNS, &self.user_extras)
    }

    /// Header of the groups file.
    pub fn group_columns(&self) -> Vec<&str> {
        with_extras(GROUP_COLUMNS, &self.group_extras)
    }

    /// `$select` value for `/users`: every user column.
    pub fn user_select(&self) -> String {
        self.user_columns().join(",")
    }

    /// `$select` value for `/groups`: every group column except the computed ones.
    pub fn group_select(&self) -> String {
        self.group_columns()
            .into_iter()
            .filter(|c| !GROUP_COMPUTED_COLUMNS.contains(c))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One users-file row from a Graph `user` object, in the header's order.
    pub fn user_row<O: GraphObject>(&self, user: &O) -> Row {
        let fixed = USER_COLUMNS
            .iter()
            .map(|c| user.cell(c).unwrap_or_default());
        let extras = self
            .user_extras
            .iter()
            .map(|c| get_property(user, c).unwrap_or_default());
        let cells: Vec<Cow<'_, str>> = fixed.chain(extras).collect();
        Row::new(cells.iter().map(|c| c.as_ref()))
    }

    /// The Graph-property cells of a groups-file row, before the computed columns.
    fn group_property_cells<O: GraphObject>(&self, group: &O) -> Vec<String> {
        GROUP_COLUMNS
            .iter()
            .copied()
            .filter(|c| !GROUP_COMPUTED_COLUMNS.contains(c))
            .map(|c| group.cell(c).unwrap_or_default().into_owned())
            .collect()
    }

    /// The extra cells of a groups-file row, after the computed columns.
    fn group_extra_cells<O: GraphObject>(&self, group: &O) -> Vec<String> {
        self.group_extras
            .iter()
            .map(|c| get_property(group, c).unwrap_or_default().into_owned())
            .collect()
    }
}

/// Looks up an extra attribute. Graph matches `$select` names without case but answers with
/// its own spelling (`employeetype` → `employeeType`), so fall back to a case-blind match.
fn get_property<'a, O: GraphObject>(object: &'a O, name: &str) -> Option<Cow<'a, str>> {
    object.cell(name).or_else(|| object.cell_ignore_case(name))
}

fn validate_list<I>(kind: ObjectKind, names: I) -> Result<Vec<String>, SchemaError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        let name = validate_extra_attribute(kind, name.as_ref())?;
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(SchemaError::Duplicate { kind, name });
        }
        out.push(name);
    }
    Ok(out)
}

fn with_extras<'a>(fixed: &'a [&'a str], extras: &'a [String]) -> Vec<&'a str> {
    fixed
        .iter()
        .copied()
        .chain(extras.iter().map(String::as_str))
        .collect()
}

/// Renders one Graph value as a CSV cell.
///
/// Missing or `null` → empty; booleans `true`/`false`; strings unchanged (dates stay exactly
/// as Graph gives them); numbers as JSON writes them; arrays joined with `|`; objects
/// (complex types selected as extras) as compact JSON.
pub fn render_cell(value: Option<&Value>) -> Cow<'_, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::String(s)) => Cow::Borrowed(s),
        Some(Value::Bool(true)) => Cow::Borrowed("true"),
        Some(Value::Bool(false)) => Cow::Borrowed("false"),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        Some(Value::Array(items)) => match items.as_slice() {
            [] => Cow::Borrowed(""),
            [one] => render_cell(Some(one)),
            _ => Cow::Owned(
                items
                    .iter()
                    .map(|v| render_cell(Some(v)))
                    .collect::<Vec<_>>()
                    .join(MULTI_VALUE_SEPARATOR),
            ),
        },
        Some(v @ Value::Object(_)) => Cow::Owned(v.to_string()),
    }
}

/// The `memberType`/`ownerType` of a directory object: its `@odata.type` without the
/// `#microsoft.graph.` prefix (`user`, `group`, `device`, `servicePrincipal`, `orgContact`,
/// or any other type's name, never dropped); [`UNKNOWN_OBJECT_TYPE`] when absent.
pub fn member_type<O: GraphObject>(object: &O) -> &str {
    object_type(object.text("@odata.type"))
}

/// [`member_type`] of an object whose `@odata.type` is `odata_type`.
pub fn object_type(odata_type: Option<&str>) -> &str {
    let Some(odata_type) = odata_type else {
        return UNKNOWN_OBJECT_TYPE;
    };
    let name = odata_type.strip_prefix('#').unwrap_or(odata_type);
    let name = name.strip_prefix("microsoft.graph.").unwrap_or(name);
    if name.is_empty() {
        UNKNOWN_OBJECT_TYPE
    } else {
        name
    }
}

/// How many members a group has, as far as the extraction could tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberCount {
    /// The member list was read completely: this many rows were written.
    Known(u64),
    /// The member list could not be read (a HiddenMembership group without
    /// Member.Read.Hidden, or a group deleted mid-run): `membersReadable=false`, empty count.
    Unreadable,
}

/// The computed columns of one group row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCounts {
    pub members: MemberCount,
    /// `None` when the owner list could not be read: written as an empty cell.
    pub owners: Option<u64>,
}

/// Why a Graph object cannot become a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(
        "a {kind} in the Graph response has no `id`; this points to a proxy or Graph fault: run the extraction again, and report it if it repeats"
    )]
    MissingId { kind: &'static str },
}

/// A group read from `/groups`, rendered and waiting for its member and owner counts.
///
/// This is the only per-group state an extraction keeps while member and owner rows stream
/// to disk: create it when the group is listed, write it with its counts once both lists
/// are done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    id: String,
    display_name: String,
    property_cells: Vec<String>,
    extra_cells: Vec<String>,
}

impl GroupRecord {
    /// Renders a Graph `group` object with `schema`'s columns.
    pub fn from_value<O: GraphObject>(schema: &Schema, group: &O) -> Result<Self, RecordError> {
        let id = group
            .text("id")
            .filter(|s| !s.is_empty())
            .ok_or(RecordError::MissingId { kind: "group" })?;
        Ok(Self {
            id: id.to_owned(),
            display_name: group.cell("displayName").unwrap_or_default().into_owned(),
            property_cells: schema.group_property_cells(group),
            extra_cells: schema.group_extra_cells(group),
        })
    }

    /// A group as a previous run's groups file holds it (`row` in
    /// [`Schema::group_columns`] order): every cell is a rendered value, which renders to
    /// itself, so the record is the one [`from_value`](Self::from_value) made then.
    pub fn from_cells(row: &Row) -> Result<Self, RecordError> {
        let id = row
            .get(0)
            .filter(|s| !s.is_empty())
            .ok_or(RecordError::MissingId { kind: "group" })?;
        let cell = |i: usize| row.get(i).unwrap_or_default().to_owned();
        let name_at = GROUP_COLUMNS.iter().position(|c| *c == "displayName");
        Ok(Self {
            id: id.to_owned(),
            display_name: name_at.map(cell).unwrap_or_default(),
            property_cells: GROUP_COLUMNS
                .iter()
                .enumerate()
                .filter(|(_, c)| !GROUP_COMPUTED_COLUMNS.contains(c))
                .map(|(i, _)| cell(i))
                .collect(),
            extra_cells: (GROUP_COLUMNS.len()..row.len()).map(cell).collect(),
        })
    }

    /// The group's object id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The group's display name (empty when Graph gave none).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// `true` for a `HiddenMembership` group, whose members need Member.Read.Hidden.
    pub fn is_hidden_membership(&self) -> bool {
        let visibility = GROUP_COLUMNS.iter().position(|c| *c == "visibility");
        visibility
            .and_then(|i| self.property_cells.get(i))
            .is_some_and(|v| v.eq_ignore_ascii_case("HiddenMembership"))
    }

    /// The complete groups-file row.
    pub fn row(&self, counts: GroupCounts) -> Vec<Cow<'_, str>> {
        let (readable, members) = match counts.members {
            MemberCount::Known(n) => ("true", Cow::Owned(n.to_string())),
            MemberCount::Unreadable => ("false", Cow::Borrowed("")),
        };
        let owners = counts
            .owners
            .map_or(Cow::Borrowed(""), |n| Cow::Owned(n.to_string()));
        self.property_cells
            .iter()
            .map(|c| Cow::Borrowed(c.as_str()))
            .chain([Cow::Borrowed(readable), members, owners])
            .chain(self.extra_cells.iter().map(|c| Cow::Borrowed(c.as_str())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_render_graph_values() {
        assert_eq!(render_cell(None), "");
        assert_eq!(render_cell(Some(&Value::Null)), "");
        assert_eq!(render_cell(Some(&json!(true))), "true");
        assert_eq!(render_cell(Some(&json!(false))), "false");
        assert_eq!(render_cell(Some(&json!(42))), "42");
        assert_eq!(render_cell(Some(&json!("Zoë, \"Ops\""))), "Zoë, \"Ops\"");
        assert_eq!(
            render_cell(Some(&json!("2018-12-22T02:21:05Z"))),
            "2018-12-22T02:21:05Z"
        );
        assert_eq!(render_cell(Some(&json!([]))), "");
        assert_eq!(render_cell(Some(&json!(["Unified"]))), "Unified");
        assert_eq!(
            render_cell(Some(&json!(["SMTP:a@x.com", "smtp:b@x.com"]))),
            "SMTP:a@x.com|smtp:b@x.com"
        );
        assert_eq!(
            render_cell(Some(&json!([{"a": 1}, null, true]))),
            "{\"a\":1}||true"
        );
        assert_eq!(
            render_cell(Some(&json!({"costCenter": "42", "division": null}))),
            "{\"costCenter\":\"42\",\"division\":null}"
        );
    }

    #[test]
    fn member_types_come_from_odata_type() {
        for (odata, expected) in [
            ("#microsoft.graph.user", "user"),
            ("#microsoft.graph.group", "group"),
            ("#microsoft.graph.device", "device"),
            ("#microsoft.graph.servicePrincipal", "servicePrincipal"),
            ("#microsoft.graph.orgContact", "orgContact"),
            ("#microsoft.graph.administrativeUnit", "administrativeUnit"),
            ("#contoso.custom.thing", "contoso.custom.thing"),
            ("#", UNKNOWN_OBJECT_TYPE),
        ] {
            assert_eq!(
                member_type(&json!({"@odata.type": odata, "id": "1"})),
                expected
            );
        }
        assert_eq!(member_type(&json!({"id": "1"})), UNKNOWN_OBJECT_TYPE);
        assert_eq!(
            member_type(&json!({"@odata.type": null})),
            UNKNOWN_OBJECT_TYPE
        );
    }

    #[test]
    fn extra_attributes_are_validated() {
        use ObjectKind::*;
        assert_eq!(
            validate_extra_attribute(User, " employeeType ").as_deref(),
            Ok("employeeType")
        );
        assert_eq!(
            validate_extra_attribute(
                User,
                "extension_b7d8e648520f41d3b9c0fdeb91768a0a_cost_Center"
            )
            .as_deref(),
            Ok("extension_b7d8e648520f41d3b9c0fdeb91768a0a_cost_Center")
        );
        assert!(matches!(
            validate_extra_attribute(User, "  "),
            Err(SchemaError::Empty { .. })
        ));
        for bad in [
            "1abc",
            "_abc",
            "job title",
            "mail,id",
            "manager/id",
            "a-b",
            "é",
        ] {
            assert!(
                matches!(
                    validate_extra_attribute(User, bad),
                    Err(SchemaError::InvalidName { .. })
                ),
                "{bad}"
            );
        }
        for bad in [
            "extension_",
            "extension_costCenter",
            "extension_b7d8e648520f41d3b9c0fdeb91768a0a",
            "extension_b7d8e648520f41d3b9c0fdeb91768a0a_",
            "extension_b7d8e648520f41d3b9c0fdeb91768a0g_x",
            "Extension_b7d8e648520f41d3b9c0fdeb91768a0aX_x",
        ] {
            assert!(
                matches!(
                    validate_extra_attribute(Group, bad),
                    Err(SchemaError::InvalidExtension { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            validate_extra_attribute(User, "MAIL"),
            Err(SchemaError::FixedColumn { column: "mail", .. })
        ));
        assert!(matches!(
            validate_extra_attribute(Group, "memberCount"),
            Err(SchemaError::FixedColumn { .. })
        ));
        // A user column is a fine extra for groups and the other way round.
        assert!(validate_extra_attribute(Group, "userType").is_ok());
        let long = "a".repeat(MAX_ATTRIBUTE_LEN + 1);
        assert!(matches!(
            validate_extra_attribute(User, &long),
            Err(SchemaError::TooLong { .. })
        ));
    }

    #[test]
    fn schema_refuses_duplicate_extras_and_builds_select() {
        assert!(matches!(
            Schema::new(["employeeType", "EmployeeType"], [""; 0]),
            Err(SchemaError::Duplicate { .. })
        ));
        let schema = Schema::new(["employeeType"], ["classification", "theme"]).unwrap();
        assert_eq!(schema.user_columns().len(), USER_COLUMNS.len() + 1);
        assert_eq!(schema.user_columns().last(), Some(&"employeeType"));
        assert!(schema.user_select().starts_with("id,userPrincipalName,"));
        assert!(
            schema
                .user_select()
                .ends_with(",proxyAddresses,employeeType")
        );
        let select = schema.group_select();
        assert!(select.ends_with("onPremisesSecurityIdentifier,classification,theme"));
        for computed in GROUP_COMPUTED_COLUMNS {
            assert!(!select.split(',').any(|c| c == *computed), "{computed}");
        }
        assert_eq!(
            schema.group_columns()[GROUP_COLUMNS.len()..],
            ["classification", "theme"]
        );
    }

    #[test]
    fn extras_are_found_whatever_their_case() {
        let schema = Schema::new(
            [
                "employeetype",
                "EXTENSION_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter",
            ],
            ["CLASSIFICATION"],
        )
        .unwrap();
        let user = json!({
            "id": "u1",
            "employeeType": "Contractor",
            "extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter": "42"
        });
        let row = schema.user_row(&user);
        assert_eq!(&row[USER_COLUMNS.len()], "Contractor");
        assert_eq!(&row[USER_COLUMNS.len() + 1], "42");
        let group =
            GroupRecord::from_value(&schema, &json!({"id": "g", "classification": "Low"})).unwrap();
        let row = group.row(GroupCounts {
            members: MemberCount::Known(1),
            owners: Some(1),
        });
        assert_eq!(row.last().map(|c| c.as_ref()), Some("Low"));
    }

    #[test]
    fn user_row_follows_the_header() {
        let schema = Schema::new(["employeeType"], [""; 0]).unwrap();
        let user = json!({
            "id": "u1",
            "userPrincipalName": "zoe@contoso.com",
            "displayName": "Zoë",
            "accountEnabled": false,
            "jobTitle": null,
            "proxyAddresses": ["SMTP:zoe@contoso.com", "smtp:z@contoso.com"],
            "createdDateTime": "2018-12-22T02:21:05Z",
            "employeeType": "Contractor"
        });
        let row = schema.user_row(&user);
        let header = schema.user_columns();
        assert_eq!(row.len(), header.len());
        let cell = |name: &str| row[header.iter().position(|c| *c == name).unwrap()].to_string();
        assert_eq!(cell("displayName"), "Zoë");
        assert_eq!(cell("accountEnabled"), "false");
        assert_eq!(cell("jobTitle"), "");
        assert_eq!(cell("surname"), "");
        assert_eq!(
            cell("proxyAddresses"),
            "SMTP:zoe@contoso.com|smtp:z@contoso.com"
        );
        assert_eq!(cell("createdDateTime"), "2018-12-22T02:21:05Z");
        assert_eq!(cell("employeeType"), "Contractor");
    }

    #[test]
    fn group_rows_carry_computed_counts() {
        let schema = Schema::new([""; 0], ["classification"]).unwrap();
        let group = json!({
            "id": "g1",
            "displayName": "Board",
            "groupTypes": ["Unified"],
            "visibility": "HiddenMembership",
            "mailEnabled": true,
            "securityEnabled": false,
            "classification": "High"
        });
        let record = GroupRecord::from_value(&schema, &group).unwrap();
        assert_eq!(record.id(), "g1");
        assert_eq!(record.display_name(), "Board");
        assert!(record.is_hidden_membership());
        let header = schema.group_columns();
        let unreadable = record.row(GroupCounts {
            members: MemberCount::Unreadable,
            owners: Some(2),
        });
        assert_eq!(unreadable.len(), header.len());
        let cell = |row: &[Cow<str>], name: &str| {
            row[header.iter().position(|c| *c == name).unwrap()].to_string()
        };
        assert_eq!(cell(&unreadable, "membersReadable"), "false");
        assert_eq!(cell(&unreadable, "memberCount"), "");
        assert_eq!(cell(&unreadable, "ownerCount"), "2");
        assert_eq!(cell(&unreadable, "groupTypes"), "Unified");
        assert_eq!(cell(&unreadable, "classification"), "High");
        let empty = record.row(GroupCounts {
            members: MemberCount::Known(0),
            owners: None,
        });
        assert_eq!(cell(&empty, "membersReadable"), "true");
        assert_eq!(cell(&empty, "memberCount"), "0");
        assert_eq!(cell(&empty, "ownerCount"), "");
        // A previous run's row gives the record back.
        let written = Row::new(unreadable.iter().map(|c| c.as_ref()));
        assert_eq!(GroupRecord::from_cells(&written), Ok(record.clone()));
        assert_eq!(
            GroupRecord::from_cells(&Row::new(["", "x"])),
            Err(RecordError::MissingId { kind: "group" })
        );
        assert_eq!(
            GroupRecord::from_value(&schema, &json!({"displayName": "x"})),
            Err(RecordError::MissingId { kind: "group" })
        );
    }
}
