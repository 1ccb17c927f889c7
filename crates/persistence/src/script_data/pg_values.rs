//! PostgreSQL result values as JSON, decoded from their binary wire form by type: every type a
//! script may read comes back with its value (NUMERIC exact, as a string), and a type without
//! a mapping comes back as its text (or, when that is not text, its bytes in base64), never as
//! `null`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Number, Value};
use std::fmt::Write as _;

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A binary PostgreSQL value of the type `oid` as JSON.
pub(super) fn decode(oid: u32, bytes: &[u8]) -> Value {
    decode_known(oid, bytes).unwrap_or_else(|| fallback(bytes))
}

/// Text as a string; other bytes in base64.
pub(super) fn fallback(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::from(text),
        Err(_) => Value::from(BASE64.encode(bytes)),
    }
}

fn be<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn i16_at(bytes: &[u8], at: usize) -> Option<i16> {
    be(bytes, at).map(i16::from_be_bytes)
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    be(bytes, at).map(i32::from_be_bytes)
}

fn i64_at(bytes: &[u8], at: usize) -> Option<i64> {
    be(bytes, at).map(i64::from_be_bytes)
}

/// An integer as a number, or as a string past what a JavaScript number holds exactly.
pub(super) fn integer(value: i64) -> Value {
    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
        Value::from(value)
    } else {
        Value::from(value.to_string())
    }
}

/// A float as a number; NaN and the infinities, which JSON lacks, as strings.
pub(super) fn float(value: f64) -> Value {
    Number::from_f64(value).map_or_else(
        || {
            let text = match value {
                v if v.is_nan() => "NaN",
                v if v > 0.0 => "Infinity",
                _ => "-Infinity",
            };
            Value::from(text)
        },
        Value::Number,
    )
}

fn decode_known(oid: u32, bytes: &[u8]) -> Option<Value> {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    Some(match oid {
        16 => Value::Bool(*bytes.first()? != 0),
        21 => Value::from(i16_at(bytes, 0)?),
        23 => Value::from(i32_at(bytes, 0)?),
        20 => integer(i64_at(bytes, 0)?),
        26 => Value::from(u32::from_be_bytes(be(bytes, 0)?)),
        700 => float(f64::from(f32::from_be_bytes(be(bytes, 0)?))),
        701 => float(f64::from_be_bytes(be(bytes, 0)?)),
        1700 => Value::from(numeric(bytes)?),
        790 => Value::from(money(i64_at(bytes, 0)?)),
        17 => Value::from(BASE64.encode(bytes)),
        2950 => Value::from(uuid::Uuid::from_slice(bytes).ok()?.to_string()),
        114 => serde_json::from_slice(bytes).ok()?,
        3802 => serde_json::from_slice(bytes.get(1..)?).ok()?,
        1082 => Value::from(match i32_at(bytes, 0)? {
            i32::MAX => "infinity".to_owned(),
            i32::MIN => "-infinity".to_owned(),
            days => (epoch + Duration::days(days.into())).to_string(),
        }),
        1083 => Value::from(time_of_day(i64_at(bytes, 0)?)?),
        1266 => {
            let offset = -i32_at(bytes, 8)?;
            let sign = if offset < 0 { '-' } else { '+' };
            let (hours, minutes) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
            let time = time_of_day(i64_at(bytes, 0)?)?;
            Value::from(format!("{time}{sign}{hours:02}:{minutes:02}"))
        }
        1114 | 1184 => Value::from(timestamp(epoch, i64_at(bytes, 0)?, oid == 1184)?),
        1186 => Value::from(interval(
            i64_at(bytes, 0)?,
            i32_at(bytes, 8)?,
            i32_at(bytes, 12)?,
        )),
        869 | 650 => Value::from(network(bytes, oid == 650)?),
        600 => Value::from(format!(
            "({},{})",
            f64::from_be_bytes(be(bytes, 0)?),
            f64::from_be_bytes(be(bytes, 8)?)
        )),
        829 => Value::from(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => return None,
    })
}

/// NUMERIC, exactly, as PostgreSQL prints it (`NaN`, `Infinity` and `-Infinity` included).
pub(super) fn numeric(bytes: &[u8]) -> Option<String> {
    let count = usize::try_from(i16_at(bytes, 0)?).ok()?;
    let weight = i32::from(i16_at(bytes, 2)?);
    let sign = u16::from_be_bytes(be(bytes, 4)?);
    let scale = usize::from(u16::from_be_bytes(be(bytes, 6)?));
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits = (0..count)
        .map(|i| i16_at(bytes, 8 + 2 * i))
        .collect::<Option<Vec<i16>>>()?;
    let digit = |i: i32| usize::try_from(i).ok().and_then(|i| digits.get(i).copied());
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    }
    for i in 0..=weight {
        let group = digit(i).unwrap_or(0);
        let _ = if i == 0 {
            write!(text, "{group}")
        } else {
            write!(text, "{group:04}")
        };
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut i = weight + 1;
        while fraction.len() < scale {
            let _ = write!(fraction, "{:04}", digit(i).unwrap_or(0));
            i += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

/// MONEY, in hundredths, as a decimal string.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

fn time_of_day(micros: i64) -> Option<String> {
    let seconds = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000) * 1000).ok()?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)?;
    Some(time.format("%H:%M:%S%.f").to_string())
}

/// A timestamp as ISO-8601 (`2024-01-02T03:04:05.5`; with `Z` when it has a time zone).
fn timestamp(epoch: NaiveDate, micros: i64, zoned: bool) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let start = NaiveDateTime::from(epoch);
    let at = start.checked_add_signed(Duration::microseconds(micros))?;
    Some(if zoned {
        DateTime::<chrono::Utc>::from_naive_utc_and_offset(at, chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    })
}

/// An INTERVAL as an ISO-8601 duration (`P1Y2M3DT4H5M6.5S`), as PostgreSQL prints it with
/// `intervalstyle = iso_8601`.
pub(super) fn interval(micros: i64, days: i32, months: i32) -> String {
    let mut text = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (amount, unit) in [
        (i64::from(years), 'Y'),
        (i64::from(months), 'M'),
        (i64::from(days), 'D'),
    ] {
        if amount != 0 {
            let _ = write!(text, "{amount}{unit}");
        }
    }
    if micros != 0 {
        text.push('T');
        let sign = if micros < 0 { "-" } else { "" };
        let micros = micros.unsigned_abs();
        let (hours, minutes) = (micros / 3_600_000_000, micros / 60_000_000 % 60);
        let (seconds, fraction) = (micros / 1_000_000 % 60, micros % 1_000_000);
        if hours != 0 {
            let _ = write!(text, "{sign}{hours}H");
        }
        if minutes != 0 {
            let _ = write!(text, "{sign}{minutes}M");
        }
        if seconds != 0 || fraction != 0 {
            let fraction = format!(".{fraction:06}");
            let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
            let _ = write!(text, "{sign}{seconds}{fraction}S");
        }
    }
    if text == "P" {
        text.push_str("T0S");
    }
    text
}

/// INET and CIDR: the address, with its prefix length unless an INET covers one host.
fn network(bytes: &[u8], cidr: bool) -> Option<String> {
    let (family, bits) = (*bytes.first()?, *bytes.get(1)?);
    let address = bytes.get(4..)?;
    let (text, full) = match family {
        2 => (
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(address).ok()?).to_string(),
            32,
        ),
        3 => (
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(address).ok()?).to_string(),
            128,
        ),
        _ => return None,
    };
    Some(if cidr || bits != full {
        format!("{text}/{bits}")
    } else {
        text
    })
}

/// An array (of any dimensions) as nested JSON arrays of its decoded elements.
pub(super) fn array(bytes: &[u8]) -> Option<Value> {
    let dimensions = usize::try_from(i32_at(bytes, 0)?).ok()?;
    let element = u32::from_be_bytes(be(bytes, 8)?);
    let lengths = (0..dimensions)
        .map(|d| i32_at(bytes, 12 + 8 * d).and_then(|n| usize::try_from(n).ok()))
        .collect::<Option<Vec<usize>>>()?;
    let mut at = 12 + 8 * dimensions;
    let mut flat = Vec::new();
    let total: usize = if dimensions == 0 {
        0
    } else {
        lengths.iter().product()
    };
    for _ in 0..total {
        let length = i32_at(bytes, at)?;
        at += 4;
        if length < 0 {
            flat.push(Value::Null);
            continue;
        }
        let length = usize::try_from(length).ok()?;
        let value = bytes.get(at..at + length)?;
        at += length;
        flat.push(decode(element, value));
    }
    Some(nest(flat, &lengths))
}

fn nest(flat: Vec<Value>, lengths: &[usize]) -> Value {
    match lengths {
        [] | [_] => Value::Array(flat),
        [_, inner @ ..] => {
            let size: usize = inner.iter().product::<usize>().max(1);
            let mut items = flat.into_iter();
            let mut outer = Vec::new();
            loop {
                let chunk: Vec<Value> = items.by_ref().take(size).collect();
                if chunk.is_empty() {
                    break;
                }
                outer.push(nest(chunk, inner));
            }
            Value::Array(outer)
        }
    }
}

/// The array types of the built-in element types decoded here.
pub(super) fn is_array_oid(oid: u32) -> bool {
    matches!(
        oid,
        1000 | 1005
            | 1007
            | 1016
            | 1028
            | 1021
            | 1022
            | 1231
            | 791
            | 1001
            | 2951
            | 199
            | 3807
            | 1182
            | 1183
            | 1270
            | 1115
            | 1185
            | 1187
            | 1041
            | 651
            | 1040
            | 1009
            | 1015
            | 1014
            | 1002
            | 1003
            | 143
            | 1017
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn numeric_bytes(weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for part in [digits.len() as i16, weight] {
            bytes.extend(part.to_be_bytes());
        }
        bytes.extend(sign.to_be_bytes());
        bytes.extend(scale.to_be_bytes());
        for d in digits {
            bytes.extend(d.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn binary_values_decode_exactly() {
        let cases: Vec<(Option<String>, &str)> = vec![
            (numeric(&numeric_bytes(0, 0, 2, &[12, 3400])), "12.34"),
            (numeric(&numeric_bytes(1, 0x4000, 0, &[1, 0])), "-10000"),
            (numeric(&numeric_bytes(-1, 0, 5, &[500])), "0.05000"),
            (numeric(&numeric_bytes(0, 0, 0, &[])), "0"),
            (
                numeric(&numeric_bytes(2, 0, 1, &[9, 9999, 9999, 1000])),
                "999999999.1",
            ),
            (numeric(&numeric_bytes(0, 0xC000, 0, &[])), "NaN"),
            (Some(interval(0, 0, 0)), "PT0S"),
            (Some(interval(3_723_500_000, 3, 14)), "P1Y2M3DT1H2M3.5S"),
            (Some(interval(-1_000_000, -1, 0)), "P-1DT-1S"),
            (Some(money(-1234)), "-12.34"),
            (time_of_day(3_723_000_001), "01:02:03.000001"),
        ];
        for (decoded, expected) in cases {
            assert_eq!(decoded.as_deref(), Some(expected));
        }
        assert_eq!(integer(1 << 53), json!("9007199254740992"));
        assert_eq!(integer(-(1 << 52)), json!(-(1_i64 << 52)));
        assert_eq!(float(f64::NAN), json!("NaN"));
        assert_eq!(fallback(&[0xff, 0x00]), json!("/wA="));
    }
}
