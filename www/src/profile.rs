//! What differs between the three backend shapes: paths and the error each one answers with.
//! The detail strings are the seed tutorials' own.

use crate::{config::Profile, error::ApiError};

/// A failure whose answer depends on the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No `Authorization: Bearer` header.
    NotAuthenticated,
    /// Not a token of ours (bad signature, garbage, missing claims).
    InvalidToken,
    /// Signature fine, expired.
    ExpiredToken,
    /// A refresh token where an access token is expected.
    WrongTokenType,
    /// The token's session was revoked (logout, reuse detection, password change).
    Revoked,
    /// The token names no user.
    UserNotFound,
    /// Protected route, inactive user.
    InactiveUser,
    /// Login with an unknown account or a wrong password.
    BadCredentials,
    /// Login with the right password on an inactive account.
    LoginDisabled,
}

impl Failure {
    /// The answer of `profile` to this failure.
    pub fn answer(self, profile: Profile) -> ApiError {
        use Failure::*;
        match (profile, self) {
            (_, NotAuthenticated) => ApiError::Unauthorized("Not authenticated"),
            (_, Revoked) => ApiError::Unauthorized("Token has been revoked"),
            // Seeds 002/004: one "credentials" message for every token problem.
            (Profile::Minimal, InvalidToken | ExpiredToken | WrongTokenType | UserNotFound) => {
                ApiError::Unauthorized("Could not validate credentials")
            }
            (Profile::Minimal, InactiveUser | LoginDisabled) => {
                ApiError::BadRequest("Inactive user")
            }
            (Profile::Minimal, BadCredentials) => {
                ApiError::Unauthorized("Incorrect username or password")
            }
            // Seeds 000 (standard) and 001 (v1).
            (_, InvalidToken) => ApiError::Unauthorized("Invalid token"),
            (_, ExpiredToken) => ApiError::Unauthorized("Token has expired"),
            (_, WrongTokenType) => ApiError::Unauthorized("Invalid token type"),
            (_, UserNotFound) => ApiError::Unauthorized("User not found"),
            (_, InactiveUser) => ApiError::Forbidden("Inactive user"),
            (_, LoginDisabled) => ApiError::Forbidden("User account is disabled"),
            (_, BadCredentials) => ApiError::Unauthorized("Incorrect email or password"),
        }
    }
}

/// The endpoints the SDK knows by name (and that test-mode faults can target).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// Log in.
    Login,
    /// Refresh.
    Refresh,
    /// Log out.
    Logout,
    /// The current user.
    Me,
}

impl Endpoint {
    /// The path of this endpoint in `profile`, if it has one (API.md's profile table).
    pub fn path(self, profile: Profile) -> Option<&'static str> {
        match (profile, self) {
            (Profile::Standard, Endpoint::Login) | (Profile::Minimal, Endpoint::Login) => {
                Some("/auth/login")
            }
            (Profile::Standard, Endpoint::Refresh) | (Profile::Minimal, Endpoint::Refresh) => {
                Some("/auth/refresh")
            }
            (Profile::Standard, Endpoint::Logout) => Some("/auth/logout"),
            (Profile::Standard, Endpoint::Me) => Some("/auth/me"),
            (Profile::Minimal, Endpoint::Me) => Some("/users/me"),
            (Profile::V1, Endpoint::Login) => Some("/api/v1/login"),
            (Profile::V1, Endpoint::Me) => Some("/api/v1/me"),
            (Profile::Minimal | Profile::V1, Endpoint::Logout)
            | (Profile::V1, Endpoint::Refresh) => None,
        }
    }

    /// All four.
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Login,
        Endpoint::Refresh,
        Endpoint::Logout,
        Endpoint::Me,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn paths_follow_the_profile_table() {
        use Endpoint::*;
        let table = |p| Endpoint::ALL.map(|e| e.path(p));
        assert_eq!(
            table(Profile::Standard),
            [
                Some("/auth/login"),
                Some("/auth/refresh"),
                Some("/auth/logout"),
                Some("/auth/me")
            ]
        );
        assert_eq!(
            table(Profile::Minimal),
            [
                Some("/auth/login"),
                Some("/auth/refresh"),
                None,
                Some("/users/me")
            ]
        );
        assert_eq!(
            table(Profile::V1),
            [Some("/api/v1/login"), None, None, Some("/api/v1/me")]
        );
        assert_eq!(Me.path(Profile::V1), Some("/api/v1/me"));
    }

    #[test]
    fn inactive_is_400_in_minimal_and_403_elsewhere() {
        assert_eq!(
            Failure::InactiveUser.answer(Profile::Minimal).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Failure::LoginDisabled.answer(Profile::Minimal).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Failure::InactiveUser.answer(Profile::Standard).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            Failure::LoginDisabled.answer(Profile::V1).status(),
            StatusCode::FORBIDDEN
        );
    }
}
