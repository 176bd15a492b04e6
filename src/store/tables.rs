//! Table definitions for local endpoints (the embedded dynoxide, DynamoDB Local, LocalStack):
//! exactly the keys and indexes template.yaml declares — a test compares the two — so local runs
//! exercise the same key design as production.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::keys::{PK, SK, TOKENS_BY_DIRECTORY, TOKEN_HASH, WEBHOOK_DIRECTORY};
use super::{Store, StoreError};

/// A table's key design: (attribute, HASH|RANGE) pairs, and GSIs as (name, key pairs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDesign {
    pub keys: Vec<(&'static str, &'static str)>,
    pub indexes: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
}

pub fn directory_table_design() -> TableDesign {
    TableDesign {
        keys: vec![(PK, "HASH"), (SK, "RANGE")],
        indexes: vec![],
    }
}

pub fn tokens_table_design() -> TableDesign {
    TableDesign {
        keys: vec![(TOKEN_HASH, "HASH")],
        indexes: vec![(
            TOKENS_BY_DIRECTORY,
            vec![("directory_id", "HASH"), ("created_at", "RANGE")],
        )],
    }
}

pub fn webhooks_table_design() -> TableDesign {
    TableDesign {
        keys: vec![(WEBHOOK_DIRECTORY, "HASH")],
        indexes: vec![],
    }
}

fn key_schema(keys: &[(&str, &str)]) -> Result<Vec<KeySchemaElement>, StoreError> {
    keys.iter()
        .map(|(name, ty)| {
            KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(if *ty == "HASH" {
                    KeyType::Hash
                } else {
                    KeyType::Range
                })
                .build()
                .map_err(StoreError::Request)
        })
        .collect()
}

impl Store {
    /// Both tables expire items by their `ttl` attribute (tokens with an expiry, page anchors), as
    /// template.yaml declares.
    async fn enable_ttl(&self, table: &str) -> Result<(), StoreError> {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(StoreError::Request)?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Creates the three tables if they do not exist yet. Returns the names of the tables created.
    pub async fn create_tables(&self) -> Result<Vec<String>, StoreError> {
        let existing = self
            .client
            .list_tables()
            .send()
            .await
            .map_err(StoreError::sdk)?
            .table_names
            .unwrap_or_default();
        let mut created = Vec::new();
        for (name, design) in [
            (self.table.clone(), directory_table_design()),
            (self.tokens_table.clone(), tokens_table_design()),
            (self.webhooks_table.clone(), webhooks_table_design()),
        ] {
            if existing.contains(&name) {
                continue;
            }
            let mut attrs: Vec<&str> = design.keys.iter().map(|(a, _)| *a).collect();
            for (_, k) in &design.indexes {
                attrs.extend(k.iter().map(|(a, _)| *a));
            }
            attrs.dedup();
            let defs = attrs
                .iter()
                .map(|a| {
                    AttributeDefinition::builder()
                        .attribute_name(*a)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(StoreError::Request)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let gsis = design
                .indexes
                .iter()
                .map(|(index, k)| {
                    GlobalSecondaryIndex::builder()
                        .index_name(*index)
                        .set_key_schema(Some(key_schema(k)?))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .map_err(StoreError::Request)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .client
                .create_table()
                .table_name(&name)
                .billing_mode(BillingMode::PayPerRequest)
                .set_attribute_definitions(Some(defs))
                .set_key_schema(Some(key_schema(&design.keys)?))
                .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
                .send()
                .await;
            match result {
                Ok(_) => {
                    self.enable_ttl(&name).await?;
                    created.push(name)
                }
                // Another process created it between our ListTables and CreateTable.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_in_use_exception()) => {}
                Err(e) => return Err(StoreError::sdk(e)),
            }
        }
        Ok(created)
    }
}
