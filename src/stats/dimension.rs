//! What statistics group by: the dimensions of each library, how `group_by`
//! names them, the column each reads, and the Chinese label of a value.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Backend;
use crate::error::ApiError;
use crate::vocab::{AttractionMode, ChainRole, Education, Industry, InvestorKind, InvestorStatus, Origin, Stage, TalentStatus, Vocabulary};

/// A library statistics are taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    Projects,
    Investors,
    Talents,
}

/// A dimension of `group_by`. Which ones a library has: projects `park`,
/// `industry`, `stage`, `attraction_mode`, `chain_role`, `year`; investors
/// `park`, `kind`, `origin`, `status`, `year`; talents `park`, `status`,
/// `specialty`, `education`, `year`. `year` is the year of a project's
/// first contact (its creation when it has none), of an investor's or a
/// talent's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Park,
    Industry,
    Stage,
    AttractionMode,
    ChainRole,
    Kind,
    Origin,
    Status,
    Specialty,
    Education,
    Year,
}

impl Library {
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension::*;
        match self {
            Self::Projects => &[Park, Industry, Stage, AttractionMode, ChainRole, Year],
            Self::Investors => &[Park, Kind, Origin, Status, Year],
            Self::Talents => &[Park, Status, Specialty, Education, Year],
        }
    }

    /// The year of a row, as SQL of `backend`: see [`Dimension`].
    pub fn year_sql(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Self::Projects, Backend::Postgres) => {
                "CAST(EXTRACT(YEAR FROM COALESCE(first_contact_on, CAST(created_at AS DATE))) AS INTEGER)"
            }
            // SQLite keeps dates and timestamps as ISO text.
            (Self::Projects, Backend::Sqlite) => "CAST(substr(COALESCE(first_contact_on, created_at), 1, 4) AS INTEGER)",
            (_, Backend::Postgres) => "CAST(EXTRACT(YEAR FROM created_at) AS INTEGER)",
            (_, Backend::Sqlite) => "CAST(substr(created_at, 1, 4) AS INTEGER)",
        }
    }

    /// The Chinese label of a stored value of a vocabulary dimension.
    pub fn label(self, dimension: Dimension, value: &str) -> Option<&'static str> {
        fn zh<V: Vocabulary>(value: &str) -> Option<&'static str> {
            V::parse(value).map(|v| v.label().zh)
        }
        match (self, dimension) {
            (_, Dimension::Industry | Dimension::Specialty) => zh::<Industry>(value),
            (_, Dimension::Stage) => zh::<Stage>(value),
            (_, Dimension::AttractionMode) => zh::<AttractionMode>(value),
            (_, Dimension::ChainRole) => zh::<ChainRole>(value),
            (_, Dimension::Kind) => zh::<InvestorKind>(value),
            (_, Dimension::Origin) => zh::<Origin>(value),
            (Self::Investors, Dimension::Status) => zh::<InvestorStatus>(value),
            (_, Dimension::Status) => zh::<TalentStatus>(value),
            (_, Dimension::Education) => zh::<Education>(value),
            (_, Dimension::Park | Dimension::Year) => None,
        }
    }
}

impl Dimension {
    pub fn name(self) -> &'static str {
        match self {
            Self::Park => "park",
            Self::Industry => "industry",
            Self::Stage => "stage",
            Self::AttractionMode => "attraction_mode",
            Self::ChainRole => "chain_role",
            Self::Kind => "kind",
            Self::Origin => "origin",
            Self::Status => "status",
            Self::Specialty => "specialty",
            Self::Education => "education",
            Self::Year => "year",
        }
    }

    /// The column a text dimension reads (`year` is computed: [`Library::year_sql`]).
    pub fn column(self) -> Option<&'static str> {
        match self {
            Self::Park => Some("park_code"),
            Self::Year => None,
            other => Some(other.name()),
        }
    }
}

/// Reads `group_by` (comma-separated, the parameter may repeat): each value
/// once, each one of the library's dimensions; a 400 naming `group_by`
/// otherwise.
pub fn parse_group_by(library: Library, raw: &[String]) -> Result<Vec<Dimension>, ApiError> {
    let allowed = library.dimensions();
    let mut dimensions = Vec::new();
    for name in raw.iter().flat_map(|r| r.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let Some(dimension) = allowed.iter().copied().find(|d| d.name() == name) else {
            let names: Vec<&str> = allowed.iter().map(|d| d.name()).collect();
            return Err(ApiError::bad_param(
                "group_by",
                "enum",
                format!("`{name}` is not a dimension of these statistics; use {}", names.join(", ")),
            ));
        };
        if dimensions.contains(&dimension) {
            return Err(ApiError::bad_param("group_by", "duplicate", format!("names `{name}` twice")));
        }
        dimensions.push(dimension);
    }
    Ok(dimensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(library: Library, raw: &str) -> Result<Vec<&'static str>, String> {
        parse_group_by(library, &[raw.to_owned()])
            .map(|ds| ds.into_iter().map(Dimension::name).collect())
            .map_err(|e| e.problem().errors[0].field.clone())
    }

    #[test]
    fn group_by_takes_the_library_s_dimensions_in_order() {
        assert_eq!(parsed(Library::Projects, "stage, park"), Ok(vec!["stage", "park"]));
        assert_eq!(parsed(Library::Talents, "specialty,year"), Ok(vec!["specialty", "year"]));
        assert_eq!(parsed(Library::Projects, ""), Ok(vec![]));
    }

    #[test]
    fn other_dimensions_and_repeats_name_group_by() {
        assert_eq!(parsed(Library::Projects, "kind"), Err("group_by".into()));
        assert_eq!(parsed(Library::Investors, "stage"), Err("group_by".into()));
        assert_eq!(parsed(Library::Projects, "park,park"), Err("group_by".into()));
    }

    #[test]
    fn status_labels_follow_the_library() {
        assert_eq!(Library::Investors.label(Dimension::Status, "settled"), Some("已落户"));
        assert_eq!(Library::Projects.label(Dimension::Stage, "signed"), Some("签约"));
        assert_eq!(Library::Projects.label(Dimension::Stage, "nonsense"), None);
    }
}
