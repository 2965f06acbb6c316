//! Verification: SQL checks over `initial` (the environment's initial state) and `final` (the episode's state),
//! plus the agent's final answer as `$answer`.
//!
//! Checks run on the episode's own connection, where the episode's state is `main` (each check's `final.` is
//! rewritten to `main.` once, when the spec loads) and the initial state is attached as `initial` for the duration
//! of the verification. `initial` is an in-memory database in SQLite's shared-cache mode, kept open by the
//! environment: attaching it shares its already-parsed schema, so a verification costs neither a copy of either
//! state nor a schema parse (and tasks whose checks never read `initial` skip the attach). `unchanged` tables are
//! compared by digest: the final table read in key order against the initial table's digest, computed at load.
//! While verifying, the connection's authorizer refuses every write, so verification cannot change either state.
//!
//! [`CheckCompiler`] is the load-time side: it prepares every check against a connection holding the template as
//! `main`, `initial` and `final`, to reject bad SQL, unqualified table names and anything but reads, and to learn
//! which `final` tables a check looks at.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use serde::{Deserialize, Serialize};

use crate::env::TableInfo;
use crate::error::{EngineError, EngineResult};
use crate::spec::{PartialRule, RewardSpec};
use crate::store::{self, EpisodeDb, open_memory};
use crate::tools::{sql_message, truthy};

/// A compiled task check.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// As written in the spec.
    pub sql: String,
    /// As run on the episode's connection (`final.` -> `main.`).
    run_sql: String,
    /// SQLite parameter index of `$answer`, if the check uses it.
    answer_param: Option<usize>,
    /// `unchanged` comparison of this table (collateral damage), not a scored check: `run_sql` reads the final
    /// table in key order and its digest must equal the initial table's.
    pub unchanged_table: Option<String>,
    initial_digest: u64,
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckOutcome {
    pub name: String,
    pub passed: bool,
}

/// The verdict's category.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Complete,
    Partial,
    None,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Partial => "partial",
            Outcome::None => "none",
        }
    }
}

/// The result of verifying an episode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reward: f64,
    /// Every scored check, in spec order.
    pub checks: Vec<CheckOutcome>,
    /// Tables the task declared unchanged that the episode changed.
    pub collateral: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }
}

/// Maps check outcomes to a verdict with the configured reward rule.
pub fn score(checks: Vec<CheckOutcome>, collateral: Vec<String>, reward: &RewardSpec, rule: PartialRule) -> Verdict {
    let total = checks.len();
    let passed = checks.iter().filter(|c| c.passed).count();
    let outcome = if passed == total && collateral.is_empty() && total > 0 {
        Outcome::Complete
    } else if passed > 0 && rule != PartialRule::None {
        Outcome::Partial
    } else {
        Outcome::None
    };
    let reward = match outcome {
        Outcome::Complete => reward.complete,
        Outcome::Partial => match rule {
            PartialRule::Fraction => reward.partial * passed as f64 / total as f64,
            _ => reward.partial,
        },
        Outcome::None => reward.none,
    };
    Verdict { outcome, reward, checks, collateral }
}

/// A check as compiled, with what the loader learns from it.
pub(crate) struct CompiledCheck {
    pub check: Check,
    /// Tables the check reads from `final`.
    pub finals: Vec<String>,
    /// Whether it reads `initial` (if no check of a task does, verification need not attach it).
    pub reads_initial: bool,
}

/// Load-time check compiler: the template as `main`, `initial` and `final`, all read-only.
pub(crate) struct CheckCompiler {
    conn: Connection,
    _template: Arc<[u8]>,
    auth: Arc<AuthState>,
}

/// What the compiler's authorizer records.
#[derive(Default)]
struct AuthState {
    /// (database, table) of every read while a check is prepared.
    reads: Mutex<Vec<(String, String)>>,
}

impl CheckCompiler {
    pub(crate) fn new(template: Arc<[u8]>) -> EngineResult<CheckCompiler> {
        let mut conn = open_memory()?;
        conn.execute_batch("ATTACH ':memory:' AS initial; ATTACH ':memory:' AS final;")?;
        // SAFETY: `template` is kept in `self` for as long as the connection lives.
        unsafe {
            store::deserialize_borrowed(&conn, "main", &template)?;
            store::deserialize_borrowed(&conn, "initial", &template)?;
            store::deserialize_borrowed(&conn, "final", &template)?;
        }
        register_answer_functions(&conn, &Arc::new(Mutex::new(String::new())))?;
        let auth = Arc::new(AuthState::default());
        let a = auth.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| compiler_authorizer(ctx, &a)))?;
        Ok(CheckCompiler { conn, _template: template, auth })
    }

    /// Compiles a check: one read-only statement over `initial.*`/`final.*` whose only parameter may be
    /// `$answer`. Returns the check and the `final` tables it reads.
    pub(crate) fn compile(&self, name: String, sql: &str) -> Result<CompiledCheck, String> {
        if let Ok(mut r) = self.auth.reads.lock() {
            r.clear();
        }
        let stmt = self.conn.prepare(sql.trim()).map_err(|e| sql_message(&e))?;
        if !stmt.readonly() {
            return Err("a check must only read".into());
        }
        if stmt.column_count() == 0 {
            return Err("a check must return a value".into());
        }
        let mut answer_param = None;
        for idx in 1..=stmt.parameter_count() {
            match stmt.parameter_name(idx) {
                Some("$answer") | Some(":answer") | Some("@answer") => answer_param = Some(idx),
                Some(other) => {
                    return Err(format!("unknown parameter {other}; checks can use $answer only"));
                }
                None => return Err("positional `?` parameters are not allowed; use $answer".into()),
            }
        }
        let reads = self.auth.reads.lock().map(|r| r.clone()).unwrap_or_default();
        if let Some((_, table)) = reads.iter().find(|(db, _)| db == "main") {
            return Err(format!("table '{table}' must be qualified: initial.{table} or final.{table}"));
        }
        let reads_initial = reads.iter().any(|(db, _)| db == "initial");
        let finals = reads.into_iter().filter(|(db, _)| db == "final").map(|(_, t)| t).collect();
        let sql = sql.trim().to_string();
        let run_sql = rewrite_final_as_main(&sql);
        let check = Check { name, sql, run_sql, answer_param, unchanged_table: None, initial_digest: 0 };
        Ok(CompiledCheck { check, finals, reads_initial })
    }
}

/// The comparison behind `unchanged = [table]`: the final table's rows, read in key order, must hash to the
/// initial table's digest (computed once, when the spec loads). Exact, and one indexed scan per table.
pub(crate) fn unchanged_check(table: &TableInfo, initial_digest: u64) -> Check {
    Check {
        name: format!("unchanged:{}", table.name),
        sql: format!("rows of final.{} equal rows of initial.{}", table.name, table.name),
        run_sql: crate::changes::ordered_select("main", table),
        answer_param: None,
        unchanged_table: Some(table.name.clone()),
        initial_digest,
    }
}

/// Runs `checks` on an episode's database with `initial` attached from `initial_uri` (a shared-cache in-memory
/// database). Returns (scored outcomes, tables declared unchanged that changed).
pub(crate) fn run_checks(
    db: &EpisodeDb,
    initial_uri: &str,
    answer: &str,
    checks: &[Check],
    task: &str,
    needs_initial: bool,
    untouched: &dyn Fn(&str) -> bool,
) -> EngineResult<(Vec<CheckOutcome>, Vec<String>)> {
    let answer_slot = db.answer_slot(register_answer_functions)?;
    if let Ok(mut a) = answer_slot.lock() {
        a.clear();
        a.push_str(answer);
    }
    let _verifying = db.verifying();
    let conn = db.connection();
    let attach = needs_initial && !db.initial_attached;
    if attach {
        conn.prepare_cached("ATTACH ?1 AS initial").and_then(|mut s| s.execute([initial_uri]))?;
    }
    let result = (|| -> EngineResult<(Vec<CheckOutcome>, Vec<String>)> {
        let mut outcomes = Vec::with_capacity(checks.len());
        let mut collateral = Vec::new();
        for check in checks {
            let fail = |e: rusqlite::Error| EngineError::Verify {
                task: task.to_string(),
                check: check.name.clone(),
                message: sql_message(&e),
            };
            if let Some(table) = &check.unchanged_table {
                if untouched(table) {
                    continue;
                }
                if crate::changes::table_digest(conn, &check.run_sql).map_err(fail)? != check.initial_digest {
                    collateral.push(table.clone());
                }
                continue;
            }
            let mut stmt = conn.prepare_cached(&check.run_sql).map_err(fail)?;
            if let Some(idx) = check.answer_param {
                stmt.raw_bind_parameter(idx, answer).map_err(fail)?;
            }
            let mut rows = stmt.raw_query();
            let passed = match rows.next().map_err(fail)? {
                Some(row) => truthy(row.get_ref(0).map_err(fail)?),
                None => false,
            };
            outcomes.push(CheckOutcome { name: check.name.clone(), passed });
        }
        Ok((outcomes, collateral))
    })();
    if attach {
        conn.prepare_cached("DETACH initial").and_then(|mut s| s.execute([]))?;
    }
    result
}

/// Rewrites the schema qualifier `final.` (bare or quoted, any case) to `main.`, leaving string literals,
/// comments and every other identifier alone.
pub(crate) fn rewrite_final_as_main(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let followed_by_dot = |mut k: usize| {
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        k < b.len() && b[k] == b'.'
    };
    while i < b.len() {
        let start = i;
        match b[i] {
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if i + 1 < b.len() && b[i + 1] == b'\'' {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                out.push_str(&sql[start..i]);
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                out.push_str(&sql[start..i]);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                out.push_str(&sql[start..i]);
            }
            open @ (b'"' | b'`' | b'[') => {
                let close = if open == b'[' { b']' } else { open };
                i += 1;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
                let inner = &sql[start + 1..i.min(b.len())];
                i = (i + 1).min(b.len());
                if inner.eq_ignore_ascii_case("final") && followed_by_dot(i) {
                    out.push_str("main");
                } else {
                    out.push_str(&sql[start..i]);
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                let word = &sql[start..i];
                if word.eq_ignore_ascii_case("final") && followed_by_dot(i) {
                    out.push_str("main");
                } else {
                    out.push_str(word);
                }
            }
            _ => {
                // Copy one whole UTF-8 character.
                let len = sql[i..].chars().next().map_or(1, char::len_utf8);
                i += len;
                out.push_str(&sql[start..i]);
            }
        }
    }
    out
}

fn compiler_authorizer(ctx: AuthContext<'_>, auth: &AuthState) -> Authorization {
    match ctx.action {
        AuthAction::Read { table_name, .. } => {
            if let (Some(db), Ok(mut r)) = (ctx.database_name, auth.reads.lock()) {
                r.push((db.to_string(), table_name.to_string()));
            }
            Authorization::Allow
        }
        AuthAction::Select | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Function { function_name } => {
            if store::DENIED_FUNCTIONS.iter().any(|f| function_name.eq_ignore_ascii_case(f)) {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        _ => Authorization::Deny,
    }
}

pub(crate) fn register_answer_functions(conn: &Connection, answer: &Arc<Mutex<String>>) -> rusqlite::Result<()> {
    // Not DETERMINISTIC: the result depends on the answer set for the current verification.
    let flags = FunctionFlags::SQLITE_UTF8;
    let a = answer.clone();
    conn.create_scalar_function("answer_contains", 1, flags, move |ctx| {
        let needle: Option<String> = ctx.get(0)?;
        let answer = a.lock().map(|s| s.clone()).unwrap_or_default();
        Ok(needle.is_some_and(|n| answer_contains(&answer, &n)))
    })?;
    let a = answer.clone();
    conn.create_scalar_function("answer_has_number", 1, flags, move |ctx| {
        let x: Option<f64> = ctx.get(0)?;
        let answer = a.lock().map(|s| s.clone()).unwrap_or_default();
        Ok(x.is_some_and(|x| answer_has_number(&answer, x)))
    })?;
    Ok(())
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether `answer` contains `needle`, ignoring case and runs of white space. An empty needle never matches.
pub fn answer_contains(answer: &str, needle: &str) -> bool {
    let needle = normalize(needle);
    !needle.is_empty() && normalize(answer).contains(&needle)
}

/// Whether a number in `answer` equals `x` within 0.005 (`$1,234.50`, `-3`, `2.5e3` are read as numbers).
pub fn answer_has_number(answer: &str, x: f64) -> bool {
    numbers_in(answer).iter().any(|n| (n - x).abs() < 0.005)
}

/// Every number written in `text`, tolerating thousands separators and currency signs.
pub fn numbers_in(text: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (chars[i] == '-'
                && i + 1 < chars.len()
                && chars[i + 1].is_ascii_digit()
                && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()));
        if !starts {
            i += 1;
            continue;
        }
        let mut s = String::new();
        if chars[i] == '-' {
            s.push('-');
            i += 1;
        }
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                s.push(c);
            } else if c == ','
                && i + 3 < chars.len() + 1
                && chars[i + 1..].iter().take(3).all(|d| d.is_ascii_digit())
                && chars.get(i + 4).is_none_or(|d| !d.is_ascii_digit())
            {
                // thousands separator
            } else if c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) && !s.contains('.') {
                s.push('.');
            } else {
                break;
            }
            i += 1;
        }
        if let Ok(f) = s.parse::<f64>() {
            out.push(f);
        }
    }
    out
}

/// Double-quotes an SQL identifier.
pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_is_rewritten_only_as_a_schema_qualifier() {
        assert_eq!(
            rewrite_final_as_main("SELECT x FROM final.t JOIN FINAL . u ON 1 WHERE 'final.t' = \"final\".v -- final.w"),
            "SELECT x FROM main.t JOIN main . u ON 1 WHERE 'final.t' = main.v -- final.w"
        );
        assert_eq!(
            rewrite_final_as_main("SELECT finally.x, final_x.y, [final].z"),
            "SELECT finally.x, final_x.y, main.z"
        );
        assert_eq!(
            rewrite_final_as_main("SELECT 'it''s final.x' /* final.y */"),
            "SELECT 'it''s final.x' /* final.y */"
        );
        assert_eq!(rewrite_final_as_main("SELECT 'é' FROM final.t"), "SELECT 'é' FROM main.t");
    }

    #[test]
    fn numbers_are_found_in_prose() {
        assert_eq!(numbers_in("Total: $1,234.50 for 3 items, -2 left, v2 id-7"), vec![1234.5, 3.0, -2.0, 2.0, 7.0]);
        assert!(answer_has_number("It costs 9.99 dollars.", 9.99));
        assert!(!answer_has_number("It costs 9.98 dollars.", 9.99));
        assert!(answer_has_number("balance is 12,000", 12000.0));
        assert!(!answer_has_number("", 0.0));
    }

    #[test]
    fn contains_ignores_case_and_spacing() {
        assert!(answer_contains("The  Order is\nSHIPPED", "order is shipped"));
        assert!(!answer_contains("anything", ""));
        assert!(!answer_contains("", "x"));
    }

    #[test]
    fn scoring_follows_the_rules() {
        let c = |p: &[bool]| {
            p.iter().enumerate().map(|(i, &passed)| CheckOutcome { name: i.to_string(), passed }).collect()
        };
        let r = RewardSpec::default();
        assert_eq!(score(c(&[true, true]), vec![], &r, PartialRule::Any).reward, 1.0);
        assert_eq!(score(c(&[true, false]), vec![], &r, PartialRule::Any).reward, 0.1);
        assert_eq!(score(c(&[true, true]), vec!["t".into()], &r, PartialRule::Any).outcome, Outcome::Partial);
        assert_eq!(score(c(&[false, false]), vec![], &r, PartialRule::Any).reward, 0.0);
        assert_eq!(score(c(&[true, false]), vec![], &r, PartialRule::None).reward, 0.0);
        assert!((score(c(&[true, false, false, true]), vec![], &r, PartialRule::Fraction).reward - 0.05).abs() < 1e-12);
    }
}
