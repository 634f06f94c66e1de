//! What the store's code sees of a database: a connection (or transaction)
//! that runs portable SQL with `?N` placeholders over plain values, and rows
//! read as plain values. SQLite and PostgreSQL each implement [`Sql`]; every
//! query of the store is written once against it.

use crate::store::{StoreError, StoreResult};

/// A value sent to or read from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A connection or a transaction: runs one statement at a time.
///
/// Statements use `?1`, `?2`, … placeholders and SQL that both SQLite and
/// PostgreSQL accept; where they differ, code asks [`Sql::backend`].
pub trait Sql {
    /// Runs a query, calling `each` with every row in order.
    fn query(
        &self,
        sql: &str,
        params: &[Val],
        each: &mut dyn FnMut(&Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// Runs a statement; returns the rows it changed.
    fn exec(&self, sql: &str, params: &[Val]) -> StoreResult<usize>;

    /// Runs a statement; `None` when it broke a uniqueness or other constraint
    /// (and, on PostgreSQL, the transaction can go on).
    fn try_exec(&self, sql: &str, params: &[Val]) -> StoreResult<Option<usize>>;

    /// Runs an insert ending in `RETURNING <integer key>`; its key, or `None`
    /// when it broke a constraint (as [`Sql::try_exec`]).
    fn try_insert_id(&self, sql: &str, params: &[Val]) -> StoreResult<Option<i64>>;

    /// Which database this is, for the few statements that differ.
    fn backend(&self) -> Backend;
}

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded database file of a data directory (or memory, in tests).
    Sqlite,
    /// A PostgreSQL server, shared by every node.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// One row, as values in column order.
pub struct Row<'a> {
    vals: &'a [Val],
}

impl<'a> Row<'a> {
    pub fn new(vals: &'a [Val]) -> Self {
        Self { vals }
    }

    /// Column `i`, converted to `T`; a missing column or a value of another
    /// type is an error, never a default.
    pub fn get<T: FromVal>(&self, i: usize) -> StoreResult<T> {
        let v = self
            .vals
            .get(i)
            .ok_or_else(|| corrupt(format!("no column {i}")))?;
        T::from_val(v).map_err(|e| corrupt(format!("column {i}: {e}")))
    }
}

/// A decoding error: reported, never defaulted.
pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Conversion from a column's value.
pub trait FromVal: Sized {
    fn from_val(v: &Val) -> Result<Self, String>;
}

fn wrong(v: &Val, want: &str) -> String {
    let got = match v {
        Val::Null => "NULL",
        Val::Int(_) => "an integer",
        Val::Real(_) => "a real",
        Val::Text(_) => "text",
        Val::Blob(_) => "a blob",
    };
    format!("expected {want}, found {got}")
}

impl FromVal for i64 {
    fn from_val(v: &Val) -> Result<Self, String> {
        match v {
            Val::Int(i) => Ok(*i),
            other => Err(wrong(other, "an integer")),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl FromVal for $t {
            fn from_val(v: &Val) -> Result<Self, String> {
                let i = i64::from_val(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range"))
            }
        }
    )*};
}
from_int!(i32, u32, u64, usize);

impl FromVal for bool {
    fn from_val(v: &Val) -> Result<Self, String> {
        Ok(i64::from_val(v)? != 0)
    }
}

impl FromVal for f64 {
    fn from_val(v: &Val) -> Result<Self, String> {
        match v {
            Val::Real(f) => Ok(*f),
            Val::Int(i) => Ok(*i as f64),
            other => Err(wrong(other, "a number")),
        }
    }
}

impl FromVal for String {
    fn from_val(v: &Val) -> Result<Self, String> {
        match v {
            Val::Text(s) => Ok(s.clone()),
            other => Err(wrong(other, "text")),
        }
    }
}

impl FromVal for Vec<u8> {
    fn from_val(v: &Val) -> Result<Self, String> {
        match v {
            Val::Blob(b) => Ok(b.clone()),
            Val::Text(s) => Ok(s.clone().into_bytes()),
            other => Err(wrong(other, "a blob")),
        }
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: &Val) -> Result<Self, String> {
        match v {
            Val::Null => Ok(None),
            v => T::from_val(v).map(Some),
        }
    }
}

/// What a value placed in a statement converts from. `params!` takes each
/// argument by reference, so fields can be passed without moving them.
pub trait ToVal {
    fn to_val(&self) -> Val;
}

macro_rules! to_val_int {
    ($($t:ty),*) => {$(
        impl ToVal for $t {
            fn to_val(&self) -> Val {
                Val::Int(i64::from(*self))
            }
        }
    )*};
}
to_val_int!(i64, i32, u32, u16, u8, bool);

impl ToVal for usize {
    fn to_val(&self) -> Val {
        Val::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToVal for u64 {
    fn to_val(&self) -> Val {
        Val::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToVal for f64 {
    fn to_val(&self) -> Val {
        Val::Real(*self)
    }
}
impl ToVal for str {
    fn to_val(&self) -> Val {
        Val::Text(self.to_owned())
    }
}
impl ToVal for String {
    fn to_val(&self) -> Val {
        Val::Text(self.clone())
    }
}
impl ToVal for [u8] {
    fn to_val(&self) -> Val {
        Val::Blob(self.to_vec())
    }
}
impl ToVal for Vec<u8> {
    fn to_val(&self) -> Val {
        Val::Blob(self.clone())
    }
}
impl ToVal for Val {
    fn to_val(&self) -> Val {
        self.clone()
    }
}
impl<T: ToVal + ?Sized> ToVal for &T {
    fn to_val(&self) -> Val {
        (**self).to_val()
    }
}
impl<T: ToVal> ToVal for Option<T> {
    fn to_val(&self) -> Val {
        self.as_ref().map_or(Val::Null, ToVal::to_val)
    }
}

/// The values of a statement's placeholders, in order: `params![a, b]`.
#[macro_export]
macro_rules! sql_params {
    () => { &[] as &[$crate::store::sql::Val] };
    ($($x:expr),+ $(,)?) => {
        &[$($crate::store::sql::ToVal::to_val(&$x)),+] as &[$crate::store::sql::Val]
    };
}
pub use crate::sql_params as params;

/// Refuses text with the NUL character, which PostgreSQL cannot store: the
/// same rule on both backends, so a request that one refuses the other
/// refuses too (422), and nothing is half written.
fn storable(params: &[Val]) -> StoreResult<()> {
    if params
        .iter()
        .any(|p| matches!(p, Val::Text(t) if t.contains('\0')))
    {
        return Err(StoreError::Invalid(
            "the text contains the NUL character (U+0000), which cannot be stored".into(),
        ));
    }
    Ok(())
}

/// Every row of a query, mapped by `row`.
pub fn all<T>(
    c: &dyn Sql,
    sql: &str,
    params: &[Val],
    mut row: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    storable(params)?;
    let mut out = Vec::new();
    c.query(sql, params, &mut |r| {
        out.push(row(r)?);
        Ok(())
    })?;
    Ok(out)
}

/// The first row of a query, if any.
pub fn first<T>(
    c: &dyn Sql,
    sql: &str,
    params: &[Val],
    row: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    storable(params)?;
    let mut row = Some(row);
    let mut out = None;
    c.query(sql, params, &mut |r| {
        if let Some(f) = row.take() {
            out = Some(f(r)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The first row of a query that always answers one (a count, a `RETURNING`).
pub fn one<T>(
    c: &dyn Sql,
    sql: &str,
    params: &[Val],
    row: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    first(c, sql, params, row)?.ok_or_else(|| corrupt(format!("no row from {sql:?}")))
}

/// Whether a query answers any row.
pub fn exists(c: &dyn Sql, sql: &str, params: &[Val]) -> StoreResult<bool> {
    Ok(first(c, sql, params, |_| Ok(()))?.is_some())
}

/// Runs a statement; returns the rows changed.
pub fn exec(c: &dyn Sql, sql: &str, params: &[Val]) -> StoreResult<usize> {
    storable(params)?;
    c.exec(sql, params)
}

/// `NotFound` when a statement changed no row.
pub fn changed(rows: usize) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Runs an insert, answering `Conflict(message)` when it breaks a
/// uniqueness constraint.
pub fn insert_unique(
    c: &dyn Sql,
    sql: &str,
    params: &[Val],
    message: impl FnOnce() -> String,
) -> StoreResult<()> {
    storable(params)?;
    match c.try_exec(sql, params)? {
        Some(_) => Ok(()),
        None => Err(StoreError::Conflict(message())),
    }
}

/// Runs an insert ending in `RETURNING <integer key>`; returns the key.
pub fn insert_id(c: &dyn Sql, sql: &str, params: &[Val]) -> StoreResult<i64> {
    one(c, sql, params, |r| r.get(0))
}

/// [`insert_id`], answering `Conflict(message)` when the insert breaks a
/// uniqueness constraint.
pub fn insert_unique_id(
    c: &dyn Sql,
    sql: &str,
    params: &[Val],
    message: impl FnOnce() -> String,
) -> StoreResult<i64> {
    storable(params)?;
    c.try_insert_id(sql, params)?
        .ok_or_else(|| StoreError::Conflict(message()))
}

/// Whether `client_id` was already stored: `sql` selects the device and the
/// key of the row with that client id. `true` for a repeat (this device, the
/// same `key`), `Conflict` when another device or key used it, `false` when
/// it is new.
pub fn repeated<K: FromVal + PartialEq>(
    c: &dyn Sql,
    sql: &str,
    client_id: uuid::Uuid,
    device_id: uuid::Uuid,
    key: &K,
) -> StoreResult<bool> {
    let found: Option<(String, K)> = first(c, sql, params![client_id.to_string()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    match found {
        None => Ok(false),
        Some((device, k)) if device == device_id.to_string() && &k == key => Ok(true),
        Some(_) => Err(StoreError::Conflict(
            "this client id was already used elsewhere".into(),
        )),
    }
}

/// `?N` placeholders rewritten as PostgreSQL's `$N`, leaving quoted text and
/// identifiers alone.
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match quote {
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                out.push(ch);
            }
            None => match ch {
                '\'' | '"' => {
                    quote = Some(ch);
                    out.push(ch);
                }
                '?' => out.push('$'),
                _ => out.push(ch),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_quotes_only() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b IN (?2, ?10)"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b IN ($2, $10)"
        );
    }

    #[test]
    fn values_convert_both_ways_and_refuse_the_wrong_type() {
        let vals = [Val::Int(3), Val::Null, Val::Text("x".into())];
        let r = Row::new(&vals);
        assert_eq!(r.get::<i64>(0).ok(), Some(3));
        assert_eq!(r.get::<bool>(0).ok(), Some(true));
        assert_eq!(r.get::<Option<String>>(1).ok(), Some(None));
        assert!(r.get::<String>(1).is_err(), "NULL is not text");
        assert!(r.get::<i64>(2).is_err(), "text is not an integer");
        assert!(r.get::<i64>(3).is_err(), "no such column");
        assert_eq!(Some("a").to_val(), Val::Text("a".into()));
        assert_eq!(None::<i64>.to_val(), Val::Null);
    }
}
