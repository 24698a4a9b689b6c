//! The embedded adapter (redb). Written next.
