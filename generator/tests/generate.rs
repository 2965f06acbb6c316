//! The generator's promises: deterministic bytes, valid environments of AWM's size in every domain, every written
//! task passing self-validation, and sabotaged tasks caught.

use std::collections::HashSet;
use std::sync::Arc;

use agentworld_generator::{MIN_TASKS, Rejection, builtin_domains, draft, generate_one, parse_domain, prove};
use agentworld_runtime::spec::CheckSpec;
use agentworld_runtime::validate::validate_env;

#[test]
fn same_seed_same_bytes_and_other_seeds_differ() {
    let domains = builtin_domains();
    for d in domains.iter().take(5) {
        let a = generate_one(d, 11, 3, 0).expect("valid");
        let b = generate_one(d, 11, 3, 0).expect("valid");
        assert_eq!(a.text, b.text, "{}: same seed, different bytes", d.name);
        let c = generate_one(d, 12, 3, 0).expect("valid");
        assert_ne!(a.text, c.text, "{}: another seed gave the same environment", d.name);
        assert_ne!(a.fingerprint, c.fingerprint);
    }
}

/// Property: every domain, over many seeds, yields environments of AWM's size whose written text parses, compiles
/// and passes self-validation on every task.
#[test]
fn every_domain_produces_valid_environments_over_many_seeds() {
    let domains = builtin_domains();
    assert!(domains.len() >= 20, "only {} domains", domains.len());
    let seeds: u64 = std::env::var("AGENTWORLD_GEN_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    let mut fingerprints = HashSet::new();
    for d in &domains {
        for seed in 0..seeds {
            let env = match generate_one(d, 1000 + seed, seed as usize, 0) {
                Ok(e) => e,
                // A rejected draw is allowed (the run redraws it) but must say why.
                Err(r) => {
                    assert!(!r.to_string().is_empty());
                    continue;
                }
            };
            let s = &env.stats;
            assert!((8..=25).contains(&s.tables), "{}: {} tables", env.name, s.tables);
            assert!((20..=45).contains(&s.tools), "{}: {} tools", env.name, s.tools);
            assert!((100..=300).contains(&s.rows), "{}: {} seed rows", env.name, s.rows);
            assert!(s.tasks >= MIN_TASKS, "{}: {} tasks", env.name, s.tasks);
            assert!(s.kinds.len() >= 4, "{}: task kinds {:?}", env.name, s.kinds);
            // The written bytes themselves: parse, compile, validate every task.
            let compiled = Arc::new(env.compile().expect("the written text parses and compiles"));
            for v in validate_env(&compiled, None).expect("validation runs") {
                assert!(v.ok(), "{}: written task {} fails: {:?}", env.name, v.task, v.problems);
            }
            assert!(fingerprints.insert(env.fingerprint.clone()), "{}: duplicate schema and toolset", env.name);
        }
    }
}

#[test]
fn self_validation_drops_a_broken_verifier_and_an_unsolvable_task() {
    let domain = &builtin_domains()[0];
    let mut d = draft(domain, 5, 0, 0);
    let n = d.spec.tasks.len();
    // A verifier that holds whatever happens: doing nothing would score 1.0.
    d.spec.tasks[0].verify = vec![CheckSpec::Named { name: Some("always".into()), sql: "SELECT 1".into() }];
    let broken = d.spec.tasks[0].id.clone();
    // A task nobody can solve: its check asks for a row that does not exist.
    let last = n - 1;
    d.spec.tasks[last].verify = vec![CheckSpec::Named {
        name: Some("impossible".into()),
        sql: "SELECT count(*) = 1 FROM final.sqlite_schema WHERE name = 'no_such_table'".into(),
    }];
    let unsolvable = d.spec.tasks[last].id.clone();
    let env = prove(d).expect("the other tasks pass");
    assert_eq!(env.stats.tasks, n - 2);
    let why: Vec<(&str, &str)> = env.rejected_tasks.iter().map(|r| (r.task.as_str(), r.reason.as_str())).collect();
    let broken_reason = why.iter().find(|(t, _)| *t == broken).expect("broken verifier rejected").1;
    assert!(broken_reason.contains("doing nothing scored"), "{broken_reason}");
    let unsolvable_reason = why.iter().find(|(t, _)| *t == unsolvable).expect("unsolvable task rejected").1;
    assert!(unsolvable_reason.contains("reference solution scored"), "{unsolvable_reason}");
    assert!(!env.text.contains(&format!("id = \"{broken}\"")) && !env.text.contains(&format!("id = \"{unsolvable}\"")));
}

#[test]
fn an_environment_with_too_few_valid_tasks_is_rejected_with_reasons() {
    let domain = &builtin_domains()[0];
    let mut d = draft(domain, 6, 0, 0);
    for t in d.spec.tasks.iter_mut().skip(MIN_TASKS - 2) {
        t.solution.clear();
        t.answer.clear();
    }
    match prove(d) {
        Err(Rejection::TooFewTasks { kept, rejected, .. }) => {
            assert!(kept < MIN_TASKS);
            assert!(!rejected.is_empty() && rejected.iter().all(|r| !r.reason.is_empty()));
        }
        other => panic!("expected a rejection, got {:?}", other.map(|e| e.name)),
    }
}

#[test]
fn a_broken_domain_file_names_file_and_line() {
    let text = "domain shop\nabout a shop\nbrand Shop\ntable items item core rows 3-5\n  label name combo(A|B ; C|D)\n  ref owner_id owners\n";
    let e = parse_domain("shop.dsl", text).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("shop.dsl", 4));
    assert!(e.message.contains("`owners`, which is not a table defined above it"), "{e}");
}
