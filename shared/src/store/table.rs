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

pub const GSIS: [GsiDef; 2] = [GSI1, GSI2];

/// The definition of an index, or `None` for the table itself.
pub fn gsi(index: Index) -> Option<&'static GsiDef> {
    GSIS.iter().find(|g| g.index == index)
}

/// Default table name when `EMBEDCARE_TABLE` is not set.
pub const DEFAULT_TABLE_NAME: &str = "embedcare";
