//! Cursors (`shared::store::cursor::CursorCodec`): a cursor is sealed by
//! the server, so the caller's `cursor` is fuzzed as it arrives, an
//! arbitrary string. Properties: an arbitrary string opens nothing (it
//! would be a forged HMAC tag); a cursor the codec sealed for a list opens
//! in that list as itself, passes `extract::cursor`, and opens in no other
//! list, for no other tenant, under no other key; one flipped character
//! and it opens nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::crypto::Secret;
use shared::domain::TenantKey;
use shared::http::extract;
use shared::store::cursor::CursorCodec;
use shared::store::{Cursor, Index, Query, SortCond};

fuzz_target!(|data: &[u8]| {
    let codec = CursorCodec::new(&Secret::new([7u8; 32]).expect("32 bytes are a secret"));
    let tenant = TenantKey::parse("demo").expect("a tenant key");
    let other = TenantKey::parse("other").expect("a tenant key");
    let mut list = Query::partition(Index::Gsi3, "T#demo#P#p1");
    list.sort = SortCond::BeginsWith("C#".into());
    list.forward = false;

    let raw = String::from_utf8_lossy(data);
    assert_eq!(
        codec.open(&raw, &tenant, &list),
        None,
        "a forged cursor opened"
    );

    // A cursor of the fuzzer's strings, sealed here.
    let mut parts = raw.split('\u{0}').map(str::to_owned);
    let (pk, sk) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let isk = parts.next();
    let at = Cursor {
        pk,
        sk,
        ipk: Some(list.pk.clone()),
        isk,
    };
    let sealed = codec.seal(&at, &tenant, &list);
    if sealed.len() > 4096 {
        return;
    }
    assert_eq!(codec.open(&sealed, &tenant, &list), Some(at.clone()));
    assert_eq!(
        extract::cursor(Some(&sealed)).ok(),
        Some(Some(sealed.clone()))
    );
    assert_eq!(codec.open(&sealed, &other, &list), None);
    let mut elsewhere = list.clone();
    elsewhere.pk = "T#demo#P#p2".into();
    assert_eq!(codec.open(&sealed, &tenant, &elsewhere), None);
    let mut ascending = list.clone();
    ascending.forward = true;
    assert_eq!(codec.open(&sealed, &tenant, &ascending), None);
    let foreign = CursorCodec::new(&Secret::new([8u8; 32]).expect("32 bytes are a secret"));
    assert_eq!(foreign.open(&sealed, &tenant, &list), None);
    let i = data.first().map_or(0, |b| *b as usize) % sealed.len();
    let mut flipped = sealed.clone().into_bytes();
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("base64url is ASCII");
    assert_eq!(
        codec.open(&flipped, &tenant, &list),
        None,
        "a tampered cursor opened"
    );
    // A cursor of another partition, sealed for this list, does not open.
    let odd = Cursor {
        ipk: Some(format!("{}x", list.pk)),
        ..at
    };
    assert_eq!(
        codec.open(&codec.seal(&odd, &tenant, &list), &tenant, &list),
        None
    );
});
