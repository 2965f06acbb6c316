//! Every rejection of a bad spec, with its message and location.

use std::path::PathBuf;

use agentworld_runtime::Environment;

const FIXTURE: &str = include_str!("fixtures/bookstore.toml");

/// Loads the fixture with `from` replaced by `to` (which must occur), from a file named `name`.
fn load_edited(name: &str, from: &str, to: &str) -> Result<Environment, String> {
    assert!(FIXTURE.contains(from), "test edit target not in fixture: {from}");
    load_text(name, &FIXTURE.replacen(from, to, 1))
}

fn load_text(name: &str, text: &str) -> Result<Environment, String> {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Environment::load(&path).map_err(|e| {
        let s = e.to_string();
        s.replace(&format!("{}", dir.path().display()), "DIR")
    })
}

fn rejects(from: &str, to: &str, expected: &[&str]) -> String {
    let err = match load_edited("spec.toml", from, to) {
        Ok(_) => panic!("accepted a bad spec ({from} -> {to})"),
        Err(e) => e,
    };
    for piece in expected {
        assert!(err.contains(piece), "expected {piece:?} in:\n{err}");
    }
    err
}

#[test]
fn syntax_errors_name_file_and_line() {
    let err = rejects("tick_seconds = 60", "tick_seconds = ", &["DIR/spec.toml:6:", "syntax"]);
    assert!(!err.contains('\n'), "{err}");
    rejects("tick_seconds = 60", "tick_seconds = 60\nflavour = 'x'", &["unknown field `flavour`"]);
    rejects(
        "params.book_id = { type = \"integer\", required = true }\nsteps",
        "params.book_id = { type = \"int\", required = true }\nsteps",
        &["unknown variant `int`"],
    );
}

#[test]
fn json_specs_load_and_report_lines() {
    let spec: toml::Value = toml::from_str(FIXTURE).unwrap();
    let json = serde_json::to_string_pretty(&spec).unwrap();
    let env = load_text("spec.json", &json).unwrap();
    assert_eq!(env.tools().len(), 7);
    let err = load_text("bad.json", "{\n  \"env\": {\n    \"name\": 7\n  }\n}").err().unwrap();
    assert!(err.starts_with("DIR/bad.json:3:"), "{err}");
}

#[test]
fn schema_and_seed_errors_point_at_the_statement() {
    let err = rejects("CREATE TABLE reviews", "CREATE TABLEE reviews", &["schema", "syntax error"]);
    assert!(err.contains("spec.toml:25:"), "{err}");
    let err = rejects(
        "(2, 'Emma', 'Jane Austen', 7.50, 0)",
        "(2, 'Emma', 'Jane Austen', 7.50, -1)",
        &["seed", "CHECK constraint failed"],
    );
    assert!(err.contains("spec.toml:31:"), "{err}");
    rejects("(3, 2, 1, 1, 'placed'", "(3, 9, 1, 1, 'placed'", &["seed", "FOREIGN KEY constraint failed"]);
    rejects(
        "CREATE TABLE reviews (id INTEGER PRIMARY KEY,",
        "CREATE TABLE reviews (id INTEGER,",
        &["spec.toml:25:", "table 'reviews' has no PRIMARY KEY"],
    );
    rejects("clock = \"2026-01-15T12:00:00Z\"", "clock = \"next tuesday\"", &["env.clock", "not an RFC 3339 UTC time"]);
    rejects("name = \"bookstore\"", "name = \"Book Store\"", &["name 'Book Store' must match [a-z0-9_-]+"]);
}

#[test]
fn tool_sql_that_escapes_the_episode_is_refused_at_load() {
    let target = "SELECT id, title, author, price, stock FROM books WHERE id = $book_id\", expect";
    for (sql, what) in [
        ("ATTACH 'other.db' AS other", "ATTACH is not allowed"),
        ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys is not allowed"),
        ("DROP TABLE books", "is not allowed in tool SQL"),
        ("CREATE TABLE x (id INTEGER PRIMARY KEY)", "is not allowed in tool SQL"),
        ("VACUUM", "VACUUM is not allowed"),
        ("SELECT load_extension('evil')", "function load_extension() is not allowed"),
        ("SELECT random() AS r", "function random() is not allowed"),
        ("SELECT last_insert_rowid() AS r", "function last_insert_rowid() is not allowed"),
        ("BEGIN", "transaction control"),
        ("SAVEPOINT changeset", "transaction control (SAVEPOINT)"),
    ] {
        let err = rejects(target, &format!("{sql}\", expect"), &["tool \"get_book\" step 1", what]);
        assert!(err.contains("spec.toml:"), "{err}");
    }
}

#[test]
fn tool_definitions_are_checked() {
    rejects(
        "WHERE id = $book_id\", expect",
        "WHERE id = $bookid\", expect",
        &["tool \"get_book\" step 1", "unknown parameter $bookid; in scope: book_id"],
    );
    rejects("WHERE id = $book_id\", expect", "WHERE id = ?\", expect", &["positional `?` parameters are not allowed"]);
    rejects("error = \"only {stock} copies", "error = \"only {stok} copies", &["error message refers to {stok}"]);
    rejects(
        "name = \"review_book\"\ndescription = \"Write a review (1-5 stars).\"\nwrites = true",
        "name = \"review_book\"\ndescription = \"Write a review (1-5 stars).\"",
        &["tool \"review_book\" step 1", "not declared `writes = true`"],
    );
    rejects(
        "name = \"get_book\"\ndescription = \"Get one book by id.\"",
        "name = \"get_book\"\ndescription = \"Get one book by id.\"\nwrites = true",
        &["declared `writes = true` but no statement writes"],
    );
    rejects("name = \"get_book\"", "name = \"search_books\"", &["tool \"search_books\"", "defined twice"]);
    rejects(
        "params.limit = { type = \"integer\", default = 10,",
        "params.limit = { type = \"integer\", default = \"ten\",",
        &["parameter 'limit': default: argument 'limit' must be an integer"],
    );
    rejects("minimum = 1, maximum = 10 }", "minimum = 11, maximum = 10 }", &["minimum 11 > maximum 10"]);
    rejects(
        "result = \"changes\"\nparams.book_id = { type = \"integer\", required = true }\nparams.stars",
        "result = \"changes\"\nsteps = [{ sql = \"SELECT 1\" }]\nparams.book_id = { type = \"integer\", required = true }\nparams.stars",
        &["has both `sql` and `steps`"],
    );
    rejects(
        "{ guard = \"$stock >= $quantity\",",
        "{ sql = \"SELECT 1\", guard = \"$stock >= $quantity\",",
        &["exactly one of `sql` or `guard`"],
    );
}

#[test]
fn task_definitions_are_checked() {
    rejects(
        "FROM final.books WHERE id = 1\" }",
        "FROM final.bookz WHERE id = 1\" }",
        &["task \"order-dune\" stock-reduced", "no such table: final.bookz"],
    );
    rejects(
        "\"SELECT answer_has_number(6.25)\"",
        "\"SELECT answer_has_number($price)\"",
        &["unknown parameter $price; checks can use $answer only"],
    );
    rejects(
        "unchanged = [\"customers\", \"reviews\"]\nsolution = [\n  { tool = \"search_books\"",
        "unchanged = [\"customer\", \"reviews\"]\nsolution = [\n  { tool = \"search_books\"",
        &["unchanged: no table 'customer'"],
    );
    rejects(
        "{ tool = \"order_book\", args = { book_id = 1, quantity = 2 } }",
        "{ tool = \"order_books\", args = { book_id = 1, quantity = 2 } }",
        &["solution call 2 (order_books)", "no tool 'order_books'"],
    );
    rejects(
        "{ tool = \"order_book\", args = { book_id = 1, quantity = 2 } }",
        "{ tool = \"order_book\", args = { book_id = 1, quantity = \"2\" } }",
        &["solution call 2 (order_book)", "argument 'quantity' must be an integer, got string \"2\""],
    );
    rejects(
        "FROM final.books WHERE id = 1\" }",
        "FROM books WHERE id = 1\" }",
        &["table 'books' must be qualified: initial.books or final.books"],
    );
    rejects("id = \"cheapest-austen\"", "id = \"order-dune\"", &["task \"order-dune\"", "defined twice"]);
    rejects(
        "verify = [ \"SELECT answer_has_number(6.25)\" ]",
        "verify = [ \"UPDATE final.books SET stock = 0\" ]",
        &["task \"cheapest-austen\""],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = FIXTURE.replacen("WHERE id = $book_id\", expect", "WHERE id = $bookid\", expect", 1).replacen(
        "FROM final.books WHERE id = 1\" }",
        "FROM final.bookz WHERE id = 1\" }",
        1,
    );
    let err = load_text("spec.toml", &text).err().unwrap();
    assert_eq!(err.lines().count(), 2, "{err}");
}
