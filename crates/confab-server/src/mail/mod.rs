//! E-mail in and out: the SMTP listener's sink that turns mail for inbox
//! addresses into conversations ([`inbound`]), and the outbox sender that
//! hands agents' replies to the relay ([`outbound`]).

pub mod inbound;
pub mod outbound;
pub mod status;
