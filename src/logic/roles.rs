//! Roles, permissions and scopes read from the claims of an unverified token.
//!
//! **These checks drive the UI only.** The token's signature is not checked on the client, and
//! anyone can edit a token in their own browser: hide the admin menu for users without the
//! `admin` role, but let the server refuse the admin calls.
//!
//! ## Where roles come from
//! A [`RoleClaims`] holds claim paths, by default `["role", "roles", "realm_access.roles"]`
//! ([`DEFAULT_ROLE_CLAIMS`]): FastAPI tutorials put a single `role` or a `roles` list in the
//! token, Keycloak puts realm roles in `realm_access.roles`. The roles of a token are the union
//! over all paths, first-seen order, without duplicates.
//!
//! A path is looked up as a literal claim name first, so namespaced claims such as
//! `https://example.com/roles` work; otherwise each `.` may separate the name of an object claim
//! from the path inside it (`realm_access.roles`, or `resource_access.my.client.roles` where the
//! client id `my.client` itself contains a dot). When several splits match, the longest claim
//! name wins.
//!
//! ## What counts as a role
//! - A string is **one** role, not split on spaces: `"role": "super admin"` is the role
//!   `super admin`, so a space never turns one role into two (`"role": "not admin"` does not
//!   grant `admin`).
//! - A list contributes each of its string elements.
//! - Under a path whose last segment is `scope` or `scp` (OAuth scopes), strings are split on
//!   whitespace, in lists too: `"scope": "read write"` gives `read` and `write`.
//! - Empty strings, numbers, booleans, `null`, objects and nested lists are ignored.
//!
//! Matching is exact and case-sensitive.

use crate::logic::json::{Json, JsonObject};

use crate::logic::token::Claims;

/// The default claim paths holding roles: `role`, `roles`, `realm_access.roles`.
pub const DEFAULT_ROLE_CLAIMS: [&str; 3] = ["role", "roles", "realm_access.roles"];

/// Which claims hold a user's roles (the `roleClaims` option), and the checks made with them.
///
/// Client-side role checks drive the UI only: the token is not verified on the client, so the
/// server must make every access decision itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleClaims {
    paths: Vec<String>,
}

impl Default for RoleClaims {
    /// The paths in [`DEFAULT_ROLE_CLAIMS`].
    fn default() -> Self {
        Self::new(DEFAULT_ROLE_CLAIMS)
    }
}

impl RoleClaims {
    /// Role claims read from `paths`, in order. Dotted paths walk into nested objects; an empty
    /// path matches nothing.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
        }
    }

    /// Role claims read from `paths`, in order, kept as they are: the options' own list (or the
    /// defaults, made owned once) moves in, where [`Self::new`] over `&Vec<String>` cloned
    /// every path a second time and brought its generic collect into the wasm module.
    pub(crate) const fn from_paths(paths: Vec<String>) -> Self {
        Self { paths }
    }

    /// The configured claim paths.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Every role the claims carry under the configured paths, first-seen order, no duplicates.
    pub fn roles(&self, claims: &Claims) -> Vec<String> {
        unique_owned(self.role_strs(claims))
    }

    /// Whether the claims carry `role`. UI only: the server decides.
    pub fn has_role(&self, claims: &Claims, role: &str) -> bool {
        self.role_strs(claims).contains(&role)
    }

    /// Whether the claims carry at least one of `roles`; `false` for an empty list (like
    /// JavaScript's `[].some(...)`). UI only: the server decides.
    pub fn has_any_role<S: AsRef<str>>(&self, claims: &Claims, roles: &[S]) -> bool {
        let held = self.role_strs(claims);
        roles.iter().any(|role| held.contains(&role.as_ref()))
    }

    /// Whether the claims carry every one of `roles`; `true` for an empty list (like
    /// JavaScript's `[].every(...)`). UI only: the server decides.
    pub fn has_all_roles<S: AsRef<str>>(&self, claims: &Claims, roles: &[S]) -> bool {
        let held = self.role_strs(claims);
        roles.iter().all(|role| held.contains(&role.as_ref()))
    }

    /// Roles as borrowed strings, with duplicates: the checks above need no allocation per role.
    fn role_strs<'a>(&self, claims: &'a Claims) -> Vec<&'a str> {
        let mut out = Vec::new();
        for path in &self.paths {
            if let Some(value) = lookup_path(claims.as_map(), path) {
                collect_strings(value, is_scope_path(path), &mut out);
            }
        }
        out
    }
}

/// The value at a claim path: the literal claim name first, then dotted segments walking into
/// nested objects (`realm_access.roles`), longest claim name first. `None` when nothing matches,
/// and always for the empty path.
pub fn lookup_path<'a>(claims: &'a JsonObject, path: &str) -> Option<&'a Json> {
    if path.is_empty() {
        return None;
    }
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    // Try every dot as the end of an object claim's name, the longest name first (as the literal
    // lookup above prefers the whole path). Paths come from configuration and have few dots.
    // A byte scan, not `rmatch_indices`: its reverse searcher costs the wasm module more; a dot is
    // ASCII, so every position found is a character boundary.
    let mut end = path.len();
    while let Some(dot) = path.as_bytes().get(..end)?.iter().rposition(|&b| b == b'.') {
        end = dot;
        let (Some(name), Some(rest)) = (path.get(..dot), path.get(dot + 1..)) else {
            continue;
        };
        if let Some(Json::Object(inner)) = claims.get(name) {
            if let Some(value) = lookup_path(inner, rest) {
                return Some(value);
            }
        }
    }
    None
}

/// The `permissions` claim (Auth0 style) as a list: each string of a list, or a string split on
/// whitespace. UI only: the server decides.
pub fn permissions(claims: &Claims) -> Vec<String> {
    split_claim(claims, "permissions")
}

/// The OAuth scopes of the token, from `scope` (or Azure's `scp` when `scope` is absent): a
/// space-separated string or a list. UI only: the server decides.
pub fn scopes(claims: &Claims) -> Vec<String> {
    match claims.get("scope") {
        Some(_) => split_claim(claims, "scope"),
        None => split_claim(claims, "scp"),
    }
}

fn split_claim(claims: &Claims, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(value) = claims.get(name) {
        collect_strings(value, true, &mut out);
    }
    unique_owned(out)
}

/// Owned copies of `items` without repeats, first-seen order. Repeats are found among the
/// borrowed strings (`contains`, which the role checks use too), and one loop makes the
/// copies: the roles and the split claims share it, where each had its own `any` closure.
fn unique_owned(items: Vec<&str>) -> Vec<String> {
    let mut unique: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    let mut owned = Vec::with_capacity(unique.len());
    for item in unique {
        owned.push(item.to_owned());
    }
    owned
}

/// Whether the path's last dotted segment is `scope` or `scp` (suffix tests, not `rsplit`: its
/// reverse searcher costs the wasm module more).
fn is_scope_path(path: &str) -> bool {
    matches!(path, "scope" | "scp") || path.ends_with(".scope") || path.ends_with(".scp")
}

/// Pushes the non-empty strings of a string or a flat list of strings; ignores anything else.
fn collect_strings<'a>(value: &'a Json, split: bool, out: &mut Vec<&'a str>) {
    // One loop over the string itself or the list's items (plain loops: the closure,
    // `filter_map`, `for_each` and `extend` each brought their own code into the package).
    let items = match value {
        Json::String(_) => std::slice::from_ref(value),
        Json::Array(items) => items.as_slice(),
        _ => return,
    };
    for item in items {
        let Some(text) = item.as_str() else {
            continue;
        };
        if split {
            for word in text.split_whitespace() {
                out.push(word);
            }
        } else if !text.is_empty() {
            out.push(text);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn claims(json: &str) -> Claims {
        Claims::from_payload_json(json.to_owned()).expect("test payload is valid")
    }

    #[test]
    fn default_paths_collect_role_roles_and_realm_roles() {
        let c = claims(
            r#"{"role":"admin","roles":["editor","admin",""],
                "realm_access":{"roles":["offline_access","editor"]}}"#,
        );
        let rc = RoleClaims::default();
        assert_eq!(rc.paths(), ["role", "roles", "realm_access.roles"]);
        assert_eq!(rc.roles(&c), ["admin", "editor", "offline_access"]);
        assert!(rc.has_role(&c, "offline_access"));
        assert!(!rc.has_role(&c, "Admin"), "matching is case-sensitive");
        assert!(!rc.has_role(&c, ""), "empty strings are not roles");
    }

    /// (payload, paths, expected roles)
    #[test]
    fn value_shapes() {
        let rows: &[(&str, &[&str], &[&str])] = &[
            (r#"{"role":"super admin"}"#, &["role"], &["super admin"]),
            (r#"{"role":"not admin"}"#, &["role"], &["not admin"]),
            (
                r#"{"scope":"read:items  write:items\tx"}"#,
                &["scope"],
                &["read:items", "write:items", "x"],
            ),
            (r#"{"scp":["a b","c"]}"#, &["scp"], &["a", "b", "c"]),
            (r#"{"ext":{"scope":"a b"}}"#, &["ext.scope"], &["a", "b"]),
            (r#"{"ext":{"scp":"a b"}}"#, &["ext.scp"], &["a", "b"]),
            (
                r#"{"xscope":"a b","scps":"c d"}"#,
                &["xscope", "scps"],
                &["a b", "c d"],
            ),
            (r#"{"":{"a":"x"},"b":{"":"y"}}"#, &[".a", "b."], &["x"]),
            (
                r#"{"roles":[1,true,null,{"r":"x"},["nested"],"ok"]}"#,
                &["roles"],
                &["ok"],
            ),
            (r#"{"roles":42}"#, &["roles"], &[]),
            (r#"{"roles":{"admin":true}}"#, &["roles"], &[]),
            (r#"{"roles":null}"#, &["roles"], &[]),
            (r#"{}"#, &["role", "roles", "realm_access.roles"], &[]),
            (r#"{"realm_access":"admin"}"#, &["realm_access.roles"], &[]),
            (
                r#"{"realm_access":{"roles":"solo"}}"#,
                &["realm_access.roles"],
                &["solo"],
            ),
            (
                r#"{"https://example.com/roles":["a"]}"#,
                &["https://example.com/roles"],
                &["a"],
            ),
            (
                r#"{"resource_access":{"my.client":{"roles":["c"]}}}"#,
                &["resource_access.my.client.roles"],
                &["c"],
            ),
            (
                r#"{"a.b":{"c":"literal-first"},"a":{"b":{"c":"nested"}}}"#,
                &["a.b.c"],
                &["literal-first"],
            ),
            (r#"{"a":{"b":{"c":"nested"}}}"#, &["a.b.c"], &["nested"]),
            (
                r#"{"a":{"b":1},"a.b":{"c":"second"}}"#,
                &["a.b.c"],
                &["second"],
            ),
            (r#"{"":["x"]}"#, &[""], &[]),
            (r#"{"role":"r","roles":["r"]}"#, &["role", "roles"], &["r"]),
        ];
        for (payload, paths, expected) in rows {
            let rc = RoleClaims::new(paths.iter().copied());
            assert_eq!(
                rc.roles(&claims(payload)),
                *expected,
                "{payload} with {paths:?}"
            );
        }
    }

    /// The list the options resolve to moves in as it is: the same claims as [`RoleClaims::new`]
    /// over the same paths, in the same order.
    #[test]
    fn from_paths_is_new_over_an_owned_list() {
        let paths = vec![
            "roles".to_owned(),
            "realm_access.roles".to_owned(),
            String::new(),
        ];
        let moved = RoleClaims::from_paths(paths.clone());
        assert_eq!(moved, RoleClaims::new(&paths));
        assert_eq!(moved.paths(), paths.as_slice());
        let c = claims(r#"{"roles":["a"],"realm_access":{"roles":["b","a"]}}"#);
        assert_eq!(moved.roles(&c), ["a", "b"]);
    }

    #[test]
    fn any_and_all_follow_javascript_some_and_every() {
        let c = claims(r#"{"roles":["user","editor"]}"#);
        let rc = RoleClaims::default();
        let none: [&str; 0] = [];
        assert!(rc.has_any_role(&c, &["admin", "editor"]));
        assert!(!rc.has_any_role(&c, &["admin", "owner"]));
        assert!(!rc.has_any_role(&c, &none));
        assert!(rc.has_all_roles(&c, &["user", "editor"]));
        assert!(!rc.has_all_roles(&c, &["user", "admin"]));
        assert!(rc.has_all_roles(&c, &none));
        let owned = vec!["user".to_owned()];
        assert!(rc.has_all_roles(&c, &owned));
    }

    #[test]
    fn permissions_and_scopes() {
        let c = claims(r#"{"permissions":["read:a","write:a","read:a",7],"scope":"x y"}"#);
        assert_eq!(permissions(&c), ["read:a", "write:a"]);
        assert_eq!(scopes(&c), ["x", "y"]);
        let azure = claims(r#"{"scp":"User.Read Mail.Send","permissions":"a b"}"#);
        assert_eq!(scopes(&azure), ["User.Read", "Mail.Send"]);
        assert_eq!(permissions(&azure), ["a", "b"]);
        assert!(permissions(&claims("{}")).is_empty());
        assert!(scopes(&claims(r#"{"scope":null,"scp":"ignored"}"#)).is_empty());
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z .]{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 32, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z.]{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Junk never panics, and whatever `roles` returns is what the checks agree with.
            #[test]
            fn roles_and_checks_agree(
                payload in prop::collection::btree_map("[a-z_.]{0,10}", json_value(), 0..6),
                paths in prop::collection::vec("[a-z_.]{0,10}", 0..5),
                probe in "[a-z .]{0,8}",
            ) {
                let map: Map<String, Value> = payload.into_iter().collect();
                let json = Value::Object(map).to_string();
                let c = Claims::from_payload_json(json).expect("object payload");
                let rc = RoleClaims::new(paths);
                let roles = rc.roles(&c);
                for role in &roles {
                    prop_assert!(!role.is_empty());
                    prop_assert!(rc.has_role(&c, role));
                }
                prop_assert_eq!(rc.has_role(&c, &probe), roles.contains(&probe));
                prop_assert_eq!(rc.has_all_roles(&c, &roles), true);
                prop_assert_eq!(rc.has_any_role(&c, &roles), !roles.is_empty());
                let mut deduped = roles.clone();
                deduped.sort();
                deduped.dedup();
                prop_assert_eq!(deduped.len(), roles.len(), "no duplicates");
            }
        }
    }
}
