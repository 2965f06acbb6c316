//! The crate's error type.

/// Everything that can go wrong in a kernel call: invalid shapes or parameters (checked before any work is done,
/// on every backend) and CUDA availability or driver failures.
///
/// ```
/// use agentworld_kernels::{Backend, GrpoConfig, KernelError};
///
/// let backend = Backend::cpu();
/// let mut out = vec![0.0; 3];
/// // offsets must end at rewards.len() (3), not 4
/// let err = backend.grpo(&[1.0, 2.0, 3.0], &[0, 4], None, &GrpoConfig::default(), &mut out).unwrap_err();
/// assert!(matches!(err, KernelError::Offsets(_)));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A buffer has the wrong length for the shape of the call.
    #[error("shape mismatch for `{what}`: expected length {expected}, got {got}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// The length the other arguments imply.
        expected: usize,
        /// The length passed.
        got: usize,
    },
    /// Group or episode offsets are not a valid CSR layout (start at 0, non-decreasing, end at the data length).
    #[error("invalid offsets: {0}")]
    Offsets(String),
    /// A scalar parameter or an index is out of its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// Which parameter.
        name: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// CUDA was asked for but the crate was built without the `cuda` feature.
    #[error("CUDA support is not compiled in (build agentworld-kernels with `--features cuda`)")]
    CudaNotCompiled,
    /// CUDA was asked for but no usable driver, NVRTC library or device is present.
    #[error("CUDA unavailable: {0}")]
    CudaUnavailable(String),
    /// A CUDA driver call failed.
    #[error("CUDA driver error: {0}")]
    Cuda(String),
    /// NVRTC failed to compile one of the crate's kernel sources.
    #[error("NVRTC failed to compile {family}.cu: {log}")]
    Nvrtc {
        /// The kernel family (file stem of the `.cu` source).
        family: &'static str,
        /// The compiler's log.
        log: String,
    },
}

/// Short alias used throughout the crate.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;

pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got { Ok(()) } else { Err(KernelError::Shape { what, expected, got }) }
}

pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> KernelError {
    KernelError::Param { name, reason: reason.into() }
}
