//! Kernel benchmarks (`cargo bench -p agentworld-kernels [--features cuda]`): median and p99 per operation on the
//! CPU backend and, when the `cuda` feature is on and a GPU is present, on the CUDA backend.
//!
//! Sizes: the issue's (1M rewards in groups of 16 for GRPO/RLOO, 1M steps in episodes of 16 for GAE and
//! broadcasting; policy inference and gradient at B=1024 states, K=64 candidates, D=256 features, H=32 hidden
//! units). On a GPU the same operations also run at a large size (32M rewards, B=8192), where the fixed cost of a
//! launch no longer hides the kernel's own speed.
//!
//! Each GPU row gives the end-to-end time (host<->device copies included), the kernel time (CUDA events around the
//! launches, median over the iterations) and the floor beside it: the larger of the bytes the operation must move
//! at the device's peak DRAM bandwidth, its FP32 FLOPs at peak, and the measured time of an empty kernel. For the
//! memory-bound operations it also gives the measured time of a device-to-device copy that moves as many bytes
//! (the practical floor at that size: launch, DRAM latency and achievable bandwidth included), and the ratio to
//! "launch+work": the empty kernel's time plus the bytes at peak bandwidth (or the FLOPs at peak), the least one
//! launch timed on its own can take, since its fixed cost and its data movement do not overlap.
//! `AW_BENCH_ITERS` overrides the iteration count (default 50); `AW_BENCH_NO_TENSOR_CORES=1` runs the GPU rows with
//! the FP32 SIMT policy kernels instead of the tensor-core ones; `AW_BENCH_CPU=0` leaves out the CPU rows.

use std::time::Instant;

use agentworld_kernels::{
    AdamConfig, AdamState, Backend, BroadcastConfig, CandidateBatch, GaeConfig, GrpoConfig, PgConfig, PolicyParams,
    SampleConfig, f16, rng,
};

/// One set of problem sizes.
#[derive(Clone, Copy)]
struct Sizes {
    /// Rewards / steps.
    n: usize,
    /// Members per group (and steps per episode).
    group: usize,
    b: usize,
    k: usize,
    d: usize,
    h: usize,
}

const ISSUE: Sizes = Sizes { n: 1 << 20, group: 16, b: 1024, k: 64, d: 256, h: 32 };
#[cfg(feature = "cuda")]
const LARGE: Sizes = Sizes { n: 1 << 25, group: 16, b: 8192, k: 64, d: 256, h: 32 };

struct Stats {
    median: f64,
    p99: f64,
}

fn stats(mut t: Vec<f64>) -> Stats {
    t.sort_by(f64::total_cmp);
    let n = t.len().max(1);
    let p99_idx = ((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1;
    Stats { median: t.get(n / 2).copied().unwrap_or(0.0), p99: t.get(p99_idx).copied().unwrap_or(0.0) }
}

/// The device side of a GPU run: reads the kernel time of the latest call and knows the floors.
trait Probe {
    /// Kernel seconds of the latest call.
    fn kernel_seconds(&self) -> Option<f64>;
    /// `| kernel ..., floor ...` for an operation that must move `bytes` and compute `flops`, given its kernel times.
    fn column(&self, kernel: &Stats, bytes: f64, flops: f64) -> String;
}

/// Wall time of `f` over `iters` runs after 3 warm-up runs, and the probe's kernel time of each run.
fn time<F: FnMut()>(iters: usize, probe: Option<&dyn Probe>, mut f: F) -> (Stats, Option<Stats>) {
    for _ in 0..3 {
        f();
    }
    let mut wall = Vec::with_capacity(iters);
    let mut kernel = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f();
        wall.push(t.elapsed().as_secs_f64());
        if let Some(k) = probe.and_then(|p| p.kernel_seconds()) {
            kernel.push(k);
        }
    }
    (stats(wall), (!kernel.is_empty()).then(|| stats(kernel)))
}

fn ms(s: f64) -> String {
    format!("{:8.3} ms", s * 1e3)
}

struct Inputs {
    sizes: Sizes,
    rewards: Vec<f32>,
    values: Vec<f32>,
    offsets: Vec<u32>,
    valid: Vec<bool>,
    episode_adv: Vec<f32>,
    format_error: Vec<bool>,
    feats: Vec<f16>,
    mask: Vec<bool>,
    params: PolicyParams,
    ids: Vec<u64>,
}

fn inputs(s: Sizes) -> Inputs {
    let u = |i: usize, seed: u64| rng::uniform(seed, 0, i as u64);
    let groups = s.n / s.group;
    Inputs {
        sizes: s,
        rewards: (0..s.n).map(|i| u(i, 1)).collect(),
        values: (0..s.n).map(|i| u(i, 2) - 0.5).collect(),
        offsets: (0..=groups as u32).map(|g| g * s.group as u32).collect(),
        valid: (0..s.n).map(|i| u(i, 3) > 0.02).collect(),
        episode_adv: (0..groups).map(|g| u(g, 4) - 0.5).collect(),
        format_error: (0..s.n).map(|i| u(i, 5) < 0.01).collect(),
        feats: (0..s.b * s.k * s.d).map(|i| f16::from_f32(u(i, 6) * 2.0 - 1.0)).collect(),
        mask: (0..s.b * s.k).map(|i| u(i, 7) > 0.1).collect(),
        params: PolicyParams::init(s.d, s.h, 1).expect("valid dims"),
        ids: (0..s.b as u64).collect(),
    }
}

/// Prints one row: name, wall median/p99, a rate, and the probe's column when there is one.
fn row(
    name: &str,
    wall: &Stats,
    rate: String,
    probe: Option<&dyn Probe>,
    kernel: Option<&Stats>,
    bytes: f64,
    flops: f64,
) {
    let col = match (probe, kernel) {
        (Some(p), Some(k)) => p.column(k, bytes, flops),
        _ => String::new(),
    };
    println!("  {name:<34} median {} p99 {}  {rate}{col}", ms(wall.median), ms(wall.p99));
}

/// Runs every benchmark on `backend` at the sizes of `x`.
fn run(backend: &Backend, x: &Inputs, iters: usize, probe: Option<&dyn Probe>) {
    let s = x.sizes;
    let (n, groups) = (s.n, s.n / s.group);
    let tag = format!("{}M/{}", n >> 20, s.group);
    let off_bytes = 4.0 * (groups + 1) as f64;
    let gbps = |bytes: f64, t: &Stats| format!("{:7.2} GB/s", bytes / t.median / 1e9);
    let mut out = vec![0.0f32; n];
    let mut out2 = vec![0.0f32; n];
    println!("backend: {}", backend.describe());

    // rewards in, advantages out, offsets (and the validity mask) read once
    let bytes = 8.0 * n as f64 + off_bytes;
    let (w, k) = time(iters, probe, || {
        backend.grpo(&x.rewards, &x.offsets, None, &GrpoConfig::default(), &mut out).expect("grpo");
    });
    row(&format!("grpo      {tag}"), &w, gbps(bytes, &w), probe, k.as_ref(), bytes, 0.0);
    let bytes_m = bytes + n as f64;
    let (w, k) = time(iters, probe, || {
        backend.grpo(&x.rewards, &x.offsets, Some(&x.valid), &GrpoConfig::default(), &mut out).expect("grpo");
    });
    row(&format!("grpo+mask {tag}"), &w, gbps(bytes_m, &w), probe, k.as_ref(), bytes_m, 0.0);
    let (w, k) = time(iters, probe, || {
        backend.rloo(&x.rewards, &x.offsets, None, &mut out).expect("rloo");
    });
    row(&format!("rloo      {tag}"), &w, gbps(bytes, &w), probe, k.as_ref(), bytes, 0.0);
    let bytes_g = 16.0 * n as f64 + off_bytes;
    let cfg = GaeConfig::default();
    let (w, k) = time(iters, probe, || {
        backend.gae(&x.rewards, &x.values, &x.offsets, None, &cfg, &mut out, &mut out2).expect("gae");
    });
    row(&format!("gae       {tag}"), &w, gbps(bytes_g, &w), probe, k.as_ref(), bytes_g, 0.0);
    let bytes_b = 5.0 * n as f64 + 4.0 * groups as f64 + off_bytes;
    let (w, k) = time(iters, probe, || {
        backend
            .broadcast_steps(&x.episode_adv, &x.offsets, &x.format_error, &BroadcastConfig::default(), &mut out)
            .expect("broadcast");
    });
    row(&format!("broadcast {tag}"), &w, gbps(bytes_b, &w), probe, k.as_ref(), bytes_b, 0.0);

    let (b, kk, d, h) = (s.b, s.k, s.d, s.h);
    let shape = format!("B{b} K{kk} D{d} H{h}");
    let batch = CandidateBatch::new(&x.feats, &x.mask, b, kk, d).expect("batch");
    // one hidden layer over every candidate: 2·B·K·D·H FLOPs; the features (f16) and mask are read once
    let flops = 2.0 * (b * kk * d * h) as f64;
    let pbytes = (b * kk * d * 2 + b * kk) as f64;
    let rate =
        |t: &Stats, f: f64| format!("{:9.0} decisions/s {:7.1} GFLOP/s", b as f64 / t.median, f / t.median / 1e9);
    let piters = (iters / 2).max(5);
    let cfg = SampleConfig { temperature: 1.0, seed: 3 };
    let (w, k) = time(piters, probe, || {
        backend.policy_sample(&x.params, &batch, &x.ids, &x.ids, &cfg).expect("sample");
    });
    row(&format!("sample    {shape}"), &w, rate(&w, flops), probe, k.as_ref(), pbytes, flops);
    let dec = backend.policy_sample(&x.params, &batch, &x.ids, &x.ids, &cfg).expect("sample");
    let adv: Vec<f32> = (0..b).map(|i| rng::uniform(9, 0, i as u64) - 0.5).collect();
    let pg = PgConfig { temperature: 1.0, entropy_coef: 0.01, scale: 1.0 / b as f32 };
    // forward pass plus dW1 = X^T U (each 2·B·K·D·H); the softmax and U are O(B·K·H)
    let gflops = 2.0 * flops;
    let (w, k) = time(piters, probe, || {
        backend.policy_grad(&x.params, &batch, &dec.chosen, &adv, &pg).expect("grad");
    });
    row(&format!("grad      {shape}"), &w, rate(&w, gflops), probe, k.as_ref(), pbytes, gflops);
    let mut params = x.params.clone();
    let len = params.as_slice().len();
    let grad = backend.policy_grad(&params, &batch, &dec.chosen, &adv, &pg).expect("grad").grad;
    let mut adam = AdamState::new(len, AdamConfig::default()).expect("adam");
    let (w, k) = time(iters, probe, || {
        backend.adam_step(&mut adam, params.as_mut_slice(), &grad).expect("adam");
    });
    // params, m, v read and written, the gradient read
    let abytes = 28.0 * len as f64;
    row(&format!("adam      {len} params"), &w, gbps(abytes, &w), probe, k.as_ref(), abytes, 0.0);
}

fn main() {
    let iters = std::env::var("AW_BENCH_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let x = inputs(ISSUE);
    if std::env::var("AW_BENCH_CPU").map_or(true, |v| v != "0") {
        run(&Backend::cpu(), &x, iters, None);
    }
    #[cfg(feature = "cuda")]
    cuda::run_cuda(&x, iters);
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::*;
    use agentworld_kernels::{CudaBackend, Device, KernelError};

    struct CudaProbe {
        cuda: std::sync::Arc<CudaBackend>,
        bandwidth: Option<f64>,
        fp32: Option<f64>,
        launch: f64,
    }

    impl Probe for CudaProbe {
        fn kernel_seconds(&self) -> Option<f64> {
            self.cuda.last_kernel_seconds()
        }

        fn column(&self, kernel: &Stats, bytes: f64, flops: f64) -> String {
            let fb = self.bandwidth.map_or(0.0, |b| bytes / b);
            let ff = self.fp32.map_or(0.0, |f| flops / f);
            let (floor, what) = if self.launch >= fb && self.launch >= ff {
                (self.launch, "launch")
            } else if ff > fb {
                (ff, "compute")
            } else {
                (fb, "bandwidth")
            };
            let copy = if flops == 0.0 {
                match self.cuda.copy_floor(bytes as usize, 20) {
                    Ok(c) => format!("; copy of as many bytes {:7.1} us, {:4.2}x", c * 1e6, kernel.median / c),
                    Err(e) => format!("; copy probe failed: {e}"),
                }
            } else {
                String::new()
            };
            // one launch timed alone pays its fixed cost and then moves its bytes: the two add up
            let serial = self.launch + fb.max(ff);
            format!(
                "  | kernel {:8.1} us (p99 {:8.1}), floor {:8.1} us ({what:<9}; bw {:7.1}, fp32 {:7.1}), {:4.2}x floor, \
                 {:4.2}x launch+work ({:6.1} us){copy}",
                kernel.median * 1e6,
                kernel.p99 * 1e6,
                floor * 1e6,
                fb * 1e6,
                ff * 1e6,
                kernel.median / floor,
                kernel.median / serial,
                serial * 1e6
            )
        }
    }

    /// Kernel times with their floors at the issue's sizes, then at the large sizes.
    pub fn run_cuda(x: &Inputs, iters: usize) {
        let backend = match Backend::new(Device::Cuda(0)) {
            Ok(b) => b,
            Err(e @ (KernelError::CudaUnavailable(_) | KernelError::CudaNotCompiled)) => {
                println!("CUDA: skipped ({e})");
                return;
            }
            Err(e) => {
                println!("CUDA: failed to open ({e})");
                return;
            }
        };
        let Some(cuda) = backend.as_cuda().cloned() else { return };
        if std::env::var("AW_BENCH_NO_TENSOR_CORES").is_ok_and(|v| v == "1") {
            cuda.set_tensor_cores(false);
        }
        let launch = match cuda.launch_floor(200) {
            Ok(t) => t,
            Err(e) => {
                println!("CUDA: launch probe failed ({e})");
                return;
            }
        };
        let probe = CudaProbe { bandwidth: cuda.peak_bandwidth(), fp32: cuda.peak_fp32(), launch, cuda };
        println!(
            "CUDA {}: peak DRAM bandwidth {} GB/s, peak FP32 {} TFLOP/s, empty kernel {:.1} us (event to event), tensor cores {}",
            probe.cuda.name(),
            probe.bandwidth.map_or("unknown".into(), |v| format!("{:.0}", v / 1e9)),
            probe.fp32.map_or("unknown".into(), |v| format!("{:.1}", v / 1e12)),
            launch * 1e6,
            if probe.cuda.tensor_cores() { "on" } else { "off" }
        );
        println!("(wall times include host<->device copies; kernel times are CUDA events around the launches)");
        run(&backend, x, iters, Some(&probe));
        let large = inputs(LARGE);
        run(&backend, &large, (iters / 2).max(5), Some(&probe));
    }
}
