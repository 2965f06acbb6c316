//! Kernel benchmarks (`cargo bench -p agentworld-kernels [--features cuda]`): median and p99 per operation on the
//! CPU backend and, when the `cuda` feature is on and a GPU is present, on the CUDA backend, with the
//! memory-bandwidth or compute floor printed beside each GPU kernel time.
//!
//! Sizes: 1M rewards in groups of 16 (GRPO/RLOO), 1M steps in episodes of 16 (GAE, broadcast), policy inference and
//! gradient at B=1024 states, K=64 candidates, D=256 features, H=32 hidden units.
//! `AW_BENCH_ITERS` overrides the iteration count of the fast kernels (default 50).

use std::time::Instant;

use agentworld_kernels::{
    AdamConfig, AdamState, Backend, BroadcastConfig, CandidateBatch, GaeConfig, GrpoConfig, PgConfig, PolicyParams,
    SampleConfig, f16, rng,
};

const N: usize = 1 << 20;
const GROUP: usize = 16;
const B: usize = 1024;
const K: usize = 64;
const D: usize = 256;
const H: usize = 32;

/// Formats the GPU floor column for an op: (name, bytes moved, flops).
type Floors<'a> = &'a dyn Fn(&str, f64, f64) -> String;

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

/// Wall time of `f` over `iters` runs after 3 warm-up runs.
fn time<F: FnMut()>(iters: usize, mut f: F) -> Stats {
    for _ in 0..3 {
        f();
    }
    stats(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn ms(s: f64) -> String {
    format!("{:8.3} ms", s * 1e3)
}

struct Inputs {
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

fn inputs() -> Inputs {
    let u = |i: usize, s: u64| rng::uniform(s, 0, i as u64);
    let groups = N / GROUP;
    Inputs {
        rewards: (0..N).map(|i| u(i, 1)).collect(),
        values: (0..N).map(|i| u(i, 2) - 0.5).collect(),
        offsets: (0..=groups as u32).map(|g| g * GROUP as u32).collect(),
        valid: (0..N).map(|i| u(i, 3) > 0.02).collect(),
        episode_adv: (0..groups).map(|g| u(g, 4) - 0.5).collect(),
        format_error: (0..N).map(|i| u(i, 5) < 0.01).collect(),
        feats: (0..B * K * D).map(|i| f16::from_f32(u(i, 6) * 2.0 - 1.0)).collect(),
        mask: (0..B * K).map(|i| u(i, 7) > 0.1).collect(),
        params: PolicyParams::init(D, H, 1).expect("valid dims"),
        ids: (0..B as u64).collect(),
    }
}

/// Runs every benchmark on `backend`; `kernel_time` returns the device-side time of the latest call (CUDA).
fn run(backend: &Backend, x: &Inputs, iters: usize, floors: Floors<'_>) {
    let n = N;
    let groups = N / GROUP;
    let off_bytes = 4.0 * (groups + 1) as f64;
    let mut out = vec![0.0f32; n];
    let mut out2 = vec![0.0f32; n];
    println!("backend: {}", backend.describe());

    let bytes = 8.0 * n as f64 + off_bytes;
    let s = time(iters, || {
        backend.grpo(&x.rewards, &x.offsets, None, &GrpoConfig::default(), &mut out).expect("grpo");
    });
    println!(
        "  grpo      1M/16           median {} p99 {}  {:6.2} GB/s{}",
        ms(s.median),
        ms(s.p99),
        bytes / s.median / 1e9,
        floors("grpo", bytes, 0.0)
    );
    let bytes_m = bytes + n as f64;
    let s = time(iters, || {
        backend.grpo(&x.rewards, &x.offsets, Some(&x.valid), &GrpoConfig::default(), &mut out).expect("grpo");
    });
    println!(
        "  grpo+mask 1M/16           median {} p99 {}  {:6.2} GB/s{}",
        ms(s.median),
        ms(s.p99),
        bytes_m / s.median / 1e9,
        floors("grpo+mask", bytes_m, 0.0)
    );
    let s = time(iters, || {
        backend.rloo(&x.rewards, &x.offsets, None, &mut out).expect("rloo");
    });
    println!(
        "  rloo      1M/16           median {} p99 {}  {:6.2} GB/s{}",
        ms(s.median),
        ms(s.p99),
        bytes / s.median / 1e9,
        floors("rloo", bytes, 0.0)
    );
    let bytes_g = 16.0 * n as f64 + off_bytes;
    let cfg = GaeConfig::default();
    let s = time(iters, || {
        backend.gae(&x.rewards, &x.values, &x.offsets, None, &cfg, &mut out, &mut out2).expect("gae");
    });
    println!(
        "  gae       1M/16           median {} p99 {}  {:6.2} GB/s{}",
        ms(s.median),
        ms(s.p99),
        bytes_g / s.median / 1e9,
        floors("gae", bytes_g, 0.0)
    );
    let bytes_b = 5.0 * n as f64 + 4.0 * groups as f64 + off_bytes;
    let s = time(iters, || {
        backend
            .broadcast_steps(&x.episode_adv, &x.offsets, &x.format_error, &BroadcastConfig::default(), &mut out)
            .expect("broadcast");
    });
    println!(
        "  broadcast 1M/16           median {} p99 {}  {:6.2} GB/s{}",
        ms(s.median),
        ms(s.p99),
        bytes_b / s.median / 1e9,
        floors("broadcast", bytes_b, 0.0)
    );

    let batch = CandidateBatch::new(&x.feats, &x.mask, B, K, D).expect("batch");
    let flops = 2.0 * (B * K * D * H) as f64;
    let pbytes = (B * K * D * 2 + B * K) as f64;
    let piters = (iters / 2).max(5);
    let cfg = SampleConfig { temperature: 1.0, seed: 3 };
    let s = time(piters, || {
        backend.policy_sample(&x.params, &batch, &x.ids, &x.ids, &cfg).expect("sample");
    });
    println!(
        "  sample    B{B} K{K} D{D} H{H} median {} p99 {}  {:9.0} decisions/s  {:6.1} GFLOP/s{}",
        ms(s.median),
        ms(s.p99),
        B as f64 / s.median,
        flops / s.median / 1e9,
        floors("sample", pbytes, flops)
    );
    let dec = backend.policy_sample(&x.params, &batch, &x.ids, &x.ids, &cfg).expect("sample");
    let adv: Vec<f32> = (0..B).map(|i| rng::uniform(9, 0, i as u64) - 0.5).collect();
    let pg = PgConfig { temperature: 1.0, entropy_coef: 0.01, scale: 1.0 / B as f32 };
    let mut params = x.params.clone();
    let mut adam = AdamState::new(params.as_slice().len(), AdamConfig::default()).expect("adam");
    let gflops = 3.0 * flops;
    let gbytes = 2.0 * pbytes + 3.0 * (B * K * H * 4) as f64;
    let s = time(piters, || {
        let g = backend.policy_grad(&params, &batch, &dec.chosen, &adv, &pg).expect("grad");
        backend.adam_step(&mut adam, params.as_mut_slice(), &g.grad).expect("adam");
    });
    println!(
        "  grad+adam B{B} K{K} D{D} H{H} median {} p99 {}  {:9.0} decisions/s  {:6.1} GFLOP/s{}",
        ms(s.median),
        ms(s.p99),
        B as f64 / s.median,
        gflops / s.median / 1e9,
        floors("grad", gbytes, gflops)
    );
}

fn main() {
    let iters = std::env::var("AW_BENCH_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let x = inputs();
    let cpu = Backend::cpu();
    run(&cpu, &x, iters, &|_, _, _| String::new());
    #[cfg(feature = "cuda")]
    cuda::run_cuda(&x, iters);
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::*;
    use agentworld_kernels::{Device, KernelError};

    /// Kernel-only times (CUDA events) with the floor for each op, then the end-to-end run (with transfers).
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
        let bw = cuda.peak_bandwidth();
        let fp = cuda.peak_fp32();
        println!(
            "CUDA {}: peak DRAM bandwidth {} GB/s, peak FP32 {} TFLOP/s",
            cuda.name(),
            bw.map_or("unknown".into(), |v| format!("{:.0}", v / 1e9)),
            fp.map_or("unknown".into(), |v| format!("{:.1}", v / 1e12))
        );
        // kernel-time column: the latest call's event time, as a median over the same iterations
        let cuda2 = cuda.clone();
        let floors = move |_name: &str, bytes: f64, flops: f64| -> String {
            let kt = cuda2.last_kernel_seconds().unwrap_or(f64::NAN);
            let fb = bw.map(|b| bytes / b).unwrap_or(f64::NAN);
            let ff = fp.map(|f| flops / f).unwrap_or(0.0);
            let floor = fb.max(ff);
            format!(
                "  | kernel {:8.1} us, floor {:8.1} us ({}), {:5.1}x floor",
                kt * 1e6,
                floor * 1e6,
                if ff > fb { "compute" } else { "bandwidth" },
                kt / floor
            )
        };
        println!("(end-to-end times include host<->device copies; the kernel column is the last iteration's)");
        run(&backend, x, iters, &floors);
    }
}
