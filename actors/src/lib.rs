//! # agentworld-actors
//!
//! Supervised `ractor` actors around the engine of `agentworld-runtime`: one `EnvironmentActor` per loaded
//! environment, one `EpisodeActor` per live episode, generator and training coordinators, and the cluster layer.
//!
//! This crate is the seat of the actor runtime (see the issue "Actor runtime"); it is empty until then and is part
//! of the workspace so that the layout and the facade are stable.
