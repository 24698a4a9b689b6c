//! A function's EMF lines: what one invocation counted, printed on its
//! stdout when it ends (`shared::metrics::emf`), read back as CloudWatch
//! Logs would.

use serde_json::{Value, json};

use super::{Function, build, seeded_table};

fn emf_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invocation_ends_with_its_emf_line() {
    let bins = build(&["consultation-create"]);
    let (table, world) = seeded_table().await;
    let mut f = Function::start(&bins[0], &table).await;
    let body = r#"{"patient":{"keys":[{"subSystem":"pms","key":"emf-1"}],"firstName":"Ann","lastName":"Lee"},"locale":"en"}"#;
    let ok = f
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            json!({"api-key": world.api_key, "content-type": "application/json"}),
            Some(body),
        )
        .await;
    assert_eq!(ok["statusCode"], 200, "{ok}");
    let refused = f
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            json!({"api-key": "not-a-key", "content-type": "application/json"}),
            Some(body),
        )
        .await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    let stdout = f.logs();
    let lines = emf_lines(&stdout);
    assert_eq!(lines.len(), 2, "one line per invocation: {stdout}");
    let (first, second) = (&lines[0], &lines[1]);
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"],
        json!([{"Namespace": "embedcare", "Dimensions": [[]],
                "Metrics": [{"Name": "LaunchesIssued", "Unit": "Count"}]}])
    );
    assert_eq!(first["LaunchesIssued"], 1);
    assert_eq!(
        second["_aws"]["CloudWatchMetrics"],
        json!([{"Namespace": "embedcare", "Dimensions": [["Service", "Route"], []],
                "Metrics": [{"Name": "Http4xx", "Unit": "Count"}]}])
    );
    assert_eq!(second["Http4xx"], 1);
    assert_eq!(second["Service"], "consultation-create");
    assert_eq!(second["Route"], "/embeddable/consultation/create");
    for line in &lines {
        assert!(line["_aws"]["Timestamp"].is_i64());
        let text = line.to_string();
        for personal in ["Ann", "Lee", "emf-1", world.api_key.as_str(), "T#"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
}
