//! Group membership: one pair of items per (group, user) edge — `MEMBER#{g}#{u}` to list a group's
//! members and `MEMBEROF#{u}#{g}` to list a user's groups — never a list on the group item (the
//! 400 KB item limit would cap group size). Adding one member touches three items whatever the
//! group's size; both directions are strongly consistent Queries.
//!
//! Small changes (the one-member PATCHes IdPs send) ride in the resource's own transaction with a
//! ConditionCheck per added user, so a missing user cancels everything. Changes too big for one
//! transaction (100 items) are checked first with BatchGetItem, then written in 25-item batches.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::keys;
use super::write::{Role, Tx, MAX_TX_ITEMS};
use super::{get_s, key, Item, Store, StoreError};
use crate::scim::schema::ResourceKind;

/// What is left to do after the resource's transaction commits.
pub(crate) enum MemberPlan {
    Done,
    Batched {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

/// DynamoDB's limit on requests in one BatchWriteItem call.
const MAX_BATCH_WRITE: usize = 25;

impl Store {
    /// Puts the edge changes into `tx` when they fit; otherwise verifies the added users exist
    /// (so the request fails before anything is written) and leaves them for `finish_members`.
    pub(crate) async fn plan_members(
        &self,
        dir: &str,
        group_id: &str,
        add: &[String],
        remove: &[String],
        tx: &mut Tx,
    ) -> Result<MemberPlan, StoreError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(MemberPlan::Done);
        }
        if tx.len() + 3 * add.len() + 2 * remove.len() <= MAX_TX_ITEMS {
            let pk = keys::directory_pk(dir);
            for user in add {
                tx.check_exists(
                    self,
                    key(pk.clone(), keys::resource_sk(ResourceKind::User, user)),
                    Role::Member(user.clone()),
                )?;
                tx.put(
                    self,
                    key(pk.clone(), keys::member_sk(group_id, user)),
                    None,
                    Role::Other,
                )?;
                tx.put(
                    self,
                    key(pk.clone(), keys::member_of_sk(user, group_id)),
                    None,
                    Role::Other,
                )?;
            }
            for user in remove {
                tx.delete(
                    self,
                    key(pk.clone(), keys::member_sk(group_id, user)),
                    None,
                    Role::Other,
                )?;
                tx.delete(
                    self,
                    key(pk.clone(), keys::member_of_sk(user, group_id)),
                    None,
                    Role::Other,
                )?;
            }
            return Ok(MemberPlan::Done);
        }
        let missing = self.missing_users(dir, add).await?;
        if !missing.is_empty() {
            return Err(StoreError::MissingMembers(missing));
        }
        Ok(MemberPlan::Batched {
            add: add.to_vec(),
            remove: remove.to_vec(),
        })
    }

    pub(crate) async fn finish_members(
        &self,
        dir: &str,
        group_id: &str,
        plan: MemberPlan,
    ) -> Result<(), StoreError> {
        let MemberPlan::Batched { add, remove } = plan else {
            return Ok(());
        };
        let pk = keys::directory_pk(dir);
        let mut writes = Vec::with_capacity(2 * (add.len() + remove.len()));
        for user in &add {
            for sk in [
                keys::member_sk(group_id, user),
                keys::member_of_sk(user, group_id),
            ] {
                let put = PutRequest::builder()
                    .set_item(Some(key(pk.clone(), sk)))
                    .build()
                    .map_err(StoreError::dynamo)?;
                writes.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for user in &remove {
            writes.extend(edge_deletes(&pk, group_id, user)?);
        }
        self.batch_write(writes).await
    }

    /// Ids among `ids` that are not users of the directory.
    pub async fn missing_users(
        &self,
        dir: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = BTreeSet::new();
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|id| {
                    key(
                        keys::directory_pk(dir),
                        keys::resource_sk(ResourceKind::User, id),
                    )
                })
                .collect();
            for item in self.batch_get(keys, Some("pk, sk")).await? {
                if let Some(id) = get_s(&item, keys::SK)
                    .and_then(|sk| keys::id_from_resource_sk(ResourceKind::User, sk))
                {
                    found.insert(id);
                }
            }
        }
        Ok(ids
            .iter()
            .filter(|id| !found.contains(*id))
            .cloned()
            .collect())
    }

    /// The user ids of a group, in id order.
    pub async fn members_of_group(
        &self,
        dir: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.edge_ids(dir, &keys::member_prefix(group_id)).await
    }

    /// The group ids a user belongs to.
    pub async fn groups_of_user(
        &self,
        dir: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.edge_ids(dir, &keys::member_of_prefix(user_id)).await
    }

    async fn edge_ids(&self, dir: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (items, _) = self
            .query_prefix(dir, prefix, None, usize::MAX, true)
            .await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, keys::SK).map(keys::last_component))
            .collect())
    }

    pub(crate) async fn remove_user_edges(
        &self,
        dir: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        let mut writes = Vec::new();
        for group in self.groups_of_user(dir, user_id).await? {
            writes.extend(edge_deletes(&pk, &group, user_id)?);
        }
        self.batch_write(writes).await
    }

    pub(crate) async fn remove_group_edges(
        &self,
        dir: &str,
        group_id: &str,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        let mut writes = Vec::new();
        for user in self.members_of_group(dir, group_id).await? {
            writes.extend(edge_deletes(&pk, group_id, &user)?);
        }
        self.batch_write(writes).await
    }

    /// BatchWriteItem in chunks of 25, re-sending unprocessed items with backoff.
    pub(crate) async fn batch_write(&self, writes: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in writes.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(StoreError::dynamo)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    tokio::time::sleep(super::write::backoff(attempt)).await;
                }
            }
        }
        Ok(())
    }
}

fn edge_deletes(pk: &str, group_id: &str, user_id: &str) -> Result<Vec<WriteRequest>, StoreError> {
    [
        keys::member_sk(group_id, user_id),
        keys::member_of_sk(user_id, group_id),
    ]
    .into_iter()
    .map(|sk| {
        let del = DeleteRequest::builder()
            .set_key(Some(key(pk.to_string(), sk)))
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(WriteRequest::builder().delete_request(del).build())
    })
    .collect()
}
