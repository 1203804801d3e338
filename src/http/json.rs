//! `Valid<T>`: a JSON body parsed into a typed write (`crate::fields`), answering 422 with the
//! path of every invalid field, where actix's `web::Json<T>` would stop at serde's first error
//! and name no field. Size, media type and syntax errors are still actix's JSON extractor's
//! (and `error::json_error`'s: 413, 415, 400).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use crate::error::ApiError;
use crate::fields::Input;

/// A request body parsed into `T`, every field checked.
pub struct Valid<T>(pub T);

impl<T: Input + 'static> FromRequest for Valid<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = json.await?;
            T::from_json(value)
                .map(Valid)
                .map_err(|errors| ApiError::validation(errors).into())
        })
    }
}

impl<T> Valid<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Valid<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
