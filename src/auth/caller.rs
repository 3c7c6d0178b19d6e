use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The five roles of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProvincialAdmin,
    ProvincialViewer,
    ParkAdmin,
    ParkStaff,
    ParkViewer,
}

impl Role {
    pub fn is_provincial(self) -> bool {
        matches!(self, Self::ProvincialAdmin | Self::ProvincialViewer)
    }

    pub fn can_write_records(self) -> bool {
        matches!(self, Self::ProvincialAdmin | Self::ParkAdmin | Self::ParkStaff)
    }
}

/// The parks a caller can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkScope {
    All,
    One(String),
}

impl ParkScope {
    pub fn includes(&self, park: &str) -> bool {
        match self {
            Self::All => true,
            Self::One(own) => own == park,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    /// The caller's park; `None` for provincial roles.
    pub park: Option<String>,
}

impl Caller {
    /// Records of parks outside this scope do not exist for the caller.
    pub fn scope(&self) -> ParkScope {
        match (&self.park, self.role.is_provincial()) {
            (_, true) => ParkScope::All,
            (Some(park), false) => ParkScope::One(park.clone()),
            // A park role without a park sees nothing; `""` matches no park.
            (None, false) => ParkScope::One(String::new()),
        }
    }

    /// May the caller create or change records of `park`? Callers must have
    /// checked visibility first: a park outside the scope answers 404, not 403.
    pub fn require_write(&self, park: &str) -> Result<(), ApiError> {
        if !self.scope().includes(park) {
            return Err(ApiError::Forbidden(format!("you may not write records of park {park}")));
        }
        if !self.role.can_write_records() {
            return Err(ApiError::Forbidden("your role may read but not change records".into()));
        }
        Ok(())
    }
}

/// Until token authentication lands (issue #3) every request acts as one
/// built-in provincial administrator. Handlers already take the caller and
/// pass it into every query, so scoping needs no handler changes later.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = req.extensions().get::<Caller>().cloned().unwrap_or_else(|| Caller {
            username: "anonymous".into(),
            role: Role::ProvincialAdmin,
            park: None,
        });
        ready(Ok(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, park: Option<&str>) -> Caller {
        Caller { username: "u".into(), role, park: park.map(str::to_owned) }
    }

    #[test]
    fn park_roles_see_only_their_park() {
        let staff = caller(Role::ParkStaff, Some("yueyang"));
        assert!(staff.scope().includes("yueyang"));
        assert!(!staff.scope().includes("xiangtan"));
        assert!(caller(Role::ProvincialViewer, None).scope().includes("xiangtan"));
        assert!(!caller(Role::ParkAdmin, None).scope().includes("yueyang"));
    }

    #[test]
    fn viewers_cannot_write() {
        assert!(caller(Role::ParkViewer, Some("yueyang")).require_write("yueyang").is_err());
        assert!(caller(Role::ProvincialViewer, None).require_write("yueyang").is_err());
        assert!(caller(Role::ParkStaff, Some("yueyang")).require_write("yueyang").is_ok());
        assert!(caller(Role::ParkStaff, Some("yueyang")).require_write("chenzhou").is_err());
    }
}
