//! The whole pipeline against a scripted OpenAI-compatible server (real HTTP on loopback) whose recorded answers
//! are proven procedural environments, with scripted broken answers: self-correction fixes what it can, drops
//! what it cannot, and every environment written passes the engine's self-validation.

use std::sync::Arc;

use agentworld_runtime::Environment;
use agentworld_synth::llm::ChatConfig;
use agentworld_synth::scripted::{Fault, Script, ScriptedServer, generated_specs};
use agentworld_synth::{Stage, SynthOptions, synthesize};
use serde_json::{Value, json};

fn weak_checks(v: &mut Value) {
    for t in v["tasks"].as_array_mut().into_iter().flatten() {
        t["verify"] = json!(["SELECT 1"]);
    }
}

fn no_solutions(v: &mut Value) {
    for t in v["tasks"].as_array_mut().into_iter().flatten() {
        t["solution"] = json!([{"tool": "no_such_tool", "args": {}}]);
    }
}

fn broken_tool(v: &mut Value) {
    let tool = &mut v["tools"][0];
    if tool.get("sql").is_some_and(|s| !s.is_null()) {
        tool["sql"] = json!("SELECT missing_column FROM missing_table");
    } else {
        tool["steps"][0]["sql"] = json!("SELECT missing_column FROM missing_table");
    }
}

fn options(url: &str, out: &std::path::Path) -> SynthOptions {
    let mut chat = ChatConfig::new(url, "scripted");
    chat.concurrency = 4;
    chat.backoff = std::time::Duration::from_millis(5);
    SynthOptions::new(chat, out.to_path_buf())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_correction_fixes_what_it_can_and_drops_what_it_cannot() {
    let specs = generated_specs(8, 11);
    assert_eq!(specs.len(), 8);
    let names: Vec<String> = specs.iter().map(|s| agentworld_synth::stages::env_name(&s.env.name)).collect();
    let mut script = Script::new(specs);
    script
        .unavailable_first(2)
        .fault(&names[0], Stage::Tasks, 1, Fault::Text("Here are your tasks: {\"tasks\": [".into()))
        .fault(&names[1], Stage::Schema, 1, Fault::Replace { from: "CREATE TABLE".into(), to: "CREATE TABEL".into() })
        .fault(&names[2], Stage::Verifiers, 1, Fault::Edit(weak_checks))
        .always(&names[3], Stage::Verifiers, Fault::Edit(no_solutions))
        .fault(
            &names[4],
            Stage::Data,
            1,
            Fault::Replace { from: "INSERT INTO ".into(), to: "INSERT INTO missing_".into() },
        )
        .fault(&names[5], Stage::Tools, 1, Fault::Edit(broken_tool))
        .always(&names[6], Stage::Schema, Fault::Text("{\"schema\": \"DROP TABLE users\"}".into()));
    let seeds = script.seeds();
    let server = ScriptedServer::start(script).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(&server.url, out.path());
    opts.panic_on = Some(names[7].clone());
    let (report, drafts) = synthesize(seeds, 8, &opts).await.unwrap();

    let dropped: Vec<(&str, &str)> = report.dropped.iter().map(|d| (d.scenario.as_str(), d.stage.as_str())).collect();
    assert!(dropped.contains(&(names[3].as_str(), "verifiers")), "{dropped:?}");
    assert!(dropped.contains(&(names[6].as_str(), "schema")), "{dropped:?}");
    assert!(
        report.dropped.iter().any(|d| d.scenario == names[7] && d.reason.contains("crashed")),
        "{:?}",
        report.dropped
    );
    assert_eq!(report.generator_crashes, 1);
    assert_eq!(report.environments, 5, "{report:#?}");
    let stage = |s: &str| report.stages.iter().find(|r| r.stage == s).unwrap().clone();
    for s in ["tasks", "schema", "data", "tools", "verifiers"] {
        assert!(stage(s).corrected >= 1, "{s} corrected nothing: {:?}", stage(s));
    }
    assert_eq!(stage("schema").dropped, 1);
    assert_eq!(
        stage("schema").tries,
        5 + 2 + 5,
        "seven drafts reach it: five right first time, one corrected once, one never valid"
    );
    assert_eq!(stage("scenarios").passed, 8);
    assert!(report.usage.transport_retries >= 2, "{:?}", report.usage);
    assert!(report.usage.prompt_tokens > 0 && report.usage.completion_tokens > 0);
    // The schema the never-valid draft kept offering is named in the reason.
    let reason = &report.dropped.iter().find(|d| d.scenario == names[6]).unwrap().reason;
    assert!(reason.contains("not CREATE TABLE"), "{reason}");

    // Every written environment compiles and passes self-validation, and nothing else was written.
    let files: Vec<_> = std::fs::read_dir(out.path().join("envs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 5);
    for f in &files {
        let env = Arc::new(Environment::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
        let results = agentworld_runtime::validate::validate_env(&env, None).unwrap();
        assert!(results.iter().all(|r| r.ok()), "{}: {results:?}", f.display());
    }
    assert_eq!(drafts.iter().filter(|d| d.dropped.is_none()).count(), 5);
    assert!(out.path().join("report.json").is_file());
    assert!(out.path().join("stages/environments.jsonl").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_run_one_at_a_time_over_jsonl_and_dry_runs_send_nothing() {
    let specs = generated_specs(3, 5);
    let script = Script::new(specs);
    let seeds = script.seeds();
    let server = ScriptedServer::start(script).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut chat = ChatConfig::new(&server.url, "scripted");
    chat.concurrency = 2;
    let run = agentworld_synth::pipeline::RunOptions { workers: 2, ..Default::default() };
    let silent: Arc<dyn agentworld_synth::Progress> = Arc::new(agentworld_synth::pipeline::Silent);

    let mut dry = chat.clone();
    dry.dry_run = true;
    let (_, _, printed) = agentworld_synth::run_scenarios_stage(
        seeds.clone(),
        3,
        dry,
        &dir.path().join("dry.jsonl"),
        &run,
        silent.clone(),
    )
    .await
    .unwrap();
    assert_eq!(printed.len(), 3);
    assert!(printed[0].contains("[stage: scenarios]") && printed[0].contains("--- system ---"), "{}", printed[0]);
    assert_eq!(server.requests(), 0, "a dry run sends nothing");

    let journal = dir.path().join("journal.jsonl");
    let (_, mut drafts, _) =
        agentworld_synth::run_scenarios_stage(seeds, 3, chat.clone(), &journal, &run, silent.clone()).await.unwrap();
    let file = dir.path().join("scenarios.jsonl");
    agentworld_synth::write_drafts(&file, &drafts).unwrap();
    for stage in [Stage::Tasks, Stage::Schema, Stage::Data, Stage::Tools, Stage::Verifiers] {
        let input = agentworld_synth::read_drafts(&file).unwrap();
        assert_eq!(input, drafts, "the JSONL round-trips");
        let (report, next, _) =
            agentworld_synth::run_one_stage(stage, input, chat.clone(), &journal, &run, silent.clone()).await.unwrap();
        assert_eq!(report.stages.len(), 1);
        assert_eq!(report.stages[0].passed, 3, "{stage:?}: {report:?}");
        drafts = next;
        agentworld_synth::write_drafts(&file, &drafts).unwrap();
    }
    let envs = dir.path().join("envs");
    assert_eq!(agentworld_synth::write_environments(&envs, &drafts).unwrap(), 3);
    // Run again over the same journal: every call is replayed, none is sent.
    let before = server.requests();
    let input = agentworld_synth::read_drafts(&file).unwrap();
    let (report, _, _) =
        agentworld_synth::run_one_stage(Stage::Verifiers, input, chat, &journal, &run, silent).await.unwrap();
    assert_eq!(server.requests(), before);
    assert!(report.usage.replayed >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_dropped_by_minhash_or_by_an_embeddings_endpoint() {
    // Two recorded environments of one domain share their description: a near-duplicate pair.
    let mut specs = generated_specs(2, 9);
    let mut twin = specs[0].clone();
    twin.env.name = format!("{}-twin", twin.env.name);
    specs.push(twin);
    let script = Script::new(specs);
    let seeds = script.seeds();
    let server = ScriptedServer::start(script).unwrap();
    let silent: Arc<dyn agentworld_synth::Progress> = Arc::new(agentworld_synth::pipeline::Silent);
    for embeddings in [None, Some((server.url.clone(), "embed".to_string()))] {
        let dir = tempfile::tempdir().unwrap();
        let run =
            agentworld_synth::pipeline::RunOptions { workers: 2, embeddings: embeddings.clone(), ..Default::default() };
        let chat = ChatConfig::new(&server.url, "scripted");
        let (report, drafts, _) = agentworld_synth::run_scenarios_stage(
            seeds.clone(),
            3,
            chat,
            &dir.path().join("j.jsonl"),
            &run,
            silent.clone(),
        )
        .await
        .unwrap();
        assert_eq!(report.duplicates.len(), 1, "{embeddings:?}: {:?}", report.duplicates);
        assert_eq!(drafts.iter().filter(|d| d.dropped.is_none()).count(), 2);
    }
}
