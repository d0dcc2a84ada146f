use crate::helpers::*;

use std::collections::HashSet;

use serde_json::Value;

const REGENERATE: &str = "cargo run -q -p billing-identity -- openapi > openapi.yaml";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn committed_path() -> String {
    format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"))
}

/// YAML parsed into JSON values, so formatting and key order do not count.
fn parse_yaml(text: &str, what: &str) -> Value {
    serde_norway::from_str::<Value>(text).unwrap_or_else(|e| panic!("{what} is not YAML: {e}"))
}

fn generated() -> Value {
    serde_json::to_value(api::openapi::document()).expect("the document serialises")
}

/// Every (path, method, operation) in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((path.clone(), method.to_owned(), operation.clone()));
            }
        }
    }
    found
}

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let path = committed_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; create it with `{REGENERATE}`"));
    let committed = parse_yaml(&committed, "openapi.yaml");
    let current = parse_yaml(&api::openapi::yaml(), "the generated document");
    assert!(
        committed == current,
        "openapi.yaml at the repository root differs from what the code generates.\n\
         If the change to the API is intended, regenerate it from the repository root with\n\
         \n    {REGENERATE}\n\n\
         and commit it with the change."
    );
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let app = spawn_app().await;
    let expected = generated();

    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.expect("/openapi.json is JSON");
    assert!(served == expected, "/openapi.json differs from document()");

    let response = app.get("/openapi.yaml", None).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/yaml"),
        "{content_type}"
    );
    let served = parse_yaml(&response.text().await.unwrap(), "/openapi.yaml");
    assert!(served == expected, "/openapi.yaml differs from document()");
}

#[test]
fn every_operation_is_described() {
    let doc = generated();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(
        version.starts_with("3.1."),
        "OpenAPI 3.1 expected, got {version}"
    );

    let operations = operations(&doc);
    assert!(!operations.is_empty(), "the document has no operation");
    let mut ids = HashSet::new();
    let mut missing = Vec::new();
    for (path, method, operation) in &operations {
        let id = operation["operationId"].as_str().unwrap_or_default();
        if id.is_empty() {
            missing.push(format!("{method} {path}: no operationId"));
        } else if !ids.insert(id.to_owned()) {
            missing.push(format!("{method} {path}: operationId {id} is used twice"));
        }
        if operation["tags"].as_array().is_none_or(Vec::is_empty) {
            missing.push(format!("{method} {path}: no tag"));
        }
        if operation["responses"]
            .as_object()
            .is_none_or(|r| r.is_empty())
        {
            missing.push(format!("{method} {path}: no response"));
        }
        // OpenAPI 3.1 requires a description on every response object.
        for (status, response) in operation["responses"].as_object().into_iter().flatten() {
            let described = response.get("$ref").is_some()
                || response["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty());
            if !described {
                missing.push(format!(
                    "{method} {path}: response {status} has no description"
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));

    // Every tag used is declared, so Swagger UI groups it with a description.
    let declared: HashSet<&str> = doc["tags"]
        .as_array()
        .map(|tags| tags.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    for (path, method, operation) in &operations {
        for tag in operation["tags"].as_array().into_iter().flatten() {
            let tag = tag.as_str().unwrap_or_default();
            assert!(
                declared.contains(tag),
                "{method} {path}: tag {tag:?} is not declared in openapi.rs"
            );
        }
    }
}

/// The closed sets in the document are the domain's own, so neither can drift from the other.
#[test]
fn documented_enums_are_the_domains_sets() {
    use domain::api_token::ApiTokenScope;
    use domain::auth_method::AuthMethod;
    use domain::permission::Role;
    use domain::provider::{AccountStatus, ProviderStatus};

    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let documented = |name: &str| -> Vec<String> {
        doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("schema {name} has no enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let names = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        documented("AccountStatus"),
        names(AccountStatus::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        documented("ProviderStatus"),
        names(ProviderStatus::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        documented("ApiTokenScope"),
        names(ApiTokenScope::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        documented("Role"),
        names(Role::ALL.iter().map(|s| s.as_str()).collect())
    );
    let methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    assert_eq!(documented("AuthMethod"), names(methods.clone()));
    let mut event_methods = methods;
    event_methods.extend([api::auth::log::REFRESH, api::auth::log::SESSION]);
    event_methods.extend([api::auth::log::MFA, api::auth::log::CONSENT]);
    event_methods.extend(
        domain::sign_in::SecondFactor::ALL
            .iter()
            .map(|f| f.as_str()),
    );
    assert_eq!(documented("AuthEventMethod"), names(event_methods));
    assert_eq!(
        documented("SubjectKind"),
        names(
            domain::provider::SubjectKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect()
        )
    );
    assert_eq!(
        documented("AuthEventReason"),
        names(
            api::auth::log::Reason::ALL
                .iter()
                .map(|r| r.as_str())
                .collect()
        )
    );
    assert_eq!(documented("TokenType"), ["Bearer"]);
    assert_eq!(
        documented("CredentialKind"),
        ["access_token", "api_token", "authinfo"]
    );
    assert_eq!(
        documented("SessionAccess"),
        ["full", "mfa_enrollment_required", "mfa_required"]
    );
}

/// Every closed set the code can answer is an enum in the document: no property of an
/// answer is a bare string whose description lists its values in backticks.
#[test]
fn answers_name_their_closed_sets() {
    let doc = generated();
    for name in [
        "MeResponse",
        "SessionResponse",
        "AuthEventResponse",
        "TokenResponse",
    ] {
        let schema = &doc["components"]["schemas"][name];
        for (property, definition) in schema["properties"].as_object().unwrap() {
            let text = definition.to_string();
            let open_string = definition["type"] == "string"
                && definition.get("enum").is_none()
                && definition.get("format").is_none();
            let listed = definition["description"]
                .as_str()
                .is_some_and(|d| d.contains("` or `"));
            assert!(!(open_string && listed), "{name}.{property}: {text}");
        }
    }
}

/// What every operation documents beyond its own answers: a summary, a `5XX` Problem, the
/// `X-Request-Id` header on each answer, `Retry-After` on each 429 and 503, 401 where it
/// needs credentials, and 403 where it changes something (a `read` API token is refused
/// there, whatever the operation's own rules).
#[test]
fn every_operation_documents_every_status() {
    let doc = generated();
    let resolve = |response: &Value| -> Value {
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference.trim_start_matches("#/components/responses/");
                doc["components"]["responses"][name].clone()
            }
            None => response.clone(),
        }
    };
    let mut missing = Vec::new();
    for (path, method, operation) in operations(&doc) {
        let at = format!("{method} {path}");
        if operation["summary"]
            .as_str()
            .is_none_or(|s| s.trim().is_empty())
        {
            missing.push(format!("{at}: no summary"));
        }
        let responses = operation["responses"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if !responses.contains_key("5XX") && !responses.contains_key("default") {
            missing.push(format!("{at}: no 5XX or default"));
        }
        for (status, response) in &responses {
            let headers = &resolve(response)["headers"];
            if headers.get("X-Request-Id").is_none() {
                missing.push(format!("{at}: {status} without X-Request-Id"));
            }
            if (status == "429" || status == "503") && headers.get("Retry-After").is_none() {
                missing.push(format!("{at}: {status} without Retry-After"));
            }
        }
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        if secured && !responses.contains_key("401") {
            missing.push(format!("{at}: secured but no 401"));
        }
        if secured && method != "get" && method != "head" && !responses.contains_key("403") {
            missing.push(format!("{at}: a read API token gets 403, not documented"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
