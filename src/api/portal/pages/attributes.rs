//! The Attributes tab: the application's custom attribute keys, where this directory's users'
//! values come from (a SCIM attribute path per key, or its default), and the form that previews
//! and saves new paths (`api::web::attributes`, shared with the operator console). Nothing is
//! stored until Save.

use maud::{html, Markup};

use super::{Frame, Tab};
use crate::api::web::attributes::{section, MappingOutcome, MappingSection};
use crate::custom_attributes::Mapping;
use crate::service::custom_attributes::Preview;
use crate::service::portal_attributes::AttributesView;

pub fn attributes(
    frame: &Frame,
    v: &AttributesView,
    draft: &[Mapping],
    preview: Option<&Preview>,
    outcome: &MappingOutcome,
) -> Markup {
    let action = frame.href("attributes");
    let csrf = frame.session.map(|s| s.csrf()).unwrap_or_default();
    let main = html! {
        h1 { "Attributes" }
        p.lead { "The application reads these attributes of each of your users. Say where your IdP puts each one, check what that makes of your newest users with Preview, then Save." }
        (section(&MappingSection {
            keys: &v.catalogue,
            saved: &v.saved,
            draft,
            preview,
            outcome,
            action: &action,
            csrf,
        }))
    };
    frame.page("Attributes", Tab::Attributes, main)
}
