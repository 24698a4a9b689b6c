//! What must not leak or be forged: patient keys are hashed with a key of
//! the deployment's (and existing items move to it), names and keys are
//! one Unicode form with no invisible controls, and events carry no
//! consultation reason.

use serde_json::json;
use shared::crypto::digest_b64;
use shared::domain::PatientId;
use shared::services::rekey;
use shared::store::{Cond, Item, Store, Write, keys};

use crate::helpers::*;

const VIEW: &str = "/embeddable/consultation/view";

#[tokio::test]
async fn patient_keys_are_hashed_with_the_deployments_key() {
    let t = spawn_app().await;
    let r = t
        .create(
            json!({"keys": [{"subSystem": "ramq", "key": "LEEA 5803 1412"}],
                   "firstName": "Ann", "lastName": "Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let tenant = demo_tenant();
    let keyed = keys::patient_key_index(&tenant, &t.app.patient_keys, "LEEA 5803 1412");
    assert!(t.store.get(&keyed).await.unwrap().is_some());
    let bare = keys::legacy_patient_key_index(&tenant, "LEEA 5803 1412");
    assert!(
        !keyed.pk.contains(&digest_b64("LEEA 5803 1412")),
        "a bare SHA-256 of the key is not in the key"
    );
    assert!(t.store.get(&bare).await.unwrap().is_none());
    // Another deployment secret hashes to another key.
    let other = shared::crypto::KeyedDigest::new(&shared::crypto::Secret::ephemeral());
    assert_ne!(
        keyed,
        keys::patient_key_index(&tenant, &other, "LEEA 5803 1412")
    );
}

#[tokio::test]
async fn the_migration_moves_old_index_items_to_the_keyed_hash() {
    let t = spawn_app().await;
    let r = t
        .create(
            json!({"keys": [{"subSystem": "pms", "key": "mig-1"}, {"subSystem": "ehr", "key": "mig-2"}],
                   "firstName": "Ann", "lastName": "Lee"}),
            &[],
        )
        .await;
    let patient_id = r.json()["patientId"].as_str().unwrap().to_owned();
    let tenant = demo_tenant();
    // As an older version wrote them: under the bare SHA-256.
    for value in ["mig-1", "mig-2"] {
        let keyed = keys::patient_key_index(&tenant, &t.app.patient_keys, value);
        let item = t.store.get(&keyed).await.unwrap().unwrap();
        let legacy = keys::legacy_patient_key_index(&tenant, value);
        t.store
            .transact(vec![
                Write::Put {
                    item: Item::new(legacy, item.attrs),
                    cond: Some(Cond::NotExists),
                },
                Write::Delete {
                    key: keyed,
                    cond: None,
                },
            ])
            .await
            .unwrap();
    }
    let lookup = format!("{VIEW}?patientKey=mig-1");
    assert_eq!(t.get(&lookup, &[]).await.status, 404, "not found before");

    let done = rekey::rekey_patient(&t.app, "demo", &patient_id)
        .await
        .unwrap();
    assert_eq!((done.moved, done.already), (2, 0));
    assert_eq!(t.get(&lookup, &[]).await.status, 200, "found after");
    let r = t
        .create(
            json!({"keys": [{"subSystem": "ehr", "key": "mig-2"}], "firstName": "Ann", "lastName": "Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.json()["patientId"], patient_id, "the same patient");
    for value in ["mig-1", "mig-2"] {
        let legacy = keys::legacy_patient_key_index(&tenant, value);
        assert!(t.store.get(&legacy).await.unwrap().is_none());
    }
    // Idempotent; and an unknown patient is a clear error.
    let again = rekey::rekey_patient(&t.app, "demo", &patient_id)
        .await
        .unwrap();
    assert_eq!((again.moved, again.already), (0, 2));
    let unknown = PatientId::generate();
    assert!(matches!(
        rekey::rekey_patient(&t.app, "demo", unknown.as_str()).await,
        Err(shared::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn names_and_keys_are_nfc_and_hold_no_invisible_controls() {
    let t = spawn_app().await;
    // "Amélie" with a combining accent, and a key with one: stored as NFC,
    // and the precomposed form finds the same patient.
    let r = t
        .create(
            json!({"keys": [{"subSystem": "pms", "key": "Ame\u{301}-1"}],
                   "firstName": "Ame\u{301}lie", "lastName": "Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["patientId"].as_str().unwrap().to_owned();
    let patient =
        shared::services::people::patient(&t.app, &demo_tenant(), &PatientId::parse(&id).unwrap())
            .await
            .unwrap();
    assert_eq!(patient.first_name, "Am\u{e9}lie");
    assert_eq!(patient.keys[0].key, "Am\u{e9}-1");
    let r = t
        .create(
            json!({"keys": [{"subSystem": "pms", "key": "Am\u{e9}-1"}], "firstName": "Am\u{e9}lie", "lastName": "Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.json()["patientId"], id);
    // A lookup by the decomposed form finds it too.
    let r = t.get(&format!("{VIEW}?patientKey=Ame%CC%81-1"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let path = "/embeddable/consultation/create";
    for (patient, field) in [
        (
            json!({"keys": [{"subSystem": "pms", "key": "abc\u{200B}"}], "firstName": "A", "lastName": "B"}),
            "Invalid patient keys[0]: key",
        ),
        (
            json!({"keys": [{"subSystem": "pms", "key": "k-9"}], "firstName": "\u{202E}nnA", "lastName": "B"}),
            "Invalid patient: firstName",
        ),
        (
            json!({"keys": [{"subSystem": "p\u{2066}ms", "key": "k-9"}], "firstName": "A", "lastName": "B"}),
            "Invalid patient keys[0]: subSystem",
        ),
    ] {
        let r = t.create(patient, &[]).await;
        assert_error(
            &r,
            400,
            &format!(
                "{field} must not hold invisible characters (bidirectional or zero-width controls)"
            ),
            path,
        );
    }
    // The user's names too (x-integration-user).
    let header =
        b64(r#"{"userId":"u-bidi","firstName":"Dr\u202e","lastName":"X","email":"x@example.com"}"#);
    let r = t
        .get(
            "/embeddable/statistics",
            &[("x-integration-user", header.as_str())],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test]
async fn events_carry_no_consultation_reason() {
    let t = spawn_app().await;
    let r = t
        .post_json(
            "/v2/consultations",
            &[],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": "ev-r"}],
                                "firstName": "Ann", "lastName": "Lee"}, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let outbox: Vec<_> = t
        .store
        .written()
        .into_iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.get_str("type") == Some("outbox") => Some(item),
            _ => None,
        })
        .collect();
    assert_eq!(outbox.len(), 1);
    let detail = &outbox[0].attrs["detail"];
    assert_eq!(detail["eventType"], "consultation");
    assert!(detail["data"].get("reasonCode").is_none(), "{detail}");
    assert!(!detail.to_string().contains("uti"), "{detail}");
}
