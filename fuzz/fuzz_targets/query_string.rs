//! Query strings (`shared::http::extract::QueryParams`) and the parsers of
//! each kind of parameter (`extract::id`, `locale`, `cursor`, `due_date`,
//! `frequency`, `franchise_scope`). Properties: a parameter given twice is
//! refused and one given once reads as its trimmed value (blank: absent);
//! a string that parses re-encodes to one that reads alike; a cursor
//! passed on is at most 4 096 URL-safe characters; every refusal is a
//! `400` (`Error::Invalid`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::PatientId;
use shared::http::extract::{self, QueryParams};

const NAMES: &[&str] = &[
    "cursor",
    "limit",
    "locale",
    "patientId",
    "status",
    "dueDate",
    "frequency",
    "scope",
    "a",
];

fn invalid<T: std::fmt::Debug>(r: &shared::Result<T>) {
    if let Err(e) = r {
        assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let q = match QueryParams::parse(Some(raw)) {
        Ok(q) => q,
        Err(e) => {
            assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}");
            return;
        }
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).expect("what QueryParams read, serde_urlencoded reads");
    let again = QueryParams::parse(Some(
        &serde_urlencoded::to_string(&pairs).expect("pairs of strings encode"),
    ))
    .expect("a re-encoded query string parses");
    // The known names and the first few given (every name of a long query
    // string would make each run quadratic in its length).
    let mut names: Vec<&str> = NAMES.to_vec();
    for (k, _) in pairs.iter().take(8) {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    for name in names {
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        let got = q.get(name);
        invalid(&got);
        match values.as_slice() {
            [] => assert_eq!(got.as_ref().ok(), Some(&None)),
            [v] => assert_eq!(got.as_ref().ok(), Some(&Some(*v).filter(|v| !v.is_empty()))),
            _ => assert!(got.is_err(), "{name} given twice"),
        }
        assert_eq!(
            again.get(name).map_err(|e| e.to_string()),
            got.map_err(|e| e.to_string())
        );
        let v = q.get(name).ok().flatten();
        invalid(&extract::id::<PatientId>(name, v));
        invalid(&extract::locale(v));
        invalid(&extract::franchise_scope(v));
        match extract::cursor(v) {
            Ok(Some(c)) => assert!(
                c.len() <= 4096
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{c}"
            ),
            Ok(None) => assert!(v.is_none()),
            Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
        }
        if let Some(v) = v {
            invalid(&extract::due_date(v));
            invalid(&extract::frequency(v));
        }
    }
});
