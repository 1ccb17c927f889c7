//! Parsing and fire times of `CronSchedule`, daylight-saving changes included.

use super::*;
use chrono::TimeZone;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid time")
}

#[test]
fn valid_expressions_fire_at_the_right_time() {
    // 2026-11-22 is a Sunday.
    let from = utc(2026, 11, 22, 10, 7);
    let cases = [
        ("* * * * *", "UTC", utc(2026, 11, 22, 10, 8)),
        ("*/15 * * * *", "UTC", utc(2026, 11, 22, 10, 15)),
        ("0 9 * * 1-5", "UTC", utc(2026, 11, 23, 9, 0)),
        ("0 9 * * MON-FRI", "UTC", utc(2026, 11, 23, 9, 0)),
        ("0 12 * * 0", "UTC", utc(2026, 11, 22, 12, 0)),
        ("0 12 * * 7", "UTC", utc(2026, 11, 22, 12, 0)),
        ("0 12 * * sun", "UTC", utc(2026, 11, 22, 12, 0)),
        ("30 2 1 JAN *", "UTC", utc(2027, 1, 1, 2, 30)),
        ("5,10 10 * * *", "UTC", utc(2026, 11, 22, 10, 10)),
        ("0 9 * * *", "Europe/Berlin", utc(2026, 11, 23, 8, 0)),
        ("0 9 * * *", "Asia/Tashkent", utc(2026, 11, 23, 4, 0)),
        // Day-of-month OR day-of-week when both are restricted (the 1st, or any Monday).
        ("0 0 1 * 1", "UTC", utc(2026, 11, 23, 0, 0)),
        ("0 0 1 * 5", "UTC", utc(2026, 11, 27, 0, 0)),
        ("0 0 1,2 * 3", "UTC", utc(2026, 11, 25, 0, 0)),
        ("0 0 29 2 *", "UTC", utc(2028, 2, 29, 0, 0)),
    ];
    for (expression, zone, expected) in cases {
        let tz = CronSchedule::parse_timezone(zone).expect("zone");
        let schedule = CronSchedule::parse(expression, tz).expect(expression);
        assert_eq!(
            schedule.next_after(from),
            Some(expected),
            "{expression} {zone}"
        );
    }
}

#[test]
fn invalid_expressions_are_refused_precisely() {
    let cases: &[(&str, &str)] = &[
        ("", "required"),
        ("* * * *", "5 fields"),
        ("0 * * * * *", "5 fields"),
        ("60 * * * *", "minute field"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day-of-month field"),
        ("* * 32 * *", "day-of-month field"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day-of-week field"),
        ("* * * FOO *", "not a number"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "backwards"),
        ("1,,2 * * * *", "empty list item"),
        ("0 0 30 2 *", "never fires"),
        ("@daily", "5 fields"),
    ];
    for (expression, expected) in cases {
        let error = CronSchedule::parse(expression, Tz::UTC).expect_err(expression);
        assert!(
            error.to_string().contains(expected),
            "{expression}: {error}"
        );
    }
}

#[test]
fn timezones() {
    assert_eq!(CronSchedule::parse_timezone(""), Ok(Tz::UTC));
    assert_eq!(
        CronSchedule::parse_timezone("Europe/Moscow"),
        Ok(Tz::Europe__Moscow)
    );
    assert_eq!(
        CronSchedule::parse_timezone("Mars/Olympus"),
        Err(CronError::UnknownTimezone("Mars/Olympus".into()))
    );
}

/// A fire time as the tables write it: local wall time, offset, and `shifted` as ` moved`,
/// `offset_changed` as ` new-offset`.
fn describe(time: &FireTime) -> String {
    let mut text = format!("{} {}", time.local.format("%Y-%m-%d %H:%M"), time.offset);
    if time.shifted {
        text.push_str(" moved");
    }
    if time.offset_changed {
        text.push_str(" new-offset");
    }
    text
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M %:z")
        .expect(text)
        .with_timezone(&Utc)
}

/// (zone, expression, after as local time with its offset, the next fire times).
type DstCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const DST_CASES: &[DstCase] = &[
    // Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    (
        "Europe/Berlin",
        "0 * * * *",
        "2026-03-29 00:30 +01:00",
        &[
            "2026-03-29 01:00 +01:00",
            "2026-03-29 03:00 +02:00 moved new-offset",
            "2026-03-29 04:00 +02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "*/15 * * * *",
        "2026-03-29 01:40 +01:00",
        &[
            "2026-03-29 01:45 +01:00",
            "2026-03-29 03:00 +02:00 moved new-offset",
            "2026-03-29 03:15 +02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-03-28 12:00 +01:00",
        &[
            "2026-03-29 03:00 +02:00 moved new-offset",
            "2026-03-30 02:30 +02:00",
            "2026-03-31 02:30 +02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "*/15 2 * * *",
        "2026-03-28 12:00 +01:00",
        &[
            "2026-03-29 03:00 +02:00 moved new-offset",
            "2026-03-30 02:00 +02:00",
            "2026-03-30 02:15 +02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 1 * * *",
        "2026-03-28 12:00 +01:00",
        &[
            "2026-03-29 01:30 +01:00",
            "2026-03-30 01:30 +02:00 new-offset",
            "2026-03-31 01:30 +02:00",
        ],
    ),
    // Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:00–02:59 repeat.
    (
        "Europe/Berlin",
        "0 * * * *",
        "2026-10-25 00:30 +02:00",
        &[
            "2026-10-25 01:00 +02:00",
            "2026-10-25 02:00 +02:00",
            "2026-10-25 03:00 +01:00 new-offset",
            "2026-10-25 04:00 +01:00",
        ],
    ),
    (
        "Europe/Berlin",
        "*/15 * * * *",
        "2026-10-25 02:40 +02:00",
        &[
            "2026-10-25 02:45 +02:00",
            "2026-10-25 03:00 +01:00 new-offset",
            "2026-10-25 03:15 +01:00",
        ],
    ),
    // Asked during the repetition: its times already ran in the first occurrence.
    (
        "Europe/Berlin",
        "*/15 * * * *",
        "2026-10-25 02:10 +01:00",
        &["2026-10-25 03:00 +01:00", "2026-10-25 03:15 +01:00"],
    ),
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-10-24 12:00 +02:00",
        &[
            "2026-10-25 02:30 +02:00",
            "2026-10-26 02:30 +01:00 new-offset",
            "2026-10-27 02:30 +01:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 1 * * *",
        "2026-10-24 12:00 +02:00",
        &[
            "2026-10-25 01:30 +02:00",
            "2026-10-26 01:30 +01:00 new-offset",
        ],
    ),
    // America/New_York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    (
        "America/New_York",
        "30 2 * * *",
        "2026-03-07 12:00 -05:00",
        &[
            "2026-03-08 03:00 -04:00 moved new-offset",
            "2026-03-09 02:30 -04:00",
        ],
    ),
    (
        "America/New_York",
        "0 * * * *",
        "2026-03-08 00:30 -05:00",
        &[
            "2026-03-08 01:00 -05:00",
            "2026-03-08 03:00 -04:00 moved new-offset",
            "2026-03-08 04:00 -04:00",
        ],
    ),
    (
        "America/New_York",
        "*/15 * * * *",
        "2026-03-08 01:50 -05:00",
        &[
            "2026-03-08 03:00 -04:00 moved new-offset",
            "2026-03-08 03:15 -04:00",
        ],
    ),
    (
        "America/New_York",
        "30 1 * * *",
        "2026-03-07 12:00 -05:00",
        &[
            "2026-03-08 01:30 -05:00",
            "2026-03-09 01:30 -04:00 new-offset",
        ],
    ),
    // America/New_York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:00–01:59 repeat.
    (
        "America/New_York",
        "30 1 * * *",
        "2026-10-31 12:00 -04:00",
        &[
            "2026-11-01 01:30 -04:00",
            "2026-11-02 01:30 -05:00 new-offset",
        ],
    ),
    (
        "America/New_York",
        "*/15 * * * *",
        "2026-11-01 01:40 -04:00",
        &[
            "2026-11-01 01:45 -04:00",
            "2026-11-01 02:00 -05:00 new-offset",
            "2026-11-01 02:15 -05:00",
        ],
    ),
    (
        "America/New_York",
        "0 * * * *",
        "2026-11-01 00:30 -04:00",
        &[
            "2026-11-01 01:00 -04:00",
            "2026-11-01 02:00 -05:00 new-offset",
        ],
    ),
    (
        "America/New_York",
        "30 2 * * *",
        "2026-10-31 12:00 -04:00",
        &[
            "2026-11-01 02:30 -05:00 new-offset",
            "2026-11-02 02:30 -05:00",
        ],
    ),
    // Australia/Lord_Howe, 2026-10-04: 02:00 (+10:30) jumps half an hour to 02:30 (+11:00).
    (
        "Australia/Lord_Howe",
        "*/15 * * * *",
        "2026-10-04 01:50 +10:30",
        &[
            "2026-10-04 02:30 +11:00 moved new-offset",
            "2026-10-04 02:45 +11:00",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "0 * * * *",
        "2026-10-04 01:30 +10:30",
        &[
            "2026-10-04 02:30 +11:00 moved new-offset",
            "2026-10-04 03:00 +11:00",
        ],
    ),
    // 02:30 is the gap's end, a time that exists: not moved.
    (
        "Australia/Lord_Howe",
        "30 2 * * *",
        "2026-10-03 12:00 +10:30",
        &[
            "2026-10-04 02:30 +11:00 new-offset",
            "2026-10-05 02:30 +11:00",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "30 1 * * *",
        "2026-10-03 12:00 +10:30",
        &[
            "2026-10-04 01:30 +10:30",
            "2026-10-05 01:30 +11:00 new-offset",
        ],
    ),
    // Australia/Lord_Howe, 2026-04-05: 02:00 (+11:00) falls back to 01:30 (+10:30).
    (
        "Australia/Lord_Howe",
        "30 1 * * *",
        "2026-04-04 12:00 +11:00",
        &[
            "2026-04-05 01:30 +11:00",
            "2026-04-06 01:30 +10:30 new-offset",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "*/15 * * * *",
        "2026-04-05 01:40 +11:00",
        &[
            "2026-04-05 01:45 +11:00",
            "2026-04-05 02:00 +10:30 new-offset",
            "2026-04-05 02:15 +10:30",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "30 2 * * *",
        "2026-04-04 12:00 +11:00",
        &[
            "2026-04-05 02:30 +10:30 new-offset",
            "2026-04-06 02:30 +10:30",
        ],
    ),
    // Asia/Kathmandu keeps +05:45 all year.
    (
        "Asia/Kathmandu",
        "0 * * * *",
        "2026-03-29 01:30 +05:45",
        &["2026-03-29 02:00 +05:45", "2026-03-29 03:00 +05:45"],
    ),
    (
        "Asia/Kathmandu",
        "*/15 * * * *",
        "2026-10-25 02:40 +05:45",
        &["2026-10-25 02:45 +05:45", "2026-10-25 03:00 +05:45"],
    ),
    (
        "Asia/Kathmandu",
        "30 2 * * *",
        "2026-03-28 12:00 +05:45",
        &["2026-03-29 02:30 +05:45", "2026-03-30 02:30 +05:45"],
    ),
    (
        "Asia/Kathmandu",
        "30 1 * * *",
        "2026-10-24 12:00 +05:45",
        &["2026-10-25 01:30 +05:45", "2026-10-26 01:30 +05:45"],
    ),
    // UTC has no changes, on the days others have them.
    (
        "UTC",
        "0 * * * *",
        "2026-03-29 00:30 +00:00",
        &[
            "2026-03-29 01:00 +00:00",
            "2026-03-29 02:00 +00:00",
            "2026-03-29 03:00 +00:00",
        ],
    ),
    (
        "UTC",
        "*/15 * * * *",
        "2026-10-25 01:50 +00:00",
        &["2026-10-25 02:00 +00:00", "2026-10-25 02:15 +00:00"],
    ),
    (
        "UTC",
        "30 2 * * *",
        "2026-03-28 12:00 +00:00",
        &["2026-03-29 02:30 +00:00", "2026-03-30 02:30 +00:00"],
    ),
    (
        "UTC",
        "30 1 * * *",
        "2026-10-24 12:00 +00:00",
        &["2026-10-25 01:30 +00:00", "2026-10-26 01:30 +00:00"],
    ),
];

#[test]
fn daylight_saving_changes_skip_nothing_and_repeat_nothing() {
    for (zone, expression, after, expected) in DST_CASES {
        let tz = CronSchedule::parse_timezone(zone).expect(zone);
        let schedule = CronSchedule::parse(expression, tz).expect(expression);
        let after = instant(after);
        let times = schedule.upcoming(after, expected.len());
        let described: Vec<String> = times.iter().map(describe).collect();
        assert_eq!(described, *expected, "{zone} {expression} after {after}");
        for time in &times {
            let local = time.at.with_timezone(&time.offset).naive_local();
            assert_eq!(local, time.local, "{zone} {expression}: local matches at");
        }
        assert_eq!(
            schedule.next_after(after),
            times.first().map(|t| t.at),
            "{zone} {expression}: next_after agrees with upcoming"
        );
    }
}

#[test]
fn a_whole_year_of_quarter_hours_fires_once_per_existing_wall_time() {
    // Every quarter hour of 2026 in each zone: strictly increasing instants, and as many
    // fire times as distinct wall times minus those a gap merged into its end.
    for zone in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
        let tz = CronSchedule::parse_timezone(zone).expect(zone);
        let schedule = CronSchedule::parse("*/15 * * * *", tz).expect("expression");
        let start = instant("2026-01-01 00:00 +00:00");
        let times = schedule.upcoming(start, 365 * 96);
        assert!(times.windows(2).all(|w| w[0].at < w[1].at), "{zone}");
        let moved = times.iter().filter(|t| t.shifted).count();
        let changes = times.iter().filter(|t| t.offset_changed).count();
        assert_eq!((moved, changes), (1, 2), "{zone}: one gap, two changes");
        let mut walls: Vec<_> = times.iter().map(|t| t.local).collect();
        walls.dedup();
        assert_eq!(walls.len(), times.len(), "{zone}: no wall time twice");
    }
}

#[test]
fn a_day_skipped_whole_moves_to_the_next_day() {
    // Samoa skipped 2011-12-30: its noon runs at midnight starting the 31st.
    let tz = CronSchedule::parse_timezone("Pacific/Apia").expect("zone");
    let schedule = CronSchedule::parse("0 12 * * *", tz).expect("expression");
    let times = schedule.upcoming(instant("2011-12-29 13:00 -10:00"), 2);
    let described: Vec<String> = times.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "2011-12-31 00:00 +14:00 moved new-offset",
            "2011-12-31 12:00 +14:00"
        ]
    );
}

#[test]
fn a_seconds_field_is_accepted_only_with_seconds_syntax() {
    let from = Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 7, 30)
        .single()
        .expect("valid time");
    let at = |s: u32, mi: u32| Utc.with_ymd_and_hms(2026, 11, 22, 10, mi, s).single();
    let cases = [
        ("* * * * * *", at(31, 7)),
        ("*/15 * * * * *", at(45, 7)),
        ("10,20 * * * * *", at(10, 8)),
        ("0 */5 * * * *", at(0, 10)),
        // Five fields fire on the minute, as standard cron.
        ("* * * * *", at(0, 8)),
    ];
    for (expression, expected) in cases {
        let schedule = CronSchedule::parse_with(expression, Tz::UTC, CronSyntax::WithSeconds)
            .expect(expression);
        assert_eq!(schedule.next_after(from), expected, "{expression}");
        assert_eq!(schedule.expression(), expression);
    }
    assert_eq!(
        CronSchedule::parse("* * * * * *", Tz::UTC),
        Err(CronError::FieldCount { found: 6 })
    );
    let refused = [
        ("60 * * * * *", "second"),
        ("* * * * * * *", "or 6 with seconds first, found 7"),
        ("* * * *", "found 4"),
    ];
    for (expression, message) in refused {
        let error = CronSchedule::parse_with(expression, Tz::UTC, CronSyntax::WithSeconds)
            .expect_err(expression)
            .to_string();
        assert!(error.contains(message), "{expression}: {error}");
    }
}
