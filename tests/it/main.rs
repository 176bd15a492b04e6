//! One integration-test binary (the AWS SDK is linked once). Each module is a capability; each test
//! arranges a fresh directory on local DynamoDB and speaks to the real handlers.

mod admin;
mod auth;
mod bad_input;
mod budgets;
mod contention;
mod cost;
mod crashes;
mod custom_attributes;
mod discovery;
mod docs;
mod events;
mod events_table;
mod fuzz_corpus;
mod groups;
mod health;
mod iam;
mod local_server;
mod logs;
mod manage;
mod oauth;
mod openapi;
mod outbox;
mod paging;
mod portal;
mod portal_links;
mod portal_reads;
mod replays;
mod request_log;
mod request_log_function;
mod roles;
mod support;
mod template;
mod users;
mod v1;
mod webhooks;
