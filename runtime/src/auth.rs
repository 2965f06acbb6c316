//! SQLite authorizers: what tool SQL may do (checked when each statement is prepared, so a refused statement can
//! never run), and the per-connection modes of an episode's connection (our own statements, verification).

use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::ffi;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// What tool SQL may do. Everything else (ATTACH, DETACH, PRAGMA, DDL, transactions, extension loading,
/// `random()`) is refused when the statement is prepared, so it can never run.
pub(crate) fn tool_authorizer(ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select
        | AuthAction::Read { .. }
        | AuthAction::Insert { .. }
        | AuthAction::Update { .. }
        | AuthAction::Delete { .. }
        | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Savepoint { savepoint_name, .. } if savepoint_name == CALL_SAVEPOINT => Authorization::Allow,
        AuthAction::Function { function_name } => {
            if DENIED_FUNCTIONS.iter().any(|f| function_name.eq_ignore_ascii_case(f)) {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        _ => Authorization::Deny,
    }
}

/// Functions tool SQL may not call: extension loading, and randomness that the virtual clock cannot govern.
///
/// `last_insert_rowid()`, `changes()` and `total_changes()` describe the connection's history, which spans
/// episodes on a pooled connection: use `RETURNING` instead.
pub(crate) const DENIED_FUNCTIONS: &[&str] =
    &["load_extension", "random", "randomblob", "sqlite_offset", "last_insert_rowid", "changes", "total_changes"];

/// Name of the savepoint that makes one tool call atomic.
pub(crate) const CALL_SAVEPOINT: &str = "aw_call";

/// Describes an authorizer action in words, for spec errors.
pub(crate) fn describe_action(action: &AuthAction<'_>) -> String {
    match action {
        AuthAction::Attach { .. } => "ATTACH".into(),
        AuthAction::Detach { .. } => "DETACH".into(),
        AuthAction::Pragma { pragma_name, .. } => format!("PRAGMA {pragma_name}"),
        AuthAction::Function { function_name } => format!("function {function_name}()"),
        AuthAction::Transaction { operation } => format!("transaction control ({operation:?})"),
        AuthAction::Savepoint { .. } => "SAVEPOINT/RELEASE".into(),
        AuthAction::AlterTable { .. } => "ALTER TABLE".into(),
        AuthAction::Analyze { .. } => "ANALYZE".into(),
        AuthAction::Reindex { .. } => "REINDEX".into(),
        AuthAction::CreateVtable { .. } | AuthAction::DropVtable { .. } => "virtual table DDL".into(),
        other => {
            let s = format!("{other:?}");
            let name = s.split([' ', '{', '(']).next().unwrap_or("DDL").to_string();
            if name.starts_with("Create") || name.starts_with("Drop") { format!("DDL ({name})") } else { name }
        }
    }
}

/// Per-connection authorizer state.
#[derive(Default)]
pub(crate) struct EpisodeAuth {
    /// While verifying: attaching `initial` is allowed, reading it too, and every write is refused.
    pub(crate) verifying: AtomicBool,
    /// Our own statements (BEGIN, ROLLBACK, ATTACH): allowed.
    pub(crate) internal: AtomicBool,
}

pub(crate) fn episode_authorizer(ctx: AuthContext<'_>, auth: &EpisodeAuth) -> Authorization {
    if auth.internal.load(Ordering::Relaxed) {
        return Authorization::Allow;
    }
    if auth.verifying.load(Ordering::Relaxed) {
        match ctx.action {
            // An ATTACH whose file name is a bound parameter reaches the authorizer without it (as `Unknown`).
            AuthAction::Attach { .. } | AuthAction::Detach { .. } => return Authorization::Allow,
            AuthAction::Unknown { code, .. } if code == ffi::SQLITE_ATTACH || code == ffi::SQLITE_DETACH => {
                return Authorization::Allow;
            }
            AuthAction::Insert { .. } | AuthAction::Update { .. } | AuthAction::Delete { .. } => {
                return Authorization::Deny;
            }
            _ => {}
        }
    } else if ctx.database_name == Some("initial") {
        // Tools see the episode's state only.
        return Authorization::Deny;
    }
    tool_authorizer(ctx)
}

/// Puts an episode database in verification mode until dropped.
pub(crate) struct Verifying<'a>(pub(crate) &'a EpisodeAuth);

impl Drop for Verifying<'_> {
    fn drop(&mut self) {
        self.0.verifying.store(false, Ordering::Relaxed);
    }
}
