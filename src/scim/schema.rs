//! The schema table: every attribute the server knows, with the characteristics RFC 7643 §2 and §7
//! give it (type, plurality, caseExact, mutability, returned, uniqueness).
//!
//! Everything that needs an attribute's rules — filter comparison (caseExact), PUT/PATCH (mutability),
//! response shaping (returned), `/Schemas` — reads them from here rather than comparing strings at the
//! call site. Attribute names are matched case-insensitively (RFC 7643 §2.1).

use serde_json::{json, Map, Value};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub required: bool,
    pub sub: &'static [AttrDef],
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub description: &'static str,
}

#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

/// The two resource types this server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }
    pub fn core(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &USER_SCHEMA,
            ResourceKind::Group => &GROUP_SCHEMA,
        }
    }
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }
    /// The extension schema with this URN (case-insensitive), if the resource type declares it.
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves an attribute reference: `urn` is the schema URN prefix if the client wrote one
    /// (`urn:...:enterprise:2.0:User:employeeNumber`), `attr` the top-level name, `sub` the
    /// sub-attribute. Returns the schema the attribute lives in (None = core) and its definition.
    pub fn resolve(
        self,
        urn: Option<&str>,
        attr: &str,
        sub: Option<&str>,
    ) -> Option<(Option<&'static SchemaDef>, &'static AttrDef)> {
        let (ext, attrs) = match urn {
            None => (None, self.core().attributes),
            Some(u) if u.eq_ignore_ascii_case(self.core().id) => (None, self.core().attributes),
            Some(u) => {
                let ext = self.extension(u)?;
                (Some(ext), ext.attributes)
            }
        };
        // id, externalId and meta belong to the resource, not to an extension schema.
        let common = || {
            ext.is_none()
                .then(|| find(COMMON_ATTRIBUTES, attr))
                .flatten()
        };
        let top = find(attrs, attr).or_else(common)?;
        match sub {
            None => Some((ext, top)),
            Some(s) => Some((ext, find(top.sub, s)?)),
        }
    }
}

/// Case-insensitive lookup of an attribute by name (RFC 7643 §2.1: names are case-insensitive).
pub fn find<'a>(attrs: &'a [AttrDef], name: &str) -> Option<&'a AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Splits a possibly URN-qualified attribute path (`urn:...:User:manager.value`) into the schema URN
/// and the rest. RFC 7644 §3.10: the attribute name follows the last ':' of the URN.
pub fn split_urn(path: &str) -> (Option<&str>, &str) {
    if path
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        if let Some(i) = path.rfind(':') {
            return (Some(&path[..i]), &path[i + 1..]);
        }
    }
    (None, path)
}

const fn attr(name: &'static str, ty: AttrType) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        required: false,
        sub: &[],
        canonical: &[],
        reference_types: &[],
        description: "",
    }
}

const fn s(name: &'static str) -> AttrDef {
    attr(name, AttrType::String)
}

const fn with_desc(mut a: AttrDef, d: &'static str) -> AttrDef {
    a.description = d;
    a
}
const fn exact(mut a: AttrDef) -> AttrDef {
    a.case_exact = true;
    a
}
const fn multi(mut a: AttrDef, sub: &'static [AttrDef]) -> AttrDef {
    a.multi = true;
    a.sub = sub;
    a
}
const fn complex(name: &'static str, sub: &'static [AttrDef]) -> AttrDef {
    let mut a = attr(name, AttrType::Complex);
    a.sub = sub;
    a
}
const fn read_only(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::ReadOnly;
    a
}
const fn immutable(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::Immutable;
    a
}
const fn canonical(mut a: AttrDef, values: &'static [&'static str]) -> AttrDef {
    a.canonical = values;
    a
}
const fn reference(mut a: AttrDef, types: &'static [&'static str]) -> AttrDef {
    a.reference_types = types;
    a
}

/// The sub-attributes shared by most multi-valued attributes (RFC 7643 §2.4).
const fn multi_value_subs(types: &'static [&'static str]) -> [AttrDef; 4] {
    [
        s("value"),
        s("display"),
        canonical(s("type"), types),
        attr("primary", AttrType::Boolean),
    ]
}

const EMAIL_SUBS: [AttrDef; 4] = multi_value_subs(&["work", "home", "other"]);
const PHONE_SUBS: [AttrDef; 4] =
    multi_value_subs(&["work", "home", "mobile", "fax", "pager", "other"]);
const IM_SUBS: [AttrDef; 4] =
    multi_value_subs(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]);
const PHOTO_SUBS: [AttrDef; 4] = multi_value_subs(&["photo", "thumbnail"]);
const PLAIN_SUBS: [AttrDef; 4] = multi_value_subs(&[]);
const CERT_SUBS: [AttrDef; 4] = [
    attr("value", AttrType::Binary),
    s("display"),
    s("type"),
    attr("primary", AttrType::Boolean),
];

const ADDRESS_SUBS: [AttrDef; 8] = [
    s("formatted"),
    s("streetAddress"),
    s("locality"),
    s("region"),
    s("postalCode"),
    s("country"),
    canonical(s("type"), &["work", "home", "other"]),
    attr("primary", AttrType::Boolean),
];

const NAME_SUBS: [AttrDef; 6] = [
    s("formatted"),
    s("familyName"),
    s("givenName"),
    s("middleName"),
    s("honorificPrefix"),
    s("honorificSuffix"),
];

const USER_GROUP_SUBS: [AttrDef; 4] = [
    read_only(exact(s("value"))),
    read_only(reference(
        exact(attr("$ref", AttrType::Reference)),
        &["User", "Group"],
    )),
    read_only(s("display")),
    read_only(canonical(s("type"), &["direct", "indirect"])),
];

const MEMBER_SUBS: [AttrDef; 4] = [
    immutable(exact(s("value"))),
    immutable(reference(
        exact(attr("$ref", AttrType::Reference)),
        &["User", "Group"],
    )),
    read_only(s("display")),
    immutable(canonical(s("type"), &["User", "Group"])),
];

const META_SUBS: [AttrDef; 5] = [
    read_only(exact(s("resourceType"))),
    read_only(attr("created", AttrType::DateTime)),
    read_only(attr("lastModified", AttrType::DateTime)),
    read_only(exact(attr("location", AttrType::Reference))),
    read_only(exact(s("version"))),
];

/// `id`, `externalId` and `meta` belong to every resource (RFC 7643 §3.1).
pub static COMMON_ATTRIBUTES: &[AttrDef] = &[
    {
        let mut a = read_only(exact(s("id")));
        a.returned = Returned::Always;
        a.uniqueness = Uniqueness::Server;
        a
    },
    exact(s("externalId")),
    read_only(complex("meta", &META_SUBS)),
];

pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: CORE_USER,
    name: "User",
    description: "User Account",
    attributes: &[
        {
            let mut a = with_desc(
                s("userName"),
                "Unique identifier for the User; case-insensitive.",
            );
            a.required = true;
            a.uniqueness = Uniqueness::Server;
            a
        },
        complex("name", &NAME_SUBS),
        s("displayName"),
        s("nickName"),
        attr("profileUrl", AttrType::Reference),
        s("title"),
        s("userType"),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        attr("active", AttrType::Boolean),
        {
            let mut a = exact(s("password"));
            a.mutability = Mutability::WriteOnly;
            a.returned = Returned::Never;
            a
        },
        multi(complex("emails", &[]), &EMAIL_SUBS),
        multi(complex("phoneNumbers", &[]), &PHONE_SUBS),
        multi(complex("ims", &[]), &IM_SUBS),
        multi(complex("photos", &[]), &PHOTO_SUBS),
        multi(complex("addresses", &[]), &ADDRESS_SUBS),
        read_only(multi(complex("groups", &[]), &USER_GROUP_SUBS)),
        multi(complex("entitlements", &[]), &PLAIN_SUBS),
        multi(complex("roles", &[]), &PLAIN_SUBS),
        multi(complex("x509Certificates", &[]), &CERT_SUBS),
    ],
};

const MANAGER_SUBS: [AttrDef; 3] = [
    s("value"),
    reference(attr("$ref", AttrType::Reference), &["User"]),
    read_only(s("displayName")),
];

pub static ENTERPRISE_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        s("employeeNumber"),
        s("costCenter"),
        s("organization"),
        s("division"),
        s("department"),
        complex("manager", &MANAGER_SUBS),
    ],
};

static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE_SCHEMA];

pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: CORE_GROUP,
    name: "Group",
    description: "Group",
    attributes: &[
        {
            let mut a = s("displayName");
            a.required = true;
            a
        },
        multi(complex("members", &[]), &MEMBER_SUBS),
    ],
};

impl AttrType {
    fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

impl AttrDef {
    /// The RFC 7643 §7 representation used by `/Schemas`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if !self.canonical.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub.is_empty() {
            let subs: Vec<Value> = self.sub.iter().map(AttrDef::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        m.insert("caseExact".into(), json!(self.case_exact));
        m.insert(
            "mutability".into(),
            json!(match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            }),
        );
        m.insert(
            "returned".into(),
            json!(match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            }),
        );
        m.insert(
            "uniqueness".into(),
            json!(match self.uniqueness {
                Uniqueness::None => "none",
                Uniqueness::Server => "server",
            }),
        );
        Value::Object(m)
    }
}

impl SchemaDef {
    /// The `/Schemas/{id}` resource (RFC 7643 §7); `location` is the absolute URL of it.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttrDef::to_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

/// Every schema `/Schemas` lists.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_case_insensitively() {
        let (ext, a) = ResourceKind::User
            .resolve(None, "NAME", Some("FamilyName"))
            .unwrap();
        assert!(ext.is_none());
        assert_eq!(a.name, "familyName");
    }

    #[test]
    fn resolves_urn_qualified_extension_attribute() {
        let (ext, a) = ResourceKind::User
            .resolve(Some(ENTERPRISE_USER), "employeeNumber", None)
            .unwrap();
        assert_eq!(ext.unwrap().id, ENTERPRISE_USER);
        assert_eq!(a.name, "employeeNumber");
    }

    #[test]
    fn core_urn_prefix_means_top_level() {
        assert!(ResourceKind::User
            .resolve(Some(CORE_USER), "userName", None)
            .is_some());
    }

    #[test]
    fn common_attributes_resolve_on_both_kinds() {
        for k in [ResourceKind::User, ResourceKind::Group] {
            assert!(k.resolve(None, "id", None).unwrap().1.case_exact);
            assert!(k.resolve(None, "meta", Some("created")).is_some());
        }
    }

    #[test]
    fn split_urn_is_safe_on_non_ascii() {
        assert_eq!(split_urn("abcé:x"), (None, "abcé:x"));
        assert!(ResourceKind::User
            .resolve(Some(ENTERPRISE_USER), "id", None)
            .is_none());
    }

    #[test]
    fn split_urn_takes_the_last_colon() {
        assert_eq!(
            split_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            (Some(ENTERPRISE_USER), "manager.value")
        );
        assert_eq!(split_urn("name.givenName"), (None, "name.givenName"));
    }

    #[test]
    fn username_is_case_insensitive_and_external_id_exact() {
        let u = ResourceKind::User;
        assert!(!u.resolve(None, "userName", None).unwrap().1.case_exact);
        assert!(u.resolve(None, "externalId", None).unwrap().1.case_exact);
    }
}
