//! tack's wire protocol: the domain model, requests, responses and events, the frame codec,
//! the handshake, and the async client.

pub mod api;
pub mod client;
pub mod codec;
pub mod error;
pub mod handshake;
pub mod model;
pub mod ops;
pub mod query;
pub mod rank;
pub mod transport;

pub use api::*;
pub use client::{Client, ClientError, EventFeed};
pub use error::ApiError;
pub use handshake::{ClientHello, Credentials, PROTOCOL_VERSION, ServerHello, Welcome};
pub use model::*;
pub use ops::*;
