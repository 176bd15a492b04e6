//! The Admin Portal's Attributes step: the customer's IT admin says where their IdP puts each
//! of the application's custom attribute keys (a SCIM attribute path per key), sees what that
//! makes of the directory's newest users, and saves — the use cases the management API and
//! `scimctl attributes` call (`custom_attributes::preview`, `put_mapping`), for the session's
//! directory only.
//!
//! The mapping being edited is only the form's values (a path per key) until Save: Preview
//! stores nothing. Each path is checked here first so a refusal names the key it is for (the
//! API's message names a position in its JSON list, which the IT admin never saw).
//!
//! DynamoDB round trips for the page (budget in tests/it/portal.rs): the session (GetItem), and
//! the directory with its settings, which hold the map (one BatchGetItem); the keys are the
//! process's copy (`custom_attributes::cached_catalogue`): 2.

use std::sync::Arc;

use super::custom_attributes::{self, DirectoryAttributes, Preview, PutMappings};
use super::management::ManagementError;
use super::portal::{note, PortalError, PortalSession};
use super::Service;
use crate::custom_attributes::{AttributeCatalogue, AttributePath, Mapping};
use crate::scim::filter::lexer::clip;
use crate::store::directories::DELETING;

/// What the Attributes page shows: the keys and the directory's map as saved.
#[derive(Debug, Clone)]
pub struct AttributesView {
    pub catalogue: Arc<AttributeCatalogue>,
    pub saved: DirectoryAttributes,
}

/// The keys and the session's directory's map.
pub async fn view(svc: &Service, s: &PortalSession) -> Result<AttributesView, PortalError> {
    let dir = s.directory_id();
    let catalogue = custom_attributes::cached_catalogue(svc).await?;
    if !catalogue.is_declared() {
        return Err(PortalError::NoAttributes);
    }
    let (directory, settings) = svc.store.directory_and_settings(dir).await?;
    match directory {
        None => return Err(PortalError::NotFound),
        Some(d) if d.status == DELETING => return Err(PortalError::SessionEnded),
        Some(_) => {}
    }
    Ok(AttributesView {
        saved: custom_attributes::view(dir, &settings.attributes, &catalogue),
        catalogue,
    })
}

/// What `draft` would make of the directory's newest users, beside what they carry now.
pub async fn preview(
    svc: &Service,
    s: &PortalSession,
    draft: Vec<Mapping>,
) -> Result<Preview, PortalError> {
    let put = checked(draft)?;
    Ok(custom_attributes::preview(svc, s.directory_id(), put).await?)
}

/// Saves `draft` as the session's directory's mapping and records it in the portal activity
/// (`attributes_mapped`). Users are not rewritten (docs/custom-attributes.md).
pub async fn save(
    svc: &Service,
    s: &PortalSession,
    draft: Vec<Mapping>,
) -> Result<DirectoryAttributes, PortalError> {
    let put = checked(draft)?;
    let saved = match custom_attributes::put_mapping(svc, s.directory_id(), put).await {
        Err(ManagementError::Deleting(_)) => return Err(PortalError::SessionEnded),
        other => other?,
    };
    let keys: Vec<&str> = saved.mappings.iter().map(|m| m.key.as_str()).collect();
    let subject = if keys.is_empty() {
        "no keys mapped (defaults only)".to_string()
    } else {
        format!("{} keys mapped: {}", keys.len(), keys.join(", "))
    };
    note(svc, s, "attributes_mapped", Some(&subject)).await?;
    Ok(saved)
}

/// The draft as the use case takes it, each path parsed first so a refusal names its key.
fn checked(draft: Vec<Mapping>) -> Result<PutMappings, PortalError> {
    for m in &draft {
        if let Err(why) = AttributePath::parse(&m.path) {
            return Err(ManagementError::InvalidAttributes(format!(
                "{}: the path {:?} cannot be read: {why}",
                clip(&m.key),
                clip(&m.path)
            ))
            .into());
        }
    }
    Ok(PutMappings { mappings: draft })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_does_not_parse_is_refused_with_its_key() {
        let draft = vec![
            Mapping {
                key: "title".into(),
                path: "title".into(),
            },
            Mapping {
                key: "city".into(),
                path: "addresses[type eq".into(),
            },
        ];
        let Err(PortalError::Management(ManagementError::InvalidAttributes(why))) = checked(draft)
        else {
            panic!("accepted")
        };
        assert!(
            why.starts_with("city: the path \"addresses[type eq\""),
            "{why}"
        );
    }
}
