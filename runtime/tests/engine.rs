//! Engine behaviour on the `bookstore` fixture: isolation, tools, arguments, guards, limits, deadlines, the
//! virtual clock, verification, determinism and changeset replay.

use std::path::PathBuf;
use std::sync::Arc;

use agentworld_runtime::changes::{ChangeOp, decode, replay, state_digest};
use agentworld_runtime::verify::Outcome;
use agentworld_runtime::{Environment, Episode, ToolError};
use serde_json::{Value, json};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bookstore.toml")
}

fn env() -> Arc<Environment> {
    Arc::new(Environment::load(&fixture()).unwrap_or_else(|e| panic!("fixture must load: {e}")))
}

fn count(ep: &Episode, sql: &str) -> i64 {
    ep.db().connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn fixture_loads_with_its_counts() {
    let env = env();
    assert_eq!(env.name(), "bookstore");
    assert_eq!(env.tables().len(), 4);
    assert_eq!(env.tools().len(), 7);
    assert_eq!(env.tasks().len(), 4);
    let orders = env.table("orders").unwrap();
    assert_eq!(orders.rows, 3);
    assert_eq!(orders.primary_key, vec![0]);
}

#[test]
fn concurrent_episodes_never_see_each_others_writes() {
    let env = env();
    let mut group = Episode::open_group(&env, "order-dune", 4).unwrap();
    assert!(group[0].call("order_book", &json!({"book_id": 1, "quantity": 2})).is_ok());
    assert_eq!(count(&group[0], "SELECT stock FROM books WHERE id = 1"), 10);
    for other in &group[1..] {
        assert_eq!(count(other, "SELECT stock FROM books WHERE id = 1"), 12);
        assert_eq!(count(other, "SELECT count(*) FROM orders"), 3);
    }
    // Episodes on other threads, each writing its own order.
    let handles: Vec<_> = group
        .drain(1..)
        .enumerate()
        .map(|(i, mut ep)| {
            std::thread::spawn(move || {
                for _ in 0..=i {
                    assert!(ep.call("order_book", &json!({"book_id": 3, "quantity": 1})).is_ok());
                }
                count(&ep, "SELECT count(*) FROM orders")
            })
        })
        .collect();
    let counts: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts, vec![4, 5, 6]);
    assert_eq!(count(&group[0], "SELECT count(*) FROM orders"), 4);
}

#[test]
fn branches_are_independent_of_their_parent() {
    let env = env();
    let mut parent = Episode::open(env, Some("order-dune")).unwrap();
    assert!(parent.call("order_book", &json!({"book_id": 1, "quantity": 1})).is_ok());
    let mut child = parent.branch().unwrap();
    assert_eq!(child.lineage().unwrap().parent, parent.id());
    assert_eq!(child.steps().len(), 1);
    assert!(child.call("order_book", &json!({"book_id": 1, "quantity": 1})).is_ok());
    assert!(parent.call("cancel_order", &json!({"order_id": 2})).is_ok());
    assert_eq!(count(&parent, "SELECT stock FROM books WHERE id = 1"), 11);
    assert_eq!(count(&child, "SELECT stock FROM books WHERE id = 1"), 10);
    assert_eq!(count(&child, "SELECT count(*) FROM orders WHERE status = 'cancelled'"), 0);
    assert_eq!(count(&parent, "SELECT count(*) FROM orders WHERE status = 'cancelled'"), 1);

    // A group branched from one mid-episode snapshot: same starting state, independent afterwards.
    let mut group = parent.branch_group(3).unwrap();
    let start = parent.state_digest().unwrap();
    assert!(group.iter().all(|ep| ep.state_digest().unwrap() == start));
    assert!(group[1].call("review_book", &json!({"book_id": 2, "stars": 3})).is_ok());
    assert_eq!(group[0].state_digest().unwrap(), start);
    assert_eq!(group[2].state_digest().unwrap(), start);
    assert_ne!(group[1].state_digest().unwrap(), start);
}

#[test]
fn argument_errors_say_which_argument_what_was_expected_and_what_came() {
    let mut ep = Episode::open(env(), None).unwrap();
    let err = |ep: &mut Episode, tool: &str, args: Value| ep.call(tool, &args).result.clone().unwrap_err();
    match err(&mut ep, "order_book", json!({"book_id": "one", "quantity": 1})) {
        ToolError::InvalidArguments { tool, argument, message } => {
            assert_eq!(tool, "order_book");
            assert_eq!(argument.as_deref(), Some("book_id"));
            assert_eq!(message, "argument 'book_id' must be an integer, got string \"one\"");
        }
        other => panic!("{other:?}"),
    }
    let e = err(&mut ep, "order_book", json!({"book_id": 1}));
    assert!(e.to_string().contains("missing required argument 'quantity' (integer)"), "{e}");
    let e = err(&mut ep, "order_book", json!({"book_id": 1, "quantity": 11}));
    assert!(e.to_string().contains("argument 'quantity' must be <= 10, got 11"), "{e}");
    let e = err(&mut ep, "list_orders", json!({"status": "lost"}));
    assert!(e.to_string().contains("must be one of \"placed\", \"shipped\", \"cancelled\""), "{e}");
    let e = err(&mut ep, "search_books", json!({"query": "x", "colour": "red"}));
    assert!(e.to_string().contains("unexpected argument 'colour'"), "{e}");
    let e = err(&mut ep, "search_books", json!(["Dune"]));
    assert!(e.to_string().contains("arguments must be a JSON object"), "{e}");
    let e = err(&mut ep, "no_such_tool", json!({}));
    assert_eq!(e, ToolError::UnknownTool { tool: "no_such_tool".into() });
    let big = "x".repeat(20_000);
    let e = err(&mut ep, "search_books", json!({ "query": big }));
    assert!(e.to_string().contains("the limit is 16384"), "{e}");
    assert_eq!(ep.steps().len(), 8, "failed calls are steps of the trajectory too");
}

#[test]
fn guards_refuse_with_the_spec_message_and_roll_everything_back() {
    let mut ep = Episode::open(env(), None).unwrap();
    let before = ep.state_digest().unwrap();
    let e = ep.call("order_book", &json!({"book_id": 4, "quantity": 3})).result.clone().unwrap_err();
    assert_eq!(e.to_string(), "order_book: only 2 copies of Middlemarch in stock");
    let e = ep.call("order_book", &json!({"book_id": 99, "quantity": 1})).result.clone().unwrap_err();
    assert_eq!(e.to_string(), "order_book: no book with id 99");
    let e = ep.call("cancel_order", &json!({"order_id": 1})).result.clone().unwrap_err();
    assert_eq!(e.to_string(), "cancel_order: order 1 is shipped and cannot be cancelled");
    // A constraint failing in the last step undoes the earlier steps of the same call.
    let e = ep.call("review_book", &json!({"book_id": 42, "stars": 5})).result.clone().unwrap_err();
    assert!(matches!(e, ToolError::Sql { .. }), "{e:?}");
    assert!(e.to_string().contains("FOREIGN KEY constraint failed"), "{e}");
    assert_eq!(ep.state_digest().unwrap(), before);
    assert!(ep.steps().iter().all(|s| s.changeset.is_none()));
}

#[test]
fn string_arguments_are_bound_never_spliced() {
    let mut ep = Episode::open(env(), None).unwrap();
    let evil = "x'); DROP TABLE books; --";
    let step = ep.call("order_book", &json!({"book_id": 1, "quantity": 1, "note": evil}));
    assert_eq!(step.result.as_ref().unwrap().to_value()["note"], json!(evil));
    assert_eq!(count(&ep, "SELECT count(*) FROM books"), 5);
    let found = ep.call("search_books", &json!({"query": "' OR 1=1 --"}));
    assert_eq!(found.result.as_ref().unwrap(), &json!([]));
}

#[test]
fn results_are_json_rows_within_limits() {
    let mut ep = Episode::open(env(), None).unwrap();
    let step = ep.call("search_books", &json!({"query": "e"}));
    assert!(step.truncated, "5 books match, max_rows is 3");
    let rows = step.result.as_ref().unwrap().to_value().as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], json!({"id": 5, "title": "Persuasion", "author": "Jane Austen", "price": 6.25, "stock": 8}));
    let step = ep.call("get_book", &json!({"book_id": 2}));
    assert_eq!(step.result.as_ref().unwrap().to_value()["title"], "Emma");
    let step = ep.call("review_book", &json!({"book_id": 2, "stars": 4}));
    assert_eq!(step.result.as_ref().unwrap(), &json!({"changes": 1}));
}

/// The fixture's text with `edit` applied, compiled.
fn env_edited(edit: impl FnOnce(String) -> String) -> Arc<Environment> {
    let text = edit(std::fs::read_to_string(fixture()).unwrap());
    let source = agentworld_runtime::spec::SourceText { path: "t.toml".into(), text };
    Arc::new(Environment::compile(agentworld_runtime::spec::parse_source(&source).unwrap(), source).unwrap())
}

/// The fixture with extra tools (TOML `[[tools]]` blocks) added before its tasks.
fn env_with_tools(tools: &str) -> Arc<Environment> {
    env_edited(|text| text.replacen("\n[[tasks]]", &format!("{tools}\n[[tasks]]"), 1))
}

#[test]
fn results_are_written_as_json_text_like_objects_built_in_column_order() {
    let env = env_with_tools(
        r#"
[[tools]]
name = "odd_columns"
description = "Repeated names, awkward values."
result = "row"
params.id = { type = "integer", required = true }
sql = """SELECT id, title, upper(title) AS title, 'say "hi"' || char(10) AS "we""ird", x'00ff' AS bin,
  0.1 + 0.2 AS sum, NULL AS missing, 1e308 * 10 AS inf FROM books WHERE id = $id"""

[[tools]]
name = "first_title"
description = "One value, or null."
result = "value"
params.id = { type = "integer", required = true }
sql = "SELECT title, id FROM books WHERE id = $id"

[[tools]]
name = "book_or_null"
description = "A row, or null."
result = "row"
params.id = { type = "integer", required = true }
sql = "SELECT id, title FROM books WHERE id = $id"

[[tools]]
name = "titles"
description = "Rows, maybe none."
params.author = { type = "string", required = true }
sql = "SELECT title FROM books WHERE author = $author ORDER BY id"
"#,
    );
    let mut ep = Episode::open(env, None).unwrap();
    let mut ok = |tool: &str, args: Value| ep.call(tool, &args).result.clone().unwrap();
    let odd = ok("odd_columns", json!({"id": 2}));
    // A repeated name keeps its first place and takes the later column's value, as inserting into an object would.
    assert_eq!(
        odd.as_str(),
        r#"{"id":2,"title":"EMMA","we\"ird":"say \"hi\"\n","bin":"00ff","sum":0.30000000000000004,"missing":null,"inf":null}"#
    );
    assert_eq!(odd.to_value()["title"], "EMMA");
    assert_eq!(ok("first_title", json!({"id": 3})), json!("Dune Messiah"));
    assert!(ok("first_title", json!({"id": 99})).is_null());
    assert!(ok("book_or_null", json!({"id": 99})).is_null());
    assert_eq!(ok("book_or_null", json!({"id": 1})), json!({"id": 1, "title": "Dune"}));
    assert_eq!(ok("titles", json!({"author": "Nobody"})).as_str(), "[]");
    assert_eq!(ok("titles", json!({"author": "Jane Austen"})), json!([{"title": "Emma"}, {"title": "Persuasion"}]));
    // The trajectory keeps the arguments as sent, as compact JSON text.
    assert_eq!(ep.steps()[0].args.as_str(), r#"{"id":2}"#);
}

#[test]
fn the_deadline_interrupts_a_runaway_statement() {
    let mut ep = Episode::open(env(), None).unwrap();
    let started = std::time::Instant::now();
    let e = ep.call("count_forever", &json!({})).result.clone().unwrap_err();
    assert_eq!(e, ToolError::Timeout { tool: "count_forever".into(), deadline_ms: 200 });
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(ep.call("get_book", &json!({"book_id": 1})).is_ok(), "the episode works after a timeout");
}

#[test]
fn sqlite_now_is_the_virtual_clock() {
    let env = env();
    let mut ep = Episode::open(env.clone(), None).unwrap();
    ep.call("search_books", &json!({"query": "Dune"}));
    let step = ep.call("order_book", &json!({"book_id": 1, "quantity": 1}));
    // clock 12:00:00, 60 s per call, second call.
    assert_eq!(step.result.as_ref().unwrap().to_value()["created_at"], "2026-01-15 12:02:00");
    let seeded: String =
        ep.db().connection().query_row("SELECT created_at FROM orders WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(seeded, "2026-01-12 12:00:00");
}

#[test]
fn verdicts_complete_partial_none_and_collateral_damage() {
    let env = env();
    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    ep.call("order_book", &json!({"book_id": 1, "quantity": 2}));
    let v = ep.finish("done").unwrap().clone();
    assert_eq!((v.outcome, v.reward), (Outcome::Complete, 1.0));
    assert!(v.checks.iter().all(|c| c.passed) && v.collateral.is_empty());

    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    ep.call("order_book", &json!({"book_id": 1, "quantity": 1}));
    ep.call("order_book", &json!({"book_id": 1, "quantity": 1}));
    let v = ep.finish("done").unwrap().clone();
    assert_eq!((v.outcome, v.reward), (Outcome::Partial, 0.1), "{v:?}");
    assert_eq!(v.checks.iter().map(|c| c.passed).collect::<Vec<_>>(), vec![false, true]);

    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    let v = ep.finish("").unwrap().clone();
    assert_eq!((v.outcome, v.reward), (Outcome::None, 0.0));

    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    ep.call("order_book", &json!({"book_id": 1, "quantity": 2}));
    ep.call("review_book", &json!({"book_id": 1, "stars": 1}));
    let v = ep.finish("done").unwrap().clone();
    assert_eq!(v.collateral, vec!["reviews".to_string()]);
    assert_eq!(v.outcome, Outcome::Partial, "collateral damage is never complete");

    // Verification reads both states without changing either.
    let after = ep.state_digest().unwrap();
    let again = ep.verify().unwrap();
    assert_eq!(again, v);
    assert_eq!(ep.state_digest().unwrap(), after);
    assert_eq!(
        state_digest(&env.template().open_readonly().unwrap(), env.tables()).unwrap(),
        Episode::open(env.clone(), None).unwrap().state_digest().unwrap()
    );
    // Verification never touched the shared initial state either.
    assert!(env.initial_is_intact().unwrap());
    // No more calls after the answer.
    assert_eq!(ep.call("get_book", &json!({"book_id": 1})).result.clone().unwrap_err(), ToolError::EpisodeFinished);
}

#[test]
fn answers_are_checked_by_text_and_number() {
    let env = env();
    let score = |answer: &str| {
        let mut ep = Episode::open(env.clone(), Some("cheapest-austen")).unwrap();
        ep.finish(answer).unwrap().reward
    };
    assert_eq!(score("Persuasion costs $6.25"), 1.0);
    assert_eq!(score("Persuasion costs 6.50"), 0.0);
    assert_eq!(score(""), 0.0);
}

fn play(env: &Arc<Environment>) -> Episode {
    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    ep.call("search_books", &json!({"query": "Dune"}));
    ep.call("order_book", &json!({"book_id": 1, "quantity": 2, "note": "gift"}));
    ep.call("review_book", &json!({"book_id": 3, "stars": 5, "body": "great"}));
    ep.call("cancel_order", &json!({"order_id": 2}));
    ep.call("order_book", &json!({"book_id": 4, "quantity": 5}));
    ep
}

#[test]
fn same_actions_give_byte_identical_state_and_the_same_reward() {
    let env = env();
    let mut a = play(&env);
    let mut b = play(&env);
    assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
    let results = |ep: &Episode| ep.steps().iter().map(|s| (s.result.clone(), s.changeset.clone())).collect::<Vec<_>>();
    assert_eq!(results(&a), results(&b));
    let (va, vb) = (a.finish("ok").unwrap().clone(), b.finish("ok").unwrap().clone());
    assert_eq!(va, vb);
    // The same on a reused pooled connection (a's and b's go back to the pool and are handed out again).
    drop((a, b));
    let c = play(&env);
    let fresh_env = Arc::new(Environment::load(&fixture()).unwrap());
    let d = play(&fresh_env);
    assert_eq!(c.snapshot().unwrap(), d.snapshot().unwrap());
    // A fresh environment load builds the same template bytes.
    assert_eq!(env.template().image(), Environment::load(&fixture()).unwrap().template().image());
}

#[test]
fn replaying_changesets_on_the_template_reproduces_the_final_state() {
    let env = env();
    let ep = play(&env);
    let changesets = ep.steps().changesets();
    assert_eq!(changesets.len(), 3, "two orders and a cancel changed rows; the failed order did not");
    let rebuilt = replay(env.template(), env.tables(), changesets.iter().copied()).unwrap();
    assert_eq!(state_digest(rebuilt.connection(), env.tables()).unwrap(), ep.state_digest().unwrap());
    assert_ne!(ep.state_digest().unwrap(), Episode::open(env.clone(), None).unwrap().state_digest().unwrap());

    let order = decode(changesets[0], env.tables()).unwrap();
    let ops: Vec<(String, ChangeOp)> = order.iter().map(|c| (c.table.clone(), c.op)).collect();
    assert!(ops.contains(&("books".into(), ChangeOp::Update)));
    assert!(ops.contains(&("orders".into(), ChangeOp::Insert)));
    let stock = order.iter().find(|c| c.table == "books").unwrap();
    assert_eq!(stock.key, vec![json!(1)]);
    assert_eq!(stock.before.as_ref().unwrap()["stock"], json!(12));
    assert_eq!(stock.after.as_ref().unwrap()["stock"], json!(10));
}

#[test]
fn the_fixture_validates() {
    let env = env();
    let results = agentworld_runtime::validate::validate_env(&env, None).unwrap();
    for r in &results {
        assert!(r.ok(), "{}: {:?}", r.task, r.problems);
        assert_eq!(r.reference, Some(1.0));
        assert_eq!(r.nothing, Some(0.0));
        assert!(r.perturbed.as_ref().unwrap().1 < 1.0);
    }
}

#[test]
fn replay_reproduces_every_bundled_reference_solution() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs");
    let mut replayed = 0;
    for (file, loaded) in Environment::load_all(&dir).unwrap() {
        let env = Arc::new(loaded.unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        for task in env.tasks() {
            let mut ep = Episode::open(env.clone(), Some(task.id())).unwrap();
            for call in &task.spec.solution {
                assert!(ep.call(&call.tool, &Value::Object(call.args.clone())).is_ok(), "{}/{}", env.name(), task.id());
            }
            let changesets = ep.steps().changesets();
            let rebuilt = replay(env.template(), env.tables(), changesets.iter().copied()).unwrap();
            assert_eq!(
                state_digest(rebuilt.connection(), env.tables()).unwrap(),
                ep.state_digest().unwrap(),
                "{}/{}",
                env.name(),
                task.id()
            );
            replayed += 1;
        }
    }
    assert!(replayed >= 50, "{replayed}");
}

#[test]
fn triggers_and_autoincrement_replay_exactly() {
    let env = env_edited(|text| {
        text.replace(
            "CREATE TABLE reviews (id INTEGER PRIMARY KEY,",
            "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL);\n\
             CREATE TRIGGER order_audit AFTER INSERT ON orders BEGIN INSERT INTO audit (what) VALUES ('order ' || NEW.id); END;\n\
             CREATE TABLE reviews (id INTEGER PRIMARY KEY,",
        )
    });
    let ep = play(&env);
    assert_eq!(count(&ep, "SELECT count(*) FROM audit"), 4, "3 seeded orders + 1 ordered in the episode");
    let changesets = ep.steps().changesets();
    let audit: Vec<_> =
        decode(changesets[0], env.tables()).unwrap().into_iter().filter(|c| c.table == "audit").collect();
    assert_eq!(audit.len(), 1, "the trigger's insert is part of the step's changes");
    let rebuilt = replay(env.template(), env.tables(), changesets.iter().copied()).unwrap();
    let audit_rows: i64 = rebuilt.connection().query_row("SELECT count(*) FROM audit", [], |r| r.get(0)).unwrap();
    assert_eq!(audit_rows, 4, "replay applies the recorded trigger effects once, without re-firing the trigger");
    assert_eq!(state_digest(rebuilt.connection(), env.tables()).unwrap(), ep.state_digest().unwrap());
}

#[test]
fn a_closed_episode_returns_its_connection_reset_to_the_initial_state() {
    let env = env();
    let initial = Episode::open(env.clone(), None).unwrap().state_digest().unwrap();
    let idle_before = env.pool().idle();
    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    ep.call("order_book", &json!({"book_id": 1, "quantity": 2}));
    ep.call("review_book", &json!({"book_id": 3, "stars": 5}));
    ep.finish("done").unwrap();
    assert_ne!(ep.state_digest().unwrap(), initial);
    drop(ep);
    assert_eq!(env.pool().idle(), idle_before, "the connection went back to the pool");
    // The next episode reuses it and sees the initial state, not the previous episode's writes.
    let next = Episode::open(env.clone(), Some("order-dune")).unwrap();
    assert_eq!(env.pool().idle(), idle_before - 1);
    assert_eq!(next.state_digest().unwrap(), initial);
    assert_eq!(count(&next, "SELECT count(*) FROM reviews"), 0);
    assert!(env.initial_is_intact().unwrap());
}

#[test]
fn a_result_over_the_byte_limit_is_an_error_observation() {
    let env = env_edited(|text| text.replace("deadline_ms = 200", "deadline_ms = 200\nmax_result_bytes = 120"));
    let mut ep = Episode::open(env, None).unwrap();
    let e = ep.call("search_books", &json!({"query": "e"})).result.clone().unwrap_err();
    assert!(matches!(e, ToolError::TooLarge { limit: 120, .. }), "{e:?}");
    assert!(ep.call("get_book", &json!({"book_id": 2})).is_ok(), "a small result still fits");
}

/// A write that never ends on its own (for deadline tests).
const RESTOCK_FOREVER: &str = r#"
[[tools]]
name = "restock_forever"
description = "A write that never ends (for deadline tests)."
writes = true
result = "changes"
sql = "UPDATE books SET stock = stock + 1 WHERE id IN (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)"
"#;

#[test]
fn an_interrupted_write_times_out_and_the_episode_keeps_its_state() {
    let env = env_with_tools(RESTOCK_FOREVER);
    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    assert!(ep.call("order_book", &json!({"book_id": 1, "quantity": 2})).is_ok());
    let before = ep.state_digest().unwrap();
    // SQLite rolls back the whole transaction when it interrupts a write inside one; the engine rebuilds the
    // episode's state from its changesets, so the agent sees a timeout and nothing else changes.
    let e = ep.call("restock_forever", &json!({})).result.clone().unwrap_err();
    assert_eq!(e, ToolError::Timeout { tool: "restock_forever".into(), deadline_ms: 200 });
    assert!(ep.failure().is_none());
    assert!(ep.db().in_episode_transaction());
    assert_eq!(ep.state_digest().unwrap(), before);
    assert!(ep.call("review_book", &json!({"book_id": 3, "stars": 4})).is_ok(), "the episode goes on");
    let v = ep.finish("Ordered two copies of Dune.").unwrap().clone();
    assert_eq!(v.collateral, vec!["reviews".to_string()]);
    assert!(v.checks.iter().all(|c| c.passed), "{v:?}");
    drop(ep);
    // The pool hands out the initial state next.
    let next = Episode::open(env.clone(), None).unwrap();
    assert_eq!(count(&next, "SELECT stock FROM books WHERE id = 1"), 12);
    assert_eq!(count(&next, "SELECT count(*) FROM orders"), 3);
}

#[test]
fn a_call_given_up_at_its_budget_records_nothing_and_changes_nothing() {
    let env = env_with_tools(RESTOCK_FOREVER);
    let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
    assert_eq!(ep.typical_call("order_book"), None, "nothing learnt before the first call");
    assert!(ep.call("order_book", &json!({"book_id": 1, "quantity": 2})).is_ok());
    let learnt = ep.typical_call("order_book").expect("learnt from the call");
    assert!(learnt > std::time::Duration::ZERO && learnt < std::time::Duration::from_secs(1), "{learnt:?}");
    let before = ep.state_digest().unwrap();
    let t = std::time::Instant::now();
    assert!(ep.try_call_within("restock_forever", &json!({}), std::time::Duration::from_millis(5)).is_none());
    assert!(t.elapsed() < std::time::Duration::from_millis(150), "given up at its budget: {:?}", t.elapsed());
    assert_eq!(ep.steps().len(), 1, "a call given up is not a step");
    assert_eq!(ep.state_digest().unwrap(), before);
    assert!(ep.failure().is_none());
    // The same call with the spec's deadline shorter than the budget: a timeout the agent sees, as always.
    let step = ep.try_call_within("restock_forever", &json!({}), std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(step.result, Err(ToolError::Timeout { tool: "restock_forever".into(), deadline_ms: 200 }));
    assert_eq!(step.index, 2);
    // A quick call within a budget is an ordinary step, numbered after the one given up never was.
    let step =
        ep.try_call_within("review_book", &json!({"book_id": 3, "stars": 4}), std::time::Duration::from_millis(50));
    assert_eq!(step.map(|s| (s.index, s.is_ok())), Some((3, true)));
    assert!(ep.typical_call("restock_forever").unwrap() >= std::time::Duration::from_millis(5), "slow calls count too");
    let v = ep.finish("Ordered two copies of Dune.").unwrap().clone();
    assert!(v.checks.iter().all(|c| c.passed), "{v:?}");
}

#[test]
fn malformed_arguments_to_every_bundled_tool_give_errors_not_crashes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs");
    let bad_values = [
        json!(null),
        json!(""),
        json!(-1),
        json!(1.5),
        json!(true),
        json!([1, 2]),
        json!({"x": 1}),
        json!("x".repeat(5000)),
        json!("'; DROP TABLE x; --"),
    ];
    let mut calls = 0;
    for (file, loaded) in Environment::load_all(&dir).unwrap() {
        let env = Arc::new(loaded.unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        let mut ep = Episode::open(env.clone(), None).unwrap();
        let before = ep.state_digest().unwrap();
        for tool in env.tools() {
            let mut attempts = vec![json!({}), json!([]), json!("text"), json!({"no_such_argument": 1})];
            for (name, _) in tool.params() {
                for v in &bad_values {
                    attempts.push(json!({ name.as_str(): v }));
                }
            }
            for args in attempts {
                let step = ep.call(tool.name(), &args);
                calls += 1;
                if let Err(e) = &step.result {
                    assert!(!e.to_string().is_empty());
                    assert_ne!(e.code(), "infra_error", "{}: {e}", tool.name());
                }
            }
        }
        // Only calls that succeeded may have changed anything, and the episode still answers.
        let changed = ep.steps().iter().any(|s| s.changeset.is_some());
        assert_eq!(ep.state_digest().unwrap() != before, changed, "{}", env.name());
        assert!(ep.failure().is_none());
        assert!(ep.db().in_episode_transaction());
    }
    assert!(calls > 1000, "{calls}");
}

/// Tool statements are prepared once per episode connection, whatever the arguments: SQLite must never
/// re-prepare them because a new value was bound (it would parse and plan again on every call).
#[test]
fn tool_statements_are_not_reprepared_when_arguments_change() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs/shop.toml");
    let env = Arc::new(Environment::load(&dir).unwrap());
    let mut ep = Episode::open(env, None).unwrap();
    for i in 0..20 {
        assert!(ep.call("get_product", &json!({"product_id": 1 + i % 5})).is_ok());
        let query = ["yoga", "mat", "a"][i % 3];
        assert!(ep.call("search_products", &json!({"query": query, "limit": 5 + i})).is_ok());
    }
    let mut checked = 0;
    // SAFETY: walks the connection's own statement list while nothing else uses the connection.
    unsafe {
        use rusqlite::ffi;
        let db = ep.db().connection().handle();
        let mut s = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !s.is_null() {
            let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(s)).to_string_lossy().into_owned();
            let reprepared = ffi::sqlite3_stmt_status(s, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            assert_eq!(reprepared, 0, "re-prepared {reprepared} times: {sql}");
            checked += 1;
            s = ffi::sqlite3_next_stmt(db, s);
        }
    }
    assert!(checked >= 2, "the tools' statements are cached on the connection");
}
