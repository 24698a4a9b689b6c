//! A snapshot's type: what its first bytes say
//! (`shared::domain::clinic::snapshot::ImageType::sniff`), checked against
//! the declared `Content-Type` (`ImageType::of_media_type`,
//! `services::clinic::snapshots::checked_type`). Properties: a type is
//! sniffed exactly when the bytes start with its magic number; a body is
//! accepted only when it is not empty, not over `MAX_SNAPSHOT_BYTES`, and
//! its sniffed type is the declared one; a refusal is a `400`, `413` or
//! `415`, never anything else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::Error;
use shared::domain::clinic::snapshot::{ImageType, MAX_SNAPSHOT_BYTES};
use shared::services::clinic::snapshots::checked_type;

const PNG: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];

fuzz_target!(|data: &[u8]| {
    let sniffed = ImageType::sniff(data);
    let expected = if data.starts_with(PNG) {
        Some(ImageType::Png)
    } else if data.starts_with(JPEG) {
        Some(ImageType::Jpeg)
    } else {
        None
    };
    assert_eq!(sniffed, expected);
    // The first line as a Content-Type header, the rest as the body.
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let declared = ImageType::of_media_type(&String::from_utf8_lossy(header));
    if let Some(d) = declared {
        assert!(
            String::from_utf8_lossy(header)
                .to_ascii_lowercase()
                .contains(d.as_str())
        );
    }
    for declared in [ImageType::Png, ImageType::Jpeg] {
        for bytes in [data, body] {
            match checked_type(declared, bytes) {
                Ok(t) => {
                    assert_eq!(t, declared);
                    assert_eq!(ImageType::sniff(bytes), Some(t));
                    assert!(!bytes.is_empty() && bytes.len() <= MAX_SNAPSHOT_BYTES);
                }
                Err(Error::Invalid(_)) => assert!(bytes.is_empty()),
                Err(Error::UnsupportedMediaType(_)) => {
                    assert_ne!(ImageType::sniff(bytes), Some(declared))
                }
                Err(Error::TooLarge(_)) => assert!(bytes.len() > MAX_SNAPSHOT_BYTES),
                Err(e) => panic!("{e:?}"),
            }
        }
    }
});
