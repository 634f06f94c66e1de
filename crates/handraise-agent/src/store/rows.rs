//! Row mapping: how values are written to the database and read back. A stored value
//! this agent cannot read is a [`StoreError::Corrupt`] naming its table and column, never
//! a default.

use rusqlite::types::FromSql;
use rusqlite::{Connection, Params, Row};
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::str::FromStr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::StoreError;

/// A time as stored in text columns (RFC 3339).
pub(super) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A time as stored in `*_ms` columns (Unix milliseconds), for ordering.
pub(super) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Every row of `sql`, each read by `read`; one unreadable row fails the whole read.
pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// The first row of `sql`, read by `read`, if there is one.
pub(super) fn first<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(read).transpose()
}

/// A column of a table: where an unreadable value was found.
#[derive(Debug, Clone, Copy)]
pub(super) struct Col {
    table: &'static str,
    column: &'static str,
}

impl Col {
    pub(super) const fn new(table: &'static str, column: &'static str) -> Col {
        Col { table, column }
    }

    /// The error for an unreadable `value` of this column.
    pub(super) fn bad(self, value: impl Display, reason: impl Display) -> StoreError {
        let mut value = value.to_string();
        if let Some((cut, _)) = value.char_indices().nth(80) {
            value.truncate(cut);
            value.push('…');
        }
        StoreError::Corrupt {
            table: self.table,
            column: self.column,
            value,
            reason: reason.to_string(),
        }
    }

    pub(super) fn uuid(self, s: &str) -> Result<Uuid, StoreError> {
        Uuid::parse_str(s).map_err(|e| self.bad(s, e))
    }

    /// A value with a fixed set of spellings (a state, a category, a status).
    pub(super) fn choice<T: FromStr>(self, s: &str) -> Result<T, StoreError>
    where
        T::Err: Display,
    {
        T::from_str(s).map_err(|e| self.bad(s, e))
    }

    /// An RFC 3339 time.
    pub(super) fn time(self, s: &str) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|e| self.bad(s, e))
    }

    /// Unix milliseconds.
    pub(super) fn time_ms(self, v: i64) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
            .map_err(|e| self.bad(v, e))
    }

    pub(super) fn json<T: DeserializeOwned>(self, s: &str) -> Result<T, StoreError> {
        serde_json::from_str(s).map_err(|e| self.bad(s, e))
    }

    /// A space-separated list of choices.
    pub(super) fn choices<T: FromStr>(self, s: &str) -> Result<Vec<T>, StoreError>
    where
        T::Err: Display,
    {
        s.split_whitespace().map(|w| self.choice(w)).collect()
    }
}

/// The cells of one row that belong to `table`, read with [`Col`]'s checks.
pub(super) struct Cells<'a, 'r> {
    row: &'a Row<'r>,
    table: &'static str,
}

impl<'a, 'r> Cells<'a, 'r> {
    pub(super) fn of(row: &'a Row<'r>, table: &'static str) -> Self {
        Cells { row, table }
    }

    /// A plain value (SQLite's own type check applies).
    pub(super) fn get<T: FromSql>(&self, idx: usize) -> Result<T, StoreError> {
        Ok(self.row.get(idx)?)
    }

    fn col(&self, column: &'static str) -> Col {
        Col::new(self.table, column)
    }

    /// A text cell, read by `how` (one of [`Col`]'s readers).
    pub(super) fn parse<T>(
        &self,
        idx: usize,
        column: &'static str,
        how: impl FnOnce(Col, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        how(self.col(column), &self.get::<String>(idx)?)
    }

    /// A text cell that may be NULL, read by `how`.
    pub(super) fn parse_opt<T>(
        &self,
        idx: usize,
        column: &'static str,
        how: impl FnOnce(Col, &str) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.get::<Option<String>>(idx)?
            .map(|s| how(self.col(column), &s))
            .transpose()
    }

    pub(super) fn time_ms(
        &self,
        idx: usize,
        column: &'static str,
    ) -> Result<OffsetDateTime, StoreError> {
        self.col(column).time_ms(self.get(idx)?)
    }
}
