//! The walk through a consultation in the pages, and its two languages.

use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn seed_000_walk_through_the_pages() {
    let t = spawn_app().await;
    // The vendor asks for the start view; the employee's iframe opens it.
    let employee = open(&t, &start_url(&t, "patient123", "en").await).await;
    assert!(employee.html.contains("Ann Lee") && employee.html.contains("1958-03-14"));
    assert!(employee.html.contains("Urinary tract infection (cystitis)"));
    assert!(employee.html.contains("Send to the patient"));
    let patient_id = employee.ctx["ready"]["patientId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Create and send: SENT, and the event the page posts to the host.
    let r = employee
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "reason": "uti", "send": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let created = &body["events"][0];
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    check_against_schema(created, "consultation-created.json");
    assert_eq!(created["status"], "SENT");
    assert_eq!(created["operation"], "create");
    assert_eq!(created["data"]["patientId"], patient_id.as_str());
    assert_in_outbox(&t, created).await;
    let consultation_id = created["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let location = body["location"].as_str().unwrap();
    assert_eq!(
        location,
        format!("/en/embed/franchise/demo/consultation/details?consultationId={consultation_id}")
    );
    let details = employee.page(&t, location).await;
    assert_eq!(details.status, 200);
    assert!(details.text().contains("Sent") && details.text().contains("Cancel the consultation"));
    assert_eq!(
        context(&details.text())["ready"]["consultationId"],
        consultation_id.as_str()
    );

    // The patient's answer link: showing the questionnaire changes
    // nothing; the patient's first action opens it (IN_PROGRESS).
    let url = t
        .get(
            "/embeddable/consultation/answer?patientKey=patient123&locale=en",
            &[],
        )
        .await
        .text();
    let patient = open(&t, &url).await;
    assert_eq!(patient.ctx["events"], json!([]));
    assert_eq!(status_of(&t, &consultation_id).await, "SENT");
    assert!(patient.html.contains("Which symptoms do you have?"));
    assert!(patient.html.contains("type=\"checkbox\""));
    assert!(patient.html.contains("type=\"number\""));
    assert!(patient.html.contains("data-first=\"consultation.open\""));
    assert!(!patient.html.contains("Signed in as"), "no employee header");
    let r = patient
        .act(
            &t,
            "consultation.open",
            json!({"consultationId": consultation_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let opened = &r.json()["events"][0];
    assert_eq!(opened["status"], "IN_PROGRESS");
    assert_eq!(opened["data"]["previousStatus"], "SENT");
    assert!(r.json().get("location").is_none(), "the page stays");
    check_against_schema(opened, "consultation-updated.json");
    assert_in_outbox(&t, opened).await;
    // Again, or a reload: nothing moves.
    let r = patient
        .act(
            &t,
            "consultation.open",
            json!({"consultationId": consultation_id}),
        )
        .await;
    assert_eq!(r.json()["events"], json!([]));
    let again = patient.view(&t, "consultation/answer").await;
    assert_eq!(context(&again.text())["events"], json!([]));

    // Answers: checked against the questionnaire, then TO_BE_ANALYZED.
    let r = patient
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": consultation_id, "answers": [{"questionId": "fever", "value": "hot"}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = patient
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": consultation_id, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answered = &r.json()["events"][0];
    assert_eq!(answered["status"], "TO_BE_ANALYZED");
    assert_eq!(answered["data"]["previousStatus"], "IN_PROGRESS");
    assert_in_outbox(&t, answered).await;
    let thanks = patient
        .page(&t, r.json()["location"].as_str().unwrap())
        .await;
    assert!(thanks.text().contains("Thank you"), "{}", thanks.text());

    // The walk's last step: the vendor opens the details for the patient.
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": "patient123", "locale": "en"}),
        )
        .await;
    let details = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    for label in [
        "To be analysed",
        "Which symptoms do you have?",
        "Burning when urinating, Sudden urge to urinate",
        "For how many days have you had these symptoms?",
        "Have you had a urinary infection in the last 6 months?",
        "Mark as done",
    ] {
        assert!(details.html.contains(label), "{label}");
    }

    // The employee completes and archives it.
    let r = details
        .act(
            &t,
            "consultation.complete",
            json!({"consultationId": consultation_id, "summary": "Treated.\nFollow up in 3 days."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["events"][0]["status"], "DONE");
    let done = details
        .page(&t, r.json()["location"].as_str().unwrap())
        .await;
    assert!(done.text().contains("Follow up in 3 days."));
    let r = details
        .act(
            &t,
            "consultation.archive",
            json!({"consultationId": consultation_id}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "ARCHIVED");
}

#[tokio::test]
async fn a_page_renders_in_french_and_in_english() {
    let t = spawn_app().await;
    let en = open(&t, &start_url(&t, "p-en", "en").await).await;
    let fr = open(&t, &start_url(&t, "p-fr", "fr").await).await;
    assert!(en.html.contains("<html lang=\"en\">"));
    assert!(fr.html.contains("<html lang=\"fr\">"));
    for (s, words) in [
        (
            &en,
            [
                "Start a consultation",
                "Urinary tract infection (cystitis)",
                "Save as draft",
                "Date of birth",
            ],
        ),
        (
            &fr,
            [
                "Démarrer une consultation",
                "Infection urinaire (cystite)",
                "Enregistrer comme brouillon",
                "Date de naissance",
            ],
        ),
    ] {
        for w in words {
            assert!(s.html.contains(w), "{w}");
        }
    }
    assert!(!fr.html.contains("Save as draft"));
    // The same session in the other language: the URL's locale wins.
    let other = en
        .page(&t, "/fr/embed/franchise/demo/consultation/dashboard")
        .await;
    assert_eq!(other.status, 200);
    assert!(other.text().contains("<html lang=\"fr\">"));
    assert!(other.text().contains("Brouillon") && !other.text().contains("Draft"));
}
