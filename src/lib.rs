//! nhomthu: a mailing-list manager with registration by email.
//!
//! The flow, one module per step: `source` (IMAP, Maildir) → `pipeline` (record,
//! `classify`, `actions`, one transaction in `store`) → `source` ack; `delivery` drains
//! the outbound queue through its sink. See ARCHITECTURE.md.

#![forbid(unsafe_code)]

pub mod actions;
pub mod address;
pub mod bounce;
pub mod charset;
pub mod classify;
pub mod cli;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod dns;
pub mod handlers;
pub mod health;
pub mod links;
pub mod list_fields;
pub mod mac;
pub mod message;
pub mod pipeline;
pub mod rules;
pub mod shutdown;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod text;
pub mod tls;
pub mod token;
pub mod unsubscribe;
pub mod verp;
pub mod web;
