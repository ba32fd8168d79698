//! `GET /openapi.json`: the OpenAPI 3.1 document of the API, written by hand in `openapi.json`
//! beside this file. A test checks that its paths and methods are exactly the router's.

use axum::Json;
use serde_json::Value;

/// The OpenAPI document.
pub fn document() -> Value {
    serde_json::from_str(include_str!("openapi.json")).unwrap_or_else(|e| {
        serde_json::json!({"openapi": "3.1.0", "info": {"title": "amap", "version": "0"},
            "paths": {}, "x-error": format!("the bundled document does not parse: {e}")})
    })
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_document_parses() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("openapi.json")).expect("openapi.json parses");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
