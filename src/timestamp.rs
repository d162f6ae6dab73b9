//! Wall-clock timestamps (UTC, RFC 3339) and run ids.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, to the microsecond: the finest time Virtuoso (and xsd:dateTime in
/// most stores) keeps, so a pushed value reads back equal.
pub fn now_rfc3339() -> String {
    rfc3339_micros(OffsetDateTime::now_utc())
}

fn rfc3339_micros(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// A run id that sorts by start time: `20261126T140512Z-1a2b`.
pub fn new_run_id() -> String {
    let now = OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = now.format(&fmt).unwrap_or_else(|_| "run".into());
    let salt = (now.nanosecond() ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("{stamp}-{salt:04x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_keep_microseconds_and_drop_nanoseconds() {
        let t = time::macros::datetime!(2026-12-04 12:01:33.451262215 UTC);
        assert_eq!(super::rfc3339_micros(t), "2026-12-04T12:01:33.451262Z");
        let t = time::macros::datetime!(2026-12-04 12:01:33 UTC);
        assert_eq!(super::rfc3339_micros(t), "2026-12-04T12:01:33Z");
    }
}
