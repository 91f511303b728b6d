//! Real-time: the hub that fans out the event log, presence, and the
//! WebSocket streams for agents and contacts.

pub mod cluster;
pub mod frames;
pub mod hub;
pub mod presence;
pub mod socket;
pub mod streams;

pub use hub::Hub;
