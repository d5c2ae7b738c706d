//! Schema versions: the migrations embedded in this binary compared with those a database has applied (sqlx's
//! `_sqlx_migrations` table, read through sqlx's own `Migrate` queries), so `serve` can refuse a database it
//! does not match instead of answering 500 to every request, and `/health` can report the version.
//!
//! The schema version is the highest migration version applied successfully (`0001_clinic.sql` is 1).

use sqlx::migrate::{AppliedMigration, Migrator};

/// How a database's applied migrations relate to the embedded ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every embedded migration is applied, and nothing else.
    Current { version: i64 },
    /// Embedded migrations are not applied yet (`version` is `None` for an empty database).
    Behind { version: Option<i64>, missing: Vec<i64> },
    /// The database has migrations this binary does not know: a newer release migrated it.
    Ahead { version: i64, unknown: Vec<i64> },
    /// A migration failed part-way; sqlx refuses to migrate further until it is repaired.
    Dirty { version: i64 },
    /// An applied migration differs from the embedded file of the same version (an applied migration was edited).
    Changed { version: i64 },
}

impl SchemaState {
    /// Compares `applied` (every row of `_sqlx_migrations`, failed ones included) with `migrator`; `dirty` is the
    /// lowest failed version, as sqlx reports it. The first problem found wins, in the order of the variants'
    /// seriousness: dirty, changed, unknown, missing.
    pub fn compare(migrator: &Migrator, applied: &[AppliedMigration], dirty: Option<i64>) -> Self {
        let embedded: Vec<_> = migrator.iter().filter(|m| m.migration_type.is_up_migration()).collect();
        let version = applied.iter().map(|m| m.version).filter(|v| Some(*v) != dirty).max();
        if let Some(version) = dirty {
            return Self::Dirty { version };
        }
        if let Some(m) = embedded
            .iter()
            .find(|m| applied.iter().any(|a| a.version == m.version && a.checksum.as_ref() != m.checksum.as_ref()))
        {
            return Self::Changed { version: m.version };
        }
        let unknown: Vec<i64> =
            applied.iter().map(|a| a.version).filter(|v| !embedded.iter().any(|m| m.version == *v)).collect();
        if let (false, Some(version)) = (unknown.is_empty(), version) {
            return Self::Ahead { version, unknown };
        }
        let missing: Vec<i64> =
            embedded.iter().map(|m| m.version).filter(|v| !applied.iter().any(|a| a.version == *v)).collect();
        match (missing.is_empty(), version) {
            (true, Some(version)) => Self::Current { version },
            // No embedded migration and none applied: nothing to be behind on.
            (true, None) => Self::Current { version: 0 },
            (false, version) => Self::Behind { version, missing },
        }
    }

    /// The schema version: the highest migration applied successfully (`None`: none).
    pub fn version(&self) -> Option<i64> {
        match self {
            Self::Current { version } | Self::Ahead { version, .. } => Some(*version),
            Self::Behind { version, .. } => *version,
            Self::Dirty { .. } | Self::Changed { .. } => None,
        }
    }

    /// Why `serve` must not start on this database, in one line telling the operator what to do; `None` when it
    /// may. `migrator` is the one the state was compared with; `allow_newer` (GOSPITAL_ALLOW_NEWER_SCHEMA) accepts
    /// a database migrated by a newer release.
    pub fn refusal(&self, migrator: &Migrator, allow_newer: bool) -> Option<String> {
        let binary = format!("gospital {} (schema version {})", env!("CARGO_PKG_VERSION"), latest(migrator));
        match self {
            Self::Current { .. } => None,
            Self::Ahead { .. } if allow_newer => None,
            Self::Behind { version, missing } => Some(format!(
                "the database schema is at version {} but {binary} needs migrations {} applied: run `gospital \
                 migrate` first (or serve with --migrate / GOSPITAL_MIGRATE=true)",
                version.map_or_else(|| "none (no migrations applied)".to_owned(), |v| v.to_string()),
                list(missing),
            )),
            Self::Ahead { version, unknown } => Some(format!(
                "the database schema is at version {version}, newer than {binary}: migrations {} were applied by a \
                 newer release, and `gospital migrate` of this binary cannot undo them; serve the newer release, or \
                 set GOSPITAL_ALLOW_NEWER_SCHEMA=true if its release notes say its migrations are backward compatible",
                list(unknown),
            )),
            Self::Dirty { version } => Some(format!(
                "migration {version} failed part-way (marked unsuccessful in _sqlx_migrations): repair what it left \
                 behind, delete its row, then run `gospital migrate`"
            )),
            Self::Changed { version } => Some(format!(
                "migration {version} as applied to the database differs from the one in {binary} (an applied \
                 migration was edited): restore the original migration file or the database from a backup, then \
                 run `gospital migrate`"
            )),
        }
    }
}

/// The highest embedded migration version (0 when there is none).
pub fn latest(migrator: &Migrator) -> i64 {
    migrator.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).max().unwrap_or(0)
}

fn list(versions: &[i64]) -> String {
    versions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(migrator: &Migrator, versions: &[i64]) -> Vec<AppliedMigration> {
        migrator
            .iter()
            .filter(|m| versions.contains(&m.version))
            .map(|m| AppliedMigration { version: m.version, checksum: m.checksum.clone() })
            .collect()
    }

    #[test]
    fn every_embedded_migration_applied_is_current_at_the_latest_version() {
        let m = &crate::store::mysql::MIGRATOR;
        let all: Vec<i64> = m.iter().map(|m| m.version).collect();
        let state = SchemaState::compare(m, &applied(m, &all), None);
        assert_eq!(state, SchemaState::Current { version: latest(m) });
        assert_eq!(state.refusal(m, false), None);
        assert!(latest(m) >= 2, "0001 and 0002 are embedded");
    }

    #[test]
    fn an_empty_or_partly_migrated_database_is_behind_and_refused_naming_gospital_migrate() {
        let m = &crate::store::mysql::MIGRATOR;
        let empty = SchemaState::compare(m, &[], None);
        assert!(matches!(&empty, SchemaState::Behind { version: None, missing } if missing.len() == m.iter().count()));
        assert!(empty.refusal(m, true).unwrap().contains("run `gospital migrate` first"));
        let partly = SchemaState::compare(m, &applied(m, &[1]), None);
        assert!(matches!(&partly, SchemaState::Behind { version: Some(1), missing } if !missing.contains(&1)));
        assert_eq!(partly.version(), Some(1));
    }

    #[test]
    fn an_unknown_applied_migration_is_ahead_and_refused_unless_newer_schemas_are_allowed() {
        let m = &crate::store::mysql::MIGRATOR;
        let mut rows = applied(m, &m.iter().map(|m| m.version).collect::<Vec<_>>());
        rows.push(AppliedMigration { version: 9999, checksum: vec![0u8; 48].into() });
        let state = SchemaState::compare(m, &rows, None);
        assert_eq!(state, SchemaState::Ahead { version: 9999, unknown: vec![9999] });
        assert!(state.refusal(m, false).unwrap().contains("newer release"));
        assert_eq!(state.refusal(m, true), None);
    }

    #[test]
    fn a_failed_or_edited_migration_is_refused_even_with_newer_schemas_allowed() {
        let m = &crate::store::mysql::MIGRATOR;
        let rows = applied(m, &[1]);
        assert_eq!(SchemaState::compare(m, &rows, Some(1)), SchemaState::Dirty { version: 1 });
        let edited = vec![AppliedMigration { version: 1, checksum: vec![1u8; 48].into() }];
        let state = SchemaState::compare(m, &edited, None);
        assert_eq!(state, SchemaState::Changed { version: 1 });
        assert!(state.refusal(m, true).is_some());
    }
}
