//! The CUDA backend (feature `cuda`): hand-written kernels in `src/cuda/*.cu`, one file per kernel family —
//! `advantage.cu`, `policy.cu`, `policy_tc.cu` (tensor-core matrix products, sm_80+), `optim.cu`, and `probe.cu` (an
//! empty kernel that measures the launch cost) — each compiled with the shared device helpers of `common.cuh` in
//! front, by NVRTC once per process, and launched through `cudarc` with the driver and NVRTC loaded dynamically.
//!
//! The policy's two matrix products run on tensor cores when the device has them (compute capability 8.0+): the
//! forward pass when every weight fits in f16 (W1 is split into f16 `hi + lo` halves, so the products keep ~22 bits
//! of each weight), and dW1 = Xᵀ·U always (features exact in f16; U scaled per chunk by a power of two and split
//! into three f16). Both agree with the CPU's f32 maths to a few ulps. [`CudaBackend::set_tensor_cores`] switches
//! back to the FP32 SIMT kernels (the path on older GPUs); their scores are bit-identical to the CPU's FMA path.
//!
//! Each method has the same signature and semantics as its [`crate::CpuBackend`] twin: host slices in, host
//! results out (upload, launch, download on one stream). The time between the first and last launch of the latest
//! call, measured with CUDA events, is available from [`CudaBackend::last_kernel_seconds`] (the benches report it
//! beside the memory-bandwidth or compute floor from [`CudaBackend::peak_bandwidth`] / [`CudaBackend::peak_fp32`]).
//!
//! Opening a backend never panics: the presence of `libcuda` and `libnvrtc` is checked first and any panic inside
//! the driver bindings is caught and turned into [`KernelError::CudaUnavailable`].
//!
//! ```no_run
//! use agentworld_kernels::{CudaBackend, GrpoConfig};
//! let cuda = CudaBackend::new(0).expect("a GPU");
//! let mut adv = vec![0.0; 4];
//! cuda.grpo(&[1.0, 0.0, 1.0, 1.0], &[0, 4], None, &GrpoConfig::default(), &mut adv).unwrap();
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, DeviceRepr, LaunchConfig, PushKernelArg,
    ValidAsZeroBits,
};
use cudarc::nvrtc::{CompileOptions, Ptx};
use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::KernelError;
use crate::advantage::{self, BroadcastConfig, GaeConfig, GroupReport, GrpoConfig};
use crate::error::{Result, param};
use crate::optim::{self, AdamState};
use crate::policy::{self, CandidateBatch, Decisions, PgConfig, PolicyGrad, PolicyParams, SampleConfig};

/// Device helpers every family uses, compiled in front of each family's source.
const COMMON: &str = include_str!("common.cuh");

/// Kernel sources, one per family, with the virtual architecture each needs (`None`: NVRTC's default).
const SOURCES: [(&str, &str, Option<&str>); 5] = [
    ("advantage", include_str!("advantage.cu"), None),
    ("policy", include_str!("policy.cu"), None),
    ("optim", include_str!("optim.cu"), None),
    ("probe", include_str!("probe.cu"), None),
    ("policy_tc", include_str!("policy_tc.cu"), Some("compute_80")),
];
/// Index of the tensor-core family in [`SOURCES`]; its module is loaded only on devices of compute capability 8.0+.
const TC_FAMILY: usize = 4;
/// Rows per block of `policy_forward_tc` (`TC_ROWS`) and its thread count (`TC_THREADS`).
const TC_ROWS: usize = 128;
const TC_THREADS: u32 = 128;
/// Features per block of `policy_grad_w1_tc` (`TG_D`) and its thread count (`TG_THREADS`).
const TG_FEATURES: usize = 128;
const TG_THREADS: u32 = 128;
/// Largest finite f16: weights beyond it cannot take the tensor-core path.
const F16_MAX: f32 = 65_504.0;

/// Hidden units are padded to a multiple of this on the GPU (`HC` in policy.cu).
const GPU_HC: usize = 32;
/// Rows per block of `policy_forward` (`FWD_ROWS` in policy.cu) and its thread count (`FT`).
const FWD_ROWS: usize = 128;
const FWD_THREADS: u32 = 128;
/// Features per block of `policy_grad_w1_partial` (`GD`), its thread count (`GT`) and the rows each block sums.
const GRAD_FEATURES: usize = 128;
const GRAD_THREADS: u32 = 128;
const GRAD_ROWS_PER_CHUNK: usize = 256;
/// Episodes per block of `gae` (`GAE_EPS` in advantage.cu; the kernel needs exactly this many threads).
const GAE_EPISODES: u32 = 128;
/// Members each thread of a segmented kernel holds in registers (`SEG_R` in advantage.cu).
const SEG_R: usize = 4;
/// Groups per block of `group_adv_tiled` (`GRP_GROUPS`, also its thread count) and the most members those groups
/// may hold together (`GRP_TILE`).
const GRP_GROUPS: usize = 64;
const GRP_TILE: u32 = 2048;
/// Loads each thread of `group_adv_tiled` issues at once (`GRP_BATCH`); its staging holds whole batches.
const GRP_BATCH: u32 = 16;

/// PTX of every family, compiled once per process.
static PTX: OnceLock<std::result::Result<Vec<String>, (&'static str, String)>> = OnceLock::new();

fn compiled_ptx() -> Result<Vec<Ptx>> {
    let cached = PTX.get_or_init(|| {
        let mut out = Vec::with_capacity(SOURCES.len());
        for (family, src, arch) in SOURCES {
            let name = format!("{family}.cu");
            // `#line` keeps NVRTC's messages pointing at the family's own file and line
            let full = format!("{COMMON}\n#line 1 \"{name}\"\n{src}");
            let opts = CompileOptions { use_fast_math: Some(false), arch, name: Some(name), ..Default::default() };
            let compiled = catch_unwind(|| cudarc::nvrtc::compile_ptx_with_opts(full, opts));
            match compiled {
                Ok(Ok(ptx)) => out.push(ptx.to_src()),
                Ok(Err(e)) => return Err((family, format!("{e:?}"))),
                Err(_) => return Err((family, "NVRTC panicked (library missing or incompatible)".into())),
            }
        }
        Ok(out)
    });
    match cached {
        Ok(srcs) => Ok(srcs.iter().map(|s| Ptx::from_src(s.clone())).collect()),
        Err((family, log)) => Err(KernelError::Nvrtc { family, log: log.clone() }),
    }
}

fn drv<T>(r: std::result::Result<T, cudarc::driver::DriverError>) -> Result<T> {
    r.map_err(|e| KernelError::Cuda(format!("{e:?}")))
}

struct Functions {
    group_adv: CudaFunction,
    group_adv_tiled: CudaFunction,
    group_adv_tiled_masked: CudaFunction,
    gae: CudaFunction,
    broadcast: CudaFunction,
    forward: CudaFunction,
    sample_rows: CudaFunction,
    grad_rows: CudaFunction,
    grad_w1: CudaFunction,
    reduce_rows: CudaFunction,
    adam: CudaFunction,
    sgd: CudaFunction,
    noop: CudaFunction,
    /// `policy_forward_tc` and `policy_grad_w1_tc`, on devices with tensor cores (compute capability 8.0+).
    forward_tc: Option<CudaFunction>,
    grad_w1_tc: Option<CudaFunction>,
}

/// CUDA kernels on one device; see the [module docs](self).
pub struct CudaBackend {
    ordinal: usize,
    name: String,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    f: Functions,
    tensor_cores: AtomicBool,
    last_kernel: Mutex<Option<f64>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend").field("ordinal", &self.ordinal).field("name", &self.name).finish()
    }
}

/// Device buffers of the padded network parameters.
struct DevParams {
    w1: CudaSlice<f32>,
    b1: CudaSlice<f32>,
    w2: CudaSlice<f32>,
    hp: usize,
    /// W1 for the tensor-core path: f16 `hi` and `lo` halves as `[Hp][Dp]` (features padded to `Dp`, a multiple of 8).
    tc: Option<TcWeights>,
}

struct TcWeights {
    hi: CudaSlice<u16>,
    lo: CudaSlice<u16>,
    dp: usize,
}

/// Device buffers of a candidate batch.
struct DevBatch {
    x: CudaSlice<u16>,
    mask: CudaSlice<u8>,
}

fn grid_for(n: usize, block: u32) -> Result<u32> {
    u32::try_from(n.div_ceil(block as usize).max(1)).map_err(|_| param("size", format!("{n} elements is too many")))
}

fn to_u32(what: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| param(what, format!("{n} does not fit in u32")))
}

fn to_i32(what: &'static str, n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| param(what, format!("{n} does not fit in i32")))
}

impl CudaBackend {
    /// Opens device `ordinal`: checks that the driver and NVRTC libraries load, creates the context, compiles (once
    /// per process) and loads the kernels. Never panics; every failure is a [`KernelError`].
    pub fn new(ordinal: usize) -> Result<Self> {
        // SAFETY: these only try to dlopen the library by its candidate names and close it again.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(KernelError::CudaUnavailable("the CUDA driver library (libcuda) was not found".into()));
        }
        // SAFETY: as above.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(KernelError::CudaUnavailable("the NVRTC library (libnvrtc) was not found".into()));
        }
        match catch_unwind(AssertUnwindSafe(|| Self::open(ordinal))) {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                Err(KernelError::CudaUnavailable(format!("CUDA initialisation panicked: {msg}")))
            }
        }
    }

    fn open(ordinal: usize) -> Result<Self> {
        let count = CudaContext::device_count().map_err(|e| KernelError::CudaUnavailable(format!("{e:?}")))?;
        if ordinal >= usize::try_from(count).unwrap_or(0) {
            return Err(KernelError::CudaUnavailable(format!("device {ordinal} requested, {count} present")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| KernelError::CudaUnavailable(format!("{e:?}")))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        let stream = ctx.default_stream();
        let ptx = compiled_ptx()?;
        let cc = drv(ctx.compute_capability())?;
        let has_tc = cc >= (8, 0);
        let mut modules = Vec::with_capacity(ptx.len());
        for (i, p) in ptx.into_iter().enumerate() {
            // a module built for compute_80 does not load on older devices
            if i != TC_FAMILY || has_tc {
                modules.push(drv(ctx.load_module(p))?);
            }
        }
        let load = |m: usize, name: &str| drv(modules[m].load_function(name));
        let f = Functions {
            group_adv: load(0, "group_adv")?,
            group_adv_tiled: load(0, "group_adv_tiled")?,
            group_adv_tiled_masked: load(0, "group_adv_tiled_masked")?,
            gae: load(0, "gae")?,
            broadcast: load(0, "broadcast_steps")?,
            forward: load(1, "policy_forward")?,
            sample_rows: load(1, "policy_sample_rows")?,
            grad_rows: load(1, "policy_grad_rows")?,
            grad_w1: load(1, "policy_grad_w1_partial")?,
            reduce_rows: load(1, "reduce_rows")?,
            adam: load(2, "adam_step")?,
            sgd: load(2, "sgd_step")?,
            noop: load(3, "noop")?,
            forward_tc: if has_tc { Some(load(TC_FAMILY, "policy_forward_tc")?) } else { None },
            grad_w1_tc: if has_tc { Some(load(TC_FAMILY, "policy_grad_w1_tc")?) } else { None },
        };
        Ok(Self { ordinal, name, ctx, stream, f, tensor_cores: AtomicBool::new(true), last_kernel: Mutex::new(None) })
    }

    /// `cuda:N (device name)`.
    pub fn describe(&self) -> String {
        format!("cuda:{} ({})", self.ordinal, self.name)
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the policy's matrix products (forward pass and dW1) use tensor cores: the device has them and they
    /// are not switched off.
    pub fn tensor_cores(&self) -> bool {
        self.f.forward_tc.is_some() && self.tensor_cores.load(Ordering::Relaxed)
    }

    /// Switches the tensor-core matrix products on (the default where the device has tensor cores) or off (the
    /// FP32 SIMT kernels, whose scores are bit-identical to the CPU's FMA path). Returns whether tensor cores are now
    /// in use.
    pub fn set_tensor_cores(&self, on: bool) -> bool {
        self.tensor_cores.store(on, Ordering::Relaxed);
        self.tensor_cores()
    }

    /// Seconds between the first and the last kernel of the latest call (CUDA events; excludes transfers).
    pub fn last_kernel_seconds(&self) -> Option<f64> {
        self.last_kernel.lock().ok().and_then(|g| *g)
    }

    fn attr(&self, a: cudarc::driver::sys::CUdevice_attribute) -> Option<i64> {
        self.ctx.attribute(a).ok().map(i64::from)
    }

    /// Peak DRAM bandwidth in bytes/s (2 · memory clock · bus width), if the driver reports it; else a table of
    /// known parts by name.
    pub fn peak_bandwidth(&self) -> Option<f64> {
        use cudarc::driver::sys::CUdevice_attribute as A;
        let clock_khz = self.attr(A::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE).filter(|&v| v > 0);
        let bus_bits = self.attr(A::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH).filter(|&v| v > 0);
        if let (Some(c), Some(b)) = (clock_khz, bus_bits) {
            return Some(2.0 * c as f64 * 1e3 * b as f64 / 8.0);
        }
        let n = self.name.to_ascii_uppercase();
        [("H200", 4.8e12), ("H100 PCIE", 2.0e12), ("H100", 3.35e12), ("A100", 2.0e12), ("L40S", 8.64e11)]
            .iter()
            .find(|(k, _)| n.contains(k))
            .map(|&(_, v)| v)
    }

    /// Peak FP32 FMA throughput in flop/s (SMs · FP32 lanes per SM · 2 · clock), if the driver reports it.
    pub fn peak_fp32(&self) -> Option<f64> {
        use cudarc::driver::sys::CUdevice_attribute as A;
        let sms = self.attr(A::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?;
        let clock_khz = self.attr(A::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).filter(|&v| v > 0)?;
        let major = self.attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
        let minor = self.attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
        let lanes = if major < 8 || (major == 8 && minor == 0) { 64.0 } else { 128.0 };
        Some(sms as f64 * lanes * 2.0 * clock_khz as f64 * 1e3)
    }

    // -- helpers -------------------------------------------------------------------------------------------------

    /// Uploads `data` (at least one element is allocated, so empty inputs still give a valid pointer).
    fn up<T: DeviceRepr + ValidAsZeroBits>(&self, data: &[T]) -> Result<CudaSlice<T>> {
        if data.is_empty() { drv(self.stream.alloc_zeros::<T>(1)) } else { drv(self.stream.clone_htod(data)) }
    }

    /// A device buffer of `n` elements (at least one) left uninitialised, for outputs a kernel writes in full:
    /// zeroing them would add a memset, a full write pass over the buffer, to every call (128 MB per output at 32M
    /// elements).
    ///
    /// # Safety
    /// Every element must be written by the launches of the call before anything reads it.
    unsafe fn uninit<T: DeviceRepr>(&self, n: usize) -> Result<CudaSlice<T>> {
        // SAFETY: forwarded to the caller; no element is read before a kernel has written it.
        drv(unsafe { self.stream.alloc::<T>(n.max(1)) })
    }

    fn zeros<T: DeviceRepr + ValidAsZeroBits>(&self, n: usize) -> Result<CudaSlice<T>> {
        drv(self.stream.alloc_zeros::<T>(n.max(1)))
    }

    fn down<T: DeviceRepr + Default + Clone>(&self, src: &CudaSlice<T>, dst: &mut [T]) -> Result<()> {
        if dst.is_empty() {
            return Ok(());
        }
        let view = src.slice(..dst.len());
        drv(self.stream.memcpy_dtoh(&view, dst))?;
        // a copy to pageable memory completes before the call returns; synchronise anyway so `dst` is final
        drv(self.stream.synchronize())
    }

    fn event(&self) -> Result<CudaEvent> {
        drv(self.ctx.new_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT)))
    }

    /// Records the start event on a drained stream. An upload from pageable memory returns before its last chunk
    /// has reached the device, and a start event queued behind that chunk put its transfer inside the kernel time
    /// (20-40 us at 32M elements against the kernel's own GPU time under Nsight Compute). The launch floor is
    /// measured from a drained stream too, so the two compare.
    fn start_timer(&self) -> Result<CudaEvent> {
        drv(self.stream.synchronize())?;
        let e = self.event()?;
        drv(e.record(&self.stream))?;
        Ok(e)
    }

    /// Waits for the work queued since `start` and records (and returns) its seconds as the latest call's.
    fn stop_timer(&self, start: CudaEvent) -> Result<f64> {
        let end = self.event()?;
        drv(end.record(&self.stream))?;
        drv(end.synchronize())?;
        let secs = f64::from(drv(start.elapsed_ms(&end))?) * 1e-3;
        if let Ok(mut g) = self.last_kernel.lock() {
            *g = Some(secs);
        }
        Ok(secs)
    }

    /// Median seconds, over `samples` runs, of the work `queue` puts on the stream, between two CUDA events.
    fn median_event_seconds(&self, samples: usize, mut queue: impl FnMut() -> Result<()>) -> Result<f64> {
        let mut times = Vec::with_capacity(samples.max(1));
        for _ in 0..samples.max(1) {
            let t = self.start_timer()?;
            queue()?;
            times.push(self.stop_timer(t)?);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }

    fn mask_bytes(mask: &[bool]) -> Vec<u8> {
        mask.iter().map(|&b| u8::from(b)).collect()
    }

    fn upload_params(&self, p: &PolicyParams) -> Result<DevParams> {
        let (d, h) = (p.dim(), p.hidden());
        let hp = h.div_ceil(GPU_HC) * GPU_HC;
        let mut w1 = vec![0.0f32; d * hp];
        for (dst, src) in w1.chunks_exact_mut(hp).zip(p.w1().chunks_exact(h)) {
            dst[..h].copy_from_slice(src);
        }
        let mut b1 = vec![0.0f32; hp];
        b1[..h].copy_from_slice(p.b1());
        let mut w2 = vec![0.0f32; hp];
        w2[..h].copy_from_slice(p.w2());
        let tc = if self.tensor_cores() && p.w1().iter().all(|w| w.abs() <= F16_MAX) {
            let dp = d.div_ceil(8) * 8;
            let (mut hi, mut lo) = (vec![0u16; hp * dp], vec![0u16; hp * dp]);
            for (di, row) in p.w1().chunks_exact(h).enumerate() {
                for (j, &w) in row.iter().enumerate() {
                    let whi = f16::from_f32(w);
                    hi[j * dp + di] = whi.to_bits();
                    lo[j * dp + di] = f16::from_f32(w - whi.to_f32()).to_bits();
                }
            }
            Some(TcWeights { hi: self.up(&hi)?, lo: self.up(&lo)?, dp })
        } else {
            None
        };
        Ok(DevParams { w1: self.up(&w1)?, b1: self.up(&b1)?, w2: self.up(&w2)?, hp, tc })
    }

    fn upload_batch(&self, batch: &CandidateBatch<'_>) -> Result<DevBatch> {
        to_u32("batch", batch.batch())?;
        to_i32("candidates", batch.candidates())?;
        to_u32("batch*candidates", batch.batch() * batch.candidates())?;
        let bits: &[u16] = batch.features().reinterpret_cast();
        Ok(DevBatch { x: self.up(bits)?, mask: self.up(&Self::mask_bytes(batch.mask()))? })
    }

    /// Threads per segment of the segmented kernels (`lanes` in advantage.cu): the smallest power of two, at most
    /// 32, whose threads hold the longest segment in registers.
    fn segment_lanes(offsets: &[u32]) -> u32 {
        let longest = offsets.windows(2).map(|w| w[1].saturating_sub(w[0])).max().unwrap_or(0) as usize;
        longest.div_ceil(SEG_R).clamp(1, 32).next_power_of_two() as u32
    }

    /// The staging capacity `group_adv_tiled` needs, in members: the most that any block of GRP_GROUPS consecutive
    /// groups holds, rounded up to whole load batches (GRP_BATCH x GRP_GROUPS); `None` when that exceeds GRP_TILE
    /// (the segmented kernel's case).
    fn tile_capacity(offsets: &[u32]) -> Option<u32> {
        let segments = offsets.len().saturating_sub(1);
        let most = (0..segments)
            .step_by(GRP_GROUPS)
            .map(|s0| offsets[(s0 + GRP_GROUPS).min(segments)] - offsets[s0])
            .max()
            .unwrap_or(0);
        let cap = most.max(1).next_multiple_of(GRP_BATCH * GRP_GROUPS as u32);
        (cap <= GRP_TILE).then_some(cap)
    }

    /// A launch with one warp per row (per state), four warps per block.
    fn warp_per_row(rows: usize) -> Result<LaunchConfig> {
        Ok(LaunchConfig { grid_dim: (grid_for(rows, 4)?, 1, 1), block_dim: (128, 1, 1), shared_mem_bytes: 0 })
    }

    /// Seconds of an empty kernel between two CUDA events (median of `samples`): the fixed cost of one launch,
    /// which no kernel can beat however little data it moves.
    pub fn launch_floor(&self, samples: usize) -> Result<f64> {
        let lc = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: 0 };
        self.median_event_seconds(samples, || {
            let mut l = self.stream.launch_builder(&self.f.noop);
            // SAFETY: `noop` takes no arguments and touches no memory.
            drv(unsafe { l.launch(lc) }).map(drop)
        })
    }

    /// Seconds the device takes to copy `bytes / 2` bytes from one buffer to another (so `bytes` are moved, read
    /// plus written), between two CUDA events, median of `samples`: the practical floor of a memory-bound kernel
    /// that moves as much, with the launch and the DRAM latency included.
    pub fn copy_floor(&self, bytes: usize, samples: usize) -> Result<f64> {
        let n = (bytes / 2).max(4);
        let src = self.zeros::<u8>(n)?;
        let mut dst = self.zeros::<u8>(n)?;
        self.median_event_seconds(samples, || drv(self.stream.memcpy_dtod(&src, &mut dst)))
    }

    // -- advantages ----------------------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn group_op(
        &self,
        op: i32,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        cfg: &GrpoConfig,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        advantage::validate_group_args(rewards, offsets, valid, out)?;
        let groups = offsets.len() - 1;
        if groups == 0 {
            return Ok(GroupReport::default());
        }
        // staged through shared memory when every block's groups fit its tile (GRPO's usual 8-64 rollouts per
        // task), else segmented across lanes
        let cap = Self::tile_capacity(offsets);
        let d_r = self.up(rewards)?;
        let d_o = self.up(offsets)?;
        let d_v = self.up(&valid.map(Self::mask_bytes).unwrap_or_default())?;
        // SAFETY: either kernel writes every member's advantage and every group's count (offsets are validated:
        // they start at 0, never decrease and end at rewards.len())
        let mut d_out = unsafe { self.uninit::<f32>(rewards.len()) }?;
        let mut d_counts = unsafe { self.uninit::<u32>(groups) }?;
        let (g32, has_valid) = (to_u32("groups", groups)?, i32::from(valid.is_some()));
        let (scale, unbiased) = (i32::from(cfg.scale_by_std), i32::from(cfg.unbiased_std));
        let t = self.start_timer()?;
        if let Some(cap) = cap {
            // GRP_SKEW(cap) staged floats, twice with the mask
            let staged = (cap + cap / 32) * 4 * (1 + u32::from(valid.is_some()));
            let lc = LaunchConfig {
                grid_dim: (grid_for(groups, GRP_GROUPS as u32)?, 1, 1),
                block_dim: (GRP_GROUPS as u32, 1, 1),
                shared_mem_bytes: staged,
            };
            let f = if valid.is_some() { &self.f.group_adv_tiled_masked } else { &self.f.group_adv_tiled };
            let mut l = self.stream.launch_builder(f);
            l.arg(&d_r).arg(&d_o);
            if valid.is_some() {
                l.arg(&d_v);
            }
            l.arg(&g32).arg(&cap).arg(&op).arg(&scale).arg(&unbiased).arg(&cfg.eps).arg(&mut d_out).arg(&mut d_counts);
            // SAFETY: matches `group_adv_tiled` / `group_adv_tiled_masked` (the one taking `valid`) in
            // advantage.cu, launched with GRP_GROUPS threads per block and the dynamic shared memory they index
            // (GRP_SKEW(cap) floats per staging array); every block's groups hold at most `cap` members, a whole
            // number of load batches (tile_capacity); offsets are validated.
            drv(unsafe { l.launch(lc) })?;
        } else {
            let lanes = Self::segment_lanes(offsets);
            let lanes32 = lanes as i32;
            let block = 256u32;
            let lc = LaunchConfig {
                grid_dim: (grid_for(groups * lanes as usize, block)?, 1, 1),
                block_dim: (block, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut l = self.stream.launch_builder(&self.f.group_adv);
            l.arg(&d_r).arg(&d_o).arg(&d_v).arg(&has_valid).arg(&g32).arg(&lanes32).arg(&op).arg(&scale);
            l.arg(&unbiased).arg(&cfg.eps).arg(&mut d_out).arg(&mut d_counts);
            // SAFETY: argument types and order match `group_adv` in advantage.cu; buffers hold `rewards.len()`
            // elements (out), `groups` (counts) and `groups + 1` (offsets, validated) as the kernel indexes; `lanes`
            // is a power of two <= 32 and the block size a multiple of 32, so segments never straddle warps.
            drv(unsafe { l.launch(lc) })?;
        }
        self.stop_timer(t)?;
        self.down(&d_out, out)?;
        let mut counts = vec![0u32; groups];
        self.down(&d_counts, &mut counts)?;
        Ok(GroupReport {
            underfilled: counts.iter().enumerate().filter(|&(_, &c)| c < 2).map(|(g, _)| g as u32).collect(),
            masked: valid.map_or(0, |v| v.iter().filter(|&&ok| !ok).count()),
        })
    }

    /// GRPO advantages (twin of [`crate::CpuBackend::grpo`]).
    pub fn grpo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        cfg: &GrpoConfig,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        cfg.validate()?;
        self.group_op(0, rewards, offsets, valid, cfg, out)
    }

    /// RLOO advantages (twin of [`crate::CpuBackend::rloo`]).
    pub fn rloo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        self.group_op(1, rewards, offsets, valid, &GrpoConfig::default(), out)
    }

    /// GAE (twin of [`crate::CpuBackend::gae`]).
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
        advantage::validate_gae_args(rewards, values, offsets, bootstrap, cfg, advantages, returns)?;
        let episodes = offsets.len() - 1;
        if episodes == 0 {
            return Ok(());
        }
        let d_r = self.up(rewards)?;
        let d_v = self.up(values)?;
        let d_o = self.up(offsets)?;
        let d_b = self.up(bootstrap.unwrap_or(&[]))?;
        // SAFETY: `gae` writes both outputs at every step of every episode, and the validated offsets cover every step
        let mut d_a = unsafe { self.uninit::<f32>(rewards.len()) }?;
        let mut d_ret = unsafe { self.uninit::<f32>(rewards.len()) }?;
        let (e32, has_b) = (to_u32("episodes", episodes)?, i32::from(bootstrap.is_some()));
        let gl = cfg.gamma * cfg.lambda;
        let lc = LaunchConfig {
            grid_dim: (grid_for(episodes, GAE_EPISODES)?, 1, 1),
            block_dim: (GAE_EPISODES, 1, 1),
            shared_mem_bytes: 0,
        };
        let t = self.start_timer()?;
        let mut l = self.stream.launch_builder(&self.f.gae);
        l.arg(&d_r).arg(&d_v).arg(&d_o).arg(&d_b).arg(&has_b).arg(&e32).arg(&cfg.gamma).arg(&gl);
        l.arg(&mut d_a).arg(&mut d_ret);
        // SAFETY: matches `gae` in advantage.cu, launched with GAE_EPS threads per block as it requires; offsets
        // are validated so every index is < rewards.len().
        drv(unsafe { l.launch(lc) })?;
        self.stop_timer(t)?;
        self.down(&d_a, advantages)?;
        self.down(&d_ret, returns)
    }

    /// Step broadcast (twin of [`crate::CpuBackend::broadcast_steps`]).
    pub fn broadcast_steps(
        &self,
        episode_adv: &[f32],
        step_offsets: &[u32],
        format_error: &[bool],
        cfg: &BroadcastConfig,
        out: &mut [f32],
    ) -> Result<()> {
        advantage::validate_broadcast_args(episode_adv, step_offsets, format_error, out)?;
        let episodes = step_offsets.len() - 1;
        if out.is_empty() {
            return Ok(());
        }
        let d_a = self.up(episode_adv)?;
        let d_o = self.up(step_offsets)?;
        let d_f = self.up(&Self::mask_bytes(format_error))?;
        // SAFETY: `broadcast_steps` writes every step of every episode, and the validated offsets cover every step
        let mut d_out = unsafe { self.uninit::<f32>(out.len()) }?;
        let e32 = to_u32("episodes", episodes)?;
        let block = 256u32;
        // one warp per 32 episodes
        let lc = LaunchConfig {
            grid_dim: (grid_for(episodes.div_ceil(32) * 32, block)?, 1, 1),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        let t = self.start_timer()?;
        let mut l = self.stream.launch_builder(&self.f.broadcast);
        l.arg(&d_a).arg(&d_o).arg(&e32).arg(&d_f).arg(&cfg.format_error_value).arg(&mut d_out);
        // SAFETY: matches `broadcast_steps` in advantage.cu; offsets are validated (every index < out.len()), and
        // out is not empty here, so the clamped flag index end - 1 is in bounds.
        drv(unsafe { l.launch(lc) })?;
        self.stop_timer(t)?;
        self.down(&d_out, out)
    }

    // -- policy --------------------------------------------------------------------------------------------------

    /// Queues `policy_forward` over every row of `batch`: scores into `scores` (B·K) and, when `hid` is given, the
    /// post-ReLU activations into it (B·K·Hp).
    fn launch_forward(
        &self,
        p: &DevParams,
        x: &DevBatch,
        batch: &CandidateBatch<'_>,
        scores: &mut CudaSlice<f32>,
        hid: Option<&mut CudaSlice<f32>>,
    ) -> Result<()> {
        let (n, d) = (batch.batch() * batch.candidates(), batch.dim());
        let (n32, d32, h32) = (to_u32("rows", n)?, to_i32("dim", d)?, to_i32("hidden", p.hp)?);
        let vec = i32::from(d % 8 == 0);
        let has_hid = i32::from(hid.is_some());
        // without activations the kernels never touch `hid`: null stands in, so no allocation and memset sit
        // between the caller's start event and the launch (they cost ~7 us of idle GPU per call, measured)
        let null = 0u64;
        if let (Some(tc), Some(f)) = (&p.tc, &self.f.forward_tc) {
            let dp32 = to_i32("padded dim", tc.dp)?;
            let lc = LaunchConfig {
                grid_dim: (grid_for(n, TC_ROWS as u32)?, 1, 1),
                block_dim: (TC_THREADS, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut l = self.stream.launch_builder(f);
            l.arg(&x.x).arg(&x.mask).arg(&tc.hi).arg(&tc.lo).arg(&dp32).arg(&p.b1).arg(&p.w2).arg(&n32).arg(&d32);
            l.arg(&h32).arg(&vec).arg(scores).arg(&has_hid);
            match hid {
                Some(h) => l.arg(h),
                None => l.arg(&null),
            };
            // SAFETY: matches `policy_forward_tc` in policy_tc.cu, launched with TC_THREADS threads per block on a
            // device of compute capability 8.0+ (the module is loaded only there); the W1 halves hold Hp·Dp
            // halves with Dp a multiple of 8 (aligned 16-byte loads), the other buffers as for `policy_forward`.
            return drv(unsafe { l.launch(lc) }).map(drop);
        }
        let lc = LaunchConfig {
            grid_dim: (grid_for(n, FWD_ROWS as u32)?, 1, 1),
            block_dim: (FWD_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = self.stream.launch_builder(&self.f.forward);
        l.arg(&x.x).arg(&x.mask).arg(&p.w1).arg(&p.b1).arg(&p.w2).arg(&n32).arg(&d32).arg(&h32).arg(&vec);
        l.arg(scores).arg(&has_hid);
        match hid {
            Some(h) => l.arg(h),
            None => l.arg(&null),
        };
        // SAFETY: matches `policy_forward` in policy.cu, launched with FT threads per block; X holds N·D halves
        // (vec only when D % 8 == 0, so its 16-byte loads are aligned), params are padded to Hp (a multiple of HC),
        // scores hold N floats and hid N·Hp floats whenever has_hid is set.
        drv(unsafe { l.launch(lc) }).map(drop)
    }

    /// Candidate scores (twin of [`crate::CpuBackend::policy_scores`]).
    pub fn policy_scores(&self, params: &PolicyParams, batch: &CandidateBatch<'_>) -> Result<Vec<f32>> {
        policy::validate_params(params, batch)?;
        let (b, k) = (batch.batch(), batch.candidates());
        let mut out = vec![f32::NEG_INFINITY; b * k];
        if b * k == 0 {
            return Ok(out);
        }
        let p = self.upload_params(params)?;
        let x = self.upload_batch(batch)?;
        let mut d_out = self.zeros::<f32>(b * k)?;
        let t = self.start_timer()?;
        self.launch_forward(&p, &x, batch, &mut d_out, None)?;
        self.stop_timer(t)?;
        self.down(&d_out, &mut out)?;
        Ok(out)
    }

    /// Sampling (twin of [`crate::CpuBackend::policy_sample`]).
    pub fn policy_sample(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        episode: &[u64],
        step: &[u64],
        cfg: &SampleConfig,
    ) -> Result<Decisions> {
        let (tau, greedy) = policy::validate_sample_args(params, batch, episode, step, cfg)?;
        let (b, k) = (batch.batch(), batch.candidates());
        let mut out = Decisions { chosen: vec![-1; b], logprob: vec![0.0; b], entropy: vec![0.0; b] };
        if b * k == 0 {
            return Ok(out);
        }
        let p = self.upload_params(params)?;
        let x = self.upload_batch(batch)?;
        let (d_ep, d_st) = (self.up(episode)?, self.up(step)?);
        let mut d_s = self.zeros::<f32>(b * k)?;
        let mut d_c = self.zeros::<i32>(b)?;
        let mut d_lp = self.zeros::<f32>(b)?;
        let mut d_en = self.zeros::<f32>(b)?;
        let (b32, k32, greedy) = (to_u32("batch", b)?, to_i32("candidates", k)?, i32::from(greedy));
        let t = self.start_timer()?;
        self.launch_forward(&p, &x, batch, &mut d_s, None)?;
        let mut l = self.stream.launch_builder(&self.f.sample_rows);
        l.arg(&d_s).arg(&x.mask).arg(&b32).arg(&k32).arg(&d_ep).arg(&d_st).arg(&cfg.seed).arg(&tau).arg(&greedy);
        l.arg(&mut d_c).arg(&mut d_lp).arg(&mut d_en);
        // SAFETY: matches `policy_sample_rows` in policy.cu: one warp per state over B·K scores and mask bytes,
        // B episode/step keys and B outputs each.
        drv(unsafe { l.launch(Self::warp_per_row(b)?) })?;
        self.stop_timer(t)?;
        self.down(&d_c, &mut out.chosen)?;
        self.down(&d_lp, &mut out.logprob)?;
        self.down(&d_en, &mut out.entropy)?;
        Ok(out)
    }

    /// Policy gradient (twin of [`crate::CpuBackend::policy_grad`]).
    pub fn policy_grad(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        chosen: &[i32],
        advantages: &[f32],
        cfg: &PgConfig,
    ) -> Result<PolicyGrad> {
        let tau = policy::validate_grad_args(params, batch, chosen, advantages, cfg)?;
        let (b, k, d, h) = (batch.batch(), batch.candidates(), batch.dim(), params.hidden());
        let mut grad = vec![0.0f32; PolicyParams::len_for(d, h)];
        let n = b * k;
        if n == 0 {
            return Ok(PolicyGrad { loss: 0.0, grad });
        }
        let p = self.upload_params(params)?;
        let hp = p.hp;
        let x = self.upload_batch(batch)?;
        let d_ch = self.up(chosen)?;
        let d_adv = self.up(advantages)?;
        let chunks = n.div_ceil(GRAD_ROWS_PER_CHUNK);
        let mut d_s = self.zeros::<f32>(n)?;
        // SAFETY: the forward pass writes all Hp activations of every row (both kernels, every hidden chunk)
        let mut d_h = unsafe { self.uninit::<f32>(n * hp) }?;
        let mut d_g = self.zeros::<f32>(n)?;
        let mut d_loss = self.zeros::<f32>(b)?;
        // per chunk of rows: dW1 (D·Hp), db1 (Hp), dw2 (Hp); one reduction over the chunks gives all three
        let cols = (d + 2) * hp;
        let mut d_part = self.zeros::<f32>(chunks * cols)?;
        let mut d_sum = self.zeros::<f32>(cols)?;
        let (b32, k32, n32) = (to_u32("batch", b)?, to_i32("candidates", k)?, to_u32("rows", n)?);
        let (d32, h32, vec) = (to_i32("dim", d)?, to_i32("hidden", hp)?, i32::from(d % 8 == 0));
        let (chunks32, rows32) = (to_u32("chunks", chunks)?, to_u32("rows per chunk", GRAD_ROWS_PER_CHUNK)?);
        let cols32 = to_u32("(dim+2)*hidden", cols)?;
        // dW1 on tensor cores wherever the forward pass may use them (it does not depend on the weights' range)
        let w1_tc = self.f.grad_w1_tc.as_ref().filter(|_| self.tensor_cores());
        let (w1_features, w1_threads) =
            if w1_tc.is_some() { (TG_FEATURES, TG_THREADS) } else { (GRAD_FEATURES, GRAD_THREADS) };
        let w1_lc = LaunchConfig {
            grid_dim: (chunks32, grid_for(d, w1_features as u32)?, to_u32("hidden chunks", hp / GPU_HC)?),
            block_dim: (w1_threads, 1, 1),
            shared_mem_bytes: 0,
        };
        // 32 columns per block of 8 warps (RR_COLS, RR_WARPS in policy.cu)
        let red_lc =
            LaunchConfig { grid_dim: (grid_for(cols, 32)?, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let t = self.start_timer()?;
        self.launch_forward(&p, &x, batch, &mut d_s, Some(&mut d_h))?;
        let mut l = self.stream.launch_builder(&self.f.grad_rows);
        l.arg(&d_s).arg(&x.mask).arg(&b32).arg(&k32).arg(&d_ch).arg(&d_adv).arg(&tau).arg(&cfg.entropy_coef);
        l.arg(&cfg.scale).arg(&mut d_g).arg(&mut d_loss);
        // SAFETY: matches `policy_grad_rows`: one warp per state over B·K scores/mask/g, B chosen/adv/loss;
        // chosen indices were validated against K and the mask.
        drv(unsafe { l.launch(Self::warp_per_row(b)?) })?;
        let mut l = self.stream.launch_builder(w1_tc.unwrap_or(&self.f.grad_w1));
        l.arg(&x.x).arg(&d_h).arg(&d_g).arg(&p.w2).arg(&n32).arg(&d32).arg(&h32).arg(&vec).arg(&rows32);
        l.arg(&mut d_part);
        // SAFETY: matches `policy_grad_w1_partial` (policy.cu) and `policy_grad_w1_tc` (policy_tc.cu, loaded only on
        // compute capability 8.0+), which share their arguments; launched with the chosen kernel's threads per block
        // over (chunks, ceil(D/features per block), Hp/HC) blocks; the partial buffer holds chunks·(D+2)·Hp floats.
        drv(unsafe { l.launch(w1_lc) })?;
        let mut l = self.stream.launch_builder(&self.f.reduce_rows);
        l.arg(&d_part).arg(&chunks32).arg(&cols32).arg(&mut d_sum);
        // SAFETY: matches `reduce_rows`, launched with RR_WARPS * 32 threads per block and one block per RR_COLS
        // columns; reads chunks·cols floats, writes cols.
        drv(unsafe { l.launch(red_lc) })?;
        self.stop_timer(t)?;
        let mut sum = vec![0.0f32; cols];
        self.down(&d_sum, &mut sum)?;
        let mut loss = vec![0.0f32; b];
        self.down(&d_loss, &mut loss)?;
        // rows of Hp (dW1's D rows, then db1, then dw2) lose their padding
        for (dst, src) in grad.chunks_exact_mut(h).zip(sum.chunks_exact(hp)) {
            dst.copy_from_slice(&src[..h]);
        }
        Ok(PolicyGrad { loss: loss.iter().map(|&v| f64::from(v)).sum(), grad })
    }

    // -- optimisers ----------------------------------------------------------------------------------------------

    /// Adam step (twin of [`crate::CpuBackend::adam_step`]).
    pub fn adam_step(&self, state: &mut AdamState, params: &mut [f32], grad: &[f32]) -> Result<()> {
        optim::validate_adam_args(state, params, grad)?;
        let t_next = state.t + 1;
        let n = params.len();
        if n > 0 {
            let (c1, c2) = state.corrections(t_next);
            let c = state.config;
            let mut d_p = self.up(params)?;
            let mut d_m = self.up(&state.m)?;
            let mut d_v = self.up(&state.v)?;
            let d_g = self.up(grad)?;
            let n32 = to_u32("params", n)?;
            let lc = LaunchConfig { grid_dim: (grid_for(n, 256)?, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
            let t = self.start_timer()?;
            let mut l = self.stream.launch_builder(&self.f.adam);
            l.arg(&mut d_p).arg(&mut d_m).arg(&mut d_v).arg(&d_g).arg(&n32);
            l.arg(&c.lr).arg(&c.beta1).arg(&c.beta2).arg(&c.eps).arg(&c.weight_decay).arg(&c1).arg(&c2);
            // SAFETY: matches `adam_step` in optim.cu; all four buffers hold n floats.
            drv(unsafe { l.launch(lc) })?;
            self.stop_timer(t)?;
            self.down(&d_p, params)?;
            self.down(&d_m, &mut state.m)?;
            self.down(&d_v, &mut state.v)?;
        }
        state.t = t_next;
        Ok(())
    }

    /// SGD step (twin of [`crate::CpuBackend::sgd_step`]).
    pub fn sgd_step(&self, lr: f32, params: &mut [f32], grad: &[f32]) -> Result<()> {
        optim::validate_sgd_args(lr, params, grad)?;
        let n = params.len();
        if n == 0 {
            return Ok(());
        }
        let mut d_p = self.up(params)?;
        let d_g = self.up(grad)?;
        let n32 = to_u32("params", n)?;
        let lc = LaunchConfig { grid_dim: (grid_for(n, 256)?, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let t = self.start_timer()?;
        let mut l = self.stream.launch_builder(&self.f.sgd);
        l.arg(&mut d_p).arg(&d_g).arg(&n32).arg(&lr);
        // SAFETY: matches `sgd_step` in optim.cu; both buffers hold n floats.
        drv(unsafe { l.launch(lc) })?;
        self.stop_timer(t)?;
        self.down(&d_p, params)
    }
}
