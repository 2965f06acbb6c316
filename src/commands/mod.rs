//! One module per subcommand.

pub mod awm;
pub mod envs;
pub mod export;
pub mod generate;
pub mod load;
pub mod loadgen;
pub mod play;
pub mod report;
pub mod rollout;
pub mod serve;
pub mod synth;
pub mod train;
pub mod validate;

use std::path::{Path, PathBuf};

/// The bundled environments folder: `envspecs/` in the working directory, else beside the source tree.
pub fn default_envs() -> PathBuf {
    let local = PathBuf::from("envspecs");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("envspecs")
}
