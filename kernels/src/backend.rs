//! Device selection and the [`Backend`] facade.

use std::fmt;
use std::str::FromStr;

use crate::KernelError;
use crate::advantage::{BroadcastConfig, GaeConfig, GroupReport, GrpoConfig};
use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::optim::AdamState;
use crate::policy::{CandidateBatch, Decisions, PgConfig, PolicyGrad, PolicyParams, SampleConfig};

/// Which device a [`Backend`] should run on.
///
/// Parses from `"cpu"`, `"cuda"` (device 0), `"cuda:N"` and `"auto"`.
///
/// ```
/// use agentworld_kernels::Device;
/// assert_eq!("cuda:1".parse::<Device>().unwrap(), Device::Cuda(1));
/// assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
/// assert!("tpu".parse::<Device>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The CPU reference kernels (always available).
    Cpu,
    /// The CUDA device with this ordinal; an error if CUDA is not compiled in or not usable.
    Cuda(usize),
    /// CUDA device 0 if usable, else the CPU (with one line on stderr saying why).
    #[default]
    Auto,
}

impl FromStr for Device {
    type Err = KernelError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "auto" => Ok(Device::Auto),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => {
                other.strip_prefix("cuda:").and_then(|n| n.parse().ok()).map(Device::Cuda).ok_or_else(|| {
                    crate::error::param("device", format!("expected cpu, cuda, cuda:N or auto, got {s:?}"))
                })
            }
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
            Device::Auto => f.write_str("auto"),
        }
    }
}

#[derive(Clone)]
enum Inner {
    Cpu(CpuBackend),
    #[cfg(feature = "cuda")]
    Cuda(std::sync::Arc<crate::cuda::CudaBackend>),
}

/// The kernels on one device. Cheap to clone (the CUDA context is shared).
///
/// ```
/// use agentworld_kernels::{Backend, Device, GrpoConfig};
/// let backend = Backend::new(Device::Auto).unwrap(); // CPU here unless a GPU and the `cuda` feature are present
/// let rewards = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
/// let mut adv = vec![0.0; 6];
/// let report = backend.grpo(&rewards, &[0, 4, 6], None, &GrpoConfig::default(), &mut adv).unwrap();
/// assert!(report.underfilled.is_empty());
/// assert!(adv[0] > 0.0 && adv[1] < 0.0);
/// assert_eq!(&adv[4..], &[0.0, 0.0]); // all-equal rewards: no signal
/// ```
#[derive(Clone)]
pub struct Backend {
    inner: Inner,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("device", &self.describe()).finish()
    }
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.inner {
            Inner::Cpu(c) => c.$method($($arg),*),
            #[cfg(feature = "cuda")]
            Inner::Cuda(c) => c.$method($($arg),*),
        }
    };
}

impl Backend {
    /// The CPU backend with one thread per available core.
    pub fn cpu() -> Self {
        Self { inner: Inner::Cpu(CpuBackend::default()) }
    }

    /// The CPU backend with an explicit thread count.
    pub fn cpu_with_threads(threads: usize) -> Self {
        Self { inner: Inner::Cpu(CpuBackend::new(threads)) }
    }

    /// Opens the requested device. `Device::Cuda` fails with [`KernelError::CudaNotCompiled`] or
    /// [`KernelError::CudaUnavailable`] (never a panic) when CUDA cannot be used; `Device::Auto` falls back to the
    /// CPU and prints one line on stderr.
    pub fn new(device: Device) -> Result<Self> {
        match device {
            Device::Cpu => Ok(Self::cpu()),
            Device::Cuda(ordinal) => Self::open_cuda(ordinal),
            Device::Auto => Ok(Self::open_cuda(0).unwrap_or_else(|e| {
                eprintln!("agentworld-kernels: using the CPU backend ({e})");
                Self::cpu()
            })),
        }
    }

    #[cfg(feature = "cuda")]
    fn open_cuda(ordinal: usize) -> Result<Self> {
        Ok(Self { inner: Inner::Cuda(std::sync::Arc::new(crate::cuda::CudaBackend::new(ordinal)?)) })
    }

    #[cfg(not(feature = "cuda"))]
    fn open_cuda(_ordinal: usize) -> Result<Self> {
        Err(KernelError::CudaNotCompiled)
    }

    /// Whether this backend runs on a GPU.
    pub fn is_cuda(&self) -> bool {
        !matches!(self.inner, Inner::Cpu(_))
    }

    /// A one-line description (`cpu (2 threads)`, `cuda:0 (NVIDIA H100 ...)`).
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Cpu(c) => format!("cpu ({} threads)", c.threads()),
            #[cfg(feature = "cuda")]
            Inner::Cuda(c) => c.describe(),
        }
    }

    /// The CUDA backend, for device-resident calls (feature `cuda`).
    #[cfg(feature = "cuda")]
    pub fn as_cuda(&self) -> Option<&std::sync::Arc<crate::cuda::CudaBackend>> {
        match &self.inner {
            Inner::Cuda(c) => Some(c),
            Inner::Cpu(_) => None,
        }
    }

    /// GRPO advantages over groups given by CSR `offsets`; `valid` masks out infrastructure failures.
    /// See [`crate::advantage`] for the maths.
    pub fn grpo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        cfg: &GrpoConfig,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        dispatch!(self.grpo(rewards, offsets, valid, cfg, out))
    }

    /// RLOO advantages (leave-one-out baseline).
    pub fn rloo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        dispatch!(self.rloo(rewards, offsets, valid, out))
    }

    /// GAE advantages and returns per step; `offsets` are episode boundaries over steps; `bootstrap` gives the value
    /// after each episode's last step (None: every episode is terminal).
    #[allow(clippy::too_many_arguments)]
    pub fn gae(
        &self,
        rewards: &[f32],
        values: &[f32],
        offsets: &[u32],
        bootstrap: Option<&[f32]>,
        cfg: &GaeConfig,
        advantages: &mut [f32],
        returns: &mut [f32],
    ) -> Result<()> {
        dispatch!(self.gae(rewards, values, offsets, bootstrap, cfg, advantages, returns))
    }

    /// Broadcasts one advantage per episode to its steps; a format-error step gets `cfg.format_error_value`.
    ///
    /// ```
    /// use agentworld_kernels::{Backend, BroadcastConfig};
    /// let mut out = vec![0.0; 4];
    /// let fe = [false, true, false, false];
    /// Backend::cpu().broadcast_steps(&[0.5, 2.0], &[0, 2, 4], &fe, &BroadcastConfig::default(), &mut out).unwrap();
    /// assert_eq!(out, vec![0.5, -1.0, 2.0, 2.0]);
    /// ```
    pub fn broadcast_steps(
        &self,
        episode_adv: &[f32],
        step_offsets: &[u32],
        format_error: &[bool],
        cfg: &BroadcastConfig,
        out: &mut [f32],
    ) -> Result<()> {
        dispatch!(self.broadcast_steps(episode_adv, step_offsets, format_error, cfg, out))
    }

    /// Scores of every candidate, `B × K`, masked slots `-inf`.
    pub fn policy_scores(&self, params: &PolicyParams, batch: &CandidateBatch<'_>) -> Result<Vec<f32>> {
        dispatch!(self.policy_scores(params, batch))
    }

    /// One decision per state: chosen index (-1 if none valid), its log-prob and the entropy.
    ///
    /// ```
    /// use agentworld_kernels::{Backend, CandidateBatch, PolicyParams, SampleConfig};
    /// use half::f16;
    /// let (b, k, d) = (2, 3, 4);
    /// let feats: Vec<f16> = (0..b * k * d).map(|i| f16::from_f32((i % 7) as f32 / 7.0)).collect();
    /// let mask = [true, false, true, false, false, false];
    /// let batch = CandidateBatch::new(&feats, &mask, b, k, d).unwrap();
    /// let params = PolicyParams::init(d, 8, 1).unwrap();
    /// let out = Backend::cpu().policy_sample(&params, &batch, &[10, 11], &[0, 0], &SampleConfig::default()).unwrap();
    /// assert!(out.chosen[0] == 0 || out.chosen[0] == 2);
    /// assert_eq!(out.chosen[1], -1); // no valid candidate
    /// assert_eq!(out.logprob[1], 0.0);
    /// ```
    pub fn policy_sample(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        episode: &[u64],
        step: &[u64],
        cfg: &SampleConfig,
    ) -> Result<Decisions> {
        dispatch!(self.policy_sample(params, batch, episode, step, cfg))
    }

    /// Loss `-scale·Σ(A·log π(chosen) + β·H)` and its gradient w.r.t. the parameters.
    pub fn policy_grad(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        chosen: &[i32],
        advantages: &[f32],
        cfg: &PgConfig,
    ) -> Result<PolicyGrad> {
        dispatch!(self.policy_grad(params, batch, chosen, advantages, cfg))
    }

    /// One Adam step on `params` (any flat vector, e.g. [`PolicyParams::as_mut_slice`]).
    pub fn adam_step(&self, state: &mut AdamState, params: &mut [f32], grad: &[f32]) -> Result<()> {
        dispatch!(self.adam_step(state, params, grad))
    }

    /// One SGD step `θ -= lr·g`.
    pub fn sgd_step(&self, lr: f32, params: &mut [f32], grad: &[f32]) -> Result<()> {
        dispatch!(self.sgd_step(lr, params, grad))
    }
}
