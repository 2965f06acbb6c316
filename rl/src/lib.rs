//! # agentworld-rl
//!
//! The RL loop of agentworld.

pub mod awm_rollout;
pub mod candidates;
pub mod coordinator;
pub mod export;
pub mod features;
pub mod http;
pub mod judge;
pub mod llm;
pub mod plot;
pub mod policy;
pub mod rollout;
pub mod state;
pub mod text;
pub mod train;
