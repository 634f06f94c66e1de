//! The district's time zone: every time the console shows or reads is in
//! it. Instants are stored and sent as UTC (`time::OffsetDateTime`); this
//! module converts them to and from the zone's wall-clock time, with the
//! IANA database bundled into the binary (jiff), daylight saving included.
//!
//! It depends on nothing else in the crate, so every layer may use it.

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, civil};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A wall-clock time in a zone, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub year: i16,
    /// 1..=12.
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    /// "EST", "CET", "UTC" or, where the zone has none, "-03".
    pub abbreviation: String,
    /// Offset from UTC in seconds (east positive).
    pub offset_secs: i32,
}

/// Errors naming or converting into a zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TzError {
    #[error("unknown time zone {0:?}: use an IANA name such as America/New_York or Europe/Madrid")]
    Unknown(String),
    #[error(
        "{time} does not exist in {zone}: the clocks jump forward over it (daylight saving time); choose another time"
    )]
    Skipped { time: String, zone: String },
    #[error("{0} is outside the supported range of dates")]
    OutOfRange(String),
}

/// A named time zone (IANA). Compared by name.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone with IANA name `name` (e.g. `America/New_York`).
    pub fn named(name: &str) -> Result<Self, TzError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(TzError::Unknown(name.into()));
        }
        let tz = TimeZone::get(name).map_err(|_| TzError::Unknown(name.into()))?;
        Ok(Self {
            name: name.into(),
            tz,
        })
    }

    /// The server's own zone: the `TZ` environment variable, then
    /// `/etc/localtime` (the system setting elsewhere). UTC when neither
    /// names an IANA zone.
    pub fn system() -> Self {
        TimeZone::try_system()
            .ok()
            .and_then(|tz| {
                let name = tz.iana_name()?.to_owned();
                (name != "Etc/Unknown").then_some(Self { name, tz })
            })
            .unwrap_or_else(Self::utc)
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wall-clock time of `t` in this zone.
    pub fn local(&self, t: OffsetDateTime) -> Local {
        let ts = timestamp(t);
        let dt = self.tz.to_datetime(ts);
        let info = self.tz.to_offset_info(ts);
        Local {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
            minute: dt.minute(),
            second: dt.second(),
            abbreviation: info.abbreviation().to_owned(),
            offset_secs: info.offset().seconds(),
        }
    }

    /// `t` as RFC 3339 with this zone's offset (`2026-11-28T08:42:00-05:00`),
    /// for `<time datetime>`.
    pub fn rfc3339(&self, t: OffsetDateTime) -> String {
        let ts = timestamp(t);
        ts.display_with_offset(self.tz.to_offset(ts)).to_string()
    }

    /// `t`'s calendar date in this zone.
    pub fn date(&self, t: OffsetDateTime) -> time::Date {
        let l = self.local(t);
        time::Month::try_from(l.month as u8)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(l.year.into(), m, l.day as u8).ok())
            .unwrap_or_else(|| t.date())
    }

    /// The instant at wall-clock time `dt` in this zone. A time skipped by a
    /// daylight-saving jump is an error; a time that occurs twice (clocks
    /// going back) is the first of the two.
    pub fn from_local(&self, dt: civil::DateTime) -> Result<OffsetDateTime, TzError> {
        let ambiguous = self.tz.to_ambiguous_timestamp(dt);
        if let AmbiguousOffset::Gap { .. } = ambiguous.offset() {
            return Err(TzError::Skipped {
                time: dt.strftime("%Y-%m-%d %H:%M").to_string(),
                zone: self.name.clone(),
            });
        }
        let ts = ambiguous
            .compatible()
            .map_err(|_| TzError::OutOfRange(dt.to_string()))?;
        OffsetDateTime::from_unix_timestamp_nanos(ts.as_nanosecond())
            .map_err(|_| TzError::OutOfRange(dt.to_string()))
    }
}

/// The instant `t` for jiff. Every `OffsetDateTime` the server holds is
/// within jiff's range (years -9999..=9999); outside it clamps.
fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(if t.year() < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

impl Default for Zone {
    /// The server's own zone ([`Zone::system`]).
    fn default() -> Self {
        Self::system()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Zone {
    type Err = TzError;
    fn from_str(s: &str) -> Result<Self, TzError> {
        Self::named(s)
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::named(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ny() -> Zone {
        Zone::named("America/New_York").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(ny().name(), "America/New_York");
        assert!(matches!(
            Zone::named("Mars/Olympus_Mons"),
            Err(TzError::Unknown(_))
        ));
        assert!(Zone::named("").is_err());
        assert_eq!(
            Zone::named("UTC").map(|z| z.local(datetime!(2026-01-01 0:00 UTC)).abbreviation),
            Ok("UTC".into())
        );
    }

    #[test]
    fn local_time_follows_daylight_saving() {
        let winter = ny().local(datetime!(2026-01-15 17:30 UTC));
        assert_eq!((winter.hour, winter.minute), (12, 30));
        assert_eq!(winter.abbreviation, "EST");
        assert_eq!(winter.offset_secs, -5 * 3600);
        let summer = ny().local(datetime!(2026-07-04 13:00 UTC));
        assert_eq!((summer.hour, summer.abbreviation.as_str()), (9, "EDT"));
        assert_eq!(
            ny().rfc3339(datetime!(2026-07-04 13:00 UTC)),
            "2026-07-04T09:00:00-04:00"
        );
        // 02:30 UTC on 2 March is still 1 March in New York.
        assert_eq!(
            ny().date(datetime!(2026-03-02 02:30 UTC)),
            time::macros::date!(2026 - 03 - 01)
        );
    }

    #[test]
    fn local_input_round_trips_and_skipped_times_are_errors() {
        let z = ny();
        let at = |s: &str| {
            s.parse::<civil::DateTime>()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            z.from_local(at("2026-07-04T09:00")),
            Ok(datetime!(2026-07-04 13:00 UTC))
        );
        // 8 March 2026: 02:00 EST jumps to 03:00 EDT.
        let err = z.from_local(at("2026-03-08T02:30"));
        assert!(matches!(err, Err(TzError::Skipped { .. })), "{err:?}");
        assert!(
            err.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("does not exist in America/New_York")
        );
        // 1 November 2026: 01:30 happens twice; the first (EDT) is taken.
        assert_eq!(
            z.from_local(at("2026-11-01T01:30")),
            Ok(datetime!(2026-11-01 05:30 UTC))
        );
    }

    #[test]
    fn serde_uses_the_name_and_rejects_unknown_zones() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct C {
            tz: Zone,
        }
        let c: Result<C, _> = toml::from_str("tz = \"Europe/Madrid\"");
        assert_eq!(
            c.map(|c| c.tz.name().to_owned()).ok().as_deref(),
            Some("Europe/Madrid")
        );
        let bad = toml::from_str::<C>("tz = \"Europe/Atlantis\"")
            .err()
            .map(|e| e.to_string());
        assert!(
            bad.unwrap_or_default()
                .contains("unknown time zone \"Europe/Atlantis\"")
        );
    }
}
