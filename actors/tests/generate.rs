//! Supervised generation: parallel generator actors give the same bytes as a sequential run, a generator that
//! panics is replaced and its slot retried with the next sub-seed (reported), and a slot that never succeeds is
//! reported lost rather than dropped silently.

use agentworld_actors::generate::{GenerationSpec, generate};
use agentworld_generator::{builtin_domains, generate_one};

fn spec(count: usize, seed: u64) -> GenerationSpec {
    let mut s = GenerationSpec::new(builtin_domains(), count, seed);
    s.workers = 3;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_generation_matches_the_sequential_bytes() {
    let report = generate(spec(8, 21)).await.expect("run completes");
    assert_eq!(report.envs.len(), 8);
    assert!(report.failed_attempts.iter().all(|f| f.what != "crashed"));
    let domains = builtin_domains();
    for (slot, env) in report.envs.iter().enumerate() {
        assert_eq!(env.index, slot);
        let alone = generate_one(&domains[slot % domains.len()], 21, slot, env.attempt).expect("valid");
        assert_eq!(env.text, alone.text, "slot {slot}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_generator_is_restarted_and_its_slot_retried_with_the_next_sub_seed() {
    let mut s = spec(6, 4);
    s.panic_at = vec![(2, 0)];
    let report = generate(s).await.expect("run completes");
    assert_eq!(report.envs.len(), 6, "no slot lost");
    assert_eq!(report.restarts, 1);
    let crash = report.failed_attempts.iter().find(|f| f.what == "crashed").expect("crash reported");
    assert_eq!((crash.slot, crash.attempt), (2, 0));
    assert!(crash.reason.contains("injected generator fault"), "{}", crash.reason);
    let env = report.envs.iter().find(|e| e.index == 2).expect("slot 2 written");
    assert_eq!(env.attempt, 1, "retried with the next sub-seed");
    assert!(env.stats.tasks >= agentworld_generator::MIN_TASKS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_that_always_crashes_is_reported_lost() {
    let mut s = spec(3, 4);
    s.max_attempts = 3;
    s.panic_at = vec![(1, 0), (1, 1), (1, 2)];
    let report = generate(s).await.expect("run completes");
    assert_eq!(report.lost_slots, vec![1]);
    assert_eq!(report.envs.iter().map(|e| e.index).collect::<Vec<_>>(), vec![0, 2]);
    assert_eq!(report.restarts, 3);
    assert_eq!(report.failed_attempts.iter().filter(|f| f.slot == 1).count(), 3);
}
