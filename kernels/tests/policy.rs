//! CPU policy network, sampling, gradient and optimisers against straightforward f64 implementations.
#![allow(clippy::needless_range_loop)]

mod common;

use agentworld_kernels::{
    AdamConfig, AdamState, Backend, CandidateBatch, Device, GrpoConfig, KernelError, PgConfig, PolicyParams,
    SampleConfig, f16, rng,
};
use common::{TestRng, assert_close, features};

struct Case {
    b: usize,
    k: usize,
    d: usize,
    h: usize,
    feats: Vec<f16>,
    mask: Vec<bool>,
    params: PolicyParams,
}

fn case(rng: &mut TestRng, b: usize, k: usize, d: usize, h: usize, p_valid: f64) -> Case {
    let feats = features(rng, b * k * d);
    let mut mask: Vec<bool> = (0..b * k).map(|_| rng.bool(p_valid)).collect();
    if b > 1 {
        mask[k..2 * k].fill(false); // row 1 all masked
    }
    let mut params = PolicyParams::init(d, h, rng.next_u64()).unwrap();
    for b1 in params.as_mut_slice()[d * h..d * h + h].iter_mut() {
        *b1 = rng.range(-0.3, 0.3) as f32;
    }
    Case { b, k, d, h, feats, mask, params }
}

impl Case {
    fn batch(&self) -> CandidateBatch<'_> {
        CandidateBatch::new(&self.feats, &self.mask, self.b, self.k, self.d).unwrap()
    }
}

/// f64 forward of one slot: (score, hidden activations).
fn ref_slot(p: &[f64], d: usize, h: usize, x: &[f16]) -> (f64, Vec<f64>) {
    let mut s = 0.0;
    let mut hid = vec![0.0; h];
    for j in 0..h {
        let mut a = p[d * h + j];
        for (dd, xv) in x.iter().enumerate() {
            a += xv.to_f64() * p[dd * h + j];
        }
        hid[j] = a.max(0.0);
        s += p[d * h + h + j] * hid[j];
    }
    (s, hid)
}

fn ref_scores(c: &Case, p: &[f64]) -> Vec<Option<f64>> {
    (0..c.b * c.k).map(|n| c.mask[n].then(|| ref_slot(p, c.d, c.h, &c.feats[n * c.d..(n + 1) * c.d]).0)).collect()
}

/// f64 (log-probs, entropy) of one row; None for masked slots.
fn ref_row(scores: &[Option<f64>], tau: f64) -> (Vec<Option<f64>>, f64) {
    let m = scores.iter().flatten().map(|s| s * tau).fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = scores.iter().flatten().map(|s| (s * tau - m).exp()).sum();
    let logp: Vec<Option<f64>> = scores.iter().map(|s| s.map(|s| s * tau - m - z.ln())).collect();
    let ent = -logp.iter().flatten().map(|l| l.exp() * l).sum::<f64>();
    (logp, ent)
}

fn ref_loss(c: &Case, p: &[f64], chosen: &[i32], adv: &[f32], cfg: &PgConfig) -> f64 {
    let scores = ref_scores(c, p);
    let tau = if cfg.temperature > 0.0 { 1.0 / cfg.temperature as f64 } else { 1.0 };
    let mut loss = 0.0;
    for b in 0..c.b {
        let Ok(a) = usize::try_from(chosen[b]) else { continue };
        let (logp, ent) = ref_row(&scores[b * c.k..(b + 1) * c.k], tau);
        let lp = logp[a].expect("chosen slot is valid");
        loss -= cfg.scale as f64 * (adv[b] as f64 * lp + cfg.entropy_coef as f64 * ent);
    }
    loss
}

/// Straightforward f64 analytic gradient of `ref_loss`.
fn ref_grad(c: &Case, p: &[f64], chosen: &[i32], adv: &[f32], cfg: &PgConfig) -> Vec<f64> {
    let (d, h) = (c.d, c.h);
    let tau = if cfg.temperature > 0.0 { 1.0 / cfg.temperature as f64 } else { 1.0 };
    let (beta, scale) = (cfg.entropy_coef as f64, cfg.scale as f64);
    let mut g = vec![0.0; p.len()];
    let scores = ref_scores(c, p);
    for b in 0..c.b {
        let Ok(a) = usize::try_from(chosen[b]) else { continue };
        let (logp, ent) = ref_row(&scores[b * c.k..(b + 1) * c.k], tau);
        for k in 0..c.k {
            let Some(lp) = logp[k] else { continue };
            let pk = lp.exp();
            let onehot = if k == a { 1.0 } else { 0.0 };
            let gs = -scale * tau * (adv[b] as f64 * (onehot - pk) - beta * pk * (lp + ent));
            let n = b * c.k + k;
            let x = &c.feats[n * d..(n + 1) * d];
            let (_, hid) = ref_slot(p, d, h, x);
            for j in 0..h {
                g[d * h + h + j] += gs * hid[j];
                if hid[j] > 0.0 {
                    let u = gs * p[d * h + h + j];
                    g[d * h + j] += u;
                    for (dd, xv) in x.iter().enumerate() {
                        g[dd * h + j] += u * xv.to_f64();
                    }
                }
            }
        }
    }
    g
}

fn params64(p: &PolicyParams) -> Vec<f64> {
    p.as_slice().iter().map(|&v| v as f64).collect()
}

const SHAPES: [(usize, usize, usize, usize); 9] = [
    (1, 1, 1, 1),
    (3, 1, 5, 4),
    (4, 2, 3, 16),
    (5, 7, 9, 5),
    (8, 13, 31, 33),
    (2, 64, 256, 32),
    (17, 5, 64, 17),
    (6, 3, 2, 48),
    (40, 9, 12, 8),
];

#[test]
fn scores_match_f64_reference() {
    let mut rng = TestRng::new(10);
    for (i, &(b, k, d, h)) in SHAPES.iter().enumerate() {
        for p_valid in [0.0, 0.5, 1.0] {
            let c = case(&mut rng, b, k, d, h, p_valid);
            for threads in [1, 2] {
                let got = Backend::cpu_with_threads(threads).policy_scores(&c.params, &c.batch()).unwrap();
                let want = ref_scores(&c, &params64(&c.params));
                for (n, (g, w)) in got.iter().zip(&want).enumerate() {
                    match w {
                        None => assert_eq!(*g, f32::NEG_INFINITY, "shape {i} slot {n} is masked"),
                        Some(w) => {
                            assert!((*g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0), "shape {i} slot {n}: {g} vs {w}")
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn sampling_matches_f64_reference_and_handles_empty_rows() {
    let mut rng = TestRng::new(11);
    for (i, &(b, k, d, h)) in SHAPES.iter().enumerate() {
        for temperature in [1.0f32, 0.5, 3.0] {
            let c = case(&mut rng, b, k, d, h, 0.7);
            let episode: Vec<u64> = (0..b as u64).map(|e| e * 7 + 3).collect();
            let step: Vec<u64> = (0..b as u64).map(|e| e % 4).collect();
            let cfg = SampleConfig { temperature, seed: 99 };
            let out = Backend::cpu().policy_sample(&c.params, &c.batch(), &episode, &step, &cfg).unwrap();
            let scores = ref_scores(&c, &params64(&c.params));
            for row in 0..b {
                let rs = &scores[row * k..(row + 1) * k];
                if rs.iter().all(Option::is_none) {
                    assert_eq!((out.chosen[row], out.logprob[row], out.entropy[row]), (-1, 0.0, 0.0));
                    continue;
                }
                let (logp, ent) = ref_row(rs, 1.0 / temperature as f64);
                let a = usize::try_from(out.chosen[row]).expect("a valid row picks an index");
                let lp = logp[a].expect("the chosen slot is valid");
                assert!((out.logprob[row] as f64 - lp).abs() < 1e-4 * lp.abs().max(1.0), "shape {i} row {row}");
                assert!((out.entropy[row] as f64 - ent).abs() < 1e-4 * ent.max(1.0), "shape {i} row {row}");
                // inverse CDF in f64 with the same uniform: the same slot unless u sits on a boundary
                let u = rng::uniform(99, episode[row], step[row]) as f64;
                let mut cum = 0.0;
                let mut boundaries = Vec::new();
                let mut want = None;
                for (slot, l) in logp.iter().enumerate() {
                    if let Some(l) = l {
                        cum += l.exp();
                        boundaries.push(cum);
                        if want.is_none() && u < cum {
                            want = Some(slot);
                        }
                    }
                }
                if want != Some(a) {
                    let near = boundaries.iter().any(|b| (u - b).abs() < 1e-5);
                    assert!(near, "shape {i} row {row}: chose {a}, f64 inverse CDF gives {want:?} (u = {u})");
                }
            }
        }
    }
}

#[test]
fn single_candidate_greedy_and_temperature() {
    let mut rng = TestRng::new(12);
    // K = 1: the only candidate, log-prob 0, entropy 0
    let c = case(&mut rng, 5, 1, 8, 4, 1.0);
    let out = Backend::cpu().policy_sample(&c.params, &c.batch(), &[0; 5], &[0; 5], &SampleConfig::default()).unwrap();
    assert_eq!(out.chosen, vec![0, -1, 0, 0, 0]); // row 1 is all masked by `case`
    assert!(out.logprob.iter().all(|&l| l == 0.0) && out.entropy.iter().all(|&e| e == 0.0));

    // greedy picks the arg-max of the scores; a low temperature concentrates the distribution
    let c = case(&mut rng, 16, 12, 10, 8, 0.8);
    let batch = c.batch();
    let cpu = Backend::cpu();
    let scores = cpu.policy_scores(&c.params, &batch).unwrap();
    let ids: Vec<u64> = (0..16).collect();
    let greedy = cpu.policy_sample(&c.params, &batch, &ids, &ids, &SampleConfig { temperature: 0.0, seed: 1 }).unwrap();
    let hot = cpu.policy_sample(&c.params, &batch, &ids, &ids, &SampleConfig { temperature: 5.0, seed: 1 }).unwrap();
    let cold = cpu.policy_sample(&c.params, &batch, &ids, &ids, &SampleConfig { temperature: 0.05, seed: 1 }).unwrap();
    for row in 0..16 {
        let rs = &scores[row * 12..(row + 1) * 12];
        if rs.iter().all(|s| *s == f32::NEG_INFINITY) {
            assert_eq!(greedy.chosen[row], -1);
            continue;
        }
        let best = (0..12).fold(0, |best, k| if rs[k] > rs[best] { k } else { best });
        assert_eq!(greedy.chosen[row], best as i32, "row {row}");
        assert!(cold.entropy[row] <= hot.entropy[row] + 1e-6, "row {row}");
    }
}

#[test]
fn sampling_is_reproducible_thread_independent_and_follows_softmax() {
    let mut rng = TestRng::new(13);
    let c = case(&mut rng, 300, 16, 24, 16, 0.9);
    let ep: Vec<u64> = (0..300).collect();
    let st: Vec<u64> = (0..300).map(|i| i % 3).collect();
    let cfg = SampleConfig { temperature: 1.0, seed: 5 };
    let one = Backend::cpu_with_threads(1).policy_sample(&c.params, &c.batch(), &ep, &st, &cfg).unwrap();
    let two = Backend::cpu_with_threads(2).policy_sample(&c.params, &c.batch(), &ep, &st, &cfg).unwrap();
    assert_eq!(one, two);
    let other = SampleConfig { seed: 6, ..cfg };
    let three = Backend::cpu_with_threads(2).policy_sample(&c.params, &c.batch(), &ep, &st, &other).unwrap();
    assert_ne!(one.chosen, three.chosen);

    // one state repeated: empirical frequencies follow the softmax (within 5 sigma)
    let (k, d, n) = (5usize, 6usize, 20_000usize);
    let x = features(&mut rng, k * d);
    let feats: Vec<f16> = (0..n).flat_map(|_| x.iter().copied()).collect();
    let mask = vec![true; n * k];
    let params = PolicyParams::init(d, 8, 3).unwrap();
    let scaled = {
        let mut p = params.clone();
        for w in p.as_mut_slice().iter_mut() {
            *w *= 3.0; // spread the probabilities
        }
        p
    };
    let batch = CandidateBatch::new(&feats, &mask, n, k, d).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    let out = Backend::cpu().policy_sample(&scaled, &batch, &vec![1; n], &ids, &cfg).unwrap();
    let mut counts = vec![0usize; k];
    for &ch in &out.chosen {
        counts[ch as usize] += 1;
    }
    let lp = out.logprob[0];
    let p_first = (lp as f64).exp();
    let first = out.chosen[0] as usize;
    let expect = p_first * n as f64;
    let sigma = (n as f64 * p_first * (1.0 - p_first)).sqrt().max(1.0);
    assert!((counts[first] as f64 - expect).abs() < 5.0 * sigma, "{counts:?} vs p={p_first}");
    // every chosen index's logprob is consistent with its own frequency
    for (slot, &cnt) in counts.iter().enumerate() {
        if let Some(row) = out.chosen.iter().position(|&c| c as usize == slot) {
            let p = (out.logprob[row] as f64).exp();
            let sigma = (n as f64 * p * (1.0 - p)).sqrt().max(1.0);
            assert!((cnt as f64 - p * n as f64).abs() < 5.0 * sigma, "slot {slot}: {cnt} vs p={p}");
        }
    }
}

fn grad_inputs(rng: &mut TestRng, c: &Case, temperature: f32) -> (Vec<i32>, Vec<f32>) {
    let ep: Vec<u64> = (0..c.b as u64).collect();
    let cfg = SampleConfig { temperature, seed: rng.next_u64() };
    let out = Backend::cpu().policy_sample(&c.params, &c.batch(), &ep, &ep, &cfg).unwrap();
    let adv: Vec<f32> = (0..c.b).map(|_| rng.range(-2.0, 2.0) as f32).collect();
    (out.chosen, adv)
}

#[test]
fn gradient_matches_finite_differences() {
    let mut rng = TestRng::new(14);
    for &(b, k, d, h) in &[(6usize, 5usize, 7usize, 5usize), (4, 3, 4, 20), (3, 2, 3, 2)] {
        let c = case(&mut rng, b, k, d, h, 0.8);
        let cfg = PgConfig { temperature: 0.7, entropy_coef: 0.1, scale: 0.5 };
        let (chosen, adv) = grad_inputs(&mut rng, &c, cfg.temperature);
        let got = Backend::cpu().policy_grad(&c.params, &c.batch(), &chosen, &adv, &cfg).unwrap();
        let p = params64(&c.params);
        let loss = ref_loss(&c, &p, &chosen, &adv, &cfg);
        assert!((got.loss - loss).abs() < 1e-4 * loss.abs().max(1.0), "loss {} vs {loss}", got.loss);
        let eps = 1e-6;
        let gmax = got.grad.iter().fold(0.0f64, |m, &g| m.max(g.abs() as f64));
        assert!(gmax > 1e-3, "gradient should not vanish");
        for i in 0..p.len() {
            let (mut plus, mut minus) = (p.clone(), p.clone());
            plus[i] += eps;
            minus[i] -= eps;
            let fd =
                (ref_loss(&c, &plus, &chosen, &adv, &cfg) - ref_loss(&c, &minus, &chosen, &adv, &cfg)) / (2.0 * eps);
            let g = got.grad[i] as f64;
            assert!((g - fd).abs() < 1e-3 * gmax.max(fd.abs()), "shape {b}x{k}x{d}x{h} param {i}: {g} vs fd {fd}");
        }
    }
}

#[test]
fn gradient_matches_f64_analytic_on_many_shapes() {
    let mut rng = TestRng::new(15);
    for (i, &(b, k, d, h)) in SHAPES.iter().enumerate() {
        let c = case(&mut rng, b, k, d, h, 0.75);
        for cfg in [PgConfig::default(), PgConfig { temperature: 2.0, entropy_coef: 0.01, scale: 1.0 / b as f32 }] {
            let (chosen, adv) = grad_inputs(&mut rng, &c, cfg.temperature);
            for threads in [1, 2] {
                let got =
                    Backend::cpu_with_threads(threads).policy_grad(&c.params, &c.batch(), &chosen, &adv, &cfg).unwrap();
                let want = ref_grad(&c, &params64(&c.params), &chosen, &adv, &cfg);
                let gmax = want.iter().fold(1e-3f64, |m, g| m.max(g.abs()));
                for (j, (&g, &w)) in got.grad.iter().zip(&want).enumerate() {
                    assert!((g as f64 - w).abs() < 1e-4 * gmax, "shape {i} param {j}: {g} vs {w}");
                }
            }
        }
    }
}

#[test]
fn policy_arguments_are_validated() {
    let mut rng = TestRng::new(16);
    let c = case(&mut rng, 3, 4, 5, 6, 1.0);
    let cpu = Backend::cpu();
    let batch = c.batch();
    assert!(matches!(
        CandidateBatch::new(&c.feats, &c.mask, 3, 4, 6),
        Err(KernelError::Shape { what: "features", .. })
    ));
    assert!(matches!(
        CandidateBatch::new(&c.feats, &c.mask[1..], 3, 4, 5),
        Err(KernelError::Shape { what: "mask", .. })
    ));
    assert!(CandidateBatch::new(&[], &[], 0, 0, 5).is_err());
    let wrong_dim = PolicyParams::init(4, 6, 0).unwrap();
    assert!(cpu.policy_scores(&wrong_dim, &batch).is_err());
    let nan = SampleConfig { temperature: f32::NAN, seed: 0 };
    assert!(matches!(cpu.policy_sample(&c.params, &batch, &[0; 3], &[0; 3], &nan), Err(KernelError::Param { .. })));
    assert!(cpu.policy_sample(&c.params, &batch, &[0; 2], &[0; 3], &SampleConfig::default()).is_err());
    let cfg = PgConfig::default();
    // row 1 is all masked: only -1 is accepted there
    assert!(cpu.policy_grad(&c.params, &batch, &[0, 0, 0], &[1.0; 3], &cfg).is_err());
    assert!(cpu.policy_grad(&c.params, &batch, &[0, -1, 4], &[1.0; 3], &cfg).is_err());
    assert!(cpu.policy_grad(&c.params, &batch, &[0, -1, -2], &[1.0; 3], &cfg).is_err());
    assert!(cpu.policy_grad(&c.params, &batch, &[0, -1, 3], &[1.0; 2], &cfg).is_err());
    let g = cpu.policy_grad(&c.params, &batch, &[-1, -1, -1], &[1.0; 3], &cfg).unwrap();
    assert_eq!(g.loss, 0.0);
    assert!(g.grad.iter().all(|&v| v == 0.0));
    assert!(PolicyParams::from_flat(2, 2, vec![0.0; 7]).is_err());
    assert!(PolicyParams::init(0, 3, 0).is_err());
}

#[test]
fn adam_and_sgd_match_f64_reference() {
    let mut rng = TestRng::new(17);
    let n = 1000;
    let mut p: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
    let cfg = AdamConfig { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.01 };
    let mut state = AdamState::new(n, cfg).unwrap();
    let (mut p64, mut m64, mut v64) =
        (p.iter().map(|&x| x as f64).collect::<Vec<_>>(), vec![0.0f64; n], vec![0.0f64; n]);
    let cpu = Backend::cpu();
    for t in 1..=5 {
        let g: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        cpu.adam_step(&mut state, &mut p, &g).unwrap();
        let (b1, b2) = (cfg.beta1 as f64, cfg.beta2 as f64);
        for i in 0..n {
            let gi = g[i] as f64;
            m64[i] = b1 * m64[i] + (1.0 - b1) * gi;
            v64[i] = b2 * v64[i] + (1.0 - b2) * gi * gi;
            let mhat = m64[i] / (1.0 - b1.powi(t));
            let vhat = v64[i] / (1.0 - b2.powi(t));
            p64[i] -= cfg.lr as f64 * (mhat / (vhat.sqrt() + cfg.eps as f64) + cfg.weight_decay as f64 * p64[i]);
        }
        assert_close(&format!("adam step {t}"), &p, &p64, 1e-5);
    }
    assert_eq!(state.step(), 5);
    assert!(cpu.adam_step(&mut state, &mut p[..10], &[0.0; 10]).is_err());

    let mut q = vec![1.0f32, 2.0];
    cpu.sgd_step(0.5, &mut q, &[2.0, -4.0]).unwrap();
    assert_eq!(q, vec![0.0, 4.0]);
    assert!(cpu.sgd_step(f32::INFINITY, &mut q, &[0.0, 0.0]).is_err());
}

/// End to end on the CPU: sample, score with a bandit reward, GRPO, gradient, Adam; the policy must learn.
#[test]
fn policy_learns_a_contextual_bandit() {
    let (groups, per_group, k, d, h) = (16usize, 8usize, 6usize, 12usize, 16usize);
    let b = groups * per_group;
    let mut rng = TestRng::new(18);
    let mut params = PolicyParams::init(d, h, 1).unwrap();
    let mut adam = AdamState::new(params.as_slice().len(), AdamConfig { lr: 0.03, ..AdamConfig::default() }).unwrap();
    let cpu = Backend::cpu();
    let offsets: Vec<u32> = (0..=groups as u32).map(|g| g * per_group as u32).collect();
    let mut first = None;
    let mut last = 0.0;
    for iter in 0..150u64 {
        // each group is one state: random candidates, the good one has feature 0 set to +1 (others -1)
        let mut feats = Vec::with_capacity(b * k * d);
        let mut good = Vec::with_capacity(b);
        for _ in 0..groups {
            let g = rng.below(k);
            let state: Vec<f16> = (0..k * d)
                .map(|i| {
                    let (slot, f) = (i / d, i % d);
                    if f == 0 {
                        f16::from_f32(if slot == g { 1.0 } else { -1.0 })
                    } else {
                        f16::from_f64(rng.range(-1.0, 1.0))
                    }
                })
                .collect();
            for _ in 0..per_group {
                feats.extend_from_slice(&state);
                good.push(g as i32);
            }
        }
        let mask = vec![true; b * k];
        let batch = CandidateBatch::new(&feats, &mask, b, k, d).unwrap();
        let ep: Vec<u64> = (0..b as u64).collect();
        let st = vec![iter; b];
        let dec = cpu.policy_sample(&params, &batch, &ep, &st, &SampleConfig { temperature: 1.0, seed: 7 }).unwrap();
        let rewards: Vec<f32> = dec.chosen.iter().zip(&good).map(|(c, g)| f32::from(u8::from(c == g))).collect();
        let mean = rewards.iter().sum::<f32>() / b as f32;
        first.get_or_insert(mean);
        last = mean;
        let mut adv = vec![0.0; b];
        cpu.grpo(&rewards, &offsets, None, &GrpoConfig::default(), &mut adv).unwrap();
        let cfg = PgConfig { temperature: 1.0, entropy_coef: 0.0, scale: 1.0 / b as f32 };
        let g = cpu.policy_grad(&params, &batch, &dec.chosen, &adv, &cfg).unwrap();
        cpu.adam_step(&mut adam, params.as_mut_slice(), &g.grad).unwrap();
    }
    let first = first.unwrap_or(0.0);
    assert!(first < 0.4, "starts near chance (1/{k}): {first}");
    assert!(last > 0.8, "learned: mean reward {first} -> {last}");
}

#[test]
fn device_selection_never_panics() {
    assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
    assert_eq!("CUDA".parse::<Device>().unwrap(), Device::Cuda(0));
    assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
    assert!("cuda:x".parse::<Device>().is_err());
    match Backend::new(Device::Cuda(0)) {
        Ok(b) => assert!(b.is_cuda()),
        Err(e) => {
            assert!(matches!(e, KernelError::CudaNotCompiled | KernelError::CudaUnavailable(_)), "{e}");
            assert!(!e.to_string().is_empty());
        }
    }
    let auto = Backend::new(Device::Auto).unwrap();
    assert!(!auto.describe().is_empty());
    assert!(!Backend::new(Device::Cpu).unwrap().is_cuda());
}
