//! Query-string parameters shared by endpoints: whole numbers, and lists' `page` and
//! `limit`, each bad value reported under its own name.

use actix_web::web;
use domain::ValidationErrors;
use domain::paging::PageRequest;
use std::collections::HashMap;

pub type Query = web::Query<HashMap<String, String>>;

/// A whole-number parameter, if present; a bad one is added to `errors`.
pub fn integer(query: &Query, key: &str, errors: &mut ValidationErrors) -> Option<i64> {
    let raw = query.get(key)?;
    match raw.trim().parse::<i64>() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.add(key, "must be a whole number");
            None
        }
    }
}

/// `page` and `limit` from the query string; problems are added to `errors`.
pub fn page_request(query: &Query, errors: &mut ValidationErrors) -> PageRequest {
    let page = integer(query, "page", errors);
    let limit = integer(query, "limit", errors);
    PageRequest::parse(page, limit).unwrap_or_else(|page_errors| {
        for (field, message) in page_errors.fields() {
            errors.add(field.clone(), message);
        }
        PageRequest::default()
    })
}
