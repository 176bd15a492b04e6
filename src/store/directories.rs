//! Directories: one per customer organisation. A registry item per directory (partition
//! `DIRECTORIES`, admin path only) names it; everything else of the directory lives in its own
//! partition, so deleting a directory is a Query of that partition plus batched deletes.

use super::keys::{self, REGISTRY_PK};
use super::members::delete_request;
use super::{get_s, key, s, Store, StoreError};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Directory {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl Store {
    pub async fn create_directory(&self, d: &Directory) -> Result<(), StoreError> {
        let mut item = key(REGISTRY_PK.into(), keys::registry_sk(&d.id));
        item.insert("id".into(), s(&d.id));
        item.insert("name".into(), s(&d.name));
        item.insert("created_at".into(), s(&d.created_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    pub async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        let item = self
            .get_item(REGISTRY_PK.into(), keys::registry_sk(id))
            .await?;
        Ok(item.as_ref().and_then(directory_from_item))
    }

    pub async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(REGISTRY_PK));
        let items = self.query_all(query).await?;
        Ok(items.iter().filter_map(directory_from_item).collect())
    }

    /// Deletes a directory: its tokens first, then — after `token_grace`, the time a warm Lambda
    /// may still accept a cached token (`auth::CACHE_TTL`), so no write can land behind the
    /// delete — every item of its partition, then the registry entry. Each step is idempotent: a
    /// delete cut off anywhere is finished by running it again. Returns the items deleted.
    pub async fn delete_directory(
        &self,
        id: &str,
        token_grace: std::time::Duration,
    ) -> Result<usize, StoreError> {
        for t in self.list_tokens(id).await? {
            self.delete_token(&t.hash).await?;
        }
        tokio::time::sleep(token_grace).await;
        let mut deleted = 0;
        loop {
            let (items, _) = self.query_prefix(id, "", None, 1000, true).await?;
            if items.is_empty() {
                break;
            }
            deleted += items.len();
            // Key-only reads may carry a projected attribute besides the key (a pending group's
            // mark): the delete names the key alone.
            let writes = items
                .iter()
                .filter_map(|i| Some((get_s(i, keys::PK)?, get_s(i, keys::SK)?)))
                .map(|(pk, sk)| delete_request(pk.to_string(), sk.to_string()))
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.batch_write(writes).await?;
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(REGISTRY_PK.into(), keys::registry_sk(id))))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(deleted)
    }
}

fn directory_from_item(item: &super::Item) -> Option<Directory> {
    Some(Directory {
        id: get_s(item, "id")?.to_string(),
        name: get_s(item, "name").unwrap_or_default().to_string(),
        created_at: get_s(item, "created_at").unwrap_or_default().to_string(),
    })
}
