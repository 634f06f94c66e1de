//! The sync engine: [`plan`] decides (pure), [`client`] talks HTTP, and
//! [`crate::Agent`] executes plans and schedules passes.
pub mod client;
pub mod plan;
