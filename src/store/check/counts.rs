//! The membership counts a delete trusts (`store::deletes`): a counted user's group count, and
//! the members a counted group's slots count, agree with the resource's edges. A resource whose
//! counts drifted (a repair deleted an edge behind the write paths' back, or code from before the
//! counts wrote its edges) is no longer trusted: `--repair` takes its mark off, and its deletes
//! list its edges after their read again. A group count of a user that does not exist is removed.

use std::collections::BTreeMap;

use super::{Findings, Fix, Partition};
use crate::scim::schema::ResourceKind;
use crate::store::members::GROUPS;
use crate::store::resources::VERSION;
use crate::store::slots::{member_hash, signed};
use crate::store::{key, keys, n, unless_condition_failed, State, Store, StoreError};

/// The `miscounted` and `orphan_group_count` problems of partition `pk`.
pub(super) fn check_counts(pk: &str, part: &Partition, findings: &mut Findings) {
    let mut groups_of: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, u) in &part.member_of {
        *groups_of.entry(u.as_str()).or_default() += 1;
    }
    let mut members_of: BTreeMap<&str, i64> = BTreeMap::new();
    let mut hashes_of: BTreeMap<&str, i128> = BTreeMap::new();
    for (g, u) in &part.members {
        *members_of.entry(g.as_str()).or_default() += 1;
        *hashes_of.entry(g.as_str()).or_default() += i128::from(member_hash(u));
    }
    for ((kind, id), r) in &part.resources {
        if !r.counted || matches!(r.state, State::Pending { .. }) {
            continue;
        }
        let (counts, edges) = match kind {
            ResourceKind::User => (&part.group_counts, &groups_of),
            ResourceKind::Group => (&part.slot_members, &members_of),
        };
        let have = counts.get(id).copied().unwrap_or(0);
        let want = edges.get(id.as_str()).copied().unwrap_or(0);
        // A group's slots also sum its members' hashes (`slots::MEMBERS_HASH`).
        let hash_differs = *kind == ResourceKind::Group
            && part.slot_hashes.get(id).copied().unwrap_or(0)
                != hashes_of.get(id.as_str()).copied().unwrap_or(0);
        if have != want || hash_differs {
            findings.found(
                "miscounted",
                format!(
                    "{} {id} counts {have} memberships and has {want}; its deletes will list \
                     its edges after their read",
                    kind.name()
                ),
                Some(Fix::Uncount(*kind, id.clone(), r.stored_version)),
            );
        }
    }
    for user in part.group_counts.keys() {
        if !part
            .resources
            .contains_key(&(ResourceKind::User, user.clone()))
        {
            findings.found(
                "orphan_group_count",
                format!("the group count of user {user}, who does not exist"),
                Some(Fix::Delete(vec![key(
                    pk.to_string(),
                    keys::group_count_sk(user),
                )])),
            );
        }
    }
}

impl Store {
    /// `Fix::Uncount`: nothing when the resource moved since the scan (the next check decides),
    /// or when a fresh look finds its counts right: the scan reads the partition page by page,
    /// so a member change between two pages looks like a miscount it is not.
    pub(super) async fn uncount(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        if !self.still_miscounted(dir, kind, id).await? {
            return Ok(());
        }
        let done = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::resource_sk(kind, id),
            )))
            .update_expression("REMOVE #c ADD #v :one")
            .condition_expression("#v = :v")
            .expression_attribute_names("#c", crate::store::resources::COUNTED)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        unless_condition_failed(done)
    }

    /// Whether `id`'s counts differ from its edges, read on their own: the counts, the edges,
    /// then the counts again. Every edge write moves what is read of the counts (a count, or
    /// the edge sequence's or a slot's version mirror), so counts read the same twice were the
    /// counts while the edges were listed.
    async fn still_miscounted(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let pk = keys::directory_pk(dir);
        match kind {
            ResourceKind::User => {
                let sk = keys::group_count_sk(id);
                let before = self.get_item(pk.clone(), sk.clone()).await?;
                let edges = self
                    .edge_page(dir, &keys::member_of_prefix(id), usize::MAX)
                    .await?;
                let after = self.get_item(pk, sk).await?;
                let count = after.as_ref().map_or(0, |i| signed(i, GROUPS));
                Ok(before == after && count != edges.len() as i64)
            }
            ResourceKind::Group => {
                let before = self.read_slots(dir, id).await?;
                let edges = self.members_of_group(dir, id).await?;
                let after = self.read_slots(dir, id).await?;
                Ok(before == after && !after.vouch(&edges))
            }
        }
    }
}
