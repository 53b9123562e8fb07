//! Bonsai's platform server: the super app's side of the WeChat APIs that
//! mini programs and their developers' servers call, so an unmodified server
//! SDK only changes its host. This first part is identity: `wx.login` codes,
//! `/sns/jscode2session`, access tokens (`/cgi-bin/token`,
//! `/cgi-bin/stable_token`), `/wxa/checksession`, phone numbers and open
//! data, plus a JSON admin API under `/admin` to create apps and users.
//!
//! The server is stateless: codes, tokens, session keys and rate-limit
//! counters live in the database (SQLite by default, Postgres by URL), so
//! instances behind a load balancer agree. Time comes from a [`Clock`] so
//! tests can move it.
//!
//! Layout: [`AppState`] holds the database, clock and config; the domain
//! lives in plain async functions ([`identity`], [`wechat`]) that the thin
//! HTTP handlers call and that an in-process host (the CLI's adapter for the
//! engine's `PlatformClient`) can call directly; [`build_router`] puts the
//! HTTP surface together.

pub mod admin;
pub mod alipay;
mod batch;
pub mod civil_time;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
mod http;
pub mod identity;
pub mod messages;
pub mod notify;
pub mod open_data;
mod rate;
pub mod registry;
pub mod rsa_keys;
pub mod secrets;
mod state;
pub mod wechat;
pub mod wechat_pay;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use config::{PlatformConfig, sqlite_url};
pub use db::{Backend, Db};
pub use error::PlatformError;
pub use http::{build_router, serve};
pub use state::AppState;
