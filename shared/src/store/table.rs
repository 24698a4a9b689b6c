//! The table's definition, in one place: its key attributes, its global
//! secondary indexes, its TTL attribute and its stream. The embedded adapter,
//! the DynamoDB adapter, the operator command that creates a development
//! table, and the infrastructure tests all read it from here.

use super::Index;

/// One global secondary index: its name and the item attributes that hold
/// its partition and sort keys. Every index projects all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiDef {
    pub index: Index,
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub const GSI1: GsiDef = GsiDef {
    index: Index::Gsi1,
    name: "gsi1",
    pk: "gsi1pk",
    sk: "gsi1sk",
};

pub const GSI2: GsiDef = GsiDef {
    index: Index::Gsi2,
    name: "gsi2",
    pk: "gsi2pk",
    sk: "gsi2sk",
};

pub const GSI3: GsiDef = GsiDef {
    index: Index::Gsi3,
    name: "gsi3",
    pk: "gsi3pk",
    sk: "gsi3sk",
};

pub const GSIS: [GsiDef; 3] = [GSI1, GSI2, GSI3];

/// The definition of an index, or `None` for the table itself.
pub fn gsi(index: Index) -> Option<&'static GsiDef> {
    GSIS.iter().find(|g| g.index == index)
}

/// Default table name when `EMBEDCARE_TABLE` is not set.
pub const DEFAULT_TABLE_NAME: &str = "embedcare";

/// The definition as JSON, for the infrastructure and its tests:
/// `infra/table-definition.json` is this value (a test keeps it so), and the
/// SAM and CDK tests check their tables against that file.
pub fn definition_json() -> serde_json::Value {
    use super::{PK, SK, TTL};
    let gsis: Vec<serde_json::Value> = GSIS
        .iter()
        .map(|g| serde_json::json!({"indexName": g.name, "partitionKey": g.pk, "sortKey": g.sk, "projection": "ALL"}))
        .collect();
    let mut attributes = vec![PK, SK];
    for g in GSIS {
        attributes.extend([g.pk, g.sk]);
    }
    serde_json::json!({
        "partitionKey": PK,
        "sortKey": SK,
        "stringAttributes": attributes,
        "globalSecondaryIndexes": gsis,
        "ttlAttribute": TTL,
        "stream": "NEW_IMAGE",
        "billingMode": "PAY_PER_REQUEST",
        "pointInTimeRecovery": true,
        "serverSideEncryption": true,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_infrastructure_file_is_the_definition() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/table-definition.json"
        );
        let text = std::fs::read_to_string(path).expect("infra/table-definition.json");
        let file: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            file,
            super::definition_json(),
            "regenerate it: cargo run -p embedcare -- table definition > infra/table-definition.json"
        );
    }
}
