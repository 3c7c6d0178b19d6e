use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::{field_and_code, human_message};
use crate::error::{ApiError, FieldError};

/// Query parameters; a parameter may repeat (`park=a&park=b`) into a `Vec`.
/// Any bad or unknown parameter is a 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

pub(crate) fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // No text column can hold NUL (PostgreSQL refuses it), so no parameter may.
    if let Some((name, _)) = form_urlencoded::parse(query.as_bytes()).find(|(_, v)| v.contains('\0')) {
        return Err(ApiError::bad_param(name.into_owned(), "characters", "must not contain NUL characters"));
    }
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|err| {
        // A repeated parameter is named without its index: `stage`, not `stage[1]`.
        let path = err.path().to_string();
        let path = path.split('[').next().unwrap_or(&path).to_owned();
        let inner = err.into_inner().to_string();
        let (field, code) = field_and_code(&path, &inner);
        let code = if code == "unknown_field" { "unknown_parameter" } else { code };
        let message = human_message(&inner).replace("is not a field of this resource", "is not a parameter of this operation");
        ApiError::BadRequest {
            detail: format!("invalid query parameter {field}: {message}"),
            errors: vec![FieldError::new(field, code, message)],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[serde(default)]
        park: Vec<String>,
        limit: Option<u32>,
    }

    #[test]
    fn repeated_parameters_collect() {
        let p: Result<Params, _> = parse("park=yueyang&park=xiangtan&limit=5");
        assert_eq!(p.ok(), Some(Params { park: vec!["yueyang".into(), "xiangtan".into()], limit: Some(5) }));
    }

    #[test]
    fn bad_and_unknown_parameters_are_named() {
        let field = |q: &str| {
            parse::<Params>(q).err().map(|e| e.problem().errors[0].field.clone()).unwrap_or_default()
        };
        assert_eq!(field("limit=many"), "limit");
        assert_eq!(field("colour=red"), "colour");
    }
}
