use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use diesel::prelude::*;

use super::recheck::Rechecks;
use super::tokens::Verified;
use crate::db::schema::{revoked_tokens, users};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::http::own_writes::Writer;
use crate::vocab::{Role, Vocabulary};
use crate::state::AppState;

impl Role {
    pub fn is_provincial(self) -> bool {
        matches!(self, Self::ProvincialAdmin | Self::ProvincialViewer)
    }

    pub fn can_write_records(self) -> bool {
        matches!(self, Self::ProvincialAdmin | Self::ParkAdmin | Self::ParkStaff)
    }

    /// Roles a user of this role may give to users it manages.
    pub fn may_assign(self, other: Role) -> bool {
        match self {
            Self::ProvincialAdmin => true,
            Self::ParkAdmin => !other.is_provincial(),
            _ => false,
        }
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

/// Where a caller works: the province (every park) or one park. A park role
/// always comes with its park, so "a park role without a park" cannot be
/// built; a token that claims one is refused when it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seat {
    Province { admin: bool },
    Park { park: String, role: ParkRole },
}

/// The roles of one park.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkRole {
    Admin,
    Staff,
    Viewer,
}

impl Seat {
    /// The seat of `role` in `park`: `None` for a park role without a park.
    /// A provincial role's park, if any, is ignored: it sees every park.
    pub fn new(role: Role, park: Option<String>) -> Option<Self> {
        let in_park = |role| park.clone().map(|park| Self::Park { park, role });
        match role {
            Role::ProvincialAdmin => Some(Self::Province { admin: true }),
            Role::ProvincialViewer => Some(Self::Province { admin: false }),
            Role::ParkAdmin => in_park(ParkRole::Admin),
            Role::ParkStaff => in_park(ParkRole::Staff),
            Role::ParkViewer => in_park(ParkRole::Viewer),
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Self::Province { admin: true } => Role::ProvincialAdmin,
            Self::Province { admin: false } => Role::ProvincialViewer,
            Self::Park { role: ParkRole::Admin, .. } => Role::ParkAdmin,
            Self::Park { role: ParkRole::Staff, .. } => Role::ParkStaff,
            Self::Park { role: ParkRole::Viewer, .. } => Role::ParkViewer,
        }
    }

    pub fn park(&self) -> Option<&str> {
        match self {
            Self::Province { .. } => None,
            Self::Park { park, .. } => Some(park),
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The local user's id; `None` for a caller of an external identity provider.
    pub user_id: Option<String>,
    pub username: String,
    pub seat: Seat,
    /// The access token's id and expiry (seconds), for logout.
    pub jti: Option<String>,
    pub expires: i64,
    /// The login (refresh family) the token belongs to.
    pub session: Option<String>,
}

impl Caller {
    /// A caller for work the service does itself (command line, demo data).
    pub fn system(username: &str) -> Self {
        Self {
            user_id: None,
            username: username.to_owned(),
            seat: Seat::Province { admin: true },
            jti: None,
            expires: 0,
            session: None,
        }
    }

    pub fn role(&self) -> Role {
        self.seat.role()
    }

    /// Records of parks outside this scope do not exist for the caller.
    pub fn scope(&self) -> ParkScope {
        match &self.seat {
            Seat::Province { .. } => ParkScope::All,
            Seat::Park { park, .. } => ParkScope::One(park.clone()),
        }
    }

    /// The caller's own park (park roles).
    pub fn park(&self) -> Option<&str> {
        self.seat.park()
    }

    /// Refuses roles that may not change any record (viewers) before
    /// anything of the request is read: 403 comes before 422.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        if self.role().can_write_records() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the role {} may read but not change records", self.role())))
        }
    }

    /// May the caller see personal data (phones, e-mail, permit numbers)
    /// unmasked in a single-record read? Lists and viewers never do.
    pub fn may_read_personal(&self) -> bool {
        self.role().can_write_records()
    }

    /// May the caller erase personal data for good (a purge) in `park`?
    pub fn may_purge(&self, park: &str) -> bool {
        self.is_admin_of(park)
    }

    /// May the caller read the history of a deleted record of `park`?
    pub fn may_review_deleted(&self, park: &str) -> bool {
        self.is_admin_of(park)
    }

    fn is_admin_of(&self, park: &str) -> bool {
        match &self.seat {
            Seat::Province { admin } => *admin,
            Seat::Park { park: own, role } => *role == ParkRole::Admin && own == park,
        }
    }

    /// The park of a new record: as requested, or a park role's own park when
    /// omitted; provincial roles must name one.
    pub fn park_for_new(&self, requested: Option<String>) -> Result<String, ApiError> {
        match (requested, self.park()) {
            (Some(park), _) => Ok(park.trim().to_owned()),
            (None, Some(own)) => Ok(own.to_owned()),
            (None, None) => Err(ApiError::invalid("park_code", "required", "provincial roles must give park_code")),
        }
    }

    /// May the caller create or change records of `park`? Callers must have
    /// checked visibility first: a record outside the scope answers 404.
    pub fn require_write(&self, park: &str) -> Result<(), ApiError> {
        self.require_writer()?;
        if !self.scope().includes(park) {
            return Err(ApiError::Forbidden(format!("you may not write records of park {park}")));
        }
        Ok(())
    }
}

/// The province's own data: the parks, the top-100 reference list, the
/// target settings and the verification of funds (到位资金核实).
impl Caller {
    /// Parks, the top-100 list and the target settings: provincial_admin only.
    pub fn may_manage_reference_data(&self) -> bool {
        self.role() == Role::ProvincialAdmin
    }

    /// Whether a fund is verified or rejected is the province's decision.
    pub fn may_decide_funds(&self) -> bool {
        self.role() == Role::ProvincialAdmin
    }

    /// A contest between parks' first claims (首报首谈) is the province's to decide.
    pub fn may_decide_claims(&self) -> bool {
        self.role() == Role::ProvincialAdmin
    }

    /// Supervision notices (督办) are the province's to issue.
    pub fn may_issue_notices(&self) -> bool {
        self.role() == Role::ProvincialAdmin
    }

    /// Merging two investors loses one of them as a record: administrators only.
    pub fn may_merge(&self, park: &str) -> bool {
        self.is_admin_of(park)
    }

    /// Webhooks of `park` (`None`: of every park, the province's alone):
    /// provincial_admin, or that park's administrator.
    pub fn may_manage_webhooks(&self, park: Option<&str>) -> bool {
        match park {
            Some(park) => self.is_admin_of(park),
            None => self.role() == Role::ProvincialAdmin,
        }
    }
}

/// Every protected handler takes a `Caller`: the bearer token is verified
/// (signature, algorithm, issuer, audience, times), then checked live in the
/// database (not revoked; the user still active at the same token version;
/// an outside provider's park claim naming a park of the registry).
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        // A request that may write names its caller for the read replica's rule.
        let writes = (!req.method().is_safe()).then(|| req.clone());
        let checked = Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token?;
            let verified = state.keys.verify(&token)?;
            if let Verified::External { park: Some(ref park), .. } = verified {
                state.known_parks.require(&state.pool, park).await?;
            }
            let key = match verified {
                Verified::Local(ref claims) => Rechecks::key(false, &claims.jti),
                Verified::External { jti: Some(ref jti), .. } => Rechecks::key(true, jti),
                // Without a jti there is nothing to check live.
                Verified::External { username, role, park, jti: None, exp } => {
                    return external(username, role, park, None, exp);
                }
            };
            if let Some(caller) = state.rechecks.get(&key) {
                return Ok(caller);
            }
            let epoch = state.rechecks.epoch();
            let caller = db::run(&state.pool, move |conn| check_live(conn, verified)).await?;
            state.rechecks.keep(key, epoch, &caller);
            Ok(caller)
        });
        let Some(req) = writes else { return checked };
        Box::pin(async move {
            let caller = checked.await?;
            req.extensions_mut().insert(Writer(caller.username.clone()));
            Ok(caller)
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("send Authorization: Bearer <access token>".into()))?;
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized("the Authorization scheme must be Bearer".into())),
    }
}

/// True when any of `keys` (a token's jti, its session's key) is revoked.
pub(crate) fn is_revoked(conn: &mut DbConnection, keys: &[&str]) -> Result<bool, ApiError> {
    let n: i64 = revoked_tokens::table.filter(revoked_tokens::jti.eq_any(keys)).count().get_result(conn)?;
    Ok(n > 0)
}

fn check_live(conn: &mut DbConnection, verified: Verified) -> Result<Caller, ApiError> {
    let revoked = || ApiError::Unauthorized("invalid token: revoked".into());
    match verified {
        Verified::Local(claims) => {
            // The token itself, or its whole session (logout, refresh reuse).
            let session = super::session::family_revocation_key(&claims.sid);
            if is_revoked(conn, &[claims.jti.as_str(), session.as_str()])? {
                return Err(revoked());
            }
            let user: Option<(String, bool, i32, String, Option<String>)> = users::table
                .find(&claims.sub)
                .select((users::username, users::active, users::token_version, users::role, users::park_code))
                .first(conn)
                .optional()?;
            let Some((username, active, tv, role, park)) = user else { return Err(revoked()) };
            if !active || tv != claims.tv || role != claims.role.as_str() || park != claims.park {
                return Err(revoked());
            }
            Ok(Caller {
                user_id: Some(claims.sub),
                username,
                seat: Seat::new(claims.role, claims.park).ok_or_else(no_park)?,
                jti: Some(claims.jti),
                expires: claims.exp,
                session: Some(claims.sid),
            })
        }
        Verified::External { username, role, park, jti, exp } => {
            if let Some(jti) = &jti {
                if is_revoked(conn, &[jti.as_str()])? {
                    return Err(revoked());
                }
            }
            external(username, role, park, jti, exp)
        }
    }
}

/// A token that names a park role but no park: it can act nowhere.
fn no_park() -> ApiError {
    ApiError::Unauthorized("invalid token: a park role needs a park claim".into())
}

fn external(username: String, role: Role, park: Option<String>, jti: Option<String>, exp: i64) -> Result<Caller, ApiError> {
    let seat = Seat::new(role, park).ok_or_else(no_park)?;
    Ok(Caller { user_id: None, username, seat, jti, expires: exp, session: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, park: Option<&str>) -> Caller {
        let seat = Seat::new(role, park.map(str::to_owned)).unwrap_or(Seat::Park { park: String::new(), role: ParkRole::Viewer });
        Caller { seat, ..Caller::system("u") }
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
    fn a_park_role_always_has_its_park() {
        assert_eq!(Seat::new(Role::ParkStaff, None), None);
        assert_eq!(Seat::new(Role::ParkAdmin, Some("yueyang".into())).map(|s| s.role()), Some(Role::ParkAdmin));
        let province = Seat::new(Role::ProvincialViewer, Some("yueyang".into()));
        assert_eq!(province.as_ref().and_then(Seat::park), None, "a provincial role sees every park");
    }

    #[test]
    fn viewers_cannot_write() {
        assert!(caller(Role::ParkViewer, Some("yueyang")).require_write("yueyang").is_err());
        assert!(caller(Role::ProvincialViewer, None).require_write("yueyang").is_err());
        assert!(caller(Role::ParkStaff, Some("yueyang")).require_write("yueyang").is_ok());
        assert!(caller(Role::ParkStaff, Some("yueyang")).require_write("chenzhou").is_err());
    }

    #[test]
    fn park_admins_assign_only_park_roles() {
        assert!(Role::ParkAdmin.may_assign(Role::ParkStaff));
        assert!(Role::ParkAdmin.may_assign(Role::ParkAdmin));
        assert!(!Role::ParkAdmin.may_assign(Role::ProvincialViewer));
        assert!(!Role::ParkStaff.may_assign(Role::ParkViewer));
    }
}
