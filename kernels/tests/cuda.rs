//! CUDA kernels against the CPU reference: 1e-5 relative on f32 paths, 1e-2 where f16 operands are involved.
//! Every test prints a notice and returns when no GPU (or no driver/NVRTC) is present.
#![cfg(feature = "cuda")]

mod common;

use agentworld_kernels::{
    AdamConfig, AdamState, Backend, BroadcastConfig, CandidateBatch, CpuBackend, CudaBackend, Device, GaeConfig,
    GrpoConfig, PgConfig, PolicyParams, SampleConfig,
};
use common::{TestRng, features, offsets};

fn gpu(test: &str) -> Option<CudaBackend> {
    match CudaBackend::new(0) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("NOTICE: {test}: no usable GPU, CUDA comparison skipped ({e})");
            None
        }
    }
}

fn assert_rel(what: &str, got: &[f32], want: &[f32], tol: f32, scale: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let bound = tol * w.abs().max(scale);
        assert!(
            (g - w).abs() <= bound || (g == w),
            "{what}[{i}]: gpu {g}, cpu {w} (diff {:e} > {bound:e})",
            (g - w).abs()
        );
    }
}

#[test]
fn cuda_open_reports_errors_instead_of_panicking() {
    match Backend::new(Device::Cuda(0)) {
        Ok(b) => assert!(b.is_cuda() && b.describe().starts_with("cuda:0")),
        Err(e) => eprintln!("NOTICE: no GPU here: {e}"),
    }
    // an absurd ordinal is an error on any machine
    assert!(CudaBackend::new(10_000).is_err());
    assert!(Backend::new(Device::Auto).is_ok());
}

#[test]
fn cuda_advantages_match_cpu() {
    let Some(gpu) = gpu("cuda_advantages_match_cpu") else { return };
    let cpu = CpuBackend::new(2);
    let mut rng = TestRng::new(100);
    // the last layout has groups longer than a segment's registers hold (lanes * 4 = 128 members), so the kernels
    // take their looping path; 4096 groups span several GAE tiles per block
    for case in 0..48 {
        let groups = [0usize, 1, 5, 100, 4096, 7][case % 6];
        let max = [1usize, 2, 16, 33, 70, 5000][case % 6];
        let sizes: Vec<usize> = (0..groups).map(|_| rng.below(max + 1)).collect();
        let offs = offsets(&sizes);
        let n = offs[groups] as usize;
        let binary = case % 2 == 0;
        let rewards: Vec<f32> = (0..n)
            .map(|_| if binary { f32::from(u8::from(rng.bool(0.3))) } else { rng.range(-2.0, 3.0) as f32 })
            .collect();
        let valid: Vec<bool> = (0..n).map(|_| rng.bool(0.9)).collect();
        for v in [None, Some(valid.as_slice())] {
            for cfg in [
                GrpoConfig::default(),
                GrpoConfig::no_std(),
                GrpoConfig { unbiased_std: false, eps: 0.0, ..GrpoConfig::default() },
            ] {
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                let ra = gpu.grpo(&rewards, &offs, v, &cfg, &mut a).unwrap();
                let rb = cpu.grpo(&rewards, &offs, v, &cfg, &mut b).unwrap();
                assert_rel(&format!("grpo case {case}"), &a, &b, 1e-5, 1.0);
                assert_eq!(ra, rb);
            }
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            let ra = gpu.rloo(&rewards, &offs, v, &mut a).unwrap();
            let rb = cpu.rloo(&rewards, &offs, v, &mut b).unwrap();
            assert_rel(&format!("rloo case {case}"), &a, &b, 1e-5, 1.0);
            assert_eq!(ra, rb);
        }
        let values: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let boot: Vec<f32> = (0..groups).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        for bt in [None, Some(boot.as_slice())] {
            let cfg = GaeConfig { gamma: 0.97, lambda: 0.9 };
            let (mut a1, mut r1, mut a2, mut r2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            gpu.gae(&rewards, &values, &offs, bt, &cfg, &mut a1, &mut r1).unwrap();
            cpu.gae(&rewards, &values, &offs, bt, &cfg, &mut a2, &mut r2).unwrap();
            assert_rel("gae adv", &a1, &a2, 1e-5, 1.0);
            assert_rel("gae ret", &r1, &r2, 1e-5, 1.0);
        }
        let ep_adv: Vec<f32> = (0..groups).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let fe: Vec<bool> = (0..n).map(|_| rng.bool(0.05)).collect();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        gpu.broadcast_steps(&ep_adv, &offs, &fe, &BroadcastConfig::default(), &mut a).unwrap();
        cpu.broadcast_steps(&ep_adv, &offs, &fe, &BroadcastConfig::default(), &mut b).unwrap();
        assert_eq!(a, b, "broadcast case {case}");
    }
}

struct PolicyCase {
    b: usize,
    k: usize,
    d: usize,
    feats: Vec<agentworld_kernels::f16>,
    mask: Vec<bool>,
    params: PolicyParams,
}

fn policy_case(rng: &mut TestRng, b: usize, k: usize, d: usize, h: usize) -> PolicyCase {
    let feats = features(rng, b * k * d);
    let mut mask: Vec<bool> = (0..b * k).map(|_| rng.bool(0.8)).collect();
    if b > 1 {
        mask[..k].fill(false);
    }
    let params = PolicyParams::init(d, h, rng.next_u64()).unwrap();
    PolicyCase { b, k, d, feats, mask, params }
}

// (B, K, D, H): D not a multiple of 8 takes the scalar feature loads; D > 256 needs several dW1 feature tiles and
// H > 32 several hidden chunks.
const SHAPES: [(usize, usize, usize, usize); 9] = [
    (1, 1, 1, 1),
    (3, 1, 5, 4),
    (5, 7, 300, 40),
    (2, 3, 520, 8),
    (9, 7, 9, 5),
    (8, 13, 31, 33),
    (17, 300, 16, 64),
    (64, 64, 256, 32),
    (1024, 64, 256, 32),
];

/// The forward-pass variants this GPU has: tensor cores (when present) and the FP32 SIMT kernel.
fn forward_modes(gpu: &CudaBackend) -> Vec<bool> {
    let mut modes = vec![false];
    if gpu.set_tensor_cores(true) {
        modes.insert(0, true);
    }
    modes
}

#[test]
fn cuda_policy_inference_matches_cpu() {
    let Some(gpu) = gpu("cuda_policy_inference_matches_cpu") else { return };
    for tc in forward_modes(&gpu) {
        assert_eq!(gpu.set_tensor_cores(tc), tc);
        policy_inference_matches_cpu(&gpu, tc);
    }
}

fn policy_inference_matches_cpu(gpu: &CudaBackend, tc: bool) {
    let cpu = CpuBackend::new(2);
    let mut rng = TestRng::new(101);
    for &(b, k, d, h) in &SHAPES {
        let c = policy_case(&mut rng, b, k, d, h);
        let batch = CandidateBatch::new(&c.feats, &c.mask, c.b, c.k, c.d).unwrap();
        let sg = gpu.policy_scores(&c.params, &batch).unwrap();
        let sc = cpu.policy_scores(&c.params, &batch).unwrap();
        // f32-level agreement on both paths, relative to the largest score (the tensor-core path splits W1 into
        // f16 hi + lo; without lo it would be off by ~1e-3)
        let smax = sc.iter().filter(|v| v.is_finite()).fold(1e-6f32, |m, v| m.max(v.abs()));
        assert_rel(&format!("scores {b}x{k}x{d}x{h} (tensor cores: {tc})"), &sg, &sc, 1e-4, smax);
        let ep: Vec<u64> = (0..b as u64).collect();
        let st: Vec<u64> = (0..b as u64).map(|i| i * 3).collect();
        for temperature in [1.0f32, 0.3, 0.0] {
            let cfg = SampleConfig { temperature, seed: 11 };
            let g = gpu.policy_sample(&c.params, &batch, &ep, &st, &cfg).unwrap();
            let p = cpu.policy_sample(&c.params, &batch, &ep, &st, &cfg).unwrap();
            let mismatched = g.chosen.iter().zip(&p.chosen).filter(|(a, b)| a != b).count();
            assert!(mismatched * 100 <= b.max(100), "{mismatched} of {b} decisions differ (T={temperature})");
            for row in 0..b {
                assert_eq!(g.chosen[row] == -1, p.chosen[row] == -1, "row {row}");
                if g.chosen[row] == p.chosen[row] {
                    assert_rel("logprob", &g.logprob[row..=row], &p.logprob[row..=row], 1e-2, 1e-2);
                }
                assert_rel("entropy", &g.entropy[row..=row], &p.entropy[row..=row], 1e-2, 1e-2);
            }
        }
    }
}

#[test]
fn cuda_policy_gradient_matches_cpu() {
    let Some(gpu) = gpu("cuda_policy_gradient_matches_cpu") else { return };
    for tc in forward_modes(&gpu) {
        assert_eq!(gpu.set_tensor_cores(tc), tc);
        policy_gradient_matches_cpu(&gpu);
    }
}

#[test]
fn cuda_weights_outside_f16_range_take_the_fp32_path() {
    let Some(gpu) = gpu("cuda_weights_outside_f16_range_take_the_fp32_path") else { return };
    gpu.set_tensor_cores(true);
    let cpu = CpuBackend::new(2);
    let mut rng = TestRng::new(104);
    let mut c = policy_case(&mut rng, 16, 8, 24, 8);
    c.params.as_mut_slice()[3] = 1.0e5; // one weight of W1 beyond f16's largest finite value
    let batch = CandidateBatch::new(&c.feats, &c.mask, c.b, c.k, c.d).unwrap();
    let sg = gpu.policy_scores(&c.params, &batch).unwrap();
    let sc = cpu.policy_scores(&c.params, &batch).unwrap();
    assert!(sg.iter().all(|v| !v.is_nan()));
    let smax = sc.iter().filter(|v| v.is_finite()).fold(1e-6f32, |m, v| m.max(v.abs()));
    assert_rel("scores with a 1e5 weight", &sg, &sc, 1e-4, smax);
}

fn policy_gradient_matches_cpu(gpu: &CudaBackend) {
    let cpu = CpuBackend::new(2);
    let mut rng = TestRng::new(102);
    for &(b, k, d, h) in &SHAPES {
        let c = policy_case(&mut rng, b, k, d, h);
        let batch = CandidateBatch::new(&c.feats, &c.mask, c.b, c.k, c.d).unwrap();
        let ep: Vec<u64> = (0..b as u64).collect();
        let dec = cpu.policy_sample(&c.params, &batch, &ep, &ep, &SampleConfig::default()).unwrap();
        let adv: Vec<f32> = (0..b).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let cfg = PgConfig { temperature: 1.0, entropy_coef: 0.01, scale: 1.0 / b as f32 };
        let g = gpu.policy_grad(&c.params, &batch, &dec.chosen, &adv, &cfg).unwrap();
        let p = cpu.policy_grad(&c.params, &batch, &dec.chosen, &adv, &cfg).unwrap();
        let gmax = p.grad.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        // 1e-3 of the largest component: a dropped term of the tensor cores' f16 split of U (2^-11 of a product),
        // a wrong chunk scale or a lost row chunk would show
        assert_rel(&format!("grad {b}x{k}x{d}x{h}"), &g.grad, &p.grad, 1e-3, gmax);
        assert!((g.loss - p.loss).abs() <= 1e-2 * p.loss.abs().max(1e-3), "loss {} vs {}", g.loss, p.loss);
    }
}

#[test]
fn cuda_optimisers_match_cpu() {
    let Some(gpu) = gpu("cuda_optimisers_match_cpu") else { return };
    let cpu = CpuBackend::new(2);
    let mut rng = TestRng::new(103);
    for n in [1usize, 7, 1000, 100_003] {
        let p0: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let cfg = AdamConfig { lr: 0.01, weight_decay: 0.001, ..AdamConfig::default() };
        let (mut pa, mut pb) = (p0.clone(), p0.clone());
        let (mut sa, mut sb) = (AdamState::new(n, cfg).unwrap(), AdamState::new(n, cfg).unwrap());
        for _ in 0..3 {
            let g: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
            gpu.adam_step(&mut sa, &mut pa, &g).unwrap();
            cpu.adam_step(&mut sb, &mut pb, &g).unwrap();
            assert_rel("adam params", &pa, &pb, 1e-5, 1.0);
            assert_rel("adam m", sa.m(), sb.m(), 1e-5, 1.0);
            assert_rel("adam v", sa.v(), sb.v(), 1e-5, 1.0);
            gpu.sgd_step(0.1, &mut pa, &g).unwrap();
            cpu.sgd_step(0.1, &mut pb, &g).unwrap();
            assert_rel("sgd", &pa, &pb, 1e-5, 1.0);
        }
        assert_eq!(sa.step(), sb.step());
    }
}
