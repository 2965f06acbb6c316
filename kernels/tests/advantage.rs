//! CPU advantage estimators against straightforward f64 implementations written here.

mod common;

use agentworld_kernels::{Backend, BroadcastConfig, GaeConfig, GrpoConfig, KernelError};
use common::{TestRng, assert_close, offsets};

/// f64 reference of GRPO/RLOO for one layout; returns (advantages, underfilled groups).
fn group_ref(rewards: &[f32], offs: &[u32], valid: Option<&[bool]>, grpo: Option<GrpoConfig>) -> (Vec<f64>, Vec<u32>) {
    let mut out = vec![0.0f64; rewards.len()];
    let mut under = Vec::new();
    for g in 0..offs.len() - 1 {
        let (s, e) = (offs[g] as usize, offs[g + 1] as usize);
        let idx: Vec<usize> = (s..e).filter(|&i| valid.is_none_or(|v| v[i])).collect();
        let n = idx.len();
        if n < 2 {
            under.push(g as u32);
            continue;
        }
        let sum: f64 = idx.iter().map(|&i| rewards[i] as f64).sum();
        for &i in &idx {
            let r = rewards[i] as f64;
            out[i] = match grpo {
                Some(cfg) => {
                    let mean = sum / n as f64;
                    if cfg.scale_by_std {
                        let ss: f64 = idx.iter().map(|&j| (rewards[j] as f64 - mean).powi(2)).sum();
                        let denom = if cfg.unbiased_std { n - 1 } else { n } as f64;
                        (r - mean) / ((ss / denom).sqrt() + cfg.eps as f64)
                    } else {
                        r - mean
                    }
                }
                None => r - (sum - r) / (n - 1) as f64,
            };
        }
    }
    (out, under)
}

fn random_layout(rng: &mut TestRng, groups: usize, max_size: usize) -> (Vec<f32>, Vec<u32>, Vec<bool>) {
    let sizes: Vec<usize> = (0..groups).map(|_| rng.below(max_size + 1)).collect();
    let offs = offsets(&sizes);
    let n = offs[groups] as usize;
    let binary = rng.bool(0.5);
    let rewards: Vec<f32> =
        (0..n).map(|_| if binary { f32::from(u8::from(rng.bool(0.4))) } else { rng.range(-3.0, 5.0) as f32 }).collect();
    let valid: Vec<bool> = (0..n).map(|_| rng.bool(0.85)).collect();
    (rewards, offs, valid)
}

#[test]
fn grpo_and_rloo_match_f64_reference_on_random_layouts() {
    let mut rng = TestRng::new(1);
    let configs = [
        GrpoConfig::default(),
        GrpoConfig::no_std(),
        GrpoConfig { unbiased_std: false, ..GrpoConfig::default() },
        GrpoConfig { eps: 0.1, ..GrpoConfig::default() },
    ];
    for case in 0..200 {
        let groups = [0, 1, 2, 7, 33, 100][case % 6];
        let max_size = [1, 2, 5, 16, 40][case % 5];
        let (rewards, offs, valid) = random_layout(&mut rng, groups, max_size);
        for threads in [1, 2] {
            let backend = Backend::cpu_with_threads(threads);
            for masked in [false, true] {
                let v = masked.then_some(valid.as_slice());
                for cfg in configs {
                    let mut out = vec![f32::NAN; rewards.len()];
                    let report = backend.grpo(&rewards, &offs, v, &cfg, &mut out).unwrap();
                    let (want, under) = group_ref(&rewards, &offs, v, Some(cfg));
                    assert_close(&format!("grpo case {case} {cfg:?} masked={masked}"), &out, &want, 1e-4);
                    assert_eq!(report.underfilled, under, "case {case}");
                    assert_eq!(report.masked, v.map_or(0, |v| v.iter().filter(|&&b| !b).count()));
                }
                let mut out = vec![f32::NAN; rewards.len()];
                let report = backend.rloo(&rewards, &offs, v, &mut out).unwrap();
                let (want, under) = group_ref(&rewards, &offs, v, None);
                assert_close(&format!("rloo case {case} masked={masked}"), &out, &want, 1e-4);
                assert_eq!(report.underfilled, under);
            }
        }
    }
}

#[test]
fn large_inputs_are_split_across_threads_with_identical_results() {
    let mut rng = TestRng::new(2);
    let (rewards, offs, valid) = random_layout(&mut rng, 20_000, 32);
    assert!(rewards.len() > 200_000);
    let mut a = vec![0.0; rewards.len()];
    let mut b = vec![0.0; rewards.len()];
    let ra =
        Backend::cpu_with_threads(1).grpo(&rewards, &offs, Some(&valid[..]), &GrpoConfig::default(), &mut a).unwrap();
    let rb =
        Backend::cpu_with_threads(2).grpo(&rewards, &offs, Some(&valid[..]), &GrpoConfig::default(), &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(ra, rb);
    let (want, under) = group_ref(&rewards, &offs, Some(&valid[..]), Some(GrpoConfig::default()));
    assert_close("grpo large", &b, &want, 1e-4);
    assert_eq!(rb.underfilled, under);
}

#[test]
fn edge_cases_groups_of_one_all_equal_and_all_masked() {
    let cpu = Backend::cpu();
    // group sizes 1, 0, 3 (all equal), 2 (all masked), 3 (one masked)
    let rewards = [5.0, 1.0, 1.0, 1.0, 9.0, 9.0, 0.0, 1.0, 100.0];
    let offs = offsets(&[1, 0, 3, 2, 3]);
    let valid = [true, true, true, true, false, false, true, true, false];
    let mut out = vec![f32::NAN; rewards.len()];
    let report = cpu.grpo(&rewards, &offs, Some(&valid[..]), &GrpoConfig::default(), &mut out).unwrap();
    assert_eq!(report.underfilled, vec![0, 1, 3]);
    assert_eq!(report.masked, 3);
    assert!(out.iter().all(|v| v.is_finite()));
    assert_eq!(&out[..6], &[0.0; 6]); // lone member, all-equal group, all-masked group
    assert_eq!(out[8], 0.0); // masked member: excluded, advantage 0
    // the masked 100.0 did not leak into the statistics: {0, 1} -> -/+ 1/(std+eps) with unbiased std sqrt(0.5)
    let expect = 0.5 / (0.5f64.sqrt() + 1e-6);
    assert!((out[6] as f64 + expect).abs() < 1e-5 && (out[7] as f64 - expect).abs() < 1e-5, "{out:?}");

    let mut out = vec![f32::NAN; rewards.len()];
    let report = cpu.rloo(&rewards, &offs, Some(&valid[..]), &mut out).unwrap();
    assert_eq!(report.underfilled, vec![0, 1, 3]);
    assert_eq!(&out[6..], &[-1.0, 1.0, 0.0]);

    // all rewards equal (values whose mean rounds in f32): exactly 0, no NaN, even with eps = 0
    for x in [0.5f32, 0.1, -7.3, 1e6] {
        let flat = vec![x; 64];
        let offs = offsets(&[16, 3, 45]);
        for cfg in [GrpoConfig::default(), GrpoConfig { eps: 0.0, ..GrpoConfig::default() }, GrpoConfig::no_std()] {
            let mut out = vec![f32::NAN; 64];
            let report = cpu.grpo(&flat, &offs, None, &cfg, &mut out).unwrap();
            assert!(out.iter().all(|&v| v == 0.0), "x={x} {cfg:?}: {out:?}");
            assert!(report.underfilled.is_empty());
        }
        let mut out = vec![f32::NAN; 64];
        cpu.rloo(&flat, &offs, None, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn rloo_is_scaled_no_std_grpo() {
    let mut rng = TestRng::new(3);
    let sizes = [2usize, 3, 8, 16];
    let offs = offsets(&sizes);
    let rewards: Vec<f32> = (0..offs[sizes.len()]).map(|_| rng.range(0.0, 1.0) as f32).collect();
    let cpu = Backend::cpu();
    let (mut r, mut g) = (vec![0.0; rewards.len()], vec![0.0; rewards.len()]);
    cpu.rloo(&rewards, &offs, None, &mut r).unwrap();
    cpu.grpo(&rewards, &offs, None, &GrpoConfig::no_std(), &mut g).unwrap();
    for (gi, &n) in sizes.iter().enumerate() {
        for i in offs[gi] as usize..offs[gi + 1] as usize {
            let want = g[i] as f64 * n as f64 / (n - 1) as f64;
            assert!((r[i] as f64 - want).abs() < 1e-5, "group size {n}: {} vs {want}", r[i]);
        }
    }
}

fn gae_ref(r: &[f32], v: &[f32], offs: &[u32], boot: Option<&[f32]>, cfg: GaeConfig) -> (Vec<f64>, Vec<f64>) {
    let (g, l) = (cfg.gamma as f64, cfg.lambda as f64);
    let mut adv = vec![0.0; r.len()];
    let mut ret = vec![0.0; r.len()];
    for e in 0..offs.len() - 1 {
        let (s, end) = (offs[e] as usize, offs[e + 1] as usize);
        for t in s..end {
            // direct sum: A_t = sum_k (g l)^k delta_{t+k}
            let mut a = 0.0;
            for k in t..end {
                let v_next = if k + 1 < end { v[k + 1] as f64 } else { boot.map_or(0.0, |b| b[e] as f64) };
                let delta = r[k] as f64 + g * v_next - v[k] as f64;
                a += (g * l).powi((k - t) as i32) * delta;
            }
            adv[t] = a;
            ret[t] = a + v[t] as f64;
        }
    }
    (adv, ret)
}

#[test]
fn gae_matches_f64_reference() {
    let mut rng = TestRng::new(4);
    for case in 0..150 {
        let episodes = [0, 1, 3, 20, 64][case % 5];
        let sizes: Vec<usize> = (0..episodes).map(|_| rng.below(30)).collect();
        let offs = offsets(&sizes);
        let n = offs[episodes] as usize;
        let r: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let v: Vec<f32> = (0..n).map(|_| rng.range(-2.0, 2.0) as f32).collect();
        let boot: Vec<f32> = (0..episodes).map(|_| rng.range(-2.0, 2.0) as f32).collect();
        let cfg = [
            GaeConfig::default(),
            GaeConfig { gamma: 1.0, lambda: 1.0 },
            GaeConfig { gamma: 0.9, lambda: 0.0 },
            GaeConfig { gamma: 0.0, lambda: 0.5 },
        ][case % 4];
        for b in [None, Some(boot.as_slice())] {
            let (mut adv, mut ret) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            Backend::cpu().gae(&r, &v, &offs, b, &cfg, &mut adv, &mut ret).unwrap();
            let (wa, wr) = gae_ref(&r, &v, &offs, b, cfg);
            assert_close(&format!("gae adv case {case}"), &adv, &wa, 1e-4);
            assert_close(&format!("gae ret case {case}"), &ret, &wr, 1e-4);
        }
    }
}

#[test]
fn gae_with_unit_gamma_lambda_and_zero_values_is_reward_to_go() {
    let r = [1.0f32, 0.0, 2.0, 5.0];
    let (mut adv, mut ret) = (vec![0.0; 4], vec![0.0; 4]);
    let cfg = GaeConfig { gamma: 1.0, lambda: 1.0 };
    Backend::cpu().gae(&r, &[0.0; 4], &[0, 3, 4], None, &cfg, &mut adv, &mut ret).unwrap();
    assert_eq!(adv, vec![3.0, 2.0, 2.0, 5.0]);
    assert_eq!(ret, adv);
}

#[test]
fn broadcast_applies_awm_format_error_rule() {
    let mut rng = TestRng::new(5);
    for case in 0..100 {
        let episodes = rng.below(40);
        let sizes: Vec<usize> = (0..episodes).map(|_| rng.below(25)).collect();
        let offs = offsets(&sizes);
        let n = offs[episodes] as usize;
        let adv: Vec<f32> = (0..episodes).map(|_| rng.range(-2.0, 2.0) as f32).collect();
        let fe: Vec<bool> = (0..n).map(|_| rng.bool(0.1)).collect();
        let cfg = if case % 2 == 0 { BroadcastConfig::default() } else { BroadcastConfig { format_error_value: -0.5 } };
        let mut out = vec![f32::NAN; n];
        Backend::cpu().broadcast_steps(&adv, &offs, &fe, &cfg, &mut out).unwrap();
        for e in 0..episodes {
            for t in offs[e] as usize..offs[e + 1] as usize {
                let want = if fe[t] { cfg.format_error_value } else { adv[e] };
                assert_eq!(out[t], want, "case {case} episode {e} step {t}");
            }
        }
    }
}

#[test]
fn invalid_arguments_are_typed_errors() {
    let cpu = Backend::cpu();
    let r = [1.0f32, 2.0, 3.0];
    let mut out = [0.0f32; 3];
    let g = GrpoConfig::default();
    for bad in [&[][..], &[1, 3][..], &[0, 2, 1, 3][..], &[0, 2][..], &[0, 4][..]] {
        assert!(matches!(cpu.grpo(&r, bad, None, &g, &mut out), Err(KernelError::Offsets(_))), "{bad:?}");
        assert!(matches!(cpu.rloo(&r, bad, None, &mut out), Err(KernelError::Offsets(_))), "{bad:?}");
    }
    let mut short = [0.0f32; 2];
    assert!(matches!(cpu.grpo(&r, &[0, 3], None, &g, &mut short), Err(KernelError::Shape { what: "out", .. })));
    assert!(matches!(
        cpu.grpo(&r, &[0, 3], Some(&[true][..]), &g, &mut out),
        Err(KernelError::Shape { what: "valid", .. })
    ));
    let nan_eps = GrpoConfig { eps: f32::NAN, ..g };
    assert!(matches!(cpu.grpo(&r, &[0, 3], None, &nan_eps, &mut out), Err(KernelError::Param { name: "eps", .. })));
    let (mut a, mut b) = ([0.0f32; 3], [0.0f32; 3]);
    let bad_gamma = GaeConfig { gamma: 1.5, lambda: 0.9 };
    assert!(matches!(cpu.gae(&r, &r, &[0, 3], None, &bad_gamma, &mut a, &mut b), Err(KernelError::Param { .. })));
    assert!(cpu.gae(&r, &r[..2], &[0, 3], None, &GaeConfig::default(), &mut a, &mut b).is_err());
    assert!(cpu.gae(&r, &r, &[0, 3], Some(&[0.0, 0.0][..]), &GaeConfig::default(), &mut a, &mut b).is_err());
    assert!(cpu.broadcast_steps(&[1.0], &[0, 2], &[false; 3], &BroadcastConfig::default(), &mut out).is_err());
    assert!(cpu.broadcast_steps(&[1.0, 2.0], &[0, 3], &[false; 3], &BroadcastConfig::default(), &mut out).is_err());
}
